"""Feedback that matches the evidence: what was stated, what is missing, what was contradicted, and which
other concept the answer describes instead, quoted from the key points and the answer's own words.

"The notes say X, you wrote Y" is written only where the evidence found a contradiction (a flipped negation,
a substituted term, a wrong number, a side given the other's definition), never for a paraphrase. An
`unsure` grade says so, shows the key point with the words found and not found, and asks the learner.
Nothing here adds a fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tutor.grading.decision import Decision
from tutor.grading.evidence import Evidence
from tutor.grading.keypoints import names_side, point_term


@dataclass
class Judged:
    """What the feedback is written from."""

    decision: Decision
    points: Sequence[str]
    evidence: Sequence[Evidence | None]  # per point; None where the answer was not aligned to it
    best: int  # the point that evidence is about, among `points`
    decided_on: Evidence | None = None  # the evidence the decision read (a point, the whole reference, the sides)
    answer: str = ""
    blank: bool = False
    removed: bool = False  # something was written, but all of it addressed the grader or restated the question
    graded_against: str = "reference"
    concept: str = ""
    sibling: Mapping[str, str] | None = None  # the other concept the answer describes
    swapped: Sequence[tuple[str, str, str]] = ()  # (what the answer says of a side, the other side's point, its term)


@dataclass
class Written:
    covered: list[str]
    missed: list[str]
    contradicted: list[str]
    feedback: str
    confused_with: dict[str, str] | None = None
    stated_words: list[str] = field(default_factory=list)
    missing_words: list[str] = field(default_factory=list)


def short(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split()).rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut) + "…"


def _quote(points: Sequence[str], n: int = 2) -> str:
    return "; ".join(f'"{short(p)}"' for p in points[:n])


def _words(words: Sequence[str], n: int = 6) -> str:
    shown = list(dict.fromkeys(words))
    more = len(shown) - n
    return ", ".join(f'"{w}"' for w in shown[:n]) + (f" and {more} more" if more > 0 else "")


def _states(ev: Evidence | None) -> bool:
    return ev is not None and ev.recall >= 0.6 and not ev.contradicted


def compose(j: Judged) -> Written:
    points = list(j.points)
    who = "the notes" if j.graded_against == "notes" else "the reference"
    says = f"{who} {'say' if j.graded_against == 'notes' else 'says'}"
    verdict, reason = j.decision.verdict, j.decision.reason
    if j.blank or j.removed:
        first = f' The key point: "{short(points[0])}".' if points else ""
        opening = ("No answer was given." if j.blank else
                   "Nothing in the answer goes beyond restating the question or addressing the grader.")
        return Written([], points, [], opening + first)
    ev = j.decided_on
    key = ev.point if ev is not None else (points[j.best] if points else "")
    stated = ev.stated if ev else []
    missing = ev.missing if ev else []

    contradicted = [points[j.best]] if reason == "contradicted" and points else []
    whole = (j.graded_against == "notes" and j.decided_on is not None and len(points) > 1  # a comparison's sides
             and j.decided_on.point == " ".join(points))
    if verdict == "correct" and whole:  # both sides judged together and right: both are covered
        covered = list(points)
    elif verdict == "correct":
        covered = [p for p, e in zip(points, j.evidence) if _states(e)] or points[j.best : j.best + 1]
    elif verdict == "partially_correct" and reason == "one_side":  # a comparison's side the answer names is what it covers
        covered = [p for p in points if names_side(p, j.answer)] or points[j.best : j.best + 1]
    elif verdict == "partially_correct":
        covered = [p for p, e in zip(points, j.evidence) if _states(e)] or (points[j.best : j.best + 1] if len(points) > 1 else [])
    else:  # the words of a point stated without its meaning (a list, another concept's point) state nothing
        covered = [p for p, e in zip(points, j.evidence) if _states(e) and p not in contradicted] if reason == "meaning" else []
        covered = covered if len(covered) < len(points) else []
    missed = [p for p in points if p not in covered and p not in contradicted]
    if verdict == "correct" and (j.graded_against == "notes" or reason in ("said_back", "numbers")):
        missed = []  # the notes' points restate one idea; a reference said back in full is stated in full

    if verdict == "correct":
        text = {"said_back": [f'Correct: your answer says what {says}: "{short(key)}".'],
                "numbers": [f'Correct: the numbers are right ({_words([w.said for w in ev.words if w.how == "number"])}).'
                            if ev else "Correct."]}.get(reason, [f'Correct: in your own words, you stated "{short(key)}".'])
        if missed:
            text.append(f"You could also mention {_quote(missed)}.")
    elif verdict == "partially_correct":
        text = [f"Partly right: you stated {_quote(covered)}." if covered else
                f"Partly right: you are on the right track, but the key point is not stated in full: \"{short(key)}\"."]
        if reason == "one_side" and missed:  # a comparison answered for one side: name the side left out
            text.append(f"The question asks about both sides; you left out {_quote(missed)}.")
        elif missing:
            text.append(f"Not found in your answer: {_words(missing)}.")
    elif verdict == "unsure":
        text = [f'I can\'t tell whether your answer says the key point: "{short(key)}".']
        check = to_check(ev)
        if check:
            text.append(check)
        elif stated:
            text.append(f"Found in your answer: {_words(stated)}" + (f"; not found: {_words(missing)}." if missing else "."))
        text.append("Does your answer say this (yes / partly / no)?")
    else:
        text = _incorrect(j, key, ev, says, who)
    return Written(covered, missed, contradicted, " ".join(text[:3]), dict(j.sibling) if j.sibling and reason == "sibling" else None,
                   stated, missing)


def to_check(ev: Evidence | None) -> str:
    """For an unsure grade, the one place where the answer may say the opposite of the point: a negation, an
    opposite, another term or number where the point's words are ("" when none was found)."""
    if ev is None:
        return ""
    pairs = _opposite_pairs(ev) or ev.denied
    if pairs:
        theirs, mine = pairs[0]
        return f'Check one thing: where the key point says "{theirs}", your answer says "{mine}".'
    if ev.doubts:  # a verb that denies ("prevent", "ignoring") on one side only
        theirs, mine = ev.doubts[0]
        if len(mine.split()) > len(theirs.split()):  # the answer's own ("ignoring the gradient" for "gradient")
            return f'Check one thing: where the key point says "{theirs}", your answer says "{mine}".'
        return f'Check one thing: the key point says "{theirs}"; does your answer say that, or its opposite?'
    return ""


def _opposite_pairs(ev: Evidence) -> list[tuple[str, str]]:
    """(the point's words, the answer's) where the answer says otherwise: a wrong number, another term, a flip."""
    return ev.wrong_numbers or ev.substituted or ev.flipped or ev.traded


def _incorrect(j: Judged, key: str, ev: Evidence | None, says: str, who: str) -> list[str]:
    reason = j.decision.reason
    if reason == "sibling" and j.sibling:
        where = f" ({j.sibling['source']} § {j.sibling['section']})" if j.sibling.get("source") else ""
        about = f"For {j.concept}, {says}" if j.concept else says[:1].upper() + says[1:]
        return [f"That describes {j.sibling['concept']}{where}, not what was asked.", f'{about}: "{short(without_term(key, j.concept))}".']
    if reason == "contradicted" and j.swapped:
        said, theirs, term = j.swapped[0]
        return [f'Not right: you wrote "{short(said, 100)}", but that is what {says} of {term or "the other side"}: '
                f'"{short(theirs)}".',
                "Each side is given the other's definition: swap them back." if len(j.swapped) > 1 else f'The key point: "{short(key)}".']
    if reason == "contradicted" and ev is not None:
        theirs, mine = _opposite_pairs(ev)[0]
        return [f'Not right: {says} "{short(key)}", you wrote "{short(j.answer, 100)}".',
                f'Where you say "{mine}", {who} {"say" if j.graded_against == "notes" else "says"} "{theirs}".']
    if reason == "nothing_said":
        return ["Not yet: your answer does not say anything the key point says.", f'The key point: "{short(key)}".']
    if reason == "off_topic":
        return [f"Not right: your answer is about something else; it does not say what {says}.", f'The key point: "{short(key)}".']
    if reason == "no_sentence":
        return [f"Those are words of {who}, but not a sentence that says what {'they say' if j.graded_against == 'notes' else 'it says'}.",
                f'The key point: "{short(key)}".']
    if ev is not None and ev.stated and ev.recall >= 0.3:
        return [f"Not there yet: you mention {_words(ev.stated, 4)}, but the key point is missing: \"{short(key)}\"."]
    return [f"Not right: your answer does not say what {says}.", f'The key point: "{short(key)}".']


def without_term(point: str, concept: str = "") -> str:
    """'Dropout: Randomly drops neurons ...' -> 'Randomly drops neurons ...' when the point opens with its term."""
    term = point_term(point) or concept
    if term and point.lower().startswith(term.lower()):
        rest = point[len(term):].lstrip(" *:-–")
        return rest or point
    return point
