"""The pages that teach and record: study (with check questions), quiz, review, a teacher's class grading.

Where the grader is unsure, nothing is recorded until the learner rates the answer against the key point
(tutor.web.unsure); a teacher's class lists the answers that need review first.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from tutor.errors import TutorError
from tutor.web.app import Web, redirect
from tutor.web.pages import _text as _q
from tutor.web.render import markdown, note_link
from tutor.web.unsure import RateFirst, ask_view, choice_of, rate_later, take, wait

QUIZ_KINDS = ("mixed", "mcq", "short", "cloze", "computed")
LEVELS = ("mixed", "remember", "understand", "apply", "analyze")


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items()}


def _is_unsure(graded: Any) -> bool:
    return graded.verdict == "unsure"


def _no_rating(web: Web, request: Request, choice: str | None) -> Any:
    if choice is None:
        return web.problem(request, "Rate your answer with yes, partly or no.")
    return web.problem(request, "That answer was already rated, or the tutor restarted since; answer the question again.",
                       status=404)


def _grade_view(graded: Any) -> dict[str, Any]:
    return {"g": graded, "verdict": graded.verdict.replace("_", " "), "css": graded.verdict,
            "links": [{"section": c.get("section", ""), "source": c.get("source", ""),
                       "link": note_link(c.get("source", ""), c.get("section", ""))} for c in graded.citations or []]}


# ---- study ---------------------------------------------------------------------------------------
def study(web: Web) -> Any:
    def build(topic: str, demo: bool) -> Any:
        from tutor.learning.practice import lesson_for

        with web.store() as store, web.crew_lock:
            return lesson_for(topic, web.options, store, no_demo=not demo)

    async def endpoint(request: Request) -> Any:
        topic = _q(request, "topic", 200)
        if not topic:
            return web.page(request, "study.html", topic="", lesson=None)
        demo = request.query_params.get("demo", "1") != "0"
        try:
            lesson = await run_in_threadpool(build, topic, demo)
        except TutorError as e:
            return web.problem(request, str(e))
        figure = _figure_url(lesson.demo.figure) if lesson.demo and lesson.demo.figure else None
        citations = [{"c": c, "link": note_link(c.source, c.section)} for c in lesson.citations]
        return web.page(request, "study.html", topic=topic, lesson=lesson, html=markdown(lesson.markdown),
                        figure=figure, citations=citations)

    return endpoint


def _figure_url(figure: str) -> str | None:
    from urllib.parse import quote

    from tutor.demos import default_out_dir

    try:
        return "/figures/" + quote(Path(figure).resolve().relative_to(default_out_dir().resolve()).as_posix())
    except ValueError:  # a figure written elsewhere (a demo run with --out) is not served
        return None


def figure(web: Web) -> Any:
    async def endpoint(request: Request) -> Response:
        from tutor.demos import default_out_dir

        name = request.path_params["name"]
        folder = default_out_dir().resolve()
        path = (folder / name).resolve()
        if folder not in path.parents or path.suffix.lower() not in (".png", ".svg") or not path.is_file():
            return web.problem(request, f"There is no figure named '{name}'.", status=404)
        return FileResponse(path)

    return endpoint


def check(web: Web) -> Any:
    """A check question of a lesson, answered in place: graded against its reference, recorded."""

    def record(store: Any, question: str, reference: str, answer: str, graded: Any) -> None:
        source = graded.citations[0]["source"] if graded.citations else ""
        section = graded.citations[0]["section"] if graded.citations else ""
        store.record_answer(None, question=question, answer=answer, reference=reference, grade_score=graded.score,
                            verdict=graded.verdict, source=source, section=section, self_rated=graded.self_rated)

    def build(question: str, reference: str, answer: str) -> Any:
        from tutor.learning import flows

        with web.store() as store, web.crew_lock:
            graded = flows.grade(answer, question, reference, web.options)
            if not _is_unsure(graded):  # an unsure grade waits for the learner's rating
                record(store, question, reference, answer, graded)
        return graded

    def rate(entry: dict[str, Any], choice: str) -> Any:
        graded = entry["grade"].self_rate(choice)
        with web.store() as store:
            record(store, entry["question"], entry["reference"], entry["answer"], graded)
        return graded

    async def endpoint(request: Request) -> Any:
        from tutor.learning.flows import check_answer_text

        form = await _form(request)
        if "rating" in form:  # the learner's own rating of an answer the grader was unsure of
            choice = choice_of(form)
            entry = take(web, str(form.get("pending", "")), "check") if choice else None
            if entry is None:
                return _no_rating(web, request, choice)
            graded = await run_in_threadpool(rate, entry, choice)
            return web.page(request, "graded.html", question=entry["question"], answer=entry["answer"],
                            back=entry["back"], **_grade_view(graded))
        question, reference = str(form.get("question", ""))[:2000], str(form.get("reference", ""))[:4000]
        back = str(form.get("back", "/"))[:500]
        try:
            answer = check_answer_text(str(form.get("answer", "")))
            graded = await run_in_threadpool(build, question, reference, answer)
        except TutorError as e:
            return web.problem(request, str(e))
        if _is_unsure(graded):
            pid = wait(web, "check", question=question, reference=reference, answer=answer, grade=graded, back=back)
            return web.page(request, "graded.html", question=question, answer=answer, back=back,
                            u=ask_view(graded, answer, reference, "/check", {"pending": pid}))
        return web.page(request, "graded.html", question=question, answer=answer, back=back, **_grade_view(graded))

    return endpoint


# ---- quiz ------------------------------------------------------------------------------------------
def quiz_start(web: Web) -> Any:
    def build(topic: str, n: int, kind: str, level: str, seed: int) -> dict[str, Any]:
        from tutor.learning import flows

        with web.store() as store, web.crew_lock:
            items = flows.make_quiz(topic or None, n, kind, seed, web.options, level=level)
            quiz_id = store.start_quiz(topic or "all", kind, seed, len(items)) if items else None
        return {"items": items, "quiz_id": quiz_id, "seed": seed, "topic": topic or "all", "at": 0,
                "answers": [], "total": 0.0, "last": None}

    async def endpoint(request: Request) -> Any:
        if request.method == "GET":
            return web.page(request, "quiz_form.html", kinds=QUIZ_KINDS, levels=LEVELS, topic=_q(request, "topic", 200))
        form = await _form(request)
        try:
            n = int(form.get("n") or 5)
            seed = int(form.get("seed") or random.SystemRandom().randrange(1, 1_000_000))
        except ValueError:
            return web.problem(request, "n and seed must be whole numbers")
        kind, level = str(form.get("kind") or "mixed"), str(form.get("level") or "mixed")
        topic = " ".join(str(form.get("topic") or "").split())[:200]
        try:
            session = await run_in_threadpool(build, topic, n, kind, level, seed)
        except TutorError as e:
            return web.problem(request, str(e))
        if not session["items"]:
            return web.problem(request, "The notes gave no questions for that topic, kind and level.")
        sid = secrets.token_urlsafe(12)
        with web.sessions_lock:
            web.sessions[sid] = session
        return redirect(f"/quiz/{sid}")

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
        item = session["items"][session["at"]]
        graded = waiting["grade"].self_rate(choice)
        with web.store() as store:
            store.record_answer(session["quiz_id"], question=item.question, answer=waiting["answer"],
                                reference=item.answer, grade_score=graded.score, verdict=graded.verdict,
                                source=item.source, section=item.section, self_rated=graded.self_rated)
            if session["at"] + 1 >= len(session["items"]):
                store.finish_quiz(session["quiz_id"])
        return graded

    def graded_answer(session: dict[str, Any], item: Any, answer: str, graded: Any) -> None:
        session["total"] += graded.score
        session["answers"].append({"question": item.question, "answer": answer, "score": graded.score,
                                   "verdict": graded.verdict, "self_rated": graded.self_rated})
        session["last"] = {"question": item.question, "answer": answer, **_grade_view(graded)}

    async def endpoint(request: Request) -> Any:
        from tutor.learning.flows import check_answer_text

        sid = request.path_params["sid"]
        with web.sessions_lock:
            session = web.sessions.get(sid)
        if session is None:
            return web.problem(request, "That quiz is over or was started before the tutor restarted; start a new one.",
                               status=404)
        if request.method == "POST":
            form = await _form(request)
            if int(form.get("at", -1) or -1) != session["at"]:  # a resubmitted form: show where the quiz is
                return redirect(f"/quiz/{sid}")
            item = session["items"][session["at"]]
            if "rating" in form or session.get("pending"):  # an unsure answer waits for the learner's rating
                choice = choice_of(form)
                if choice is None:
                    return redirect(f"/quiz/{sid}") if "rating" not in form else _no_rating(web, request, None)
                with web.sessions_lock:
                    waiting = session.pop("pending", None)
                if waiting is None:
                    return redirect(f"/quiz/{sid}")
                graded = await run_in_threadpool(rate, session, waiting, choice)
                graded_answer(session, item, waiting["answer"], graded)
                session["at"] += 1
                return redirect(f"/quiz/{sid}")
            raw = str(form.get("answer") or form.get("option") or "")
            if not raw.strip():
                session["last"] = {"skipped": True, "question": item.question}
            else:
                try:
                    answer = check_answer_text(raw)
                    graded = await run_in_threadpool(grade, session, answer)
                except TutorError as e:
                    return web.problem(request, str(e))
                if _is_unsure(graded):
                    session["pending"], session["last"] = {"answer": answer, "grade": graded}, None
                    return redirect(f"/quiz/{sid}")
                graded_answer(session, item, answer, graded)
            session["at"] += 1
            return redirect(f"/quiz/{sid}")
        at, items = session["at"], session["items"]
        done = at >= len(items)
        waiting = None if done else session.get("pending")
        u = ask_view(waiting["grade"], waiting["answer"], items[at].answer, f"/quiz/{sid}", {"at": at}) if waiting else None
        return web.page(request, "quiz_step.html", sid=sid, session=session, item=None if done else items[at],
                        number=at + 1, count=len(items), done=done, share=int(100 * at / len(items)), u=u)

    return endpoint


# ---- review -----------------------------------------------------------------------------------------
def review(web: Web) -> Any:
    def due() -> list[Any]:
        with web.store() as store:
            return store.due_cards(limit=20)

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

    async def endpoint(request: Request) -> Any:
        from tutor.learning.flows import check_answer_text

        last = None
        form = await _form(request) if request.method == "POST" else {}
        if "rating" in form:
            choice = choice_of(form)  # the learner's own rating of an answer the grader was unsure of
            entry = take(web, str(form.get("pending", "")), "review") if choice else None
            if entry is None:
                return _no_rating(web, request, choice)
            try:
                card, graded, after = await run_in_threadpool(rate, entry, choice)
            except TutorError as e:
                return web.problem(request, str(e))
            last = {"card": card, "answer": entry["answer"], "after": after, **_grade_view(graded)}
        elif request.method == "POST":
            try:
                card_id = int(form.get("card") or 0)
                text = check_answer_text(str(form.get("answer", "")))
                card, graded, after = await run_in_threadpool(answer, card_id, text)
            except ValueError:
                return web.problem(request, "That card number is not a number.")
            except TutorError as e:
                return web.problem(request, str(e))
            if after is None:  # unsure: the card is shown with the key point and the question, not rescheduled
                pid = wait(web, "review", card=card.id, answer=text, grade=graded)
                u = ask_view(graded, text, card.reference, "/review", {"pending": pid})
                return web.page(request, "review.html", card=None, remaining=0, last=None, rating={"card": card, "u": u})
            last = {"card": card, "answer": text, "after": after, **_grade_view(graded)}
        cards = await run_in_threadpool(due)
        return web.page(request, "review.html", card=cards[0] if cards else None, remaining=len(cards), last=last)

    return endpoint


# ---- a teacher's class -----------------------------------------------------------------------------
def class_grade(web: Web) -> Any:
    def build(name: str, data: bytes) -> list[dict[str, Any]]:
        from tutor.learning import flows

        suffix = ".csv" if name.lower().endswith(".csv") else ".jsonl"
        with tempfile.TemporaryDirectory(prefix="tutor-upload-") as folder:
            path = Path(folder) / f"class{suffix}"
            path.write_bytes(data)
            try:
                rows = flows.read_batch(path)
            except TutorError as e:
                raise type(e)(str(e).replace(str(path), name)) from None
        with web.crew_lock:
            results = list(flows.grade_batch(rows, web.options))
        by_id = {r.id: r for r in rows}
        return [{"id": r.id, "question": by_id[r.id].question, "answer": by_id[r.id].answer,
                 "score": (r.grade or {}).get("score"), "verdict": (r.grade or {}).get("verdict", ""),
                 "feedback": (r.grade or {}).get("feedback", "") or (r.error or ""),
                 "needs_review": bool(r.needs_review)} for r in results]

    async def endpoint(request: Request) -> Any:
        if request.method == "GET":
            return web.page(request, "class.html", rows=None, sid=None, limit=web.max_upload)
        form = await request.form(max_part_size=web.max_upload + 1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            return web.problem(request, "Choose a .jsonl or .csv file with question and answer columns.")
        data = await upload.read(web.max_upload + 1)
        if len(data) > web.max_upload:
            return web.problem(request, f"{upload.filename} is larger than the limit ({web.max_upload:,} bytes).", status=413)
        try:
            rows = await run_in_threadpool(build, upload.filename, data)
        except TutorError as e:
            return web.problem(request, str(e))
        sid = secrets.token_urlsafe(12)
        with web.sessions_lock:
            web.sessions[f"class:{sid}"] = rows
        shown = sorted(rows, key=lambda r: not r["needs_review"])  # the answers a teacher should read first
        return web.page(request, "class.html", rows=shown, sid=sid, limit=web.max_upload, name=upload.filename,
                        review=sum(r["needs_review"] for r in rows))

    return endpoint


def class_csv(web: Web) -> Any:
    async def endpoint(request: Request) -> Response:
        with web.sessions_lock:
            rows = web.sessions.get(f"class:{request.path_params['sid']}")
        if rows is None:
            return web.problem(request, "Those grades are no longer here; upload the class file again.", status=404)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["id", "question", "answer", "score", "verdict", "feedback",
                                                 "needs_review"])
        writer.writeheader()  # rows in the file's order, as `tutor grade --batch` keeps them
        writer.writerows({**r, "needs_review": "true" if r.get("needs_review") else "false"} for r in rows)
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="grades.csv"'})

    return endpoint
