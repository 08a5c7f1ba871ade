"""Options shared by every crew command, written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProcessOpt = Annotated[
    str, typer.Option("--process", help="sequential (default) or hierarchical (a manager delegates).")
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Any CrewAI/LiteLLM model (openai/gpt-4o-mini, ollama/llama3.1, ...) or 'offline'."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="A folder whose agents.yaml / tasks.yaml are merged over the defaults."),
]
NoFallbackOpt = Annotated[
    bool,
    typer.Option("--no-fallback", help="If the configured model fails, stop with an error instead of answering offline."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of the terminal view.")]


def verbose(ctx: typer.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("verbose"))


def offline_notice(model: str | None) -> None:
    """Said once per run: what answers when no generative model is configured."""
    from tutor.cli.render import note
    from tutor.crew.run import resolve_model

    if resolve_model(model) == "offline":
        note(
            "Using the built-in offline model: answers are quoted from the course notes. "
            "Set TUTOR_MODEL (e.g. openai/gpt-4o-mini or ollama/llama3.1) or pass --model for a generative one."
        )
