"""Small PyTorch models that show an idea of the course with real numbers: `tutor demo` and the agents' demo tools.

One registry holds every demo. tutor's own demos come in through `register_builtin_demos`, the same
kind of hook a third-party package names in the `tutor.demos` entry-point group:
`register(registry)`, calling `registry.register("package.module")`. Listing reads each module's
NAME, TITLE, SECTIONS and KEYWORDS from its source, so it imports neither torch nor matplotlib.
"""

from __future__ import annotations

import re
import time
import types
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tutor.demos.base import (
    DemoRegistry,
    DemoResult,
    DemoSpec,
    NoteSection,
    Progress,
    build_config,
    resolve_device,
)

__all__ = [
    "DemoRegistry",
    "DemoResult",
    "DemoSpec",
    "NoteSection",
    "default_out_dir",
    "get_demo",
    "list_demos",
    "load_demo_registry",
    "pick_demo_for_topic",
    "register_demo",
    "reset_demo_registry",
    "run_demo",
]

ENTRY_POINT_GROUP = "tutor.demos"

BUILTIN_DEMOS = (
    "mlp_approximator",
    "optimizers",
    "learning_rate",
    "vanishing_gradients",
    "regularization",
    "threshold_pr",
    "convolution",
    "cnn_vs_mlp",
    "iou_nms",
    "word2vec",
    "rnn_vs_lstm",
    "attention",
    "temperature",
)


def register_builtin_demos(registry: DemoRegistry) -> None:
    """tutor's own demos, registered through the same call a plugin uses."""
    for name in BUILTIN_DEMOS:
        registry.register(f"tutor.demos.{name}")


_REGISTRY: DemoRegistry | None = None


def load_demo_registry() -> DemoRegistry:
    """The registry with the built-ins and every `tutor.demos` entry point registered (once per process)."""
    global _REGISTRY
    if _REGISTRY is None:
        registry = DemoRegistry()
        register_builtin_demos(registry)
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                ep.load()(registry)
            except Exception as e:  # a broken plugin must not take the tutor down
                from tutor.cli.render import warn

                warn(f"demo plugin '{ep.name}' ({ep.value}) failed to load: {e}")
        _REGISTRY = registry
    return _REGISTRY


def reset_demo_registry() -> None:
    global _REGISTRY
    _REGISTRY = None


def register_demo(module: str | types.ModuleType) -> DemoSpec:
    """Add a demo: a dotted module path (read lazily) or a module object (a test's fake)."""
    return load_demo_registry().register(module)


def get_demo(name: str) -> DemoSpec:
    return load_demo_registry().get(name)


def list_demos() -> list[DemoSpec]:
    registry = load_demo_registry()
    return [registry.specs[name] for name in registry.names()]


def default_out_dir() -> Path:
    from tutor.settings import get_settings

    return get_settings().home / "demos"


def run_demo(
    name: str,
    params: dict[str, Any] | None = None,
    device: str | None = None,
    out_dir: Path | None = None,
    progress: Progress | None = None,
    draw: bool = True,
) -> DemoResult:
    """Run one demo: `params` are `key=value` strings (or typed values) for its Config; the figure goes to
    `out_dir` (default TUTOR_HOME/demos) unless `draw` is False. Bad input raises UsageError."""
    from tutor.settings import get_settings

    registry = load_demo_registry()
    registry.get(name)  # an unknown name fails before anything heavy is imported
    module = registry.module(name)
    config = build_config(module, params)
    resolved = resolve_device(device or get_settings().device)
    target = (Path(out_dir) if out_dir is not None else default_out_dir()) if draw else None
    start = time.perf_counter()
    result: DemoResult = module.run(config, device=resolved, progress=progress, out_dir=target)
    result.seconds = round(time.perf_counter() - start, 3)
    return result


def _keyword_score(topic: str, keyword: str) -> int:
    # A keyword matches at a word start, so "transformer" finds "transformers"; a phrase counts per word.
    pattern = r"(?<![a-z0-9])" + r"[\s\-]+".join(re.escape(w) for w in keyword.lower().split())
    return len(keyword.split()) if re.search(pattern, topic) else 0


def pick_demo_for_topic(topic: str) -> str | None:
    """The demo whose KEYWORDS best match a lesson topic, or None when none matches."""
    text = " ".join(topic.lower().split())
    best, best_score = None, 0
    for spec in list_demos():
        score = sum(_keyword_score(text, k) for k in spec.keywords)
        if score > best_score:
            best, best_score = spec.name, score
    return best
