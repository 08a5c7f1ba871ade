"""One narrow door for tools: the `tutor.tools` entry-point group.

Every entry point in the group names a callable `register(registry)`; tutor's own tools register
through the very same group (see pyproject.toml), so a third-party package adds a tool exactly the
way the built-ins do. Tests register fakes by calling `registry.register(...)` directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from tutor.errors import UsageError

ENTRY_POINT_GROUP = "tutor.tools"


@dataclass
class ToolSpec:
    name: str
    factory: Callable[[], Any]  # returns a crewai BaseTool; called only when an agent needs the tool
    summary: str = ""
    requires_env: tuple[str, ...] = ()  # e.g. ("SERPER_API_KEY",): off until the user configures it
    origin: str = "tutor"

    def missing_env(self) -> list[str]:
        return [name for name in self.requires_env if not os.environ.get(name)]


@dataclass
class ToolRegistry:
    specs: dict[str, ToolSpec] = field(default_factory=dict)

    def register(
        self,
        name: str,
        factory: Callable[[], Any],
        summary: str = "",
        requires_env: tuple[str, ...] = (),
        origin: str = "tutor",
    ) -> None:
        self.specs[name] = ToolSpec(name, factory, summary, tuple(requires_env), origin)

    def names(self) -> list[str]:
        return sorted(self.specs)

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def available(self, name: str) -> bool:
        return name in self.specs and not self.specs[name].missing_env()

    def create(self, name: str) -> Any:
        spec = self.specs.get(name)
        if spec is None:
            raise UsageError(f"unknown tool '{name}' (known: {', '.join(self.names())})")
        return spec.factory()


_REGISTRY: ToolRegistry | None = None


def load_registry() -> ToolRegistry:
    """The registry with every entry point of the `tutor.tools` group registered (once per process)."""
    global _REGISTRY
    if _REGISTRY is None:
        registry = ToolRegistry()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            origin = ep.dist.name if ep.dist else ep.value
            try:
                hook = ep.load()
            except Exception as e:  # a broken plugin must not take the tutor down
                from tutor.cli.render import warn

                warn(f"tool plugin '{ep.name}' ({ep.value}) failed to load: {e}")
                continue
            before = set(registry.specs)
            hook(registry)
            for name in set(registry.specs) - before:
                registry.specs[name].origin = origin
        _REGISTRY = registry
    return _REGISTRY


def reset_registry() -> None:
    global _REGISTRY
    _REGISTRY = None
