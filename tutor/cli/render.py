"""Terminal output shared by the command groups: consoles, JSON printing, progress bars."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from rich.console import Console


@lru_cache(maxsize=1)
def _consoles() -> tuple[Console, Console]:
    return Console(), Console(stderr=True)


def console() -> Console:
    return _consoles()[0]


def err_console() -> Console:
    return _consoles()[1]


def reset_consoles() -> None:
    """Forget the cached consoles (tests swap sys.stdout between invocations)."""
    _consoles.cache_clear()


def print_json(data: Any) -> None:
    """JSON to stdout exactly as given: no wrapping, no colour, so pipes and `jq` read it."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    from rich.markup import escape

    from tutor.security import redact

    err_console().print(f"[yellow]warning:[/] {escape(redact(message))}", highlight=False, soft_wrap=True)


def note(message: str) -> None:
    from rich.markup import escape

    from tutor.security import redact

    err_console().print(f"[dim]{escape(redact(message))}[/]", highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields `update(label, done, total)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled or not err_console().is_terminal:
        yield lambda label, done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        yield update


@contextmanager
def crew_status(enabled: bool = True) -> Iterator[None]:
    """A live status line on stderr while a crew runs (agent, step, tool, seconds), gone when it ends.

    Only on a terminal, and not with `--quiet`: piped stderr and `--json` output stay clean."""
    if not enabled or not err_console().is_terminal:
        yield
        return
    from rich.live import Live
    from rich.text import Text

    from tutor.crew import progress

    state: dict[str, Any] = {"status": None, "live": None}

    class Line:
        def __rich__(self) -> Text:
            status = state["status"]
            return Text(status.line() if status else "", style="dim")

    def show(status: Any) -> None:
        state["status"] = status
        live = state["live"]
        if status is not None and live is None:
            state["live"] = Live(Line(), console=err_console(), transient=True, refresh_per_second=4)
            state["live"].start()
        elif status is None and live is not None:
            live.stop()
            state["live"] = None

    try:
        with progress.watching(show):
            yield
    finally:
        if state["live"] is not None:
            state["live"].stop()
