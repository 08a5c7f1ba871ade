"""What a running crew is doing, for a live status line: which agent, which step, which tool, seconds so far.

Read from CrewAI's own event bus (crew kickoff, task, agent, tool and model-call events). Whoever shows it
registers a watcher with `watching(callback)`; the callback gets the current `CrewStatus` after every
event, and None when the crew has finished. `begin()` and `finished()` are called by the runner around
`kickoff`, on its own thread, so a display starts and stops there; the events (which CrewAI may deliver
on other threads) only update a status that exists. Nothing is printed here (the CLI draws the line).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

Watcher = Callable[["CrewStatus | None"], None]


@dataclass(frozen=True)
class CrewStatus:
    agent: str = ""
    step: str = ""
    tool: str = ""
    model_calls: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self, now: float | None = None) -> str:
        seconds = (now if now is not None else time.monotonic()) - self.started
        parts = [self.agent or "crew", self.step or "starting"]
        if self.tool:
            parts.append(f"tool {self.tool}")
        elif self.model_calls:
            parts.append(f"model call {self.model_calls}")
        return " · ".join(parts) + f" · {seconds:.0f} s"


_lock = threading.Lock()
_watchers: list[Watcher] = []
_status: CrewStatus | None = None
_listening = False


@contextmanager
def watching(callback: Watcher) -> Iterator[None]:
    """Call `callback` with the crew's status while any crew runs in this block (CrewAI is not imported
    here: the listeners are registered by `begin`, when a crew is about to run)."""
    with _lock:
        _watchers.append(callback)
    try:
        yield
    finally:
        with _lock:
            if callback in _watchers:
                _watchers.remove(callback)


def watch(callback: Watcher) -> Callable[[], None]:
    """Like `watching`, for a watcher that lives as long as its owner (a web app): returns the unwatch."""
    with _lock:
        _watchers.append(callback)

    def unwatch() -> None:
        with _lock:
            if callback in _watchers:
                _watchers.remove(callback)

    return unwatch


def begin() -> None:
    if _watchers:
        _listen()
    _publish(lambda s: CrewStatus())


def finished() -> None:
    _publish(lambda s: None)


def _publish(update: Callable[[CrewStatus | None], CrewStatus | None]) -> None:
    global _status
    with _lock:
        if not _watchers:
            return
        _status = update(_status)
        status, watchers = _status, list(_watchers)
    for watcher in watchers:
        try:
            watcher(status)
        except Exception:  # a display that fails must never stop the crew
            pass


def _name(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= 40 else text[:39] + "…"


def _listen() -> None:
    global _listening
    if _listening:
        return
    from crewai.events.event_bus import crewai_event_bus
    from crewai.events.types.agent_events import AgentExecutionStartedEvent
    from crewai.events.types.llm_events import LLMCallStartedEvent
    from crewai.events.types.task_events import TaskStartedEvent
    from crewai.events.types.tool_usage_events import ToolUsageFinishedEvent, ToolUsageStartedEvent

    @crewai_event_bus.on(TaskStartedEvent)
    def _task(source: Any, event: Any) -> None:
        task = getattr(event, "task", None)
        step = getattr(task, "name", None) or getattr(event, "task_name", None) or ""
        _publish(lambda s: replace(s, step=_name(step), tool="") if s else s)

    @crewai_event_bus.on(AgentExecutionStartedEvent)
    def _agent(source: Any, event: Any) -> None:
        role = getattr(getattr(event, "agent", None), "role", "") or getattr(event, "agent_role", "")
        _publish(lambda s: replace(s, agent=_name(role), tool="") if s else s)

    @crewai_event_bus.on(ToolUsageStartedEvent)
    def _tool(source: Any, event: Any) -> None:
        _publish(lambda s: replace(s, tool=_name(event.tool_name), agent=_name(event.agent_role) or s.agent) if s else s)

    @crewai_event_bus.on(ToolUsageFinishedEvent)
    def _tool_done(source: Any, event: Any) -> None:
        _publish(lambda s: replace(s, tool="") if s else s)

    @crewai_event_bus.on(LLMCallStartedEvent)
    def _llm(source: Any, event: Any) -> None:
        _publish(lambda s: replace(s, model_calls=s.model_calls + 1, tool="") if s else s)

    _listening = True
