"""`tutor doctor`: is this installation ready? One row per check, with what to do about each problem."""

from __future__ import annotations

import typer

from tutor.cli.options import JsonOpt, ModelOpt
from tutor.cli.render import console, err_console, print_json


def doctor(model: ModelOpt = None, json_out: JsonOpt = False) -> None:
    """Check the index, the learner record and the configured model (reachable, tools, JSON).

    Exit 0 when everything needed works, 1 when the model (or the store) cannot be used."""
    from tutor.learning.doctor import exit_code, run_checks
    from tutor.security import redact

    checks = run_checks(model=model)
    code = exit_code(checks)
    if json_out:
        print_json({"ok": code == 0, "checks": [c.as_dict() for c in checks]})
        raise typer.Exit(code)
    from rich.markup import escape
    from rich.table import Table

    mark = {"ok": "[green]ok[/]", "problem": "[bold red]problem[/]", "note": "[yellow]note[/]"}
    table = Table("check", "status", "detail", "what to do", title="tutor doctor", title_justify="left")
    for c in checks:
        table.add_row(c.name, mark[c.status], escape(redact(c.detail)), escape(redact(c.fix)))
    console().print(table)
    if code:
        first = next(c for c in checks if c.status == "problem" and c.blocks_model)
        err_console().print(f"[bold red]error:[/] {escape(redact(first.detail))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
