"""The offline answer to a learner's own question: the sentence that answers it first, then the cited lines on it.

The candidates are the notes' lines and the companion's sentences among the passages the search found. The lead
is chosen by meaning and by what the question asks (`_lead`); the supporting lines are the notes' best lines
close to the question, then up to two of the companion's sentences on those sections (`_choose`,
`_on_the_question`). Notes are quoted, the companion labelled as the tutor's explanation; two "ask next" follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tutor.crew.outputs import Answer, Citation
from tutor.knowledge.companion import EXPLANATION, Companion
from tutor.knowledge.chunking import TERM_LINE, title
from tutor.llms import asking as ask
from tutor.llms.compose import content_words, mentions, notes_only, plain, topic_covered
from tutor.llms.lead import FEATURES, QUESTION_WORDS, WEIGHTS, _on_topic, _term, _term_named, choose_lead, lead_features
from tutor.llms.protocol import Retrieved

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


@dataclass(eq=False)
class Candidate:
    text: str
    passage: Retrieved
    score: float = 0.0
    sim: float = 0.0  # closeness in meaning to the question (MiniLM), as the line is read

    @property
    def companion(self) -> bool:
        return self.passage.kind == "companion"

    @property
    def read_as(self) -> str:
        """The line as it is matched against the question: a note line under a heading is about that heading
        ("Uses sine and cosine functions ..." under Positional Encoding), so the heading is read with it."""
        head = plain(self.passage.subsection or "")
        if self.companion or not head or head.lower() in self.text.lower():
            return self.text
        return f"{head}: {self.text}"


def _candidates(passages: Sequence[Retrieved]) -> list[Candidate]:
    """One candidate per note line; for the companion, each sentence of an intuition, the worked example
    whole, and each misconception with its correction (never the wrong statement alone)."""
    out: list[Candidate] = []
    for rank, p in enumerate(passages):
        pieces: list[str] = []
        if p.kind == "companion" and p.text.startswith("Misconception:"):
            for line in p.text.splitlines():
                m = re.match(r"Misconception: (.*?) Correction: (.*)$", line.strip())
                if m:
                    wrong = m[1].rstrip(".")
                    if len(wrong) > 1 and wrong[1].islower():
                        wrong = wrong[0].lower() + wrong[1:]
                    pieces.append(f"It is not true that {wrong}: {m[2]}")
        elif p.kind == "companion":
            intuition, _, example = p.text.partition("\nExample: ")
            intuition = intuition.removeprefix(f"{p.subsection.removeprefix(EXPLANATION)}. ")  # the idea's name
            pieces = [s.strip() for s in _SENTENCE.split(intuition) if len(s.strip()) > 25]
            if example.strip():
                pieces.append(f"For example: {example.strip()}")
        else:
            pieces = [s for s in _note_lines(p) if len(s) > 20]
        out.extend(Candidate(s, p) for s in pieces)
    return out


def _note_lines(p: Retrieved) -> list[str]:
    """The passage's lines, each a statement on its own: a bullet under a term ("- **GRU (...)**:", "- **Volume**:
    ...") carries that term, so "A simpler alternative to LSTM" is never read as being about LSTM."""

    out: list[str] = []
    lead: tuple[int, str, bool] | None = None  # (indent, term, a lead-in ending with ':') of the last term line
    for raw in p.text.splitlines():
        text = re.sub(r"^#{1,6}\s+", "", raw.strip())
        if not text or text == p.subsection:
            continue
        indent = len(raw) - len(raw.lstrip())
        if lead and indent <= lead[0]:
            lead = None
        line = plain(text)
        parent = lead
        m = TERM_LINE.match(text)
        if m and (lead is None or indent <= lead[0] or line.endswith(":")):
            lead = (indent, (m["bold"] or m["plain"]).strip(), line.endswith(":"))
        if line.endswith(":"):
            continue
        joint = ":" if parent and parent[2] else " \u2014"
        out.append(f"{parent[1]}{joint} {line}" if parent else line)
    return out


def same_text(a: str, b: str) -> bool:
    """The same line whatever its Markdown emphasis."""
    def bare(t: str) -> str:
        return " ".join(re.sub(r"[*_`]", "", t).split()).lower()
    return bare(a) == bare(b)


def repeats(text: str, said: Sequence[str]) -> bool:
    """The line says again what one of `said` said: the same words, or one inside the other ("Solutions:
    Batch Normalization: ..." and "Batch Normalization: ...")."""
    def bare(t: str) -> str:
        return " ".join(re.sub(r"[*_`\u201c\u201d\"]", "", t).split()).lower().rstrip(".")
    mine = bare(text)
    return any(mine and (bare(t) in mine or mine in bare(t)) for t in said if len(bare(t)) > 15)


def question_covered(question: str, passages: Sequence[Retrieved]) -> bool:
    """The notes answer a question when a note passage is very close in meaning, or when at least half of
    the question's own words (not "happen", "need", "work") are in the passages, one of them in the notes'."""
    notes = notes_only(passages)
    if not notes:
        return False
    if topic_covered(question, notes):
        return True
    words = [w for w in content_words(question) if len(w) >= 3 and w not in QUESTION_WORDS]
    if not words:
        return False
    everything = "\n".join(f"{p.heading}\n{p.text}" for p in passages)
    in_notes = "\n".join(f"{p.heading}\n{p.text}" for p in notes)
    hits = [w for w in words if mentions(everything, w)]
    return len(hits) * 2 >= len(words) and any(mentions(in_notes, w) for w in hits)


def compose_answer(
    question: str,
    passages: list[Retrieved],
    embed: Callable[[list[str]], np.ndarray] | None = None,
    companion: Companion | None = None,
    said: Sequence[str] = (),
    about: str = "",
    previous: str = "",
) -> Answer:
    """The sentence that answers the question first, then the cited lines on it. `said`: what the previous
    answer of a conversation showed, never shown again (a follow-up adds something new); `about`: the topic a
    follow-up is about, whose own lines and explanations come first; `previous`: the question the previous answer
    answered (a line of it that answers this question better than that one is pointed back to)."""
    notes = notes_only(passages)
    if not question_covered(question, passages):
        near: list[Citation] = []
        for p in notes:
            cite = Citation(source=p.source, section=p.section)
            if cite not in near:
                near.append(cite)
        near = near[:3]
        names = "; ".join(f"{title(c.section)} ({c.source})" for c in near) or "none (the index is empty)"
        text = (f"The course notes do not answer this, so I will not answer it from memory. "
                f"The nearest sections they do cover: {names}.")
        return Answer(question=question, answer=text, citations=near, covered=False,
                      suggestions=[f"What do the notes say about {title(c.section)}?" for c in near[:2]])
    everything = _candidates(passages)
    cands = [c for c in everything if not repeats(c.text, said)]
    told = [c for c in everything if said and repeats(c.text, said)]  # what a follow-up may be pointed back to
    defined = [c for c in _definitions(question, notes, companion, []) if not repeats(c.text, said)]
    ideas = companion.match(about)[:1] if companion and about else []
    if not cands and not defined:
        return Answer(question=question, answer="The notes say nothing more on this than the answer above.",
                      citations=[], covered=True, suggestions=_suggestions(question, [], companion))
    words = set(content_words(question))
    sims = np.zeros(len(cands) + len(defined) + len(told))
    if embed is not None and (cands or defined):
        vectors = np.asarray(embed([question, *[c.read_as for c in cands + defined + told]]), dtype=np.float32)
        q, rest = vectors[0], vectors[1:]
        norms = np.linalg.norm(rest, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = rest @ q / np.where(norms == 0, 1.0, norms)
    why, example = bool(ask.WHY.search(question)), bool(ask.EXAMPLE.search(question))
    compare = bool(ask.COMPARE.search(question))
    yes_no = bool(ask.YES_NO.search(question))
    for c, sim in zip(told, sims[len(cands) + len(defined):]):
        c.sim = float(sim)
    for c, sim in zip(cands + defined, sims):
        shared = sum(1 for w in words if mentions(c.read_as, w))
        c.sim = float(sim)
        c.score = float(sim) + 0.08 * shared + 0.1 * c.passage.similarity
        if why and ask.REASON.search(c.text):
            c.score += 0.08
        if example and ("example" in c.text.lower() or re.search(r"\d", c.text)):
            c.score += 0.2 if c.text.startswith("For example:") else 0.1
        if not example and c.text.startswith("For example:"):
            c.score -= 0.05
        if not example and ask.EXAMPLE_LINE.search(c.text):
            c.score -= 0.15  # the notes' example line ("Example: BERT (...)") names a case, it explains nothing
        if c.text.startswith("It is not true that") and not yes_no:
            c.score -= 0.12  # a correction answers "is it true that ...?", not "why ...?"
        if about and _on_topic(c, about, ideas, companion):
            c.score += 0.15  # a follow-up is about the previous topic
    lead = choose_lead(question, cands + defined, explained_first(passages), about_ideas=(about, ideas, companion))
    chosen = _choose([c for c in cands if c is not lead and not repeats(c.text, [lead.text])], compare=compare,
                     listing=bool(ask.LISTING.search(question)), example=example)
    defined = [c for c in defined if c is not lead and not any(repeats(c.text, [o.text]) or repeats(o.text, [c.text])
                                                               for o in [lead, *chosen])]
    notes_lines = [c for c in chosen if not c.companion]
    mine = [c for c in chosen if c.companion]
    if not example:  # one worked example at most, after the explanation, when none was asked for
        examples = [c for c in mine if c.text.startswith("For example:")]
        mine = [c for c in mine if c not in examples] + examples[:1]
    chosen = _on_the_question(question, lead, (defined + notes_lines)[: max(len(notes_lines), len(defined) + 2)] + mine,
                              compare or bool(ask.LISTING.search(question)))
    lines = [_shown(lead, bullet=False)] + ([""] + [_shown(c) for c in chosen] if chosen else [])
    back = _said_before(question, lead, told, said, explained_first(passages), (about, ideas, companion),
                        previous, embed) if previous else None
    if back is not None:  # the line that answers it was in the last answer: pointed back to, then what is new on it
        new = [c for c in [lead, *chosen] if c.sim >= back.sim - BULLET_FLOOR]
        lines = [f"That is in the answer above: {_shown(back, bullet=False)}"] + ([""] + [_shown(c) for c in new] if new else [])
        lead, chosen = back, new
    citations: list[Citation] = []
    for c in [lead, *chosen]:
        cite = Citation(source=c.passage.source, section=c.passage.section, kind=c.passage.kind)
        if cite not in citations:
            citations.append(cite)
    return Answer(question=question, answer="\n".join(lines), citations=citations,
                  suggestions=_suggestions(question, chosen, companion))


SAID_MARGIN = 0.1  # how much better a line of the last answer must answer a follow-up than anything new
SAID_CLOSER = 0.15  # ... and how much closer in meaning
SAID_SHIFT = 0.05  # ... and how much closer to this question than to the one it answered


def _said_before(question: str, lead: Candidate, told: list[Candidate], said: Sequence[str], notes: list[Retrieved],
                 about_ideas: tuple, previous: str, embed: Callable[[list[str]], np.ndarray] | None) -> Candidate | None:
    """The line of the last answer that answers this question clearly better than anything new ("and in medicine?"
    after the uses of 3D convolutions listed medical imaging), or None: the learner is pointed back to it rather than
    given the next best line as if it were the answer. Never the last answer's first line, nor a line defining what
    the question names (both answered the last question), nor the companion's explanations (they explain; the
    notes' point is what is asked), nor a line of the other direction ("High Temperature" for a low one); and only a
    line that reads closer to this question than to the last one it answered. What follows it is only what is
    about as close to the question (the Feature Map's line after medical imaging was not)."""
    told = [c for c in told if c.sim >= lead.sim + SAID_CLOSER and not (_term(c) and _term_named(question, _term(c)))
            and not c.companion and not repeats(c.text, said[:1]) and ask.directions(question, c.text) >= 0]
    if told and embed is not None:
        vectors = np.asarray(embed([previous, *[c.read_as for c in told]]), dtype=np.float32)
        norms = np.maximum(np.linalg.norm(vectors[1:], axis=1) * np.linalg.norm(vectors[0]), 1e-9)
        before = vectors[1:] @ vectors[0] / norms
        told = [c for c, b in zip(told, before) if c.sim >= float(b) + SAID_SHIFT]
    if not told:
        return None
    fit, table = lead_features(question, [lead, *told], notes, about_ideas)
    scores = table @ np.array([WEIGHTS[f] for f in FEATURES])
    mine = scores[fit.index(lead)] if lead in fit else -np.inf
    best = int(np.argmax(scores))
    return fit[best] if fit[best] is not lead and scores[best] >= mine + SAID_MARGIN else None


def explained_first(passages: Sequence[Retrieved]) -> list[Retrieved]:
    """The notes' passages in the search's order, except that where the companion's explanation of a section ranks
    above every notes passage, that section's notes come first: the search found what the question is about in plain
    words ("why would I train in half precision?": the explanation of mixed precision) while the notes' own words
    ranked a passage that only shares a word first (the decision threshold's "precision")."""
    notes = notes_only(passages)
    first = passages[0] if passages else None
    if first is None or first.kind != "companion":
        return notes
    home = [p for p in notes if (p.source, p.section) == (first.source, first.section)]
    return home + [p for p in notes if p not in home]


def _shown(c: Candidate, bullet: bool = True) -> str:
    """A notes line quoted, a companion sentence labelled as the tutor's explanation; each cited."""
    text = f"{c.text} {c.passage.cite}" if c.companion else f"\u201c{c.text}\u201d {c.passage.cite}"
    return f"- {text}" if bullet else text


BULLET_FLOOR = 0.15  # a supporting line is this close in meaning to the question, at most, below the closest


def _on_the_question(question: str, lead: Candidate, chosen: list[Candidate], compare: bool) -> list[Candidate]:
    """The supporting lines on the question: close in meaning to it (not the best of what is left over after
    a follow-up); a line labelled with a downside only when the question asks for one, with an upside only when
    it does not; and when the question names a term the notes define ("what is horizontal scaling?"), no line
    defining another term ("Vertical Scaling: ..."), unless the question compares or lists."""
    top = max([lead.sim, *[c.sim for c in chosen]])
    downside = bool(ask.PROBLEM_Q.search(question))
    chosen = [c for c in chosen if c.sim >= top - BULLET_FLOOR and (compare or not (
        ask.DOWNSIDE.match(c.text) and not downside or ask.UPSIDE.match(c.text) and downside))]
    if compare or not any(_term_named(question, _term(c)) for c in [lead, *chosen] if _term(c)):
        return chosen
    return [c for c in chosen if not _term(c) or _term_named(question, _term(c))]


def _choose(cands: list[Candidate], compare: bool, listing: bool, example: bool) -> list[Candidate]:
    """The notes' best lines from at most two sections (three for a comparison), then at most two of the
    companion's sentences on those sections; an example first when one was asked for."""
    notes = sorted((c for c in cands if not c.companion), key=lambda c: -c.score)
    mine = sorted((c for c in cands if c.companion), key=lambda c: -c.score)
    limit = 6 if listing else 4 if compare else 3
    chosen: list[Candidate] = []
    sections: list[tuple[str, str]] = []
    best = notes[0].score if notes else 0.0
    for c in notes:
        key = (c.passage.source, c.passage.section)
        if len(chosen) == limit or c.score < best - (0.3 if listing else 0.2):
            break
        if key not in sections and len(sections) == (3 if compare else 2):
            continue
        if not repeats(c.text, [o.text for o in chosen]) and not any(repeats(o.text, [c.text]) for o in chosen):
            chosen.append(c)
            if key not in sections:
                sections.append(key)
    extra = [c for c in mine if (c.passage.source, c.passage.section) in sections or not sections]
    if mine and mine[0].score > best + 0.1 and mine[0] not in extra:
        extra.insert(0, mine[0])  # the companion explains what the notes barely say
    told = [c for c in extra if c.score >= (extra[0].score - 0.15 if extra else 0)][:2]
    if example:
        examples = [c for c in told if c.text.startswith("For example:")]
        return examples + chosen + [c for c in told if c not in examples]
    return chosen + told


def _definitions(question: str, notes: list[Retrieved], companion: Companion | None,
                 chosen: list[Candidate]) -> list[Candidate]:
    """The notes' defining line(s) of the idea the question names ("context window", "LSTM"), when the search
    found the section that teaches it: what a "what is" or "how does" question needs first."""
    from tutor.llms.lesson import defining_lines

    named = companion.match(question)[:1] if companion else []
    if not named:
        return []
    entry = named[0]
    top = {(p.source, p.section) for p in notes[:3]}
    if (entry.notes, entry.explains) not in top:
        return []  # the question names the idea only in passing ("what is the value of ...")
    found = [Candidate(line, p, score=1.0) for line, p in defining_lines(entry.idea, entry, notes)[:2]]
    return [c for c in found if not any(same_text(c.text, o.text) for o in chosen)]


def _suggestions(question: str, chosen: list[Candidate], companion: Companion | None) -> list[str]:
    """Two questions to ask next: the companion's questions on the idea the question names, then on the
    ideas whose explanation answered it, then on the sections answered; else those sections' names."""
    asked = set(content_words(question))
    entries = []
    if companion:
        entries += companion.match(question)[:1]
        entries += [companion.for_passage(c.passage.source, c.passage.section, c.passage.subsection)
                    for c in chosen if c.companion]
        for c in chosen:
            entries += companion.for_section(c.passage.source, c.passage.section)
    out: list[str] = []
    for entry in (e for i, e in enumerate(entries) if e is not None and all(e is not f for f in entries[:i])):
        for q in entry.questions:
            overlap = len(asked & set(content_words(q.text))) / (len(asked) or 1)
            if overlap < 0.6 and q.text not in out:
                out.append(q.text)
        if len(out) >= 2:
            break
    for c in chosen:
        if len(out) >= 2:
            break
        text = f"What else do the notes say in {title(c.passage.section)}?"
        if text not in out:
            out.append(text)
    return out[:2]
