"""The pages that read: home, search, the notes, ask, progress."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.concurrency import run_in_threadpool

from tutor.web.app import Web
from tutor.web.render import anchor, markdown, note_link, notes_html, section_label


def _text(request: Request, name: str, limit: int = 2000) -> str:
    return " ".join(str(request.query_params.get(name, "")).split())[:limit]


def home(web: Web) -> Any:
    def build() -> dict[str, Any]:
        with web.store() as store:
            progress = store.progress()
        weakest = [{"s": s, "name": section_label(s.section) if s.section else f"{s.module} (other answers)"}
                   for s in progress.weakest[:5] if s.section or s.module]
        return {"progress": progress, "weakest": weakest}

    async def endpoint(request: Request) -> Any:
        context = await run_in_threadpool(build)
        return web.page(request, "home.html", **context)

    return endpoint


def search(web: Web) -> Any:
    async def endpoint(request: Request) -> Any:
        from tutor.errors import TutorError

        q = _text(request, "q", 500)
        kind = request.query_params.get("kind", "all")
        if kind not in ("all", "notes", "companion"):
            return web.problem(request, f"kind must be all, notes or companion, not '{kind}'")
        hits: list[Any] = []
        if q:
            try:
                hits = await run_in_threadpool(_search, q, kind)
            except TutorError as e:
                return web.problem(request, str(e), status=503)
        rows = [{"p": p, "link": note_link(p.source, p.section, getattr(p, "subsection", "") or ""),
                 "name": section_label(p.section), "companion": p.kind == "companion"} for p in hits]
        return web.page(request, "search.html", q=q, kind=kind, rows=rows)

    return endpoint


def _search(q: str, kind: str) -> list[Any]:
    from tutor.tools.notes import shared_retriever

    retriever = shared_retriever()
    if kind == "all":
        return retriever.search_with_companion(q, k=8, within_k=True)
    return retriever.search(q, k=8, kinds=(kind,))


def notes(web: Web) -> Any:
    async def endpoint(request: Request) -> Any:
        source = request.path_params["source"]
        path = _note_file(source)
        if path is None:
            return web.problem(request, f"There is no note file named '{source}'.", status=404)
        text = path.read_text(encoding="utf-8", errors="replace")
        highlight = _text(request, "hl", 400)
        html, marked = notes_html(text, source, highlight)
        return web.page(request, "notes.html", source=source, html=html, highlight=highlight if marked else "",
                        highlight_name=section_label(highlight) if marked else "", anchor=anchor(highlight))

    return endpoint


def _note_file(source: str) -> Any:
    """The course note (or a file the user indexed) by its source name; never a path outside them."""
    from pathlib import Path

    from tutor.knowledge.store import IndexState
    from tutor.settings import get_settings

    if "/" in source or "\\" in source or source.startswith("."):
        return None
    settings = get_settings()
    candidate = settings.knowledge_dir / source
    if candidate.is_file():
        return candidate
    try:
        state = IndexState.model_validate_json((settings.index_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    for added in state.sources:
        p = Path(added)
        for f in ([p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []):
            if f.name == source and f.suffix in (".md", ".txt"):
                return f
    return None


def ask(web: Web) -> Any:
    async def endpoint(request: Request) -> Any:
        from tutor.errors import TutorError

        q = _text(request, "q", 1000)
        if not q:
            return web.page(request, "ask.html", q="", answer=None)
        try:
            answer = await web.answers.answer(q)  # no lock, kept per (question, notes), in the bounded pool
        except TutorError as e:
            return web.problem(request, str(e))
        from tutor.web.grades import source_link

        citations, seen = [], set()
        for c in answer.citations:
            if (c.source, c.section) not in seen:
                seen.add((c.source, c.section))
                citations.append({**source_link(c.source, c.section), "companion": c.kind == "companion"})
        return web.page(request, "ask.html", q=q, answer=answer, html=markdown(answer.answer), citations=citations)

    return endpoint


def progress(web: Web) -> Any:
    def build() -> dict[str, Any]:
        from datetime import datetime, timezone

        from tutor.learning import activity

        now = datetime.now(timezone.utc)
        with web.store() as store:
            p = store.progress(now)
            days = activity.study_days(store)
            due = activity.due_per_day(store, now, 14)
        return {"p": p, "days": len(days), "streak": activity.streak(days, now.date()), "due_days": due,
                "due_total": sum(n for _, n in due)}

    async def endpoint(request: Request) -> Any:
        from tutor.web.charts import bars, due_chart, history_chart

        c = await run_in_threadpool(build)
        p = c["p"]

        def name(s: Any) -> str:
            return section_label(s.section) if s.section else "Other answers (no section)"

        modules = bars([(m.module or "Other answers", m.mastery) for m in p.modules],
                       [f"{_n(m.attempts, 'answer')}, {_n(m.sections, 'section')}" for m in p.modules])
        sections = bars([(name(s), s.mastery) for s in p.sections],
                        [f"{s.module} · {_n(s.attempts, 'answer')}" for s in p.sections])
        return web.page(request, "progress.html", p=p, modules=modules, sections=sections,
                        rows=[{"s": s, "name": name(s)} for s in p.sections],
                        history=history_chart(p.history), due=due_chart(c["due_days"]), days=c["days"],
                        streak=c["streak"], due_total=c["due_total"])

    return endpoint


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def status(web: Web) -> Any:
    """What the agents are doing now, for the page that waits on them (static/app.js polls it)."""

    async def endpoint(request: Request) -> Any:
        from starlette.responses import JSONResponse

        current = web.status
        return JSONResponse({"working": current is not None, "line": current.line() if current else ""})

    return endpoint
