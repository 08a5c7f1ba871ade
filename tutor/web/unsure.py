"""When the grader cannot tell, in the browser: nothing is recorded; the page says "Not sure", shows the key point
beside the learner's answer (the words the answer states in <mark class="found">, the others in
<span class="missing">) and asks "Does your answer say this?" with the four ratings learners know from Anki,
Again / Hard / Good / Easy, each with when the card comes back (tutor.web.ratings), a POST form protected like
every other (the page's CSRF token). The unsure grade waits in `web.sessions` (a quiz keeps it in its own
session); the learner's choice records it as self-rated (self_rating.rated_as) and the page goes on as after any
graded answer. A graded review answer waits the same way for its rating (tutor.web.review).
"""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

from markupsafe import Markup

from tutor.learning.self_rating import ASK, FOUND, MISSING, key_point_of, marked_words, rating_word
from tutor.web import ratings

MAX_WAITING = 200  # unsure answers waiting for a rating, kept at most; the oldest are forgotten first
PREFIX = "rate:"


class RateFirst(Exception):
    """Raised from a practice call's `self_rate` so that an unsure grade is not recorded before the learner rates it."""

    def __init__(self, grade: Any) -> None:
        super().__init__("the grader is unsure: the learner rates the answer first")
        self.grade = grade


def rate_later(graded: Any) -> str | None:
    """The `self_rate` of tutor.learning.practice.answer_item / answer_card for a page: stop before recording."""
    raise RateFirst(graded)


def marked(graded: Any, reference: str = "") -> Markup:
    """The key point as HTML: every piece escaped, found words in <mark class="found">, missing ones in
    <span class="missing">."""
    out = []
    for text, mark in marked_words(key_point_of(graded, reference), graded.stated_words, graded.missing_words):
        if mark == FOUND:
            out.append(f'<mark class="found">{escape(text)}</mark>')
        elif mark == MISSING:
            out.append(f'<span class="missing">{escape(text)}</span>')
        else:
            out.append(escape(text))
    return Markup("".join(out))


def ask_view(graded: Any, answer: str, reference: str, action: str, fields: dict[str, Any],
             buttons: list[dict[str, Any]]) -> dict[str, Any]:
    """What templates/_unsure.html shows: the answer, the marked key point, and the four ratings (`buttons`, from
    ratings.buttons) with the form's action and hidden fields (the page adds its CSRF token). The grader's
    feedback says what the marks show, in prose: the page shows it only where there is no key point."""
    return {"g": graded, "answer": answer, "point": marked(graded, reference),
            "rate": ratings.form(action, fields, buttons, f"{ASK} Rate your answer:"),
            "legend": bool(graded.stated_words or graded.missing_words)}


def choice_of(form: dict[str, Any]) -> str | None:
    """The rating a form sent: "again", "hard", "good" or "easy" (a page served before them: yes / partly / no);
    None for anything else."""
    return rating_word(str(form.get("rating") or ""))


def wait(web: Any, kind: str, **entry: Any) -> str:
    """An answer kept until it is rated; its id (random, for the form's hidden field)."""
    pid = secrets.token_urlsafe(16)
    web.keep(PREFIX, pid, {"kind": kind, **entry}, MAX_WAITING)
    return pid


def take(web: Any, pid: str, kind: str) -> dict[str, Any] | None:
    """The unsure answer waiting under `pid` for this kind of page, removed (a second send records nothing)."""
    with web.sessions_lock:
        entry = web.sessions.get(PREFIX + pid)
        if entry is None or entry.get("kind") != kind:
            return None
        del web.sessions[PREFIX + pid]
    return entry
