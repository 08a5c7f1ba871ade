"""Again / Hard / Good / Easy, as learners know them from Anki: four buttons, each saying when the card comes
back (FSRS, fuzz off), after "Show answer", after a typed answer is graded (the one its grade suggests
highlighted and focused) and after an unsure grade (none suggested). The learner's choice goes to FSRS and is
recorded as self-rated (tutor.learning.practice, tutor.learning.self_rating.rated_as).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

RATINGS = (("again", "Again"), ("hard", "Hard"), ("good", "Good"), ("easy", "Easy"))


def after_label(due: datetime, now: datetime) -> str:
    """How long until a card is due, as a rating button says it: "10 min", "1 day", "4 days", "2 months"."""
    seconds = max(0.0, (due - now).total_seconds())
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 86400 * 0.75:
        return f"{round(seconds / 3600)} h"
    days = round(seconds / 86400)
    if days < 31:
        return f"{days} day{'s' if days != 1 else ''}"
    if days < 365:
        return f"{round(days / 30)} month{'s' if round(days / 30) != 1 else ''}"
    return f"{days / 365:.1f} years"


def buttons(web: Any, card_id: int | None = None, question: str = "", suggested: str | None = None) -> list[dict[str, Any]]:
    """The four buttons for a due card (by id) or a quiz or check question: value, label, when ("4 days"), the
    date, and whether the grade suggests it. Reads the learner's record: call it off the event loop."""
    from tutor.learning.practice import next_dues

    now = datetime.now(timezone.utc)
    with web.store() as store:
        dues = next_dues(store, card_id=card_id, question=question, now=now)
    return [{"value": value, "label": label, "after": after_label(dues[value], now),
             "date": dues[value].strftime("%d %b %Y"), "suggested": value == suggested} for value, label in RATINGS]


def form(action: str, fields: dict[str, Any], options: list[dict[str, Any]], legend: str, name: str = "rating",
         suggested: str | None = None) -> dict[str, Any]:
    """What templates/_ratings.html shows: the form's action and hidden fields (the page adds its CSRF token), the
    name its buttons send, the buttons and the question above them."""
    return {"action": action, "fields": fields, "buttons": options, "legend": legend, "name": name,
            "suggested": dict(RATINGS).get(suggested or "", "")}
