"""Recall questions from the facts: multiple choice with sibling distractors, short answer (and the
notes' own "X vs. Y" comparisons), cloze; `generate_quiz` draws them, seeded."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from typing import Literal

from tutor.knowledge.chunking import Chunk
from tutor.learning.quiz.common import (
    BLANK,
    DEFINITION_OVERLAP,
    DEFINITION_VERBS,
    DISTRACTORS,
    GIVEAWAY_RATIO,
    Kind,
    Level,
    MAX_EXPLANATION_CHARS,
    MIN_OPTIONS,
    MIXED_ORDER,
    QuizKind,
    STOPWORDS,
    _bare,
    _capitalize,
    _content_stems,
    _lower_first,
    _norm,
    _strip_period,
    _with_period,
    _words,
    leaks,
    mentions,
    near_duplicate,
    normalize_space,
    same_concept,
)
from tutor.learning.quiz.facts import _head_stem, read_notes
from tutor.learning.quiz.items import Fact, QuizItem


# ---- distractors ------------------------------------------------------------------------------------
def _tier(fact: Fact, other: Fact) -> int:
    if other.source == fact.source and other.section == fact.section:
        return 0 if other.siblings == fact.siblings else 1
    return 2 if other.module == fact.module else 3


def pick_distractors(
    fact: Fact, pool: Sequence[Fact], rng: random.Random, field: Literal["term", "definition"], count: int = DISTRACTORS,
) -> list[str]:
    """Wrong options for a question on `fact`: sibling concepts first (same parent, section, module, then
    anywhere), of a length like the answer's, none of them also correct and no two alike."""
    answer = _option(fact, field)
    head = _head_stem(fact.term)
    candidates: list[tuple[float, str]] = []
    for other in pool:
        if other.is_list or other.key == fact.key or same_concept(other.term, fact.term):
            continue
        if fact.context and same_concept(other.term, fact.context):
            continue  # "In the notes on RNN-Based Seq2Seq, which term ...?" never offers "RNN-Based Seq2Seq"
        text = _option(other, field)
        if not text or near_duplicate(text, answer):
            continue
        tier = _tier(fact, other)
        # outside the sibling group, a term sharing a word with the answer may be its parent or a variant
        # ("Seq2Seq Modeling" for RNN-Based Seq2Seq, "Pooling Layers" for Global Average Pooling); siblings
        # ("Horizontal Scaling", "Vertical Scaling") are contrasted on purpose
        if tier > 0 and _content_stems(_bare(other.term)) & _content_stems(_bare(fact.term)):
            continue
        if field == "definition":
            # a definition that names the answer term, an alias or its head word could be read as correct
            # ("Modern embeddings are context-dependent" for "What does Word Embeddings refer to?")
            if mentions(other.definition, fact.term) or near_duplicate(other.definition, fact.definition):
                continue
            if mentions(fact.definition, other.term) or head and head in _content_stems(other.definition):
                continue
            # a definition from elsewhere saying much the same ("Adapt the pre-trained model to a specific
            # task" for Transfer Learning) could be defended as correct
            if tier > 0 and _overlap(other.definition, fact.definition) >= DEFINITION_OVERLAP:
                continue
        else:
            if leaks(fact.definition, other.term) or mentions(other.definition, fact.term):
                continue
            # a term whose head word the definition uses may fit it too ("Word Embeddings" for a line on embeddings)
            other_head = _head_stem(other.term)
            if other_head and other_head in _content_stems(fact.definition):
                continue
        spread = abs(math.log(max(len(text), 1) / max(len(answer), 1)))
        weight = 1.2 if field == "definition" else 0.4
        candidates.append((tier + weight * spread + rng.random() * 0.9, text))
    candidates.sort(key=lambda c: c[0])
    chosen: list[str] = []
    for _, text in candidates:
        if all(not near_duplicate(text, c) for c in chosen):
            chosen.append(text)
        if len(chosen) == count:
            break
    return chosen


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of two texts' content words (stemmed)."""
    sa, sb = _content_stems(a), _content_stems(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def _option(fact: Fact, field: str) -> str:
    return fact.term if field == "term" else _capitalize(_strip_period(fact.definition))


def _member_distractors(fact: Fact, pool: Sequence[Fact], section_text: str, rng: random.Random) -> list[str]:
    """Terms from elsewhere for "which of these is one of <list>": never a member, nor named in the list's section."""
    candidates: list[tuple[float, str]] = []
    for other in pool:
        if other.is_list or (other.source, other.section) == (fact.source, fact.section):
            continue
        if any(same_concept(other.term, m) for m in fact.members) or mentions(section_text, other.term):
            continue
        if same_concept(other.term, fact.term):
            continue
        tier = 0 if other.module == fact.module else 1
        spread = abs(math.log(len(other.term) / max(1, sum(map(len, fact.members)) / len(fact.members))))
        candidates.append((tier + 0.3 * spread + rng.random() * 0.9, other.term))
    candidates.sort(key=lambda c: c[0])
    chosen: list[str] = []
    for _, text in candidates:
        if all(not near_duplicate(text, c) for c in chosen):
            chosen.append(text)
        if len(chosen) == DISTRACTORS:
            break
    return chosen


# ---- questions --------------------------------------------------------------------------------------
def _quote(text: str) -> str:
    return f"\u201c{_strip_period(text)}\u201d"


def _context_phrase(fact: Fact, for_term_answer: bool) -> str:
    context = fact.context
    if not context or (for_term_answer and leaks(context, fact.term)):
        return ""
    return context


def _item(fact: Fact, kind: Kind, question: str, answer: str, options: list[str] | None = None,
          explanation: str | None = None, level: Level = "remember") -> QuizItem | None:
    try:
        return QuizItem(kind=kind, question=question, options=options, answer=answer,
                        explanation=explanation or fact.sentence, section=fact.section, source=fact.source,
                        module=fact.module, level=level)
    except ValueError:
        return None


def _mcq(fact: Fact, pool: Sequence[Fact], rng: random.Random, texts: dict[tuple[str, str], str]) -> QuizItem | None:
    if fact.is_list:
        # members of a sentence's list ("ReLU, sigmoid, and tanh") have no sibling concepts to mix with;
        # and a member that shares the list's words ("High Threshold" under "Threshold Adjustment") is a giveaway
        choices = [m for m in fact.members if not _content_stems(_bare(m)) & _content_stems(_bare(fact.term))]
        if fact.note == "inline list" or not choices:
            return None
        distractors = _member_distractors(fact, pool, texts.get((fact.source, fact.section), ""), rng)
        if len(distractors) < MIN_OPTIONS - 1:
            return None
        answer = rng.choice(choices)
        where = f" in \u201c{fact.context}\u201d" if fact.context else ""
        question = f"Which of these is listed under \u201c{fact.term}\u201d{where}?"
        return _shuffled(fact, question, answer, distractors, rng)
    if leaks(fact.definition, fact.term):
        # "which term is described as ..." would quote the answer, and as an option the definition
        # would be the one repeating the term's words ("Adjusts the learning rate ..." for LR Scheduling)
        return None
    forms = ["term", "definition"]
    rng.shuffle(forms)
    for form in forms:
        if form == "term":
            distractors = pick_distractors(fact, pool, rng, "term")
            context = _context_phrase(fact, for_term_answer=True)
            lead = f"In the notes on {context}, which" if context else "Which"
            question = f"{lead} term is described as: {_quote(fact.definition)}?"
            answer = fact.term
        else:
            distractors = pick_distractors(fact, pool, rng, "definition")
            answer = _option(fact, "definition")
            longest = max((len(d) for d in distractors), default=0)
            if distractors and len(answer) > GIVEAWAY_RATIO * longest + 10:
                continue  # the longest option would be the right one: ask for the term instead
            context = _context_phrase(fact, for_term_answer=False)
            where = f" in the notes on {context}" if context else ""
            verb = "do" if _plural(fact.term) else "does"
            question = f"What {verb} {fact.term} refer to{where}?"
        if len(distractors) >= MIN_OPTIONS - 1:
            item = _shuffled(fact, question, answer, distractors, rng)
            if item is not None:
                return item
    return None


def _shuffled(fact: Fact, question: str, answer: str, distractors: list[str], rng: random.Random) -> QuizItem | None:
    options = [answer, *distractors]
    rng.shuffle(options)
    return _item(fact, "mcq", question, answer, options)


def _short(fact: Fact, partner: Fact | None, span: str) -> QuizItem | None:
    if fact.is_list:
        where = f" in \u201c{fact.context}\u201d" if fact.context else ""
        question = f"Name the {len(fact.members)} items the notes list under \u201c{fact.term}\u201d{where}."
        return _item(fact, "short", question, ", ".join(fact.members))
    if partner is not None:
        first, second = sorted((fact, partner), key=lambda f: f.line_start)  # in the notes' order
        question = f"What is the difference between {first.term} and {second.term}?"
        answer = f"{first.term}: {_with_period(first.definition)} {second.term}: {_with_period(second.definition)}"
        return _item(fact, "short", question, answer, explanation=span, level="analyze")
    context = _context_phrase(fact, for_term_answer=False)
    question = f"Explain {fact.term}" + (f", as the notes on {context} describe it." if context else ".")
    answer = _with_period(_capitalize(fact.definition))
    if fact.example:
        answer += f" Example: {_with_period(fact.example)}"
    return _item(fact, "short", question, answer)


def _cloze(fact: Fact, rng: random.Random) -> QuizItem | None:
    if fact.is_list:
        choices = [m for m in fact.members if not any(mentions(o, m) for o in fact.members if o != m)]
        if not choices:
            return None
        answer = rng.choice(choices)
        if fact.note == "inline list":
            blanked = _blank(fact.sentence, answer)
            if blanked:
                return _item(fact, "cloze", f"Fill in the blank: \u201c{_with_period(blanked)}\u201d", answer)
        shown = [BLANK if m == answer else m for m in fact.members]
        where = f" in \u201c{fact.context}\u201d" if fact.context else ""
        question = (f"Fill in the blank: the notes list under \u201c{fact.term}\u201d{where}: "
                    f"{', '.join(shown[:-1])} and {shown[-1]}.")
        return _item(fact, "cloze", question, answer)
    if leaks(fact.definition, fact.term) or _norm(fact.term) in STOPWORDS:
        return None
    definition = _with_period(fact.definition)
    first = _words(definition)[:1]
    if fact.note == "sentence":
        blanked = _blank(fact.sentence, fact.term)
        statement = blanked or ""
    elif first and first[0] in DEFINITION_VERBS:
        statement = f"{BLANK} {_lower_first(definition)}"
    elif first and first[0].endswith("ing") and len(first[0]) > 5:
        statement = f"{BLANK} means {_lower_first(definition)}"
    elif first and first[0] in ("a", "an", "the"):
        verb = "are" if _plural(fact.term) else "is"
        statement = f"{BLANK} {verb} {_lower_first(definition)}"
    else:
        statement = f"{BLANK}: {definition}"
    if not statement:
        return None
    context = _context_phrase(fact, for_term_answer=True)
    lead = f"Fill in the blank (from the notes on {context})" if context else "Fill in the blank"
    return _item(fact, "cloze", f"{lead}: \u201c{_with_period(statement)}\u201d", fact.term)


def _plural(term: str) -> bool:
    last = _bare(term).split()[-1] if _bare(term).split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is")) and not last.isupper()


def _blank(sentence: str, term: str) -> str:
    """The sentence with `term` replaced by the blank, once; "" when it is not there as a whole word."""
    for name in (term, _bare(term)):
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        if pattern.search(sentence):
            blanked = pattern.sub(BLANK, sentence, count=1)
            return blanked if not mentions(blanked.replace(BLANK, " "), term) else ""
    return ""


def _pair_for(fact: Fact, facts: Sequence[Fact], used: set[str], reader_spans: dict[tuple[str, str], dict[int, str]],
              rng: random.Random) -> tuple[Fact, str] | None:
    """A sibling defined right next to `fact` in a "vs." passage or a group of two, with the passage quoting both."""
    if fact.is_list or fact.note == "sentence":
        return None
    siblings = [f for f in facts if not f.is_list and f.note == fact.note and f.siblings == fact.siblings
                and (f.source, f.section) == (fact.source, fact.section) and f.note != "sentence"]
    if fact not in siblings:
        return None
    index = siblings.index(fact)
    titles = f"{fact.section} {fact.subsection}"
    contrast = bool(re.search(r"\bvs\.?\b|\bversus\b", titles, re.IGNORECASE))
    if not contrast and len(siblings) != 2:
        return None
    neighbours = [siblings[i] for i in (index - 1, index + 1) if 0 <= i < len(siblings)]
    rng.shuffle(neighbours)
    for other in neighbours:
        if other.key in used or same_concept(other.term, fact.term):
            continue
        first, second = sorted((fact, other), key=lambda f: f.line_start)
        lines = reader_spans[(fact.source, fact.section)]
        span = normalize_space(" ".join(lines[n] for n in sorted(lines) if first.line_start <= n <= second.line_end))
        if len(span) <= MAX_EXPLANATION_CHARS:
            return other, span
    return None


def generate_quiz(
    chunks: Sequence[Chunk],
    n: int,
    kind: QuizKind = "mixed",
    seed: int = 0,
    topic_sections: Sequence[tuple[str, str]] | None = None,
) -> list[QuizItem]:
    """Up to `n` questions from the notes: the same seed gives the same quiz; no question and no fact twice.

    `kind` is "mcq", "short", "cloze" or "mixed" (rotating through the three). With `topic_sections`
    ((source, section) pairs) the questions come from those sections, then, if they hold too few
    facts, from the rest of their modules. Fewer than `n` items means the notes did not offer more.
    """
    if kind not in ("mcq", "short", "cloze", "mixed", "computed"):
        raise ValueError(f"kind must be mcq, short, cloze or mixed, got {kind!r}")
    if n < 1 or kind == "computed":  # computed items come from the demo models, not from here
        return []
    chunks = list(chunks)
    rng = random.Random(seed)
    notes = read_notes(chunks)
    facts, texts, plain_lines = notes.facts, notes.texts, notes.lines

    shuffled = list(facts)
    rng.shuffle(shuffled)
    tiers = [shuffled]  # facts to draw from, in order: a later tier only when the earlier ones run dry
    if topic_sections:
        wanted = {(source, section) for source, section in topic_sections}
        modules = {(c.source, c.module) for c in chunks if (c.source, c.section) in wanted}
        tiers = [
            [f for f in shuffled if (f.source, f.section) in wanted],
            [f for f in shuffled if (f.source, f.module) in modules and (f.source, f.section) not in wanted],
        ]

    kinds: list[Kind] = list(MIXED_ORDER) if kind == "mixed" else [kind]  # type: ignore[list-item]
    items: list[QuizItem] = []
    used_keys: set[str] = set()
    asked: set[str] = set()

    def make(fact: Fact, want: Kind) -> tuple[QuizItem | None, Fact | None]:
        if want == "mcq":
            return _mcq(fact, facts, rng, texts), None
        if want == "cloze":
            return _cloze(fact, rng), None
        pair = None
        if rng.random() < 0.5:
            pair = _pair_for(fact, facts, used_keys, plain_lines, rng)
        if pair is not None:
            return _short(fact, pair[0], pair[1]), pair[0]
        return _short(fact, None, ""), None

    def next_item(turn: int) -> bool:
        # the asked sections before their modules; within them the kind whose turn it is, else the next
        for tier in tiers:
            for offset in range(len(kinds)):
                want = kinds[(turn + offset) % len(kinds)]
                for fact in tier:
                    if fact.key in used_keys:
                        continue
                    item, partner = make(fact, want)
                    if item is None or _norm(item.question) in asked:
                        continue
                    items.append(item)
                    asked.add(_norm(item.question))
                    used_keys.update(f.key for f in (fact, partner) if f is not None)
                    return True
        return False

    turn = 0
    while len(items) < n and next_item(turn):
        turn += 1
    return items
