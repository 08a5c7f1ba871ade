"""The lesson page: every part once (the lesson's text, the demo with its figure and its numbers as tables, the
check questions, the sources), and check questions answered in place.

A lesson is run and recorded once per visit: `/study?topic=T` runs it, keeps it under a random id and redirects to
`/study?topic=T&lesson=ID`, which shows the kept lesson; "Back" and reloads land there and run nothing again.
A check question is posted to `/check` with the lesson's id and its number. From the page's script (the header
`X-Requested-With: fetch`) the answer is graded and only the result comes back, shown under the question; without
JavaScript the result is kept with the lesson and the browser is sent back to the lesson at that question.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from tutor.errors import TutorError
from tutor.web import ratings
from tutor.web.app import Web, redirect
from tutor.web.grades import answer_note, form_of, grade_view, is_unsure, no_rating, source_link
from tutor.web.pages import _text as _q
from tutor.web.render import markdown
from tutor.web.unsure import ask_view, choice_of, take, wait

PREFIX = "lesson:"
MAX_LESSONS = 100  # lessons kept for their visits; the oldest are forgotten first
SHOWN_ELSEWHERE = re.compile(r"^(Demo\b|Check your understanding\b|Sources\b)", re.I)


# ---- the lesson as the page shows it --------------------------------------------------------------
def lesson_text(text: str) -> str:
    """The lesson's Markdown without the parts the page shows itself (the demo, the check questions, the
    sources) and without a figure's file path."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = bool(SHOWN_ELSEWHERE.match(line[3:].strip()))
        if not skipping and not re.match(r"^\s*Figure:\s*`", line):
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n"


def metric_table(value: Any) -> dict[str, Any] | None:
    """A metric that lists records ("method=none, loss=0.28; method=dropout, loss=0.20") as a table."""
    records = [r.strip() for r in str(value).split(";") if r.strip()]
    rows: list[dict[str, str]] = []
    for record in records:
        pairs = [p.strip() for p in record.split(", ")]
        if not all("=" in p for p in pairs):
            return None
        rows.append(dict(p.split("=", 1) for p in pairs))
    if not rows or (len(rows) == 1 and len(rows[0]) < 2):
        return None
    headers = list(dict.fromkeys(k for r in rows for k in r))
    return {"headers": [h.replace("_", " ") for h in headers], "rows": [[r.get(h, "") for h in headers] for r in rows]}


def _figure_url(figure: str) -> str | None:
    from tutor.demos import default_out_dir

    try:
        return "/figures/" + quote(Path(figure).resolve().relative_to(default_out_dir().resolve()).as_posix())
    except ValueError:  # a figure written elsewhere (a demo run with --out) is not served
        return None


def lesson_view(lesson: Any, topic: str, demo: bool) -> dict[str, Any]:
    sources, seen = [], set()
    for c in list(lesson.citations) + list(getattr(lesson, "read_next", []) or []):
        if (c.source, c.section) not in seen:
            seen.add((c.source, c.section))
            sources.append({**source_link(c.source, c.section), "companion": c.kind == "companion"})
    first = next((s for s in sources if not s["companion"]), sources[0] if sources else None)
    checks = [{"question": q.question, "reference": q.answer, "source": q.source or (first or {}).get("source", ""),
               "section": q.section or (first or {}).get("section", ""), "level": q.level,
               "name": source_link(q.source, q.section)["name"] if q.section else ""}
              for q in lesson.check_questions]
    metrics = []
    if lesson.demo:
        for name, value in lesson.demo.metrics.items():
            metrics.append({"name": name.replace("_", " "), "value": value, "table": metric_table(value)})
    return {"topic": topic, "demo_on": demo, "lesson": lesson, "html": markdown(lesson_text(lesson.markdown)),
            "figure": _figure_url(lesson.demo.figure) if lesson.demo and lesson.demo.figure else None,
            "metrics": metrics, "sources": sources, "checks": checks, "results": {}}


def keep(web: Web, view: dict[str, Any]) -> str:
    lid = secrets.token_urlsafe(12)
    web.keep(PREFIX, lid, view, MAX_LESSONS)
    return lid


def kept(web: Web, lid: str) -> dict[str, Any] | None:
    with web.sessions_lock:
        return web.sessions.get(PREFIX + lid) if lid else None


def lesson_url(view: dict[str, Any], lid: str, fragment: str = "") -> str:
    return (f"/study?topic={quote(view['topic'])}&lesson={quote(lid)}" + ("" if view["demo_on"] else "&demo=0")
            + (f"#{fragment}" if fragment else ""))


# ---- the pages ------------------------------------------------------------------------------------
def study(web: Web) -> Any:
    def build(topic: str, demo: bool) -> Any:
        from tutor.learning.practice import lesson_for

        with web.store() as store, web.crew_lock:
            return lesson_for(topic, web.options, store, no_demo=not demo)

    async def endpoint(request: Request) -> Any:
        topic = _q(request, "topic", 200)
        if not topic:
            return web.page(request, "study.html", topic="", v=None)
        lid = request.query_params.get("lesson", "")
        view = kept(web, lid)
        if view is None or view["topic"] != topic:  # a new visit: run the lesson once, then show the kept one
            demo = request.query_params.get("demo", "1") != "0"
            try:
                lesson = await run_in_threadpool(build, topic, demo)
            except TutorError as e:
                return web.problem(request, str(e), back="/study")
            view = lesson_view(lesson, topic, demo)
            return redirect(lesson_url(view, keep(web, view)))
        return web.page(request, "study.html", topic=topic, v=view, lid=lid)

    return endpoint


def figure(web: Web) -> Any:
    async def endpoint(request: Request) -> Response:
        from tutor.demos import default_out_dir

        name = request.path_params["name"]
        folder = default_out_dir().resolve()
        path = (folder / name).resolve()
        if folder not in path.parents or path.suffix.lower() not in (".png", ".svg") or not path.is_file():
            return web.problem(request, f"There is no figure named '{name}'.", status=404)
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    return endpoint


def check(web: Web) -> Any:
    """A check question of a lesson answered in place: graded against its reference, recorded under its section."""

    def record(store: Any, q: dict[str, Any], answer: str, graded: Any) -> None:
        cited = graded.citations[0] if graded.citations else {}
        store.record_answer(None, question=q["question"], answer=answer, reference=q["reference"],
                            grade_score=graded.score, verdict=graded.verdict,
                            source=q.get("source") or cited.get("source", ""),
                            section=q.get("section") or cited.get("section", ""), self_rated=graded.self_rated)

    def build(q: dict[str, Any], answer: str) -> Any:
        from tutor.learning import flows

        with web.store() as store, web.crew_lock:
            graded = flows.grade(answer, q["question"], q["reference"], web.options)
            if not is_unsure(graded):  # an unsure grade waits for the learner's rating
                record(store, q, answer, graded)
        return graded

    def rate(entry: dict[str, Any], choice: str) -> Any:
        from tutor.learning.self_rating import rated_as

        graded = rated_as(entry["grade"], choice)
        with web.store() as store:
            record(store, entry["q"], entry["answer"], graded)
        return graded

    def respond(request: Request, view: dict[str, Any] | None, lid: str, index: int, result: dict[str, Any],
                q: dict[str, Any], back: str) -> Any:
        if request.headers.get("x-requested-with") == "fetch":  # the page's script: only the result
            return web.page(request, "_check_result.html", r=result)
        if view is not None:  # without JavaScript: kept with the lesson, shown under its question
            view["results"][index] = result
            return redirect(lesson_url(view, lid, f"check-{index + 1}"))
        if result.get("note"):
            return web.problem(request, result["note"], back=back)
        return web.page(request, "graded.html", question=q["question"], answer=result.get("answer", ""), back=back,
                        u=result.get("u"), **(result.get("grade") or {}))

    async def endpoint(request: Request) -> Any:
        form = await form_of(request)
        lid = str(form.get("lesson", ""))[:40]
        view = kept(web, lid)
        try:
            index = int(str(form.get("index", "-1")))
        except ValueError:
            index = -1
        back = str(form.get("back", "/"))[:500]
        if view is not None and 0 <= index < len(view["checks"]):
            q = view["checks"][index]
            back = lesson_url(view, lid)
        elif lid:
            return web.problem(request, "This lesson is no longer open (the tutor restarted); open it again.",
                               status=404, back="/study")
        else:  # a check question posted with its own text (as `tutor grade` takes one)
            view, q = None, {"question": str(form.get("question", ""))[:2000],
                             "reference": str(form.get("reference", ""))[:4000],
                             "source": str(form.get("source", ""))[:200], "section": str(form.get("section", ""))[:300]}
        if "rating" in form:  # the learner's own rating of an answer the grader was unsure of
            choice = choice_of(form)
            entry = take(web, str(form.get("pending", "")), "check") if choice else None
            if entry is None:
                return no_rating(web, request, choice)
            graded = await run_in_threadpool(rate, entry, choice)
            return respond(request, view, lid, index, {"grade": grade_view(graded), "answer": entry["answer"]}, q,
                           entry.get("back", back))
        raw = str(form.get("answer", ""))
        note = answer_note(raw)
        if note:  # a blank answer: stay on the question, with a note
            return respond(request, view, lid, index, {"note": note, "answer": raw}, q, back)
        answer = raw.strip()
        try:
            graded = await run_in_threadpool(build, q, answer)
        except TutorError as e:
            return respond(request, view, lid, index, {"note": str(e), "answer": answer}, q, back)
        if is_unsure(graded):  # the four ratings, each with when this question's card comes back
            fields = {"pending": wait(web, "check", q=q, answer=answer, grade=graded, back=back)}
            if view is not None:
                fields.update(lesson=lid, index=index)
            buttons = await run_in_threadpool(ratings.buttons, web, None, q["question"])
            return respond(request, view, lid, index,
                           {"u": ask_view(graded, answer, q["reference"], "/check", fields, buttons), "answer": answer},
                           q, back)
        return respond(request, view, lid, index, {"grade": grade_view(graded), "answer": answer}, q, back)

    return endpoint
