"""Feedback that matches the verdict: what was stated, what is missing, what is contradicted, and which
other concept the answer describes instead, built only from the key points and the judgements made.

The per-point judgements come from the same pair model that gave the verdict (each key point alone
against the answer), and the verdict wins where they disagree: a correct answer always has at least one
point stated, an incorrect one never has every point stated, and no sentence praises an answer the
score does not. Quotes are the key points as written; nothing here adds a fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tutor.grading.keypoints import point_term
from tutor.grading.model import GradingItem
from tutor.grading.text import content_stems, content_words, stem

COVERED_AT = 0.5  # P(correct) of a key point alone from which the answer states it
CONTRADICTED_AT = 0.5  # P(contradictory) of a key point alone from which the answer denies it
CONFUSED_AT = 0.5  # P(correct) of a sibling concept's point from which the answer describes that concept
CONFUSED_MARGIN = 0.15  # ... and this much more than any point of the concept asked about


@dataclass
class Judgement:
    verdict: str
    points: Sequence[str]
    point_probs: np.ndarray  # (P, 4): each point alone, P(correct, incomplete, contradictory, unrelated)
    whole: np.ndarray  # (4,): the whole reference against the answer
    answer: str = ""
    blank: bool = False
    removed: bool = False  # something was written, but all of it addressed the grader or restated the question
    siblings: Sequence[Mapping[str, str]] = ()
    sibling_probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    point_words: Sequence[float] = ()  # share of the answer's own content words found in each key point
    sibling_words: Sequence[float] = ()  # ... and in each sibling
    graded_against: str = "reference"
    concept: str = ""  # the concept asked about, when known (grading against the notes)
    reused_words: float = 0.0  # share of the reference's content words the answer repeats
    opposites: dict[int, tuple[str, ...]] = field(default_factory=dict)  # point index -> (answer's word, point's word)
    swapped: Sequence[tuple[str, ...]] = ()  # (what the answer says of a side, the other side's point, its term, its own point)


@dataclass
class Written:
    covered: list[str]
    missed: list[str]
    contradicted: list[str]
    feedback: str
    confused_with: dict[str, str] | None = None


def short(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split()).rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut) + "…"


def _quote(points: Sequence[str], n: int = 2) -> str:
    return "; ".join(f'"{short(p)}"' for p in points[:n])


def compose(j: Judgement) -> Written:
    points = list(j.points)
    who = "the notes" if j.graded_against == "notes" else "the reference"
    source = f"{who} {'say' if j.graded_against == 'notes' else 'says'}"
    if j.blank or j.removed:
        first = f' The key point: "{short(points[0])}".' if points else ""
        opening = ("No answer was given." if j.blank else
                   "Nothing in the answer goes beyond restating the question or addressing the grader.")
        return Written([], points, [], opening + first)

    probs = j.point_probs if len(j.point_probs) == len(points) else np.zeros((len(points), 4))
    contradicted = [p for k, (p, row) in enumerate(zip(points, probs)) if row[2] >= CONTRADICTED_AT or k in j.opposites]
    covered = [p for p, row in zip(points, probs) if row[0] >= COVERED_AT and p not in contradicted]
    # The verdict wins: it read the whole answer against the whole reference.
    if j.verdict == "correct":
        contradicted = []
        if not covered and points:
            covered = [points[int(np.argmax(probs[:, 0]))]]
    elif j.verdict == "incorrect":
        if len(covered) == len(points):
            covered = []
        if not contradicted and points and len(j.whole) == 4 and int(np.argmax(j.whole)) == 2:
            # The whole answer contradicts the reference: name the point it contradicts most.
            worst = points[int(np.argmax(probs[:, 2]))]
            contradicted = [worst]
            covered = [p for p in covered if p != worst]
    missed = [p for p in points if p not in covered and p not in contradicted]

    confused = _confusion(j) if j.verdict != "correct" else None
    if j.verdict == "correct":
        text = [f"Correct: you stated {_quote(covered, 3)}." if len(points) > 1 else
                f'Correct: your answer says what {source}: "{short(covered[0])}".'
                if covered else "Correct."]
        if missed:
            text.append(f"You could also mention {_quote(missed)}.")
    elif j.verdict == "partially_correct":
        text = [f"Partly right: you stated {_quote(covered)}." if covered else
                "Partly right: your answer is on the right track but does not state the key point fully."]
        if contradicted:
            text.append(f'But one claim goes against {who}: "{short(contradicted[0])}".')
        if missed:
            text.append(f"Missing: {_quote(missed)}.")
    else:
        text = _incorrect(j, points, covered, missed, contradicted, confused, source)
    return Written(covered, missed, contradicted, " ".join(text[:3]), confused)


def _incorrect(j: Judgement, points: list[str], covered: list[str], missed: list[str], contradicted: list[str],
               confused: dict[str, str] | None, source: str) -> list[str]:
    who = "the notes" if j.graded_against == "notes" else "the reference"
    key = (contradicted or missed or points or [""])[0]
    if confused:
        where = f" ({confused['source']} § {confused['section']})" if confused.get("source") else ""
        about = f"For {j.concept}, {source}" if j.concept else source[:1].upper() + source[1:]
        return [f"That describes {confused['concept']}{where}, not what was asked.",
                f'{about}: "{short(_without_concept(key, j.concept))}".']
    if j.swapped:
        said, theirs, term, own = j.swapped[0]
        return [f'Not right: you wrote "{short(said, 100)}", but that is what {source} of {term or "the other side"}: '
                f'"{short(theirs)}".',
                "Each side is given the other's definition: swap them back." if len(j.swapped) > 1 else
                f'Of {point_term(own) or "what was asked"}, {source}: "{short(_without_concept(own, point_term(own)))}".']
    if contradicted:
        k = points.index(contradicted[0])
        words = j.opposites.get(k)
        words = words or differing_words(j.answer, contradicted[0], j.concept)
        pointer = (f'Where you say "{words[0]}", {who} {"say" if j.graded_against == "notes" else "says"} "{words[1]}".'
                   if words else "The two cannot both be true: check which way it goes.")
        return [f'Not right: you wrote "{short(j.answer, 100)}", but {source} "{short(contradicted[0])}".', pointer]
    if covered:
        return [f"Not there yet: you stated {_quote(covered)}, but the main point is missing: {_quote(missed, 1)}."]
    if j.reused_words >= 0.5:
        return [f"Not right: your answer reuses words of {who} but does not say what {'they say' if j.graded_against == 'notes' else 'it says'}.",
                f'The key point: "{short(key)}".']
    return [f"Not right: your answer does not say what {source}.", f'The key point: "{short(key)}".']


def _without_concept(point: str, concept: str) -> str:
    """'Dropout: Randomly drops neurons ...' -> 'Randomly drops neurons ...' when the sentence names the concept."""
    if concept and point.lower().startswith(concept.lower() + ":"):
        return point[len(concept) + 1:].strip()
    return point


def confused_with(point_probs: np.ndarray, sibling_probs: np.ndarray, point_words: Sequence[float] = (),
                  sibling_words: Sequence[float] = ()) -> int | None:
    """The index of the sibling concept the answer describes: one that fits it clearly better than the concept
    asked about, or one the answer is about (not unrelated to it) in clearly the sibling's own words (the
    share of the answer's content words, other than the concept's name and the question's, found in each).
    Among siblings that fit about as well, the first (they come nearest first)."""
    if not len(sibling_probs):
        return None
    fit = sibling_probs[:, 0]
    asked = float(point_probs[:, 0].max()) if len(point_probs) else 0.0
    words = np.asarray(sibling_words if len(sibling_words) == len(fit) else np.zeros(len(fit)))
    own = max(point_words) if len(point_words) else 0.0
    # By words alone (the answer in the sibling's vocabulary, on its topic) it also flags correct answers that
    # use a neighbouring term ("the feature map gets smaller" for stride): words only break ties of meaning.
    # "About it" is "not unrelated to it": the pair model reads a near-copy of a sibling's point ("It adds
    # penalties to large weights ..." for L1/L2) as partly contradicting it, which still says it is about it.
    about = 1.0 - sibling_probs[:, 3] if sibling_probs.shape[1] > 3 else fit
    by_meaning = (fit >= CONFUSED_AT) & (fit >= asked + CONFUSED_MARGIN)
    by_words = (about >= CONFUSED_AT) & (fit >= asked) & (words >= own + 0.3)
    chosen = by_meaning | by_words
    if not chosen.any():
        return None
    score = fit + words
    best = float(score[chosen].max())
    return int(np.flatnonzero(chosen & (score >= best - 0.05))[0])


def _confusion(j: Judgement) -> dict[str, str] | None:
    if len(j.sibling_probs) != len(j.siblings):
        return None
    best = confused_with(j.point_probs, j.sibling_probs, j.point_words, j.sibling_words)
    if best is None:
        return None
    sibling: Any = j.siblings[best]
    return {k: str(sibling.get(k, "")) for k in ("concept", "source", "section", "text")}


def swapped_sides(item: GradingItem, points: Sequence[str], said: Sequence[str], at: float = 0.5,
                  margin: float = 0.25) -> list[tuple[str, str, str, str]]:
    """(what the answer says of a term, the other term's point, that term, its own point) where, in a
    comparison, the answer gives a term the other's definition: the clause's own content words are mostly that other point's (`at`) and
    clearly more than its own point's (`margin`). The feedback names it ("what you say of stemming is what
    the notes say of lemmatization")."""
    out = []
    for j, text in enumerate(said):
        if not text:
            continue
        shares = [word_share(text, t, item) for t in points]
        other = max((i for i in range(len(points)) if i != j), key=shares.__getitem__, default=None)
        if other is not None and shares[other] >= at and shares[other] >= shares[j] + margin:
            out.append((text, points[other], point_term(points[other]), points[j]))
    return out


def word_share(answer: str, text: str, item: GradingItem) -> float:
    """The share of the answer's own content words (not the asked concept's name, not the question's) in `text`."""
    skip = set(content_stems(f"{item.concept} {item.question}"))
    own = set(content_stems(answer)) - skip
    return len(own & set(content_stems(text))) / len(own) if own else 0.0


def differing_words(answer: str, point: str, concept: str = "", most: int = 2) -> tuple[str, str] | None:
    """What the answer says where the point says something else, when that is a few words each ("learning
    rate" where the notes say "neurons"): the content words only one of the two has, in the order written;
    None when either side has none or more than `most` (then it is not one swapped idea), or when a word is
    not written as such (a hyphenated term)."""
    named = set(content_stems(concept))
    mine = [w for w in content_words(answer) if stem(w) not in named]
    theirs = [w for w in content_words(point) if stem(w) not in named]
    only_mine = [w for w in mine if stem(w) not in {stem(x) for x in theirs}]
    only_theirs = [w for w in theirs if stem(w) not in {stem(x) for x in mine}]
    if not (0 < len(only_mine) <= most and 0 < len(only_theirs) <= most):
        return None
    written = {w.strip(".,;:!?()\"'").lower() for w in f"{answer} {point}".split()}
    if not all(w.lower() in written for w in only_mine + only_theirs):  # "skip-gram" is not "skip gram"
        return None
    return " ".join(only_mine), " ".join(only_theirs)
