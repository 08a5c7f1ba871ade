"""What every benchmark section shares: the machine, fresh homes under /tmp, the environment a `tutor`
process runs in, and timing that survives a busy machine (interleaved runs, medians, ratios).

The machine these figures come from is shared (two cores, other people's jobs running), so no
number is read alone: each command is timed in turns with its baseline, in the same run, and the
ratio of the medians is what a target is judged on.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "knowledge"
QUESTIONS = REPO / "benchmarks" / "retrieval_questions.jsonl"
SCIENTSBANK = Path("/work/shared/datasets/scientsbank")

# Settings a developer's shell may carry that would change what a benchmark measures.
_DROPPED_ENV = (
    "TUTOR_MODEL", "TUTOR_BASE_URL", "TUTOR_CHROMA_URL", "TUTOR_CONFIG_DIR", "TUTOR_DEVICE",
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SERPER_API_KEY",
    # A user's install keeps compiled bytecode; without it every start compiles tutor's modules again.
    # The first (discarded) run of each command writes it.
    "PYTHONDONTWRITEBYTECODE",
)


@dataclass
class Context:
    """One benchmark run: its options and the temporary root every section's homes live under."""

    quick: bool
    root: Path  # a fresh directory under /tmp; every TUTOR_HOME and temp file of the run is inside it
    log: Any = None  # callable(str) for progress lines on stderr
    shared: dict[str, Any] = field(default_factory=dict)  # things one section builds and another reuses
    limit: int | None = None  # the first N rows of each grading data set (a smoke run of the grading section)

    def home(self, name: str) -> Path:
        """A fresh, empty TUTOR_HOME for one purpose."""
        path = self.root / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def say(self, message: str) -> None:
        if self.log:
            self.log(message)

    @property
    def repeats(self) -> int:
        return 3 if self.quick else 7


def new_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="tutor-bench-", dir="/tmp"))


def tutor_env(home: Path, knowledge: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a `tutor` process under test: its own home, the real MiniLM, no model configured."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(
        TUTOR_HOME=str(home),
        TUTOR_EMBEDDER="minilm",
        TUTOR_KNOWLEDGE_DIR=str(knowledge or NOTES),
        COLUMNS="100",
        # Nothing may leave the temporary root: CrewAI's and Chroma's own data folders go there too.
        XDG_DATA_HOME=str(home / "xdg-data"),
        CREWAI_STORAGE_DIR="tutor-bench",
        TMPDIR=str(home / "tmp"),
        # What `tutor` sets for itself (tutor/cli/__init__.py), so in-process workers match a real process.
        OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"),
    )
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(extra)
    return env


def tutor_argv(*args: str) -> list[str]:
    """`tutor ARGS` as a user runs it: the console script next to this interpreter (or `-m tutor`)."""
    script = Path(sys.executable).parent / "tutor"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "tutor", *args]


def python_argv(code: str) -> list[str]:
    return [sys.executable, "-c", code]


class CommandFailed(RuntimeError):
    pass


def run_once(argv: Sequence[str], env: dict[str, str], stdin: str | None = None, timeout: float = 900) -> float:
    """Wall seconds of one run in a fresh process; a failing command stops the benchmark with its stderr."""
    started = time.perf_counter()
    done = subprocess.run(
        list(argv), env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-800:]}")
    return seconds


def time_in_turns(commands: dict[str, tuple[Sequence[str], dict[str, str]]], repeats: int,
                  warmups: int = 1, say: Any = None) -> dict[str, list[float]]:
    """Each command `repeats` times, in turns (A B C A B C ...), so a burst of load from elsewhere
    falls on all of them alike. The first `warmups` rounds (bytecode, page cache) are not kept."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(warmups + repeats):
        for name, (argv, env) in commands.items():
            seconds = run_once(argv, env)
            if round_ >= warmups:
                times[name].append(round(seconds, 4))
        if say:
            say(f"  round {round_ + 1}/{warmups + repeats}: " + ", ".join(
                f"{name} {times[name][-1]:.2f}s" for name in commands if times[name]))
    return times


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a small sample: p99 of 200 values is the 198th."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return float(ordered[rank - 1])


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return 0.0


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "cpus_usable": usable,
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "libraries": {name: _version(name) for name in (
            "crewai", "chromadb", "sentence-transformers", "transformers", "tokenizers", "numpy", "bm25s", "typer",
            "rich",
        )},
        "load_average_at_start": load_average(),
    }


def git_commit() -> str:
    if os.environ.get("BENCHMARK_COMMIT"):  # a run from an exported copy of the tree, which has no .git
        return os.environ["BENCHMARK_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True)
        return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def build_index(home: Path, knowledge: Path | None = None) -> float:
    """`tutor index` into `home` (fresh process); the seconds it took."""
    return run_once(tutor_argv("index", "--json"), tutor_env(home, knowledge))


def run_worker(module: str, args: Sequence[str], env: dict[str, str], timeout: float = 3600) -> Any:
    """`python -m benchmarks.MODULE ARGS` in a fresh process; its last stdout line, read as JSON.

    Measurements that load models run in their own process: each starts from the same state, and
    this driver's memory and imports stay out of every figure."""
    import json

    done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise CommandFailed(f"benchmarks.{module} {' '.join(args)} exited {done.returncode}: "
                            f"{done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_process_settings(home: Path, knowledge: Path | None = None) -> None:
    """Point this process's tutor settings at `home` (for in-process measurements)."""
    from tutor.settings import get_settings

    os.environ.update(tutor_env(home, knowledge))
    for name in _DROPPED_ENV:
        if name != "PYTHONDONTWRITEBYTECODE":
            os.environ.pop(name, None)
    get_settings.cache_clear()
    try:
        from tutor.tools.notes import reset_shared_retriever

        reset_shared_retriever()
    except ImportError:
        pass
