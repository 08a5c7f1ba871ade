"""A learner's rhythm, for the progress page: the days studied, the streak, and the reviews due per day ahead.
Days are UTC calendar days, as the record keeps its times."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tutor.learning import srs


def study_days(store: Any) -> list[date]:
    """The days on which the learner answered or studied anything, oldest first, each once."""
    return sorted({srs.utc(t).date() for t in store.activity_times()})


def streak(days: list[date], today: date) -> int:
    """Days in a row studied, ending today (or yesterday, when today has not started yet)."""
    seen = set(days)
    day = today if today in seen else today - timedelta(days=1)
    count = 0
    while day in seen:
        count += 1
        day -= timedelta(days=1)
    return count


def due_per_day(store: Any, now: datetime, days: int = 14) -> list[tuple[date, int]]:
    """Reviews due on each of the next `days` days; the first day counts every card already due."""
    today = srs.utc(now).date()
    counts = {today + timedelta(days=k): 0 for k in range(days)}
    for card in store.cards():
        day = max(srs.utc(card.due).date(), today)
        if day in counts:
            counts[day] += 1
    return sorted(counts.items())
