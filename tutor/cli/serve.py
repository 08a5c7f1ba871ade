"""`tutor serve`: the tutor in the browser, on the same library calls and the same record as the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from tutor.cli.options import ConfigOpt, ModelOpt, NoFallbackOpt, ProcessOpt, verbose
from tutor.cli.render import console, note

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but 127.0.0.1 needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).")] = 8000,
    learner: Annotated[str | None, typer.Option("--learner", help="Whose record the pages use (default: 'default').")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Require this token on every request (generated for a non-local --host).")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in your browser.")] = False,
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
) -> None:
    """Start the tutor as a local web app and print its address (Ctrl-C stops it)."""
    import secrets
    import socket

    from tutor.cli.knowledge import ensure_index
    from tutor.cli.learn import _options
    from tutor.errors import UsageError, WorkFailed
    from tutor.learning.store import LearnerStore, check_learner_name

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    if token is not None and len(token) < 8:
        raise UsageError("--token must be at least 8 characters")
    check_learner_name(learner)
    if host not in LOCAL_HOSTS and not token:
        token = secrets.token_urlsafe(18)
    options = _options(ctx, process, model, config, no_fallback)
    LearnerStore.open(learner).close()  # a broken record is one line now, not a 500 on every page
    ensure_index()
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections wait from now on, while the app starts: the printed address works at once
    except OSError as e:
        raise WorkFailed(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    console().print(f"tutor is serving at [bold]{url}[/]", highlight=False, soft_wrap=True)
    if token:
        note("every request needs this token (it is printed only here); share the whole address, not just the host")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    import uvicorn

    from tutor.web.app import create_app

    app = create_app(learner=learner, options=options, token=token)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning" if not verbose(ctx) else "info", access_log=verbose(ctx)))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    console().print("stopped")


def register(app: typer.Typer) -> None:
    app.command()(serve)
