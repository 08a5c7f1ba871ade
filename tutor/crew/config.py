"""agents.yaml and tasks.yaml: validated by pydantic at load, merged with a teacher's overrides.

The defaults ship with tutor; a directory given by `--config DIR` or `TUTOR_CONFIG_DIR` may hold its own
agents.yaml / tasks.yaml whose keys replace (same key) or add to (new key) the defaults. Every problem
ends in one line naming the file, the key and what is wrong.
"""

from __future__ import annotations

import difflib
import re
import string
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tutor.errors import UsageError
from tutor.settings import bundled_path

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
OUTPUT_MODELS = ("Lesson", "CheckQuestions", "Quiz", "Grade", "Answer")  # the names tasks may use for `output`
# What the built-in offline model does for a task (`skill:`); a task without one gets the skill its
# `output` implies (Lesson -> lesson, Quiz -> quiz, ...), else a grounded extractive answer.
SKILLS = ("research", "lesson", "check", "quiz", "grade", "answer", "extract")
SKILL_OF_OUTPUT = {"Lesson": "lesson", "CheckQuestions": "check", "Quiz": "quiz", "Grade": "grade", "Answer": "answer"}


class AgentSpec(BaseModel):
    """One agent: every word it reads, the tools it may call, and how it may work."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    backstory: str = Field(min_length=1)
    reasoning: str = ""  # the chain-of-thought instruction, appended to the backstory
    tools: list[str] = Field(default_factory=list)  # registry names; "demo_*" matches a family
    llm: str | None = None  # overrides --model / TUTOR_MODEL for this agent
    allow_delegation: bool = False
    max_iter: int = Field(default=6, ge=1, le=50)


class TaskSpec(BaseModel):
    """One task: what to do ({placeholders} filled at run time), what to return, who does it."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1)
    expected_output: str = Field(min_length=1)
    agent: str
    context: list[str] = Field(default_factory=list)
    output: str | None = None  # name of the pydantic model CrewAI validates the answer into
    skill: str | None = None  # how the offline model answers it (SKILLS); default from `output`

    @field_validator("skill")
    @classmethod
    def _known_skill(cls, value: str | None) -> str | None:
        if value is not None and value not in SKILLS:
            raise ValueError(f"unknown skill '{value}' (known: {', '.join(SKILLS)})")
        return value

    def offline_skill(self) -> str:
        return self.skill or SKILL_OF_OUTPUT.get(self.output or "", "extract")

    @field_validator("output")
    @classmethod
    def _known_output(cls, value: str | None) -> str | None:
        if value is not None and value not in OUTPUT_MODELS:
            raise ValueError(f"unknown output model '{value}' (known: {', '.join(OUTPUT_MODELS)})")
        return value

    def placeholders(self) -> set[str]:
        names = set()
        for text in (self.description, self.expected_output):
            for _, field_name, _, _ in string.Formatter().parse(text):
                if field_name:
                    names.add(field_name)
        return names


class CrewConfig(BaseModel):
    """The merged configuration, with the file each key came from (for error lines)."""

    agents: dict[str, AgentSpec]
    tasks: dict[str, TaskSpec]
    origin: dict[str, str] = Field(default_factory=dict)  # "agents.explainer" -> path of its file

    def where(self, kind: str, key: str) -> str:
        return self.origin.get(f"{kind}.{key}", f"{kind}.yaml")

    def closure(self, task: str) -> list[str]:
        """`task` and the tasks it reads as context, dependencies first."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            for dep in self.tasks[name].context:
                visit(dep)
            order.append(name)

        visit(task)
        return order

    def require_task(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise UsageError(f"unknown task '{name}'{_suggest(name, self.tasks)} (see: tutor tasks)")
        return self.tasks[name]

    def check_inputs(self, task: str, inputs: dict[str, Any]) -> None:
        """Every placeholder of the task and its context must be supplied."""
        for name in self.closure(task):
            missing = sorted(self.tasks[name].placeholders() - set(inputs))
            if missing:
                flags = " ".join(f"--var {m}=..." for m in missing)
                raise UsageError(
                    f"{self.where('tasks', name)}: task '{name}' needs {', '.join('{' + m + '}' for m in missing)}"
                    f" but nothing supplies it (add {flags})"
                )


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text") from e
    except OSError as e:
        raise UsageError(f"{path}: cannot be read ({e.strerror or e})") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UsageError(f"{path}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of names to definitions, got {type(data).__name__}")
    return data


def _first_error(path: Path, key: str, error: ValidationError) -> UsageError:
    e = error.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    if e["type"] == "extra_forbidden":
        return UsageError(f"{path}: {key}: unknown field '{loc}'{_suggest(str(e['loc'][-1]), _FIELDS[key])}")
    problem = e["msg"].removeprefix("Value error, ")
    return UsageError(f"{path}: {key}.{loc}: {problem}" if loc else f"{path}: {key}: {problem}")


_FIELDS: dict[str, list[str]] = {}


def _parse(kind: str, path: Path, data: dict[str, Any], into: dict[str, Any], origin: dict[str, str]) -> None:
    spec_type = AgentSpec if kind == "agents" else TaskSpec
    for key, body in data.items():
        key = str(key)
        if not NAME.match(key):
            raise UsageError(f"{path}: '{key}': names must be lower_snake_case (letters, digits, _)")
        if not isinstance(body, dict):
            raise UsageError(f"{path}: {key}: expected a mapping of fields, got {type(body).__name__}")
        _FIELDS[key] = list(spec_type.model_fields)
        try:
            into[key] = spec_type.model_validate(body)
        except ValidationError as e:
            raise _first_error(path, key, e) from None
        origin[f"{kind}.{key}"] = str(path)


def config_dirs(override: Path | None) -> list[Path]:
    from tutor.settings import get_settings

    chosen = override or get_settings().config_dir
    if chosen is None:
        return []
    if not chosen.is_dir():
        raise UsageError(f"config directory not found: {chosen}")
    return [chosen]


def load_config(override: Path | None = None, tool_names: list[str] | None = None) -> CrewConfig:
    """Defaults, then the override directory's files on top; validated as a whole."""
    agents: dict[str, AgentSpec] = {}
    tasks: dict[str, TaskSpec] = {}
    origin: dict[str, str] = {}
    layers = [(bundled_path("agents.yaml"), bundled_path("tasks.yaml"))]
    for folder in config_dirs(override):
        layers.append((folder / "agents.yaml", folder / "tasks.yaml"))
    for agents_file, tasks_file in layers:
        if agents_file.exists():
            _parse("agents", agents_file, _read_yaml(agents_file), agents, origin)
        if tasks_file.exists():
            _parse("tasks", tasks_file, _read_yaml(tasks_file), tasks, origin)
    config = CrewConfig(agents=agents, tasks=tasks, origin=origin)
    validate_references(config, tool_names)
    return config


def validate_references(config: CrewConfig, tool_names: list[str] | None) -> None:
    """Names that point elsewhere must exist: agents' tools, tasks' agents and context; no cycles."""
    if tool_names is not None:
        for key, agent in config.agents.items():
            for tool in agent.tools:
                if tool.endswith("*"):
                    if not any(t.startswith(tool[:-1]) for t in tool_names):
                        raise UsageError(f"{config.where('agents', key)}: {key}.tools: no tool matches '{tool}'")
                elif tool not in tool_names:
                    raise UsageError(
                        f"{config.where('agents', key)}: {key}.tools: unknown tool '{tool}'{_suggest(tool, tool_names)}"
                    )
    for key, task in config.tasks.items():
        where = config.where("tasks", key)
        if task.agent not in config.agents:
            raise UsageError(f"{where}: {key}.agent: unknown agent '{task.agent}'{_suggest(task.agent, config.agents)}")
        for dep in task.context:
            if dep not in config.tasks:
                raise UsageError(f"{where}: {key}.context: unknown task '{dep}'{_suggest(dep, config.tasks)}")
    # Cycles: depth-first search with colours.
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in config.tasks[name].context:
            if state.get(dep) == 1:
                cycle = " -> ".join(path[path.index(dep):] + [dep]) if dep in path else f"{name} -> {dep}"
                raise UsageError(f"{config.where('tasks', name)}: {name}.context: cycle {cycle}")
            if state.get(dep) is None:
                visit(dep, path + [dep])
        state[name] = 2

    for key in config.tasks:
        if state.get(key) is None:
            visit(key, [key])
