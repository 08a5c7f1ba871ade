"""`tutor serve`: the tutor in the browser, a second face on the library calls the terminal makes.

The web layer parses a request, calls the same functions the CLI calls (tutor.learning.flows, .practice,
.conversation, the learner store, the retriever) and renders a Jinja2 template; it has no logic of its own.

Safe by default:
- the token gate: when a token is set (required for a non-local --host), every request must carry it
  (`?token=`, the cookie it sets, or `Authorization: Bearer`), or gets a 401 page;
- forms carry a CSRF token that must match the browser's cookie (double submit); a POST without it is a
  403, so another site cannot post answers or uploads in the learner's name;
- every piece of text is escaped by Jinja2's autoescape; Markdown is rendered with raw HTML disabled;
- a Content-Security-Policy that allows only what `tutor serve` itself serves (no CDN, no inline script);
- uploads are size-limited; every error is a page with one readable line, never a traceback.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
TOKEN_COOKIE = "tutor_token"
CSRF_COOKIE = "tutor_csrf"
MAX_UPLOAD_BYTES = 2_000_000
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class Web:
    """What every page shares: the learner, the crew options, the templates, one lock for crew runs, and the
    answers to `/ask` with the bounded pool that works them out (tutor.web.asking)."""

    def __init__(self, learner: str | None, options: Any, token: str | None, max_upload: int,
                 cpu_workers: int | None = None) -> None:
        self.learner = learner
        self.options = options
        self.token = token
        self.max_upload = max_upload
        import jinja2

        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True)
        self.templates = Jinja2Templates(env=env)
        self.crew_lock = threading.Lock()  # CrewAI's event bus is process-wide: one crew at a time
        from tutor.web.asking import Answers

        self.answers = Answers(self, cpu_workers)
        self.sessions: dict[str, Any] = {}  # quiz sessions and graded classes, by random id
        self.sessions_lock = threading.Lock()
        self.status: Any = None  # what the crew is doing now (tutor.crew.progress), for /status
        from tutor.crew import progress

        self.unwatch = progress.watch(self._crew_status)

    def keep(self, kind: str, key: str, value: Any, limit: int) -> None:
        """`value` kept in `sessions` under `kind + key`, with at most `limit` of its kind (the oldest forgotten
        first), so the server's memory stays flat however long a class uses it."""
        with self.sessions_lock:
            same = [k for k in self.sessions if k.startswith(kind)]
            for old in same[: max(0, len(same) - limit + 1)]:
                del self.sessions[old]
            self.sessions[kind + key] = value

    def _crew_status(self, status: Any) -> None:
        self.status = status

    def store(self) -> Any:
        from tutor.learning.store import LearnerStore

        return LearnerStore.open(self.learner)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.update(request=request, csrf=request.state.csrf, learner=self.learner or "default")
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def problem(self, request: Request, message: str, status: int = 400, back: str | None = None) -> HTMLResponse:
        """An error as a page with the navigation, in a learner's words (no command-line options)."""
        from tutor.security import redact
        from tutor.web.grades import learner_words

        return self.page(request, "problem.html", status=status, message=learner_words(redact(message)), back=back)


class Guard(BaseHTTPMiddleware):
    """The token gate, the CSRF check and the security headers, for every request."""

    def __init__(self, app: Any, web: Web) -> None:
        super().__init__(app)
        self.web = web

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        web = self.web
        request.state.csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        set_token = False
        if web.token:
            given = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
                     or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
            if not given or not hmac.compare_digest(given, web.token):
                return _bare(401, "This tutor needs its token: open the address `tutor serve` printed (it ends in ?token=...).",
                             nav=False)
            set_token = request.query_params.get("token") is not None
        if request.method == "POST":
            length = int(request.headers.get("content-length") or 0)
            if length > web.max_upload + 65536:
                return _bare(413, f"That upload is larger than the limit ({web.max_upload // 1_000_000} MB).")
            form_token = await _form_csrf(request)
            cookie = request.cookies.get(CSRF_COOKIE, "")
            if not cookie or not form_token or not hmac.compare_digest(form_token, cookie):
                return _bare(403, "This form was not sent from this tutor's own page (its safety token is missing); "
                                  "go back, reload the page and send it again.")
        response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        if set_token:
            response.set_cookie(TOKEN_COOKIE, web.token or "", httponly=True, samesite="strict")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response


async def _form_csrf(request: Request) -> str:
    if request.headers.get("x-csrf-token"):
        return request.headers["x-csrf-token"]
    try:
        await request.body()  # read once and kept: the page's own handler reads the same form again
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES + 1)
    except Exception:
        return ""
    value = form.get("csrf")
    return value if isinstance(value, str) else ""


NAV = (("/", "tutor"), ("/study", "Study"), ("/ask", "Ask"), ("/quiz", "Quiz"), ("/review", "Review"),
       ("/progress", "Progress"), ("/search", "Search"), ("/teacher/grade", "Teacher"))


def _bare(status: int, message: str, nav: bool = True) -> HTMLResponse:
    """A page written before (or without) the templates: the problem in one line, with the navigation (none on
    the token page, whose links would not open without the token either)."""
    from html import escape

    links = "".join(f'<a href="{href}">{label}</a> ' for href, label in NAV) if nav else ""
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>tutor</title>'
            f'<link rel="stylesheet" href="/static/simple.css"><link rel="stylesheet" href="/static/style.css"></head>'
            f'<body>{f"<header><nav aria-label=main>{links}</nav></header>" if nav else ""}'
            f'<main id="main"><h1>Something needs your attention</h1><p class="problem" role="alert">{escape(message)}</p>'
            f'{"<p><a href=/>Home</a></p>" if nav else ""}</main></body></html>')
    return HTMLResponse(body, status_code=status, headers={"Content-Security-Policy": CSP})


def create_app(learner: str | None = None, options: Any = None, token: str | None = None,
               max_upload: int = MAX_UPLOAD_BYTES, cpu_workers: int | None = None) -> Starlette:
    """The app; `cpu_workers`: threads for the work that costs CPU (default: one per core this process may use)."""
    from tutor.learning.flows import CrewOptions
    from tutor.web import lesson, pages, quiz, review, teacher

    web = Web(learner, options or CrewOptions(), token, max_upload, cpu_workers)
    routes = [
        Route("/", pages.home(web)),
        Route("/search", pages.search(web)),
        Route("/notes/{source}", pages.notes(web)),
        Route("/ask", pages.ask(web)),
        Route("/study", lesson.study(web)),
        Route("/check", lesson.check(web), methods=["POST"]),
        Route("/figures/{name:path}", lesson.figure(web)),
        Route("/quiz", quiz.quiz_start(web), methods=["GET", "POST"]),
        Route("/quiz/{sid}", quiz.quiz_step(web), methods=["GET", "POST"]),
        Route("/quiz/{sid}/retry", quiz.quiz_retry(web), methods=["POST"]),
        Route("/review", review.review(web), methods=["GET", "POST"]),
        Route("/progress", pages.progress(web)),
        Route("/status", pages.status(web)),
        Route("/teacher/grade", teacher.class_grade(web), methods=["GET", "POST"]),
        Route("/teacher/grade/{sid}.csv", teacher.class_csv(web)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        web.unwatch()  # the crew's status stops flowing to an app that is gone
        web.answers.close()

    app = Starlette(routes=routes, middleware=[Middleware(Guard, web=web)],
                    exception_handlers={404: _not_found, 500: _server_error}, lifespan=lifespan)
    app.state.web = web
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    return _bare(404, "There is no such page here. Start again from the home page.")


async def _server_error(request: Request, exc: Exception) -> Response:
    from tutor.security import redact

    return _bare(500, redact(f"Something went wrong on the tutor's side ({exc.__class__.__name__}: {exc}"[:280] + "). "
                             "Go back and try again; if it happens again, tell your teacher."))


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
