"""Spaced repetition: the score -> rating mapping, and due dates checked against `fsrs` called directly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Card, Rating, Scheduler, State

from tutor.learning import srs
from tutor.learning.store import LearnerStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("score", "rating"),
    [
        (0.0, Rating.Again), (0.39, Rating.Again),
        (0.4, Rating.Hard), (0.69, Rating.Hard),
        (0.7, Rating.Good), (0.89, Rating.Good),
        (0.9, Rating.Easy), (1.0, Rating.Easy),
    ],
)
def test_score_maps_to_rating_at_the_documented_thresholds(score, rating):
    assert srs.rating_for(score) == rating


@pytest.mark.parametrize("score", [-0.01, 1.01, float("nan")])
def test_a_score_outside_0_1_is_refused(score):
    with pytest.raises(ValueError):
        srs.rating_for(score)


def _oracle(answers: list[tuple[float, datetime]]) -> Card:
    """The same reviews through a scheduler built here from fsrs's own API, not through tutor."""
    scheduler = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    card = Card(card_id=1, due=answers[0][1])
    for score, when in answers:
        rating = (Rating.Again if score < 0.4 else Rating.Hard if score < 0.7
                  else Rating.Good if score < 0.9 else Rating.Easy)
        card, _ = scheduler.review_card(card, rating, review_datetime=when)
    return card


@pytest.mark.parametrize(
    "scores",
    [
        [0.95, 0.95, 0.95],  # easy every time: intervals grow fast
        [0.8, 0.2, 0.8, 0.8],  # a lapse, then recovery
        [0.1, 0.5, 0.75, 1.0],
    ],
)
def test_store_schedules_exactly_as_fsrs_does(scores):
    store = LearnerStore.open()
    answers = []
    when = T0
    for score in scores:
        answers.append((score, when))
        store.record_answer(None, "What does a kernel do?", "slides", "extracts features", score, "", "03-cnns.md",
                            "2. Convolutional Operation Concepts", now=when)
        card = store.card_for("What does a kernel do?")
        assert card is not None
        expected = _oracle(answers)
        assert card.due == expected.due
        assert card.stability == pytest.approx(expected.stability)
        assert card.difficulty == pytest.approx(expected.difficulty)
        assert card.state == State(expected.state).name
        assert card.reviews == len(answers)
        when = card.due  # review exactly when due
    store.close()


def test_first_answers_land_days_apart_by_rating():
    """No minute-scale learning steps: a miss is due the next day, better answers later, Easy latest."""
    dues = {}
    for score in (0.1, 0.5, 0.8, 0.95):
        card, rating = srs.schedule(None, score, T0, "k")
        assert card.state == State.Review
        dues[rating] = card.due - T0
    assert dues[Rating.Again] == timedelta(days=1)
    assert dues[Rating.Again] <= dues[Rating.Hard] <= dues[Rating.Good] < dues[Rating.Easy]


def test_scheduling_is_deterministic_and_naive_times_are_utc():
    first, _ = srs.schedule(None, 0.8, T0, "k")
    again, _ = srs.schedule(None, 0.8, T0.replace(tzinfo=None), "k")
    assert first.due == again.due
    later_a, _ = srs.schedule(first.to_json(), 0.8, first.due, "k")
    later_b, _ = srs.schedule(again.to_json(), 0.8, again.due, "k")
    assert later_a.due == later_b.due > first.due
