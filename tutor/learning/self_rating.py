"""What a tutor does when it cannot tell: the key point beside the learner's answer, its words marked, and the
question "Does your answer say this? yes / partly / no", whose answer becomes the score (recorded as self-rated);
and the learner's own rating Again / Hard / Good / Easy (as in Anki), which the browser offers after a graded
review answer and after an unsure grade (`rated_as`).

The grader says `unsure` when it cannot tell whether the answer says what the key point says (tutor.grading.model).
Nothing is recorded until the learner rates it; `tutor serve` (tutor.web.unsure) and `tutor chat`
(tutor.learning.conversation) both show the key point through `marked_words`, the terminal's quiz and review
through tutor.cli.grades.
"""

from __future__ import annotations

import re
from typing import Any

from tutor.grading.model import SELF_RATING_WORDS

WORD = re.compile(r"\d+(?:\.\d+)?|[A-Za-z][A-Za-z0-9]*(?:'t)?")  # as tutor.cli.grades marks them in the terminal
FOUND, MISSING = "found", "missing"
ASK = "Does your answer say this?"


def is_unsure(graded: Any) -> bool:
    return getattr(graded, "verdict", None) == "unsure"


def key_point_of(graded: Any, reference: str = "") -> str:
    """The key point the answer was judged against; the reference when the grader named none."""
    return (getattr(graded, "key_point", "") or reference or "").strip()


def marked_words(point: str, stated: list[str], missing: list[str]) -> list[tuple[str, str]]:
    """The key point in pieces, (text, mark): mark is FOUND for a word the answer states, MISSING for a word it
    does not, "" for the rest (other words, spaces, punctuation). Joined, the texts give the point back."""
    found, lacking = {w.lower() for w in stated}, {w.lower() for w in missing}
    pieces: list[tuple[str, str]] = []
    last = 0
    for m in WORD.finditer(point):
        if m.start() > last:
            pieces.append((point[last : m.start()], ""))
        low = m.group().lower()
        pieces.append((m.group(), FOUND if low in found else MISSING if low in lacking else ""))
        last = m.end()
    if last < len(point):
        pieces.append((point[last:], ""))
    return pieces


def rating_of(text: str) -> str | None:
    """ "yes", "partly" or "no" for a reply that rates (y, p, n, partial, with or without a full stop); else None."""
    return SELF_RATING_WORDS.get(text.strip().lower().rstrip(".!"))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")  # what would start markup inside a line


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def key_point_markdown(graded: Any, reference: str = "") -> str:
    """The key point as Markdown: the words the answer states in **bold**, the ones it does not in *italics*;
    everything else escaped, so a `*` or `_` in the notes stays text."""
    out = []
    point = " ".join(key_point_of(graded, reference).split())  # one line: no heading or list can start in it
    for text, mark in marked_words(point, graded.stated_words, graded.missing_words):
        out.append(f"**{text}**" if mark == FOUND else f"*{text}*" if mark == MISSING else _md(text))
    return "".join(out)


def ask_markdown(graded: Any, reference: str = "") -> str:
    """`tutor chat`'s turn for an unsure grade: not sure, the key point marked, and the question. The grader's
    feedback says the same in prose, so it is shown only where there is no key point to show."""
    point = key_point_markdown(graded, reference)
    lines = ["**Not sure.** I can't tell whether your answer says what the notes say." +
             (f" {graded.feedback}" if graded.feedback and not point else "")]
    if point:
        lines.append(f"**The key point:** {point}")
        if graded.stated_words or graded.missing_words:
            lines.append("*(bold: found in your answer; italics: not found)*")
    if getattr(graded, "check", ""):  # a "not" or another word where the point's words are: where to look first
        lines.append(_md(graded.check))
    lines.append(f"{ASK} **yes** / **partly** / **no**")
    return "\n\n".join(lines)


# ---- Again / Hard / Good / Easy, as learners know them from Anki ------------------------------------------
RATINGS = ("again", "hard", "good", "easy")
_OLD_WORDS = {"yes": "good", "partly": "hard", "no": "again"}  # a page served before the four ratings


def rating_word(text: str) -> str | None:
    """ "again", "hard", "good" or "easy" for a reply that names one (or the older yes / partly / no); else None."""
    word = str(text or "").strip().lower()
    return word if word in RATINGS else _OLD_WORDS.get(word)


def suggested_rating(graded: Any) -> str | None:
    """The rating a grade's score earns in FSRS (its band: tutor.learning.srs); None where the grader is unsure."""
    from tutor.learning.srs import rating_for

    if is_unsure(graded):
        return None
    return rating_for(graded.score).name.lower()


def rated_as(graded: Any, rating: str) -> Any:
    """A grade the learner rated themselves (Again / Hard / Good / Easy), marked self-rated. Where they chose the
    rating the grade suggests, the grader's score stands (it earns that same FSRS rating); otherwise, and always
    after an unsure grade, the score of the rating's band (srs.SELF_RATINGS), never the grader's best guess."""
    from tutor.grading.model import verdict_for
    from tutor.learning.srs import SELF_RATINGS

    choice = rating_word(rating)
    if choice is None:
        raise ValueError(f"a self-rating is again, hard, good or easy, got {rating!r}")
    suggested = suggested_rating(graded)
    score = graded.score if choice == suggested else SELF_RATINGS[choice]
    verdict = verdict_for(score)
    if suggested is None:
        said = "against the key point"
    elif choice == suggested:
        said = "as the grade suggested"
    else:
        said = f"where the grade suggested {suggested.capitalize()}"
    point = f' The key point: "{graded.key_point}".' if is_unsure(graded) and graded.key_point else ""
    return graded.model_copy(update={
        "score": score, "verdict": verdict, "self_rated": True, "reason": "self_rated",
        "feedback": f"You rated your answer {choice.capitalize()} {said}: recorded as "
                    f"{verdict.replace('_', ' ')}.{point}"})
