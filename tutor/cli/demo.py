"""`tutor demo list` and `tutor demo run`: small PyTorch models that show an idea of the course with numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tutor.cli.options import JsonOpt
from tutor.cli.render import console, print_json, progress_bar

demo_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")


@demo_app.command("list")
def list_demos(json_out: JsonOpt = False) -> None:
    """List the demos and the sections of the notes each one illustrates."""
    from tutor.demos import list_demos as all_demos

    specs = all_demos()
    if json_out:
        print_json([{"name": s.name, "title": s.title, "sections": [x.model_dump() for x in s.sections]} for s in specs])
        return
    from rich.table import Table

    table = Table("name", "what it shows", "illustrates", title="Demos (run one with: tutor demo run NAME)")
    for s in specs:
        table.add_row(s.name, s.title, "\n".join(f"{x.source} § {x.section}" for x in s.sections))
    console().print(table)


@demo_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="A demo name (see: tutor demo list).")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value for a field of the demo's config, e.g. stride=2; repeatable."),
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="auto, cpu or cuda (default: TUTOR_DEVICE, else auto).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the figure (default: TUTOR_HOME/demos).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run one demo: train or evaluate its model, then show the numbers, a plain reading and a figure."""
    from tutor.demos import run_demo
    from tutor.demos.base import parse_pairs

    params = parse_pairs(param)
    with progress_bar(f"demo {name}", enabled=not json_out) as update:
        result = run_demo(name, params, device=device, out_dir=out, progress=update)
    if json_out:
        print_json(result.model_dump(mode="json", include={"name", "device", "seconds", "metrics", "summary", "figure"}))
        return
    from rich.markup import escape

    console().print(f"[bold]{escape(result.title)}[/]  [dim]{result.device}, {result.seconds:.1f}s[/]")
    for table in metric_tables(result.metrics):
        console().print(table)
    console().print(escape(result.summary), highlight=False)
    if result.figure:
        console().print(f"[dim]figure:[/] {escape(result.figure)}", highlight=False)
    if result.sections:
        console().print("[dim]illustrates:[/] " + escape("; ".join(f"{s.source} § {s.section}" for s in result.sections)),
                        highlight=False)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    if isinstance(value, list):
        if len(value) > 8:
            return f"[{', '.join(_cell(v) for v in value[:3])}, ... {_cell(value[-1])}] ({len(value)} values)"
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    return str(value)


def metric_tables(metrics: dict[str, Any]) -> list[Any]:
    """One key/value table of the plain metrics, and a table per list of rows (one row per setting compared)."""
    from rich.table import Table

    main = Table("metric", "value", show_header=False, box=None, padding=(0, 2))
    tables: list[Any] = [main]
    for key, value in metrics.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for row in value for k in row))
            table = Table(*columns, title=key.replace("_", " "))
            for row in value:
                table.add_row(*(_cell(row.get(c)) for c in columns))
            tables.append(table)
        elif isinstance(value, dict) and value and all(isinstance(v, (dict, list)) for v in value.values()):
            for sub, inner in value.items():
                main.add_row(f"{key}.{sub}", _cell(inner))
        else:
            main.add_row(key.replace("_", " "), _cell(value))
    return tables


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo", help="Run small PyTorch models that show an idea of the course with real numbers.")
