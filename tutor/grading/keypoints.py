"""Key points: what an answer is judged against when no reference answer is given.

A section of the notes answers many questions; grading "What is dropout?" against all of
Regularization Techniques would mark a correct answer wrong for "missing" L1/L2 and early stopping.
So the notes are cut into points (a bullet, or one sentence of prose), each with the concept it
belongs to (its `###` subsection, else the bold term it opens with), and a question is answered by
the few points that name its concept and match it best:

1. the candidate passages come from the hybrid retriever (the caller passes them in);
2. each point is scored against the question: embedding similarity, plus a bonus when the question
   names the point's concept ("dropout" -> the Dropout bullet);
3. the best point, and the points of the same concept that score close to it (at most `limit`), are
   the key points; the rest of the section is not held against the learner.

The other concepts of the same passages are kept too (`siblings`): an answer that fits one of them
better than the asked one ("adds penalties to large weights" for dropout) is a confusion the feedback
names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tutor.grading.text import STOPWORDS, stem, tokens
from tutor.knowledge.chunking import TERM_LINE, title

_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_BOLD_TERM = re.compile(r"^\*\*([^*]{2,60})\*\*\s*[:\-–]?\s*")
_HEADING = re.compile(r"^#{1,6}\s+")
NUMBER_WORDS = frozenset("one two three four single multi multiple first second".split())
_COMPARING = re.compile(r"\b(?:differ|difference|different|vs\.?|versus|compar|contrast|distinguish|unlike)\w*", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
# bold terms that name a facet of an idea, not an idea: a point under one belongs to its section's idea
GENERIC_TERMS = frozenset("purpose definition formula example examples impact concept principle pros cons "
                          "limitation limitations significance steps advantages disadvantages challenges "
                          "enhancements mitigation benefits use uses applications solution solutions process "
                          "advantage disadvantage strength strengths weakness weaknesses drawback drawbacks "
                          "approach overview trade-offs tradeoffs task".split()) | {"model name", "model names"}


@dataclass(frozen=True)
class NotePoint:
    text: str  # plain text, as a learner reads it
    concept: str  # the subsection or bold term it belongs to ("Dropout"), or the section
    source: str
    section: str
    term: str = ""  # the bold term it opens with, if any ("Formula", "Dropout")
    parent: str = ""  # for a facet nested under a term's bullet ("  - **Limitation**: ..." under BoW), that term

    @property
    def name(self) -> str:
        """What the point is about, as a learner would name it: its bold term, or the plain term it opens with
        ("Data Augmentation: Adds variability ..." under Covariance Shift is about data augmentation), unless
        a facet such as "Purpose"; else its concept, without the notes' numbering ("6. Impact of ..." -> "Impact of ...")."""
        lead = self.term or _plain_term(self.text)
        return title(lead if lead and lead.lower() not in GENERIC_TERMS else self.concept)

    @property
    def citation(self) -> dict[str, str]:
        return {"source": self.source, "section": self.section}


def _plain_term(text: str) -> str:
    """The term a plain point opens with ("Data Augmentation: ..."), up to four words and not a sentence that
    happens to hold a colon ("The fix is simple: ..."); "" when there is none."""
    m = TERM_LINE.match(text)
    term = (m.group("plain") or "").strip() if m else ""
    return term if term and len(term.split()) <= 4 and term.split()[0].lower() not in STOPWORDS else ""


def plain_markdown(text: str) -> str:
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])", r"\1", text)  # *Example*: -> Example:
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    return " ".join(text.split())


def points_of(text: str, source: str, section: str, subsection: str = "", terms_are_concepts: bool = False) -> list[NotePoint]:
    """The points of one passage of the notes: bullets, or sentences of prose.

    A point's concept is its `###` subsection ("Intersection over Union (IoU)": its "Formula" and
    "Significance" bullets are about IoU); directly under a `##` section, a bullet's bold term is the concept
    ("**Dropout**: ..."). `terms_are_concepts` makes every bold term a concept (finer siblings, for training)."""
    points: list[NotePoint] = []
    concept = subsection or section
    in_subsection = bool(subsection)
    above: tuple[int, str] = (-1, "")  # the last bullet's indent and term: a facet nested under it is about it
    for raw in text.splitlines():
        if raw.lstrip().startswith(">"):  # a block quote of the notes (the editors' additions) is read as notes
            raw = re.sub(r"^\s*>\s?", "", raw)
        line = raw.strip()
        if not line or line.startswith("|") or line.startswith(">"):
            continue
        if _HEADING.match(line):
            concept = _HEADING.sub("", line).strip() or concept
            in_subsection = True
            above = (-1, "")
            continue
        body = _BULLET.sub("", line)
        term = _BOLD_TERM.match(body)
        name = term.group(1).strip() if term else ""
        bullet, facet = bool(_BULLET.match(line)), name.lower() in GENERIC_TERMS
        under = bullet and len(raw) - len(raw.lstrip()) > above[0] >= 0  # nested under the last top bullet
        nested = under and facet
        parent = above[1] if nested else ""
        # "- **LSTM**:" then "  - Introduces gates ...": LSTM's ("  - *Example*: ..." is an example of it)
        inherited = above[1] if under and not term and not _plain_term(plain_markdown(body)) else ""
        if bullet and not nested and not inherited:  # a plain bullet under a term leaves the term above
            above = (len(raw) - len(raw.lstrip()), "" if facet else name)
        own = name if term and (terms_are_concepts or not in_subsection) else concept
        if own == name and name.lower() in GENERIC_TERMS and not terms_are_concepts:
            own = concept  # "**Purpose**: NMS eliminates ..." is about the section's idea, not about "Purpose"
        if term and ":" in body[: term.end() + 1]:  # "**Dropout**: randomly ..." -> "Dropout: randomly ..."
            rest = body[term.end():]
            body = f"{name}: {rest}" if rest else ""
        text = plain_markdown(body)
        pieces = [text] if bullet else _SENTENCE.split(text)  # a bullet is one point; prose a sentence each
        for sentence in (p.strip() for p in pieces):
            if len(content_words_of(sentence)) >= 3 and not sentence.endswith(":"):
                points.append(NotePoint(sentence, own, source, section, name or inherited, parent))
    return points


def content_words_of(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def points_of_passages(passages: Iterable[Any]) -> list[NotePoint]:
    """Points of retrieved passages or chunks (anything with text, source, section and subsection)."""
    out: list[NotePoint] = []
    seen: set[str] = set()
    for p in passages:
        for point in points_of(p.text, p.source, p.section, getattr(p, "subsection", "") or ""):
            if point.text not in seen:
                seen.add(point.text)
                out.append(point)
    return out


def compared_points(question: str, points: Sequence[str]) -> list[str]:
    """The points whose terms the question names, when it names two or more different ones ("What is the
    difference between CBOW and skip-gram?": the CBOW point and the Skip-gram point); else []. A term inside
    a longer one the question names is that one ("Learning Rate" in "Discriminative Learning Rates"): no
    comparison."""
    named = [(t, point_term(t)) for t in points]
    named = [(t, term) for t, term in named if term and concept_named(question, term) == 1.0]
    kept = set(outermost([term for _, term in named]))
    named = [(t, term) for t, term in named if term in kept]
    return [t for t, _ in named] if len({term.lower() for _, term in named}) >= 2 else []


# a question that asks for both sides: "how does X differ from Y", "the difference between", "X vs. Y", "compare"
ASKS_BOTH = re.compile(r"\b(?:differ\w*|difference|compar\w*|contrast\w*|vs|versus|between|unlike|both)\b", re.IGNORECASE)


def asks_of_each(question: str, points: Sequence[str]) -> bool:
    """The question asks about each of the compared points: it asks for both sides (`asks_both`), or names two of
    their terms side by side ("What are CBOW and skip-gram?", "precision / recall"). "What does momentum do in
    gradient descent?" names two terms and asks about one."""
    if asks_both(question):
        return True
    spans = sorted(m.span() for t in points for pattern in [_name_pattern(point_term(t))]
                   if pattern is not None for m in [pattern.search(question)] if m)
    return any(_SIDE_BY_SIDE.fullmatch(question[a_end:b_start]) for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


def asked_term(question: str, points: Sequence[str]) -> str:
    """Of the terms of `points` the question names, the one it asks about: the first named that does not follow a
    preposition ("What does momentum do in gradient descent?": momentum; "In gradient descent, what does momentum
    do?": momentum too), else the first named."""
    found = []
    for t in points:
        pattern = _name_pattern(point_term(t))
        m = pattern.search(question) if pattern is not None else None
        if m:
            context = _CONTEXT.search(question[: m.start()]) is not None
            found.append((context, m.start(), point_term(t)))
    return min(found)[2] if found else ""


_CONTEXT = re.compile(r"\b(?:in|of|for|with|during|within|inside|on|from|by|under)\s+(?:(?:the|a|an)\s+)?$", re.I)
_SIDE_BY_SIDE = re.compile(r"\s*(?:,|and|or|&|/|\+|,\s*and)\s*(?:the\s+|a\s+|an\s+)?", re.IGNORECASE)


def asks_both(question: str) -> bool:
    """The question asks about both compared sides, not only names two terms ("What does a GAP layer do?" names
    "pooling layers" too)."""
    return ASKS_BOTH.search(question) is not None


def name_stems(name: str) -> frozenset[str]:
    """The stems of a name's words, its number words kept ("Two-Stage" is not "One-Stage")."""
    return frozenset(stem(w) for w in tokens(re.sub(r"\(.*?\)", "", name))
                     if len(w) > 1 and (w not in STOPWORDS or w in NUMBER_WORDS))


def outermost(names: Iterable[str]) -> list[str]:
    """The names that are no part of another one given ("Precision" is part of "FP16 Mixed Precision")."""
    names = list(names)
    stems = [name_stems(n) for n in names]
    return [n for n, s in zip(names, stems) if not any(s and s < other for other in stems)]


def is_example(point: NotePoint) -> bool:
    """An illustration of a point ("*Example*: Splitting a user database by region"), not a point to state."""
    lead = (point.term or _plain_term(point.text) or point.text.split(":")[0]).strip().lower()
    return lead in ("example", "examples", "e.g.", "for example", "task", "tasks", "model name", "model names")


def point_term(point: str) -> str:
    """The term a point opens with ("Skip-gram: Predicts ..." -> "Skip-gram"), bold or plain; "" if none."""
    m = TERM_LINE.match(point)
    return (m.group("bold") or m.group("plain") or "").strip() if m else ""


def answer_sides(points: Sequence[str], clauses: Sequence[str]) -> list[str]:
    """For a comparison, what the answer says about each compared point's term: the clauses that name that
    term and no other, with the clauses after one that name none ("..., for example running becomes run");
    "" for a term the answer does not name. All "" when some of what the answer says is on no side (it names
    none of the terms, "one chops endings, the other uses a dictionary", or opens before naming one, "each
    agent is a worker ...; a team of them ...; tasks are ..."): nothing to split on."""
    names = [_name_pattern(point_term(t)) for t in points]
    sides: list[list[str]] = [[] for _ in points]
    current: list[int] = []
    for clause in clauses:
        hits = [j for j, pattern in enumerate(names) if pattern is not None and pattern.search(clause)]
        if len({point_term(points[j]).lower() for j in hits}) > 1:  # "unlike stemming, lemmatization ...": both
            return ["" for _ in points]
        current = hits or current  # two points of one term ("Data Augmentation: ...", twice) are one side
        if not current:
            return ["" for _ in points]
        for j in current:
            sides[j].append(clause)
    return [" ".join(c) for c in sides]


_HEAD_NOUNS = re.compile(r"\s+(?:layers?|loss(?:es)?|functions?|models?|networks?|methods?|algorithms?|techniques?|"
                         r"approach(?:es)?|mechanisms?|architectures?|scores?)$", re.IGNORECASE)


def names_side(point: str, text: str) -> bool:
    """The text names the term of this comparison's side ("Horizontal scaling ..."), as `answer_sides` reads it."""
    pattern = _name_pattern(point_term(point))
    return pattern is not None and pattern.search(text) is not None


def _name_pattern(term: str) -> re.Pattern[str] | None:
    """The term's names as an answer writes them: the term, its abbreviation in brackets, and the term without a
    generic head noun ("cross-entropy" for "Cross-Entropy Loss", "softmax" for "Softmax Layer")."""
    bare = re.sub(r"\(.*?\)", "", term).strip()
    short = _HEAD_NOUNS.sub("", bare)
    names = (bare, *re.findall(r"\((.*?)\)", term), *([short] if short != bare and len(short) >= 4 else []))
    forms = [f.strip() for f in names if len(f.strip()) > 1]
    if not forms:
        return None
    flexible = [re.sub(r"(?:\\[ -]|-)+", r"[\\s-]?", re.escape(f)) for f in forms]  # "cross entropy", "cross-entropy"
    return re.compile(r"\b(?:" + "|".join(flexible) + r")(?:e?s)?\b", re.IGNORECASE)


def concept_named(question: str, concept: str) -> float:
    """1.0 when the question names the point's concept (all its words' stems, or its abbreviation in
    brackets: "IoU" for "Intersection over Union (IoU)"), 0.5 for part of it."""
    words = content_words_of(question)
    asked = {stem(w) for w in words} | {stem(w[:-1]) for w in words if len(w) > 3 and w.endswith("s")}  # "RNNs"
    best = 0.0
    for name in (re.sub(r"\(.*?\)", "", concept), *re.findall(r"\((.*?)\)", concept)):
        wanted = {stem(w) for w in content_words_of(name)}
        if wanted:
            share = len(wanted & asked) / len(wanted)
            if share == 1.0 and not all(_compound_said(question, c) for c in _COMPOUND.findall(name)
                                        if any(part.lower() in STOPWORDS for part in c.split("-"))):
                share = 0.99  # "human-in-the-loop" does not name "Human-on-the-loop": its small words are the name
            best = max(best, 1.0 if share == 1.0 else 0.5 * share)
    return best


_COMPOUND = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")


def _compound_said(text: str, compound: str) -> bool:
    """A hyphenated name said in the text, with hyphens or spaces ("human in the loop")."""
    words = r"[-\s]+".join(map(re.escape, compound.split("-")))
    return re.search(rf"(?<![\w-]){words}(?![\w-])", text, re.I) is not None


@dataclass(frozen=True)
class KeyPoints:
    points: list[NotePoint]  # what the answer is graded against, best first
    siblings: list[NotePoint]  # points of other concepts nearby (for "that describes X" feedback)

    @property
    def reference(self) -> str:
        return " ".join(p.text.rstrip(".") + "." for p in self.points)

    @property
    def concept(self) -> str:
        return title(self.points[0].concept) if self.points else ""


def select_key_points(
    question: str,
    candidates: Sequence[NotePoint],
    embed: Callable[[list[str]], Any],
    limit: int = 3,
    margin: float = 0.12,
) -> KeyPoints:
    """The points that answer the question: the best one and close runners-up of its concept."""
    examples = [p for p in candidates if is_example(p)]
    candidates = [p for p in candidates if not is_example(p)] or examples
    if not candidates:
        return KeyPoints([], [])
    compared = _compared(question, candidates)
    vectors = np.asarray(embed([question] + [f"{p.concept}: {p.parent + ' ' if p.parent else ''}{p.text}"
                                             for p in candidates]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    similarity = vectors[1:] @ vectors[0]
    asked = {stem(w) for w in tokens(question)}
    said = [_names_said(question, p) for p in candidates]
    everything = set().union(*said)
    # a name inside a longer one the question says is not what it names ("gradient descent" in "How does stochastic
    # gradient descent help ...", "decoders" in "What are encoder-decoder models used for?")
    outermost_said = [not names or any(not any(n < m for m in everything) for n in names) for names in said]
    named = [_named_by(question, p) if outer else 0.5 for p, outer in zip(candidates, outermost_said)]
    said_of = {id(p): names for p, names in zip(candidates, said)}
    # plus the facet asked of the term it is nested under ("the main limitation of Bag of Words": BoW's Limitation)
    bonus = np.array([n + float(bool(p.parent) and stem(p.term.lower()) in asked
                                and concept_named(question, p.parent) == 1.0)
                      for n, p in zip(named, candidates)])
    score = similarity + 0.25 * bonus
    order = list(np.argsort(-score, kind="stable"))
    best = candidates[order[0]]
    names = {best.concept, best.term} - {""}

    def joins(p: NotePoint) -> bool:  # a runner-up beside the best point
        if best.parent and p.parent != best.parent:  # a facet asked ("the limitation of BoW"): that term's facets only
            return False
        if best.term.lower() in GENERIC_TERMS and stem(best.term.lower()) in asked:  # ... its nesting lost: that facet
            return p.term == best.term and p.concept == best.concept
        return same(p)

    def same(p: NotePoint) -> bool:  # "Dropout" under AlexNet is still dropout; two points of what the question names
        return (p.concept == best.concept or bool({p.concept, p.term} & names - {""})
                or bool(said_of[id(p)] & said_of[id(best)]))

    if compared:
        chosen = [next(i for i in order if term in _names(candidates[i])) for term in compared]
        chosen.sort()
        picked = list({_named(candidates[i]).text: _named(candidates[i]) for i in chosen}.values())
        names = {candidates[i].term for i in chosen} | {candidates[i].concept for i in chosen}
        return KeyPoints(picked, [candidates[i] for i in order if not ({candidates[i].concept, candidates[i].term} & names)])
    chosen = [order[0]]
    for i in order[1:]:
        if len(chosen) >= limit:
            break
        elsewhere = (candidates[i].source, candidates[i].section) != (best.source, best.section)
        # a point of another section (dropout's bullet under AlexNet) joins only if it answers about as well
        if joins(candidates[i]) and score[i] >= score[order[0]] - (margin / 2 if elsewhere else margin):
            chosen.append(i)
    chosen = [i for k, i in enumerate(chosen) if candidates[i].text not in {candidates[j].text for j in chosen[:k]}]  # best first
    siblings = [candidates[i] for i in order if not same(candidates[i])]
    return KeyPoints([candidates[i] for i in chosen], siblings)


def _named_by(question: str, point: NotePoint) -> float:
    """How fully the question names the point's concept or its own bold term ("What is NMS?" names the point
    "**Non-Maximum Suppression (NMS)**: ..." of the section "Mitigation Techniques"; "How does stochastic gradient
    descent help ..." names "**Stochastic Gradient Descent (SGD)**: ..." of the section "Techniques")."""
    best = 0.0
    for name in (point.concept, point.term):
        if not name or name.lower() in GENERIC_TERMS:
            continue
        best = max(best, concept_named(question, name))
    return best


def _names_said(question: str, point: NotePoint) -> set[frozenset[str]]:
    """The names of the point (its concept's and its term's, and their abbreviations) that the question says in
    full: two points named by one ("NMS" for "Non-Maximum Suppression (NMS)" and for "6. Impact of Non-Maximum
    Suppression (NMS)") are of one concept; "What is padding in a CNN?" names two concepts."""
    out = set()
    for name in (point.concept, point.term):
        if name and name.lower() not in GENERIC_TERMS:
            for form in (re.sub(r"\(.*?\)", "", name), *re.findall(r"\((.*?)\)", name)):
                if form.strip() and concept_named(question, form) == 1.0:
                    out.add(name_stems(re.sub(r"^\W*\d+(?:\.\d+)*\.?\s*", "", form)))
    return out


def _compared(question: str, candidates: Sequence[NotePoint]) -> list[str]:
    """The two terms (bold or plain, else the subsections) of the points that a question comparing them names
    ("How do CNNs and RNNs differ ...": the CNN and the RNN subsections); else []."""
    if not _COMPARING.search(question):
        return []
    terms = list(dict.fromkeys(n for p in candidates for n in _names(p)
                               if n and n.lower() not in GENERIC_TERMS and concept_named(question, n) == 1.0))
    terms = outermost(terms)
    asked = [stem(w) for w in tokens(question)]
    pairs = set(zip(asked, asked[1:]))
    while len(terms) > 2:  # "Encoder-Decoder Models" is named only by the words of "encoder-only ... decoder-only models"
        stems = [name_stems(t) for t in terms]
        covered = [k for k in range(len(terms)) if stems[k] <= frozenset().union(*(s for j, s in enumerate(stems) if j != k))]
        if not covered:
            break
        words = [[stem(w) for w in tokens(t)] for t in terms]
        terms.pop(min(covered, key=lambda k: sum(pair in pairs for pair in zip(words[k], words[k][1:]))))
    terms = list({name_stems(t): t for t in reversed(terms)}.values())[::-1]  # "Skip-gram" and "Skip-Gram" are one
    if len(terms) > 2:  # the compared come first, the context after: "feature extraction and fine-tuning in transfer learning"
        first = {t: min((i for i, w in enumerate(asked) if w in name_stems(t)), default=len(asked)) for t in terms}
        terms = sorted(sorted(terms, key=first.__getitem__)[:2], key=terms.index)
    return terms if len(terms) == 2 else []


def _names(point: NotePoint) -> tuple[str, str]:
    return point.term or _plain_term(point.text), point.concept


def _named(point: NotePoint) -> NotePoint:
    """A compared point opens with its term, so that the answer's sides can be told apart."""
    if point_term(point.text):
        return point
    return NotePoint(f"{title(point.concept)}: {point.text}", point.concept, point.source, point.section, point.term)
