"""Spaced repetition: every answered question is a review card scheduled with FSRS (the `fsrs` package).

The grader's score in [0, 1] becomes an FSRS rating:

    score < 0.4  -> Again   (forgotten: relearn within minutes)
    score < 0.7  -> Hard
    score < 0.9  -> Good
    otherwise    -> Easy

The scheduler keeps FSRS's default weights and desired retention (0.9) with two changes:
- no minute-scale learning or relearning steps: a tutor quiz is a sitting, not a flashcard drill, so
  a card goes straight to intervals in days (a miss comes back the next day, not in ten minutes);
- fuzzing off, so the same answers at the same times always give the same due dates: a learner
  can reason about them, and tests check them against `fsrs` called directly.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import lru_cache

from fsrs import Card, Rating, Scheduler

AGAIN_BELOW = 0.4  # a score under this is a lapse
HARD_BELOW = 0.7  # remembered, with effort
GOOD_BELOW = 0.9  # remembered; at or above this it was easy

# A learner's own rating of a card ("Show answer", then Again / Hard / Good / Easy, as in Anki): the score it
# is recorded with (marked self-rated), inside the band that earns that FSRS rating; Again / Hard / Good are the
# scores the grader's "no / partly / yes" self-ratings give too.
SELF_RATINGS = {"again": 0.2, "hard": 0.55, "good": 0.8, "easy": 1.0}


def rating_for(score: float) -> Rating:
    """The FSRS rating a grade earns (see the module docstring for the thresholds)."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"a score is in [0, 1], got {score}")
    if score < AGAIN_BELOW:
        return Rating.Again
    if score < HARD_BELOW:
        return Rating.Hard
    if score < GOOD_BELOW:
        return Rating.Good
    return Rating.Easy


@lru_cache(maxsize=1)
def scheduler() -> Scheduler:
    """The one scheduler every card goes through: day-scale intervals, no fuzz (deterministic)."""
    return Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive values are taken to be UTC already), as `fsrs` requires."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def card_number(question_key: str) -> int:
    """A stable FSRS card id for a question (`fsrs` would otherwise stamp the clock and sleep 1 ms)."""
    return int(hashlib.sha1(question_key.encode()).hexdigest()[:12], 16)


def schedule(state: str | None, score: float, now: datetime, question_key: str) -> tuple[Card, Rating]:
    """Review a card (new when `state` is None) with the rating `score` earns at `now`; the card after it."""
    now = utc(now)
    card = Card.from_json(state) if state else Card(card_id=card_number(question_key), due=now)
    rating = rating_for(score)
    card, _log = scheduler().review_card(card, rating, review_datetime=now)
    return card, rating
