"""Review as learners know it from Anki: a due card's question; type an answer or "Show answer"; then rate
yourself Again / Hard / Good / Easy, each button saying when the card would come back (tutor.web.ratings).

A typed answer is graded first: the page shows the verdict and the feedback (or, where the grader is unsure, the
key point with the words the answer states marked), then the four ratings, the one the grade suggests
highlighted. Nothing is recorded until the learner rates: the rating goes to FSRS and is recorded as self-rated
(tutor.learning.practice.rate_answered_card; after "Show answer", practice.rate_card).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tutor.errors import TutorError
from tutor.web import ratings
from tutor.web.app import Web
from tutor.web.grades import answer_note, form_of, grade_view, is_unsure, no_rating, source_link
from tutor.web.ratings import RATINGS
from tutor.web.unsure import ask_view, choice_of, take, wait


def _stamp(card: Any) -> str:
    return card.last_review.isoformat()


def review(web: Web) -> Any:
    def due() -> tuple[list[Any], Any]:
        with web.store() as store:
            cards = store.due_cards(limit=20)
            upcoming = min(store.cards(), key=lambda c: c.due, default=None) if not cards else None
            return cards, upcoming

    def choices(card_id: int) -> tuple[Any, list[dict[str, Any]]]:
        with web.store() as store:
            card = store.card(card_id)
        return card, ratings.buttons(web, card_id=card_id)

    def answer(card_id: int, text: str) -> tuple[Any, Any, list[dict[str, Any]]]:
        """A typed answer graded, nothing recorded; the four ratings, the one the grade suggests marked."""
        from tutor.learning.practice import grade_card
        from tutor.learning.self_rating import suggested_rating

        with web.store() as store:
            card = store.card(card_id)
        with web.crew_lock:
            graded = grade_card(card, text, web.options)
        return card, graded, ratings.buttons(web, card_id=card.id, suggested=suggested_rating(graded))

    def rate(entry: dict[str, Any], choice: str) -> tuple[Any, Any, Any]:
        from tutor.learning.practice import rate_answered_card

        with web.store() as store:
            card = store.card(entry["card"])
            if _stamp(card) != entry["seen"]:  # rated meanwhile (another tab, "Show answer"): once only
                return card, None, None
            graded, after = rate_answered_card(store, card, entry["answer"], entry["grade"], choice)
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

    def cite(card: Any) -> Any:
        return source_link(card.source, card.section) if card.section else None

    async def endpoint(request: Request) -> Any:
        form = await form_of(request) if request.method == "POST" else {}
        try:
            if request.method == "GET" and request.query_params.get("show"):  # "Show answer": the four ratings
                card, buttons = await run_in_threadpool(choices, int(request.query_params["show"]))
                r = ratings.form("/review", {"card": card.id, "seen": _stamp(card)}, buttons,
                                 "How well did you know it?", name="self")
                return web.page(request, "review.html", shown={"card": card, "r": r, "cite": cite(card)})
            if "self" in form:  # Again / Hard / Good / Easy after "Show answer"
                value = str(form.get("self", ""))
                if value not in dict(RATINGS):
                    return web.problem(request, "Rate yourself with Again, Hard, Good or Easy.", back="/review")
                done = await run_in_threadpool(self_rate, int(form.get("card") or 0), value, str(form.get("seen", "")))
                if done is None:
                    return await page(request)
                card, after = done
                return await page(request, last={"card": card, "after": after, "rated": dict(RATINGS)[value]})
            if "rating" in form:  # Again / Hard / Good / Easy after a typed answer (graded, or unsure)
                choice = choice_of(form)
                entry = take(web, str(form.get("pending", "")), "review") if choice else None
                if entry is None:
                    return no_rating(web, request, choice)
                card, graded, after = await run_in_threadpool(rate, entry, choice)
                if graded is None:
                    return no_rating(web, request, choice)
                return await page(request, last={"card": card, "answer": entry["answer"], "after": after,
                                                 "rated": dict(RATINGS)[choice], **grade_view(graded)})
            if request.method == "POST":
                card_id = int(form.get("card") or 0)
                raw = str(form.get("answer", ""))
                note = answer_note(raw)
                if note:  # a blank answer: the same card again, with a note
                    return await page(request, note=note, typed=raw)
                card, graded, buttons = await run_in_threadpool(answer, card_id, raw.strip())
                pid = wait(web, "review", card=card.id, answer=raw.strip(), grade=graded, seen=_stamp(card))
                if is_unsure(graded):  # the key point, marked, and the four ratings; none suggested
                    u = ask_view(graded, raw.strip(), card.reference, "/review", {"pending": pid}, buttons)
                    return web.page(request, "review.html", rating={"card": card, "u": u})
                from tutor.learning.self_rating import suggested_rating

                r = ratings.form("/review", {"pending": pid}, buttons, "How well did you know it?",
                                 suggested=suggested_rating(graded))
                return web.page(request, "review.html", rating={"card": card, "answer": raw.strip(), "r": r,
                                                                "cite": cite(card), **grade_view(graded)})
        except ValueError:
            return web.problem(request, "That card number is not a number.", back="/review")
        except TutorError as e:
            return web.problem(request, str(e), back="/review")
        return await page(request)

    return endpoint
