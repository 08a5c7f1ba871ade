"""What a learner does, recorded: a lesson studied, a quiz answer graded, a review card answered.

The terminal (tutor.cli.learn) and the browser (tutor.web) both call these, so an answer given in either
is graded the same way and lands in the same SQLite record with the same FSRS schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tutor.learning import flows

SelfRate = Callable[[Any], "str | None"]  # an unsure grade -> "yes" / "partly" / "no" (None: leave it unsure)


def unmet_prerequisites(store: Any, topic: str) -> list[str]:
    try:
        from tutor.learning.prerequisites import unmet_prerequisites as unmet
    except ImportError:
        return []
    return [getattr(u, "title", str(u)) for u in unmet(topic, store)]


def lesson_for(topic: str, options: flows.CrewOptions, store: Any, no_demo: bool = False) -> Any:
    """The lesson on `topic`, with a note on what to study first, recorded as studied when the notes cover it."""
    unmet = unmet_prerequisites(store, topic)
    lesson = flows.study(topic, options, no_demo=no_demo)
    if unmet and lesson.covered:
        title, _, rest = lesson.markdown.partition("\n\n")
        before = "> **Before this:** you have not yet studied (or are weak on) " + ", ".join(unmet) + "."
        lesson.markdown = f"{title}\n\n{before}\n\n{rest}"
    if lesson.covered:
        store.record_lesson(topic, [(c.source, c.section) for c in lesson.citations])
    return lesson


def rated(graded: Any, self_rate: SelfRate | None) -> Any:
    """An unsure grade, rated by the learner against the key point when they are asked (`self_rate`)."""
    if graded.verdict != "unsure" or self_rate is None:
        return graded
    choice = self_rate(graded)
    return graded.self_rate(choice) if choice else graded


def answer_item(store: Any, quiz_id: int | None, item: Any, answer: str, options: flows.CrewOptions,
                self_rate: SelfRate | None = None) -> Any:
    """A quiz item's answer graded and recorded (its review card scheduled); the grade. Where the grader is
    unsure, `self_rate` asks the learner, whose rating becomes the score (recorded as self-rated)."""
    graded = rated(flows.grade_quiz_answer(item, answer, options), self_rate)
    store.record_answer(
        quiz_id, question=item.question, answer=answer, reference=item.answer, grade_score=graded.score,
        verdict=graded.verdict, source=item.source, section=item.section, self_rated=graded.self_rated,
    )
    return graded


def answer_card(store: Any, card: Any, answer: str, options: flows.CrewOptions,
                self_rate: SelfRate | None = None) -> tuple[Any, Any]:
    """A due card answered: (the grade, the card as rescheduled); unsure grades rated as in `answer_item`."""
    graded = rated(flows.grade_review_answer(card.question, card.reference, answer, options), self_rate)
    return graded, store.review(card.id, graded.score, answer=answer, verdict=graded.verdict, self_rated=graded.self_rated)


SHOWN_ANSWER = "(showed the answer)"  # what a card rated after "Show answer" records as the learner's answer


def rate_card(store: Any, card: Any, rating: str) -> Any:
    """A due card the learner rated themselves after seeing its answer ("again", "hard", "good", "easy", as in
    Anki): recorded as self-rated with the score of that FSRS band (srs.SELF_RATINGS) and rescheduled; the card."""
    from tutor.grading.model import verdict_for
    from tutor.learning.srs import SELF_RATINGS

    score = SELF_RATINGS[rating]
    return store.review(card.id, score, answer=SHOWN_ANSWER, verdict=verdict_for(score), self_rated=True)


def grade_card(card: Any, answer: str, options: flows.CrewOptions) -> Any:
    """A due card's typed answer graded, nothing recorded: the learner rates it first (`rate_answered_card`)."""
    return flows.grade_review_answer(card.question, card.reference, answer, options)


def rate_answered_card(store: Any, card: Any, answer: str, graded: Any, rating: str) -> tuple[Any, Any]:
    """A due card's typed answer, graded, then rated by the learner Again / Hard / Good / Easy (as in Anki): the
    rating goes to FSRS, recorded as self-rated (self_rating.rated_as); (the grade as recorded, the card)."""
    from tutor.learning.self_rating import rated_as

    own = rated_as(graded, rating)
    return own, store.review(card.id, own.score, answer=answer, verdict=own.verdict, self_rated=True)


def next_dues(store: Any, card_id: int | None = None, question: str = "", now: Any = None) -> dict[str, Any]:
    """When a card would come back after each rating, again / hard / good / easy, were it rated at `now` (nothing is
    recorded): a due card by id, or the card of a quiz or check `question` (a new card if it was never answered)."""
    from datetime import datetime, timezone

    from tutor.learning import srs
    from tutor.learning.store import make_question_key

    now = now or datetime.now(timezone.utc)
    if card_id is None:
        card = store.card_for(question)
        card_id = card.id if card is not None else None
    if card_id is not None:
        return {r: store.next_due(card_id, score, now) for r, score in srs.SELF_RATINGS.items()}
    key = make_question_key(question)
    return {r: srs.schedule(None, score, now, key)[0].due for r, score in srs.SELF_RATINGS.items()}
