"""What every demo shares: its result, its metadata, its registry, and parsing `key=value` parameters.

Nothing here imports torch or matplotlib, so listing demos stays instant; a demo's own module (which
does) is imported only when the demo runs. A demo module declares NAME, TITLE, SECTIONS, KEYWORDS,
LIMITS, a `Config` dataclass and `run(config, device, progress=None, out_dir=None) -> DemoResult`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import io
import math
import re
import tokenize
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from tutor.errors import UsageError

# `progress(label, done, total)`: the same signature as the CLI's `progress_bar` update.
Progress = Callable[[str, int, int], None]

METADATA = ("NAME", "TITLE", "SECTIONS", "KEYWORDS")


class NoteSection(BaseModel):
    """A `##` section of the course notes that a demo illustrates, named as citations name it."""

    source: str  # file name inside the notes folder, e.g. "03-cnns.md"
    section: str  # the `##` heading text, e.g. "2. Convolutional Operation Concepts"


class DemoResult(BaseModel):
    """What one run of a demo gives back: numbers a learner reads, a plain reading of them, a figure."""

    name: str
    title: str
    device: str  # "cpu" or "cuda"
    seconds: float
    metrics: dict[str, Any]  # plain JSON: numbers, strings, lists and dicts of them
    summary: str  # two or three sentences, written from the numbers above
    figure: str | None = None  # path of the PNG, or None when the run was asked not to draw
    sections: list[NoteSection] = Field(default_factory=list)

    @field_validator("metrics", mode="before")
    @classmethod
    def _plain_metrics(cls, value: Any) -> Any:
        return plain(value)


class DemoSpec(BaseModel):
    """A registered demo, described without importing it (its module loads only on run)."""

    name: str
    title: str
    module: str  # dotted path of the module with Config and run()
    description: str = ""  # the first line of the module's docstring
    sections: list[NoteSection] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    def load(self) -> types.ModuleType:
        return importlib.import_module(self.module)


def plain(value: Any, digits: int = 4) -> Any:
    """Metrics as plain JSON: tensors and numpy values become numbers, floats keep `digits` significant
    digits, and NaN or infinity become None (JSON has no such numbers)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # torch tensors and numpy arrays or scalars
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {str(k): plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    raise TypeError(f"a metric must be a number, string, list or dict, got {type(value).__name__}")


# --- reading a demo module's metadata without importing it -----------------------------------------


def _literal_metadata(module: str) -> dict[str, Any] | None:
    """NAME, TITLE, SECTIONS, KEYWORDS and the docstring, read from the source as literals; None when
    the module has no source file or computes any of them."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: dict[str, Any] = {"__doc__": ast.get_docstring(tree) or ""}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            key = node.targets[0].id
            if key in METADATA:
                try:
                    found[key] = ast.literal_eval(node.value)
                except ValueError:
                    return None
    return found if all(key in found for key in METADATA) else None


def spec_from_module(module: str | types.ModuleType) -> DemoSpec:
    """The metadata of a demo module: read from its source when it is a dotted path (cheap), or taken
    from the module object itself (a demo built at run time, a test's fake)."""
    if isinstance(module, str):
        found = _literal_metadata(module)
        if found is None:
            loaded = importlib.import_module(module)
            found = {key: getattr(loaded, key) for key in METADATA} | {"__doc__": loaded.__doc__ or ""}
        path = module
    else:
        missing = [key for key in (*METADATA, "Config", "run") if not hasattr(module, key)]
        if missing:
            raise UsageError(f"demo module {module.__name__} lacks {', '.join(missing)}")
        found = {key: getattr(module, key) for key in METADATA} | {"__doc__": module.__doc__ or ""}
        path = module.__name__
    return DemoSpec(
        name=found["NAME"],
        title=found["TITLE"],
        module=path,
        description=(found["__doc__"].strip().splitlines() or [""])[0],
        sections=found["SECTIONS"],
        keywords=found["KEYWORDS"],
    )


class DemoRegistry:
    """Every demo by name. tutor's own demos register through `register` exactly as a plugin's do."""

    def __init__(self) -> None:
        self.specs: dict[str, DemoSpec] = {}
        self._modules: dict[str, types.ModuleType] = {}  # demos registered as module objects

    def register(self, module: str | types.ModuleType) -> DemoSpec:
        spec = spec_from_module(module)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name):
            raise UsageError(f"a demo name is lower_snake_case, got '{spec.name}'")
        self.specs[spec.name] = spec
        if isinstance(module, types.ModuleType):
            self._modules[spec.name] = module
        return spec

    def names(self) -> list[str]:
        return list(self.specs)

    def get(self, name: str) -> DemoSpec:
        spec = self.specs.get(name)
        if spec is None:
            raise UsageError(f"unknown demo '{name}' (known: {', '.join(self.names())})")
        return spec

    def module(self, name: str) -> types.ModuleType:
        spec = self.get(name)
        return self._modules.get(name) or spec.load()


# --- parameters: `key=value` strings into a Config -------------------------------------------------


def parse_pairs(pairs: list[str] | None, option: str = "--param") -> dict[str, str]:
    """`["stride=2", "padding=0"]` -> `{"stride": "2", "padding": "0"}`; a malformed pair is a usage error."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"{option} takes key=value, got '{pair}'")
        values[key] = value
    return values


def _parse_scalar(kind: Any, text: str, key: str) -> Any:
    text = text.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{key} takes true or false, got '{text}'")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{key} takes a whole number, got '{text}'") from None
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            raise UsageError(f"{key} takes a number, got '{text}'") from None
        if not math.isfinite(number):
            raise UsageError(f"{key} takes a finite number, got '{text}'")
        return number
    if kind is str:
        return text
    raise UsageError(f"{key} cannot be set from the command line")


def _field_types(config_cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def parse_value(kind: Any, value: Any, key: str) -> Any:
    """One parameter into its Config type; a tuple field takes comma-separated values, e.g. `2,8,32`."""
    origin = typing.get_origin(kind)
    if origin in (tuple, list):
        inner = typing.get_args(kind)[0]
        items = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(",") if v.strip()]
        if not items:
            raise UsageError(f"{key} takes a comma-separated list, got '{value}'")
        parsed = [parse_value(inner, item, key) for item in items]
        return tuple(parsed) if origin is tuple else parsed
    if isinstance(value, str):
        return _parse_scalar(kind, value, key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"{key} takes {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def check_limits(limits: dict[str, Any], key: str, value: Any) -> None:
    """A LIMITS entry is (low, high) for a number, or a list of allowed strings."""
    allowed = limits.get(key)
    if allowed is None:
        return
    if isinstance(allowed, (list, set, frozenset)):
        if value not in allowed:
            raise UsageError(f"{key} must be one of {', '.join(map(str, allowed))}, got '{value}'")
        return
    low, high = allowed
    for item in value if isinstance(value, (tuple, list)) else (value,):
        if not low <= item <= high:
            raise UsageError(f"{key} must be between {low} and {high}, got {item}")


def build_config(module: types.ModuleType, params: dict[str, Any] | None) -> Any:
    """The demo's Config with `params` (strings from the command line, or typed values) applied and checked."""
    config_cls = module.Config
    types_ = _field_types(config_cls)
    limits = getattr(module, "LIMITS", {})
    values: dict[str, Any] = {}
    for key, raw in (params or {}).items():
        if key not in types_:
            raise UsageError(f"{module.NAME} has no parameter '{key}' (it has: {', '.join(types_)})")
        values[key] = parse_value(types_[key], raw, key)
        check_limits(limits, key, values[key])
    try:
        return config_cls(**values)  # __post_init__ checks what depends on several fields
    except (ValueError, TypeError) as e:
        raise UsageError(f"{module.NAME}: {e}") from e


def field_comments(config_cls: type) -> dict[str, str]:
    """The comment written after each Config field's default, which is the field's documentation."""
    import inspect

    try:
        source = inspect.getsource(config_cls)
    except (OSError, TypeError):
        return {}
    comments: dict[str, str] = {}
    line_name: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.start[0] not in line_name and tok.line.strip().startswith(tok.string):
            line_name[tok.start[0]] = tok.string
        elif tok.type == tokenize.COMMENT and tok.start[0] in line_name:
            comments[line_name[tok.start[0]]] = tok.string.lstrip("# ").strip()
    names = {f.name for f in dataclasses.fields(config_cls)}
    return {k: v for k, v in comments.items() if k in names}


def config_fields(module: types.ModuleType) -> list[dict[str, Any]]:
    """Each Config field: name, type, default, comment and limits, for help texts and tool schemas."""
    comments = field_comments(module.Config)
    limits = getattr(module, "LIMITS", {})
    defaults = module.Config()
    rows = []
    for name, kind in _field_types(module.Config).items():
        rows.append(
            {
                "name": name,
                "type": kind,
                "default": getattr(defaults, name),
                "help": comments.get(name, ""),
                "limits": limits.get(name),
            }
        )
    return rows


# --- helpers the demo modules share -----------------------------------------------------------------


def resolve_device(device: str | None) -> str:
    """auto | cpu | cuda into "cpu" or "cuda"; asking for CUDA without a GPU is a usage error."""
    wanted = (device or "auto").strip().lower()
    if wanted not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device takes auto, cpu or cuda, got '{device}'")
    if wanted == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if wanted == "cuda":
        raise UsageError("--device cuda was asked for but no CUDA GPU is available (use --device cpu or auto)")
    return "cpu"


@contextmanager
def seeded(seed: int, threads: int = 1) -> Iterator[None]:
    """Seed torch and use `threads` CPU threads for one run, restoring both afterwards.

    Demo models are tiny: a second thread costs more in synchronisation than it saves, and on a busy
    machine it makes a step twenty times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(before)


def tick(progress: Progress | None, label: str, done: int, total: int) -> None:
    if progress is not None:
        progress(label, done, total)


def new_figure(rows: int = 1, cols: int = 2, size: tuple[float, float] = (10.0, 4.0)) -> tuple[Any, Any]:
    """A matplotlib figure on the headless Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")


def save_figure(fig: Any, out_dir: Path | None, name: str) -> str | None:
    """Write the figure as `<out_dir>/<name>.png` and close it; None when there is nowhere to write."""
    import matplotlib.pyplot as plt

    try:
        if out_dir is None:
            return None
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=90)
        return str(path)
    finally:
        plt.close(fig)
