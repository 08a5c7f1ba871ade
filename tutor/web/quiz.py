"""The quiz: one question at a time (multiple choice as buttons, free text graded with its feedback), then a recap
of every question (your answer, the verdict, the key point, where to read) and "Retry the ones you missed".

Where the grader is unsure, nothing is recorded until the learner rates the answer against the key point
(tutor.web.unsure). A blank answer keeps the learner on the question with a note; "Skip" moves on.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tutor.errors import TutorError
from tutor.web import ratings
from tutor.web.app import Web, redirect
from tutor.web.grades import answer_note, form_of, grade_view, is_unsure, no_rating, source_link, verdict_label
from tutor.web.pages import _text as _q
from tutor.web.unsure import RateFirst, ask_view, choice_of, rate_later

QUIZ_KINDS = ("mixed", "mcq", "short", "cloze", "computed")
LEVELS = ("mixed", "remember", "understand", "apply", "analyze")
KIND_NAMES = {"mixed": "a mix", "mcq": "multiple choice", "short": "short answers", "cloze": "fill in the blank",
              "computed": "calculations"}
MAX_QUESTIONS = 50
MAX_QUIZZES = 500  # quizzes kept open at once (a class's, several times over); the oldest are forgotten first
KEPT = "quiz:"  # a quiz's key in web.sessions (its URL has only the random id)
LETTERS = "ABCDE"


def _new_session(store: Any, items: list[Any], topic: str, kind: str, seed: int) -> dict[str, Any]:
    quiz_id = store.start_quiz(topic or "all", kind, seed, len(items)) if items else None
    return {"items": items, "quiz_id": quiz_id, "seed": seed, "topic": topic or "all", "kind": kind, "at": 0,
            "answers": [], "total": 0.0, "last": None}


def _keep(web: Web, session: dict[str, Any]) -> str:
    sid = secrets.token_urlsafe(12)
    web.keep(KEPT, sid, session, MAX_QUIZZES)
    return sid


def _shown_answer(item: Any, answer: str) -> str:
    """A multiple-choice answer as its option's text ("B. Randomly drops neurons"), any other as written."""
    if not item.options:
        return answer
    from tutor.learning.flows import mcq_choice

    chosen = mcq_choice(item, answer)
    return f"{LETTERS[item.options.index(chosen)]}. {chosen}" if chosen in item.options else answer


def _right_option(item: Any) -> str:
    if item.options and item.answer in item.options:
        return f"{LETTERS[item.options.index(item.answer)]}. {item.answer}"
    return item.answer


def _recap_row(item: Any, answer: str, graded: Any | None) -> dict[str, Any]:
    verdict = graded.verdict if graded is not None else "skipped"
    key_point = (getattr(graded, "key_point", "") or "") if graded is not None else ""
    return {"question": item.question, "answer": _shown_answer(item, answer) if answer else "",
            "score": graded.score if graded is not None else 0.0, "verdict": verdict, "label": verdict_label(verdict),
            "self_rated": bool(graded is not None and graded.self_rated), "right": _right_option(item),
            "key_point": key_point if key_point and not item.options else _right_option(item),
            "cite": source_link(item.source, item.section) if item.section else None,
            "missed": verdict != "correct"}


def quiz_start(web: Web) -> Any:
    def build(topic: str, n: int, kind: str, level: str, seed: int) -> dict[str, Any]:
        from tutor.learning import flows

        with web.store() as store, web.crew_lock:
            items = flows.make_quiz(topic or None, n, kind, seed, web.options, level=level)
            return _new_session(store, items, topic, kind, seed)

    async def endpoint(request: Request) -> Any:
        if request.method == "GET":
            return web.page(request, "quiz_form.html", kinds=[(k, KIND_NAMES[k]) for k in QUIZ_KINDS], levels=LEVELS,
                            topic=_q(request, "topic", 200), max_n=MAX_QUESTIONS)
        form = await form_of(request)
        try:
            n = int(form.get("n") or 5)
            seed = int(form.get("seed") or random.SystemRandom().randrange(1, 1_000_000))
        except ValueError:
            return web.problem(request, "The number of questions and the seed are whole numbers.", back="/quiz")
        if not 1 <= n <= MAX_QUESTIONS:
            return web.problem(request, f"A quiz has between 1 and {MAX_QUESTIONS} questions; you asked for {n}.",
                               back="/quiz")
        kind, level = str(form.get("kind") or "mixed"), str(form.get("level") or "mixed")
        topic = " ".join(str(form.get("topic") or "").split())[:200]
        try:
            session = await run_in_threadpool(build, topic, n, kind, level, seed)
        except TutorError as e:
            return web.problem(request, str(e), back="/quiz")
        if not session["items"]:
            return web.problem(request, "The notes gave no questions for that topic, kind and level; try another.",
                               back="/quiz")
        return redirect(f"/quiz/{_keep(web, session)}")

    return endpoint


def quiz_retry(web: Web) -> Any:
    """A new quiz of the questions missed (or skipped) in this one, recorded as a quiz of its own."""

    def build(session: dict[str, Any], missed: list[Any]) -> dict[str, Any]:
        with web.store() as store:
            return _new_session(store, missed, session["topic"], session.get("kind", "mixed"), session["seed"])

    async def endpoint(request: Request) -> Any:
        with web.sessions_lock:
            session = web.sessions.get(KEPT + request.path_params["sid"])
        if session is None or session["at"] < len(session["items"]):
            return web.problem(request, "That quiz is not finished or was started before the tutor restarted.",
                               status=404, back="/quiz")
        missed = [session["items"][k] for k, row in enumerate(session["recap"]) if row["missed"]]
        if not missed:
            return redirect(f"/quiz/{request.path_params['sid']}")
        return redirect(f"/quiz/{_keep(web, await run_in_threadpool(build, session, missed))}")

    return endpoint


def quiz_step(web: Web) -> Any:
    def grade(session: dict[str, Any], answer: str) -> Any:
        from tutor.learning.practice import answer_item

        item = session["items"][session["at"]]
        with web.store() as store, web.crew_lock:
            try:
                graded = answer_item(store, session["quiz_id"], item, answer, web.options, self_rate=rate_later)
            except RateFirst as unsure:  # nothing recorded: the learner rates it first
                return unsure.grade
            if session["at"] + 1 >= len(session["items"]):
                store.finish_quiz(session["quiz_id"])
        return graded

    def rate(session: dict[str, Any], waiting: dict[str, Any], choice: str) -> Any:
        from tutor.learning.self_rating import rated_as

        item = session["items"][session["at"]]
        graded = rated_as(waiting["grade"], choice)
        with web.store() as store:
            store.record_answer(session["quiz_id"], question=item.question, answer=waiting["answer"],
                                reference=item.answer, grade_score=graded.score, verdict=graded.verdict,
                                source=item.source, section=item.section, self_rated=graded.self_rated)
            if session["at"] + 1 >= len(session["items"]):
                store.finish_quiz(session["quiz_id"])
        return graded

    def finish_if_skipped_last(session: dict[str, Any]) -> None:
        if session["at"] >= len(session["items"]) and session["quiz_id"] is not None:
            with web.store() as store:
                store.finish_quiz(session["quiz_id"])

    def step(session: dict[str, Any], item: Any, answer: str, graded: Any | None) -> None:
        row = _recap_row(item, answer, graded)
        session.setdefault("recap", []).append(row)
        if graded is None:
            session["last"] = {"skipped": True, "question": item.question}
        else:
            session["total"] += graded.score
            session["answers"].append({"question": item.question, "answer": answer, "score": graded.score,
                                       "verdict": graded.verdict, "self_rated": graded.self_rated})
            session["last"] = {"question": item.question, "answer": row["answer"], **grade_view(graded)}
        session["at"] += 1

    async def endpoint(request: Request) -> Any:
        sid = request.path_params["sid"]
        with web.sessions_lock:
            session = web.sessions.get(KEPT + sid)
        if session is None:
            return web.problem(request, "That quiz is over or was started before the tutor restarted; start a new one.",
                               status=404, back="/quiz")
        note = None
        if request.method == "POST":
            form = await form_of(request)
            at = str(form.get("at", "")).strip()
            if not at.isdigit() or int(at) != session["at"]:  # a resubmitted (or odd) form: show where the quiz is
                return redirect(f"/quiz/{sid}")
            item = session["items"][session["at"]]
            if "rating" in form or session.get("pending"):  # an unsure answer waits for the learner's rating
                choice = choice_of(form)
                if choice is None:
                    return redirect(f"/quiz/{sid}") if "rating" not in form else no_rating(web, request, None)
                with web.sessions_lock:
                    waiting = session.pop("pending", None)
                if waiting is None:
                    return redirect(f"/quiz/{sid}")
                graded = await run_in_threadpool(rate, session, waiting, choice)
                step(session, item, waiting["answer"], graded)
                return redirect(f"/quiz/{sid}")
            if "skip" in form:
                step(session, item, "", None)
                await run_in_threadpool(finish_if_skipped_last, session)
                return redirect(f"/quiz/{sid}")
            raw = str(form.get("answer") or form.get("option") or "")
            note = answer_note(raw)
            if note is None:
                answer = raw.strip()
                try:
                    graded = await run_in_threadpool(grade, session, answer)
                except TutorError as e:
                    return web.problem(request, str(e), back=f"/quiz/{sid}")
                if is_unsure(graded):  # the four ratings, each with when this question's card comes back
                    buttons = await run_in_threadpool(ratings.buttons, web, None, item.question)
                    session["pending"] = {"answer": answer, "grade": graded, "buttons": buttons}
                    session["last"] = None
                    return redirect(f"/quiz/{sid}")
                step(session, item, answer, graded)
                return redirect(f"/quiz/{sid}")
        at, items = session["at"], session["items"]
        done = at >= len(items)
        waiting = None if done else session.get("pending")
        u = ask_view(waiting["grade"], waiting["answer"], items[at].answer, f"/quiz/{sid}", {"at": at},
                     waiting["buttons"]) if waiting else None
        recap = session.get("recap", [])
        return web.page(request, "quiz_step.html", sid=sid, session=session,
                        item=None if done else items[at], number=at + 1, count=len(items), done=done,
                        share=int(100 * at / len(items)), u=u, note=note, letters=LETTERS, recap=recap,
                        missed=sum(r["missed"] for r in recap), kind_names=KIND_NAMES)

    return endpoint
