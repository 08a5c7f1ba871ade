"""Build a CrewAI crew for a task (and the tasks it reads as context) from the YAML, and run it."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal


from pydantic import BaseModel, ConfigDict

from tutor.crew import progress
from tutor.crew.config import CrewConfig, load_config
from tutor.crew.reading import reader_guardrail
from tutor.errors import UsageError, WorkFailed
from tutor.settings import get_settings, model_base_url, quiet_libraries

Process = Literal["sequential", "hierarchical"]
MANAGER = "manager"  # the agent key the hierarchical process uses as its manager
DELEGATE = "delegate_work_to_coworker"


class TaskResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    agent: str
    raw: str
    output: Any = None  # the validated pydantic model, when the task names one


class ToolCall(BaseModel):
    agent: str
    tool: str
    args: Any = None


class CrewRun(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: str
    process: str
    model: str
    results: list[TaskResult]
    tool_calls: list[ToolCall] = []  # every tool an agent called, delegations included, in order

    def result(self, name: str) -> TaskResult:
        return next(r for r in self.results if r.name == name)

    @property
    def last(self) -> TaskResult:
        return self.results[-1]


_RECORDING: list[list[ToolCall]] = []
_LISTENING = False


def _record_tool_calls() -> list[ToolCall]:
    """Collect the tool calls of the crew about to run, through CrewAI's own event bus."""
    global _LISTENING
    from crewai.events.event_bus import crewai_event_bus
    from crewai.events.types.tool_usage_events import ToolUsageStartedEvent

    if not _LISTENING:

        @crewai_event_bus.on(ToolUsageStartedEvent)
        def _on_tool(source: Any, event: ToolUsageStartedEvent) -> None:
            if _RECORDING:
                args = event.tool_args
                if isinstance(args, str):
                    try:
                        args = json.loads(args)
                    except ValueError:
                        pass
                _RECORDING[-1].append(ToolCall(agent=event.agent_role or "", tool=event.tool_name, args=args))

        _LISTENING = True
    calls: list[ToolCall] = []
    _RECORDING.append(calls)
    return calls


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from tutor.security import redact

        return redact(super().format(record))


_ROOT_HANDLER: logging.Handler | None = None


def _silence(verbose: bool) -> None:
    """Quiet by default: no banners, no library log lines, no event-bus warnings on stdout.
    With --verbose, library warnings go to stderr with secrets masked."""
    global _ROOT_HANDLER
    from crewai.events import event_context

    # CrewAI prints event-pairing warnings to stdout after a failed model call; they would break --json.
    event_context._default_config.mismatch_behavior = event_context.MismatchBehavior.SILENT
    event_context._default_config.empty_pop_behavior = event_context.MismatchBehavior.SILENT
    root = logging.getLogger()
    if _ROOT_HANDLER is not None:
        root.removeHandler(_ROOT_HANDLER)
    if verbose:
        _ROOT_HANDLER = logging.StreamHandler()
        _ROOT_HANDLER.setLevel(logging.WARNING)
        _ROOT_HANDLER.setFormatter(_RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    else:
        # Providers log failures on the root logger; without a handler Python would print them anyway.
        _ROOT_HANDLER = logging.NullHandler()
    root.addHandler(_ROOT_HANDLER)
    level = logging.INFO if verbose else logging.ERROR
    for name in ("crewai", "chromadb", "opentelemetry", "instructor"):
        logging.getLogger(name).setLevel(level)
    # HTTP clients log request headers (keys) at debug level: never more than warnings from them.
    for name in ("LiteLLM", "litellm", "httpx", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING if verbose else logging.ERROR)


def tool_names() -> list[str]:
    from tutor.tools.registry import load_registry

    return load_registry().names()


def load_checked_config(config_dir: Path | None) -> CrewConfig:
    return load_config(config_dir, tool_names())


def _tools_for(patterns: list[str], no_demo: bool = False) -> list[Any]:
    from tutor.tools.registry import load_registry

    registry = load_registry()
    names: list[str] = []
    for pattern in patterns:
        matched = [n for n in registry.names() if n.startswith(pattern[:-1])] if pattern.endswith("*") else [pattern]
        names.extend(n for n in matched if n not in names)
    if no_demo:  # --no-demo: no model is offered a demo (and no demo module, nor torch, is imported to offer it)
        names = [n for n in names if not n.startswith("demo_")]
    return [registry.create(n) for n in names if registry.available(n)]


def _validated(output: str | None, raw: str) -> Any:
    from tutor.crew.outputs import output_model

    if not output:
        return None
    try:
        return output_model(output).model_validate_json(raw)
    except ValueError:
        return None  # a reply the guardrail never saw (a failed run); the flows read `raw` themselves


def resolve_model(model: str | None) -> str:
    return (model or get_settings().model or "offline").strip()


def skips_the_crew(task: str, skill: str, options: Any) -> bool:
    """True when the offline model alone would do `task` with `skill`, reading only its own search: then
    tutor.llms.direct does it without starting a crew, with the same output."""
    if options.verbose or options.process != "sequential" or resolve_model(options.model) != "offline":
        return False
    config = load_checked_config(options.config_dir)
    spec = config.require_task(task)
    if spec.offline_skill() != skill or "search_notes" not in config.agents[spec.agent].tools:
        return False
    agents = [config.agents[config.tasks[name].agent] for name in config.closure(task)]
    return all(resolve_model(agent.llm) == "offline" for agent in agents)


def make_llm(model: str, run_context: Any) -> Any:
    """The built-in offline model, or any model string CrewAI / LiteLLM accepts."""
    if model == "offline":
        from tutor.llms.offline import OfflineLLM

        return OfflineLLM(model="offline", run=run_context)
    from crewai import LLM

    settings = get_settings()
    kwargs: dict[str, Any] = {
        "model": model, "timeout": settings.timeout, "max_retries": settings.retries, "temperature": 0.2,
    }
    url, _ = model_base_url(model, settings)
    if url:
        kwargs["base_url"] = url
    if settings.base_url:
        kwargs.setdefault("api_key", os.environ.get("OPENAI_API_KEY") or "not-needed")
    try:
        llm = LLM(**kwargs)
    except (ImportError, ValueError) as e:
        raise UsageError(f"cannot use model '{model}': {e}") from None
    if settings.tools == "react":
        # The crew then prompts for ReAct text and parses "Action: / Action Input:" itself, as it does for the
        # offline model; the API's tool calling is never offered.
        object.__setattr__(llm, "supports_function_calling", lambda: False)
    return llm


def build_and_run(
    task: str,
    inputs: dict[str, Any],
    process: Process = "sequential",
    model: str | None = None,
    config_dir: Path | None = None,
    verbose: bool = False,
    no_demo: bool = False,
    config: CrewConfig | None = None,
    fallback: bool = True,
    on_notice: Callable[[str], None] | None = None,
) -> CrewRun:
    """Run `task` and the tasks it reads as context, in dependency order, and validate each output.

    When a configured model fails (unreachable, timing out, rate-limited past its retries, answering
    garbage) the run falls back to the built-in offline model with a one-line notice, unless
    `fallback` is off, in which case the failure is the error.
    """
    if process not in ("sequential", "hierarchical"):
        raise UsageError(f"--process must be sequential or hierarchical, got '{process}'")
    quiet_libraries()
    _silence(verbose)
    config = config or load_checked_config(config_dir)
    config.require_task(task)
    config.check_inputs(task, inputs)
    chosen_model = resolve_model(model)
    try:
        return _run_crew(task, inputs, process, chosen_model, config, verbose, no_demo)
    except WorkFailed as e:
        if chosen_model == "offline" or not fallback:
            raise
        from tutor.cli.render import warn

        (on_notice or warn)(f"{e}; answering with the built-in offline model instead (--no-fallback makes this an error)")
        return _run_crew(task, inputs, process, "offline", config, verbose, no_demo)


def _run_crew(
    task: str,
    inputs: dict[str, Any],
    process: str,
    chosen_model: str,
    config: CrewConfig,
    verbose: bool,
    no_demo: bool,
) -> CrewRun:

    from crewai import Agent, Crew, Task
    from crewai import Process as CrewProcess

    from tutor.crew.outputs import output_model
    from tutor.llms.offline import RunContext, TaskInfo

    order = config.closure(task)
    run_context = RunContext(
        inputs=inputs,
        tasks={
            name: TaskInfo(
                name=name,
                description=config.tasks[name].description.format(**inputs),
                output=config.tasks[name].output,
                agent=config.tasks[name].agent,
                skill=config.tasks[name].offline_skill(),
                placeholders=sorted(config.tasks[name].placeholders()),
            )
            for name in order
        },
        roles={spec.role: key for key, spec in config.agents.items()},
        goals={key: f"{spec.role} {spec.goal}" for key, spec in config.agents.items()},
        no_demo=no_demo,
    )
    default_llm = make_llm(chosen_model, run_context)

    agents: dict[str, Any] = {}

    def agent(key: str) -> Any:
        if key not in agents:
            spec = config.agents[key]
            llm = make_llm(spec.llm, run_context) if spec.llm else default_llm
            backstory = f"{spec.backstory.strip()}\n\n{spec.reasoning.strip()}".strip()
            agents[key] = Agent(
                role=spec.role,
                goal=spec.goal.strip(),
                backstory=backstory,
                tools=_tools_for(spec.tools, no_demo),
                llm=llm,
                allow_delegation=spec.allow_delegation and process == "sequential",
                max_iter=spec.max_iter,
                verbose=verbose,
            )
        return agents[key]

    hierarchical = process == "hierarchical"
    tasks: dict[str, Any] = {}
    for name in order:
        spec = config.tasks[name]
        kwargs: dict[str, Any] = {
            "name": name,
            "description": spec.description,
            "expected_output": spec.expected_output,
            "context": [tasks[d] for d in spec.context],
        }
        if spec.output:
            # Read whatever the model's habit (tutor.crew.reading), asked again once if unreadable. The model
            # is not given to CrewAI as output_pydantic: CrewAI would then parse the reply itself, as JSON only.
            kwargs["guardrail"] = reader_guardrail(output_model(spec.output), {
                "topic": inputs.get("topic"), "question": inputs.get("question")})
            kwargs["guardrail_max_retries"] = 1
        if not hierarchical:
            kwargs["agent"] = agent(spec.agent)
        tasks[name] = Task(**kwargs)

    crew_kwargs: dict[str, Any] = {"tasks": list(tasks.values()), "verbose": verbose}
    if hierarchical:
        if MANAGER not in config.agents:
            raise UsageError("the hierarchical process needs an agent named 'manager' in agents.yaml")
        # The manager may delegate to every agent, the ones a teacher added included.
        crew_kwargs["agents"] = [agent(k) for k in config.agents if k != MANAGER]
        manager_spec = config.agents[MANAGER]
        crew_kwargs["manager_agent"] = Agent(
            role=manager_spec.role,
            goal=manager_spec.goal.strip(),
            backstory=f"{manager_spec.backstory.strip()}\n\n{manager_spec.reasoning.strip()}",
            llm=make_llm(manager_spec.llm, run_context) if manager_spec.llm else default_llm,
            allow_delegation=True,
            max_iter=manager_spec.max_iter,
            verbose=verbose,
        )
        crew_kwargs["process"] = CrewProcess.hierarchical
    else:
        crew_kwargs["agents"] = [agent(config.tasks[n].agent) for n in order]
        crew_kwargs["process"] = CrewProcess.sequential

    crew = Crew(**crew_kwargs)
    calls = _record_tool_calls()
    progress.begin()
    try:
        output = crew.kickoff(inputs=inputs)
    except (UsageError, WorkFailed):
        raise
    except Exception as e:  # provider SDKs raise their own families; all mean the model failed this run
        raise WorkFailed(f"model '{chosen_model}' failed on task '{task}': {_one_line(e)}") from e
    finally:
        from crewai.events.event_bus import crewai_event_bus

        crewai_event_bus.flush()
        _RECORDING.remove(calls)
        progress.finished()
    if hierarchical and not any(c.tool == DELEGATE for c in calls):
        # A known failure mode: the manager answers by itself. The work is then not the team's.
        raise WorkFailed(f"the manager (model '{chosen_model}') answered without delegating to any coworker")
    outputs = list(output.tasks_output)
    if len(outputs) != len(order):
        raise WorkFailed(f"model '{chosen_model}' finished {len(outputs)} of {len(order)} tasks")
    validated = [_validated(config.tasks[name].output, o.raw) for name, o in zip(order, outputs)]
    for name, value in zip(order, validated):
        expected = config.tasks[name].output
        if expected and value is None:
            raise WorkFailed(f"model '{chosen_model}' gave task '{name}' an answer that is not a valid {expected}")

    results = []
    for name, task_output, value in zip(order, outputs, validated):
        results.append(
            TaskResult(
                name=name,
                agent=config.tasks[name].agent,
                raw=task_output.raw,  # with an `output`, the guardrail's JSON of the model
                output=value,
            )
        )
    return CrewRun(task=task, process=process, model=chosen_model, results=results, tool_calls=list(calls))


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{error.__class__.__name__}: {text[0] if text else ''}"[:300]
