"""`demo_<name>`: one CrewAI tool per registered demo, so an agent can show an idea with real numbers.

The tools come from the demo registry, so a plugin's demo becomes a tool the same way tutor's own do.
Each tool's arguments are the demo's LIMITS fields, bounded as LIMITS says; torch and crewai load only
when an agent is given the tool.
"""

from __future__ import annotations

import typing
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

MAX_OBSERVATION = 3000  # characters: the reading and the key numbers, not every curve
MAX_LIST = 8  # values in a list argument (widths, temperatures, learning rates)


def args_model(module: Any) -> type[BaseModel]:
    """A pydantic model of the demo's main Config fields: every field optional, bounded by LIMITS."""
    from tutor.demos.base import config_fields

    fields: dict[str, Any] = {}
    for f in config_fields(module):
        limits = f["limits"]
        if limits is None:
            continue  # only what LIMITS bounds is offered to a model
        help_text = f["help"] or f["name"].replace("_", " ")
        if typing.get_origin(f["type"]) in (tuple, list):  # a short list of bounded numbers
            low, high = limits
            item = Annotated[typing.get_args(f["type"])[0], Field(ge=low, le=high)]
            fields[f["name"]] = (
                list[item],  # type: ignore[valid-type]
                Field(default=list(f["default"]), min_length=1, max_length=MAX_LIST,
                      description=f"{help_text} (each {low} to {high})"),
            )
        elif isinstance(limits, (list, set, frozenset)):
            kind: Any = Literal[tuple(limits)]  # type: ignore[valid-type]
            fields[f["name"]] = (kind, Field(default=f["default"], description=help_text))
        else:
            low, high = limits
            fields[f["name"]] = (
                f["type"],
                Field(default=f["default"], ge=low, le=high, description=f"{help_text} ({low} to {high})"),
            )
    name = "".join(part.title() for part in module.NAME.split("_")) + "DemoInput"
    return create_model(name, **fields)


def describe(spec: Any) -> str:
    """What an agent reads to decide when to call the tool."""
    sections = "; ".join(f"{s.source} § {s.section}" for s in spec.sections)
    return (
        f"Runs the '{spec.title}' demo, a small PyTorch model: {spec.description} "
        f"Use it when the learner studies {', '.join(spec.keywords[:6])}, to ground the explanation in numbers "
        f"from a real model rather than only words. All arguments are optional. Returns the metrics and a "
        f"one-paragraph reading of them, and the path of a PNG figure. It illustrates {sections}."
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and len(value) > 8:
        return "[" + ", ".join(_cell(v) for v in value[:4]) + f", ...] ({len(value)} values)"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_cell(v)}" for k, v in value.items()) + "}"
    return str(value)


def format_result(result: Any) -> str:
    """The observation an agent reads: the reading, the key numbers, the figure and the sections."""
    lines = [
        f"Demo '{result.title}' ran on {result.device} in {result.seconds:.1f}s.",
        f"Reading: {result.summary}",
        "Key numbers:",
    ]
    for key, value in result.metrics.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for row in value[:10]:
                lines.append(f"- {key}: " + ", ".join(f"{k}={_cell(v)}" for k, v in row.items() if not isinstance(v, list)))
        else:
            lines.append(f"- {key}: {_cell(value)}")
    if result.figure:
        lines.append(f"Figure: {result.figure}")
    lines.append("Illustrates: " + "; ".join(f"{s.source} § {s.section}" for s in result.sections))
    text = "\n".join(lines)
    return text if len(text) <= MAX_OBSERVATION else text[: MAX_OBSERVATION - 4].rsplit("\n", 1)[0] + "\n..."


def make_demo_tool(name: str) -> Any:
    from crewai.tools import BaseTool

    from tutor.demos import get_demo, load_demo_registry, run_demo
    from tutor.errors import UsageError

    spec = get_demo(name)
    module = load_demo_registry().module(name)

    class DemoTool(BaseTool):
        name: str = f"demo_{spec.name}"
        description: str = describe(spec)
        args_schema: type[BaseModel] = args_model(module)

        def _run(self, **kwargs: Any) -> str:
            params = {k: v for k, v in kwargs.items() if v is not None}
            try:
                result = run_demo(spec.name, params)
            except UsageError as e:
                return f"demo_{spec.name} could not run: {e}"
            return format_result(result)

    return DemoTool()


def register(registry: Any) -> None:
    from tutor.demos import list_demos

    for spec in list_demos():
        registry.register(
            f"demo_{spec.name}",
            partial(make_demo_tool, spec.name),
            summary=f"Run the demo '{spec.title}' and read its numbers.",
        )
