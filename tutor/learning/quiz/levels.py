"""Questions beyond recall, and quizzes that mix the levels.

Every quiz item carries a `level` (remember, understand, apply, analyze). Recall items come from
`recall`; this module adds:

- *why* questions (understand) from the notes' purpose clauses: "Dropout: randomly drops neurons during
  training ... What is this for?" answered by "to prevent reliance on specific nodes";
- *apply* questions from the notes' examples: "Real-time data from IoT devices ...: which idea of the notes
  does this example show?" with the example's siblings from the same section as the other options;
- the companion's rubric questions (understand / apply / analyze), graded against their key points;
- *compare* questions ("What is the difference between X and Y?", analyze) come from the notes' "X vs. Y"
  passages in `recall`, and computed ones (apply) from the demo models (`computed`).

`leveled_quiz` assembles a quiz for `--level`: one level, or `mixed`, where at least half the items are
above remember when the notes offer them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from tutor.knowledge.chunking import Chunk
from tutor.knowledge.companion import Companion, Entry
from tutor.learning.quiz.common import (
    LEVELS,
    _capitalize,
    _strip_period,
    _with_period,
    leaks,
    near_duplicate,
)
from tutor.learning.quiz.facts import read_notes
from tutor.learning.quiz.items import Fact, QuizItem
from tutor.learning.quiz.recall import _pair_for, _short, generate_quiz, pick_distractors

LEVEL_CHOICES = (*LEVELS, "mixed")
_PURPOSE = re.compile(
    r"(?:,\s*|\s+)(?P<purpose>(?:so that|in order to|to)\s+(?:prevent|avoid|reduce|improve|ensure|allow|help|make|"
    r"capture|enable|increase|minimi[sz]e|maximi[sz]e|keep|stop|speed|address|overcome|mitigate|"
    r"stabili[sz]e|preserve|focus|remove|learn)\b.*|enabling\s+.+)$",
    re.I,
)


def why_items(facts: Sequence[Fact]) -> list[QuizItem]:
    items = []
    for fact in facts:
        if fact.is_list or not fact.definition:
            continue
        m = _PURPOSE.search(fact.definition)
        if not m:
            continue
        what = _strip_period(fact.definition[: m.start()].strip(" ,;:"))
        purpose = _with_period(_capitalize(m["purpose"].strip()))
        if len(what.split()) < 2 or re.search(r"\b(ability|able|used|designed|how)$", what, re.I):
            continue
        question = f"{fact.term}: \u201c{what}.\u201d What is this for: what does it achieve, and why?"
        try:
            items.append(QuizItem(kind="short", question=question, answer=purpose, explanation=fact.sentence,
                                  section=fact.section, source=fact.source, module=fact.module, level="understand"))
        except ValueError:
            continue
    return items


def apply_items(facts: Sequence[Fact], rng: random.Random) -> list[QuizItem]:
    """An example from the notes, and the idea it shows among that section's sibling ideas."""
    items = []
    for fact in facts:
        example = _strip_period(fact.example.strip())
        if fact.is_list or len(example) < 12 or leaks(example, fact.term):
            continue
        section = [f for f in facts if (f.source, f.section) == (fact.source, fact.section) and not f.is_list]
        distractors = [d for d in pick_distractors(fact, section, rng, "term") if not leaks(example, d)]
        if len(distractors) < 2:
            continue
        options = [fact.term, *distractors]
        rng.shuffle(options)
        question = f"\u201c{example}.\u201d Which idea from the notes does this example show?"
        try:
            items.append(QuizItem(kind="mcq", question=question, options=options, answer=fact.term,
                                  explanation=fact.sentence, section=fact.section, source=fact.source,
                                  module=fact.module, level="apply"))
        except ValueError:
            continue
    return items


def compare_items(facts: Sequence[Fact], lines: dict, rng: random.Random) -> list[QuizItem]:
    """"What is the difference between X and Y?" for two ideas the notes set side by side ("X vs. Y")."""
    items: list[QuizItem] = []
    used: set[str] = set()
    for fact in facts:
        if fact.key in used:
            continue
        pair = _pair_for(fact, facts, used, lines, rng)
        if pair is None:
            continue
        item = _short(fact, pair[0], pair[1])
        if item is not None:
            items.append(item)
            used.update({fact.key, pair[0].key})
    return items


def rubric_items(entries: Sequence[Entry]) -> list[QuizItem]:
    items = []
    for entry in entries:
        for q in entry.questions:
            try:
                items.append(QuizItem(
                    kind="short", question=q.text, answer=q.reference,
                    explanation=f"({entry.label}) {entry.intuition.strip()}",
                    section=entry.explains, source=entry.notes, level=q.level, key_points=list(q.key_points),
                ))
            except ValueError:
                continue
    return items


def _tiers(items: list[QuizItem], sections: set[tuple[str, str]] | None, modules: set[str]) -> list[QuizItem]:
    """The items of the asked sections first, then of their modules; all of them when no topic was asked."""
    if sections is None:
        return items
    first = [i for i in items if (i.source, i.section) in sections]
    second = [i for i in items if (i.source, i.section) not in sections and i.source in modules]
    return first + second


def leveled_quiz(
    chunks: Sequence[Chunk],
    n: int,
    kind: str = "mixed",
    seed: int = 0,
    topic_sections: Sequence[tuple[str, str]] | None = None,
    level: str = "mixed",
    companion: Companion | None = None,
    topic_entries: Sequence[Entry] = (),
) -> list[QuizItem]:
    """Up to `n` items at the level asked (or mixed: at least half above remember when the notes allow),
    seeded, none twice. Cloze items are recall only; a rubric or why question is a short answer, an
    example question a multiple choice."""
    if level not in LEVEL_CHOICES:
        raise ValueError(f"level must be one of {', '.join(LEVEL_CHOICES)}, got {level!r}")
    if n < 1:
        return []
    rng = random.Random(seed * 7919 + 17)
    chunks = [c for c in chunks if c.kind == "notes"]
    notes = read_notes(chunks)
    facts = list(notes.facts)
    sections = {tuple(s) for s in topic_sections} if topic_sections else None
    modules = {s for s, _ in sections} if sections else set()

    higher: list[QuizItem] = []
    named: list[QuizItem] = []  # the rubric questions of the idea the topic names come first
    if kind in ("short", "mixed"):
        entries = list(companion.entries) if companion else []
        if sections is not None:
            wanted = [e for e in entries if (e.notes, e.explains) in sections]
            others = [e for e in wanted if all(e is not t for t in topic_entries)]
            entries = others if (topic_entries or others) else [e for e in entries if e.notes in modules]
            named = rubric_items(topic_entries)
            rng.shuffle(named)
        groups = [rubric_items(entries), why_items(facts), compare_items(facts, notes.lines, rng)]
    else:
        groups = []
    if kind in ("mcq", "mixed"):
        groups.append(apply_items(facts, rng))
    for group in groups:
        rng.shuffle(group)
    # each kind of question in turn (the companion's rubric questions outnumber the rest), asked sections first
    higher = named + _tiers(_round_robin([_tiers(g, sections, modules) for g in groups]), sections, modules)

    recall = generate_quiz(chunks, n=n * 2 if level != "remember" else n, kind=kind, seed=seed,
                           topic_sections=topic_sections)  # type: ignore[arg-type]
    higher += [i for i in recall if i.level != "remember"]  # the notes' own compare questions
    recall = [i for i in recall if i.level == "remember"]
    if level == "remember":
        return recall[:n]
    if level != "mixed":
        return _unique([i for i in higher if i.level == level], n)
    above = _unique(higher, (n + 1) // 2)
    fresh = [i for i in recall if all(not near_duplicate(i.question, a.question) for a in above)]
    below = _unique(fresh, n - len(above))
    if len(above) + len(below) < n:  # the notes offer too little recall: fill from above
        above = _unique(higher, n - len(below))
    mixed: list[QuizItem] = []
    while above or below:  # alternate, a higher-level item first
        for pool in (above, below):
            if pool:
                mixed.append(pool.pop(0))
    return mixed[:n]


def _round_robin(groups: list[list[QuizItem]]) -> list[QuizItem]:
    out: list[QuizItem] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def _unique(items: Sequence[QuizItem], n: int) -> list[QuizItem]:
    out: list[QuizItem] = []
    seen: set[str] = set()
    for item in items:
        key = " ".join(item.question.lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
        if len(out) == n:
            break
    return out
