"""Review as learners know it from Anki: a due card's question; type an answer (graded and rescheduled by its
grade) or "Show answer"; then rate yourself Again / Hard / Good / Easy, each button saying when the card would
come back. A self-rating goes to FSRS with the score of its band (tutor.learning.srs.SELF_RATINGS) and is
recorded as self-rated. Where the grader is unsure of a typed answer, nothing is recorded until the learner
says whether the answer states the key point (tutor.web.unsure).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tutor.errors import TutorError
from tutor.web.app import Web
from tutor.web.grades import answer_note, form_of, grade_view, no_rating, source_link
from tutor.web.unsure import RateFirst, ask_view, choice_of, rate_later, take, wait

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


def _stamp(card: Any) -> str:
    return card.last_review.isoformat()


def review(web: Web) -> Any:
    def due() -> tuple[list[Any], Any]:
        with web.store() as store:
            cards = store.due_cards(limit=20)
            upcoming = min(store.cards(), key=lambda c: c.due, default=None) if not cards else None
            return cards, upcoming

    def choices(card_id: int) -> tuple[Any, list[dict[str, str]]]:
        from tutor.learning.srs import SELF_RATINGS

        now = datetime.now(timezone.utc)
        with web.store() as store:
            card = store.card(card_id)
            buttons = []
            for value, label in RATINGS:
                when = store.next_due(card_id, SELF_RATINGS[value], now)
                buttons.append({"value": value, "label": label, "after": after_label(when, now),
                                "date": when.strftime("%d %b %Y")})
        return card, buttons

    def answer(card_id: int, text: str) -> tuple[Any, Any, Any]:
        from tutor.learning.practice import answer_card

        with web.store() as store, web.crew_lock:
            card = store.card(card_id)
            try:
                graded, after = answer_card(store, card, text, web.options, self_rate=rate_later)
            except RateFirst as unsure:  # nothing recorded: the learner rates it first
                return card, unsure.grade, None
        return card, graded, after

    def rate(entry: dict[str, Any], choice: str) -> tuple[Any, Any, Any]:
        graded = entry["grade"].self_rate(choice)
        with web.store() as store:
            card = store.card(entry["card"])
            after = store.review(card.id, graded.score, answer=entry["answer"], verdict=graded.verdict,
                                 self_rated=graded.self_rated)
        return card, graded, after

    def self_rate(card_id: int, value: str, seen: str) -> tuple[Any, Any] | None:
        from tutor.learning.practice import rate_card

        with web.store() as store:
            card = store.card(card_id)
            if _stamp(card) != seen:  # the same rating sent twice (a double click, a reload): once only
                return None
            return card, rate_card(store, card, value)

    async def page(request: Request, last: Any = None, note: str | None = None, typed: str = "") -> Any:
        cards, upcoming = await run_in_threadpool(due)
        return web.page(request, "review.html", card=cards[0] if cards else None, remaining=len(cards), last=last,
                        upcoming=upcoming, note=note, typed=typed,
                        cite=source_link(cards[0].source, cards[0].section) if cards and cards[0].section else None)

    async def endpoint(request: Request) -> Any:
        form = await form_of(request) if request.method == "POST" else {}
        try:
            if request.method == "GET" and request.query_params.get("show"):  # "Show answer": the four ratings
                card, buttons = await run_in_threadpool(choices, int(request.query_params["show"]))
                return web.page(request, "review.html", shown={"card": card, "buttons": buttons, "seen": _stamp(card),
                                "cite": source_link(card.source, card.section) if card.section else None})
            if "self" in form:  # Again / Hard / Good / Easy after "Show answer"
                value = str(form.get("self", ""))
                if value not in dict(RATINGS):
                    return web.problem(request, "Rate yourself with Again, Hard, Good or Easy.", back="/review")
                done = await run_in_threadpool(self_rate, int(form.get("card") or 0), value, str(form.get("seen", "")))
                if done is None:
                    return await page(request)
                card, after = done
                return await page(request, last={"card": card, "after": after, "rated": dict(RATINGS)[value]})
            if "rating" in form:
                choice = choice_of(form)  # the learner's own rating of an answer the grader was unsure of
                entry = take(web, str(form.get("pending", "")), "review") if choice else None
                if entry is None:
                    return no_rating(web, request, choice)
                card, graded, after = await run_in_threadpool(rate, entry, choice)
                return await page(request, last={"card": card, "answer": entry["answer"], "after": after,
                                                 **grade_view(graded)})
            if request.method == "POST":
                card_id = int(form.get("card") or 0)
                raw = str(form.get("answer", ""))
                note = answer_note(raw)
                if note:  # a blank answer: the same card again, with a note
                    return await page(request, note=note, typed=raw)
                card, graded, after = await run_in_threadpool(answer, card_id, raw.strip())
                if after is None:  # unsure: the card is shown with the key point and the question, not rescheduled
                    pid = wait(web, "review", card=card.id, answer=raw.strip(), grade=graded)
                    u = ask_view(graded, raw.strip(), card.reference, "/review", {"pending": pid})
                    return web.page(request, "review.html", rating={"card": card, "u": u})
                return await page(request, last={"card": card, "answer": raw.strip(), "after": after,
                                                 **grade_view(graded)})
        except ValueError:
            return web.problem(request, "That card number is not a number.", back="/review")
        except TutorError as e:
            return web.problem(request, str(e), back="/review")
        return await page(request)

    return endpoint
