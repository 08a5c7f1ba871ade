"""`tutor run`, `tutor agents`, `tutor tasks`, `tutor tools`: the crew as a teacher configures it in YAML."""

from __future__ import annotations

from typing import Annotated

import typer

from tutor.cli.options import ConfigOpt, JsonOpt, ModelOpt, NoFallbackOpt, ProcessOpt, offline_notice, verbose
from tutor.cli.render import console, print_json


def run(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="A task name from tasks.yaml (see: tutor tasks).")],
    var: Annotated[list[str] | None, typer.Option("--var", help="key=value for a {placeholder}; repeatable.")] = None,
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Run any task from tasks.yaml (with the tasks it reads as context)."""
    from tutor.crew.run import build_and_run

    from tutor.cli.knowledge import ensure_index

    from tutor.demos.base import parse_pairs

    inputs = parse_pairs(var, "--var")
    ensure_index(show_progress=not json_out)
    offline_notice(model)
    result = build_and_run(
        task, inputs, process=process, model=model, config_dir=config, verbose=verbose(ctx),  # type: ignore[arg-type]
        fallback=not no_fallback,
    )
    if json_out:
        print_json(
            {
                "task": result.task,
                "process": result.process,
                "model": result.model,
                "results": [
                    {"task": r.name, "agent": r.agent, "raw": r.raw,
                     "output": r.output.model_dump(mode="json") if r.output is not None else None}
                    for r in result.results
                ],
                "tool_calls": [c.model_dump(mode="json") for c in result.tool_calls],
            }
        )
        return
    from rich.markdown import Markdown

    last = result.last
    text = getattr(last.output, "markdown", None) or last.raw
    console().print(Markdown(text))


def agents(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List the agents after merging your overrides: name, role, tools, model."""
    from tutor.crew.run import load_checked_config, resolve_model

    cfg = load_checked_config(config)
    rows = [
        {"name": key, "role": spec.role, "tools": spec.tools, "llm": spec.llm or resolve_model(None),
         "allow_delegation": spec.allow_delegation, "source": cfg.where("agents", key)}
        for key, spec in cfg.agents.items()
    ]
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("name", "role", "tools", "llm", title="Agents")
    for row in rows:
        table.add_row(row["name"], row["role"], ", ".join(row["tools"]) or "-", row["llm"])
    console().print(table)


def tasks(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List the tasks after merging your overrides: name, agent, context, placeholders, output model."""
    from tutor.crew.run import load_checked_config

    cfg = load_checked_config(config)
    rows = [
        {"name": key, "agent": spec.agent, "context": spec.context, "placeholders": sorted(spec.placeholders()),
         "output": spec.output, "source": cfg.where("tasks", key)}
        for key, spec in cfg.tasks.items()
    ]
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("name", "agent", "context", "needs", "output", title="Tasks")
    for row in rows:
        table.add_row(row["name"], row["agent"], ", ".join(row["context"]) or "-",
                      ", ".join(row["placeholders"]) or "-", row["output"] or "text")
    console().print(table)


def tools(json_out: JsonOpt = False) -> None:
    """List the tools agents can name in agents.yaml, and whether each is switched on."""
    from tutor.tools.registry import load_registry

    registry = load_registry()
    rows = [
        {"name": s.name, "summary": s.summary, "origin": s.origin,
         "available": not s.missing_env(), "needs": s.missing_env()}
        for s in (registry.specs[n] for n in registry.names())
    ]
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("name", "what it does", "from", "on", title="Tools")
    for row in rows:
        on = "yes" if row["available"] else f"needs {', '.join(row['needs'])}"
        table.add_row(row["name"], row["summary"], row["origin"], on)
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(agents)
    app.command()(tasks)
    app.command()(tools)
