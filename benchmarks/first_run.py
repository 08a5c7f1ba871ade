"""The first lesson on a fresh install: `tutor study` on an empty TUTOR_HOME, next to the same lesson on a
home whose index is built and a bare `python -c "import torch, chromadb"`, in turns, in the same run.

    python -m benchmarks.first_run [--repeats N] [--topic T] [--before]

A fresh home's first command indexes the shipped notes and companion (~470 passages): since issue #26 it
inserts their shipped embeddings (tutor/knowledge/prebuilt.py) instead of embedding them. Every "fresh"
run gets a new empty home; the "warm" runs share one home, built by the discarded warm-up round. Figures are
medians, ratios median over median. `--before` adds one fresh run with the shipped embeddings switched off
(what a first lesson cost before). Writes benchmarks/out/first_run.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, load_average, machine, median, new_root, python_argv, run_once, tutor_argv, tutor_env

OUT = REPO / "benchmarks" / "out" / "first_run.json"
BASELINE = "import torch, chromadb"
TARGET = 3.0  # the first `tutor study` on a fresh home within 3x the baseline (issue #26)
# `tutor` with the shipped embeddings switched off: what a fresh home cost before them.
WITHOUT_SHIPPED = ("import sys, tutor.knowledge.prebuilt as p; p.shipped = lambda: None; "
                   "from tutor.cli import main; sys.argv[0] = 'tutor'; main()")


def commands(topic: str) -> dict[str, tuple[list[str], bool]]:
    """name: (argv, fresh home each run)."""
    return {
        BASELINE: (python_argv("import torch, chromadb"), False),
        "fresh: tutor study --no-demo": (tutor_argv("study", topic, "--no-demo"), True),
        "fresh: tutor study": (tutor_argv("study", topic), True),
        "warm: tutor study --no-demo": (tutor_argv("study", topic, "--no-demo"), False),
        "warm: tutor study": (tutor_argv("study", topic), False),
    }


def measure(root: Path, topic: str, repeats: int, before: bool, say=print) -> dict[str, Any]:
    warm_home = root / "warm"
    warm_home.mkdir()
    table = commands(topic)
    times: dict[str, list[float]] = {name: [] for name in table}
    runs = 0
    for round_ in range(1 + repeats):  # round 0 builds the warm home and writes bytecode; not kept
        for name, (argv, fresh) in table.items():
            runs += 1
            home = root / f"fresh-{runs}"
            seconds = run_once(argv, tutor_env(home if fresh else warm_home))
            if fresh:
                shutil.rmtree(home, ignore_errors=True)
            if round_:
                times[name].append(round(seconds, 3))
        if round_:
            say(f"round {round_}/{repeats}: " + ", ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items()))
    base = median(times[BASELINE])
    rows = {name: {"median_s": round(median(t), 3), "min_s": min(t), "runs_s": t,
                   "ratio": None if name == BASELINE else round(median(t) / base, 2)} for name, t in times.items()}
    result: dict[str, Any] = {"topic": topic, "repeats": repeats, "commands": rows, "load_average": load_average()}
    if before:
        home = root / "before"
        home.mkdir()
        seconds = run_once([sys.executable, "-c", WITHOUT_SHIPPED, "study", topic, "--no-demo"], tutor_env(home))
        again = run_once(python_argv("import torch, chromadb"), tutor_env(warm_home))
        result["before"] = {"fresh: tutor study --no-demo, no shipped embeddings": round(seconds, 3),
                            BASELINE: round(again, 3), "ratio": round(seconds / again, 2)}
    fresh = rows["fresh: tutor study --no-demo"]["ratio"]
    result["target"] = {"fresh_study_no_demo_ratio": fresh, "limit": TARGET, "holds": fresh <= TARGET}
    return result


def markdown(result: dict[str, Any]) -> str:
    rows = result["commands"]
    base = rows[BASELINE]["median_s"]
    lines = ["| command | median | min | ratio to `import torch, chromadb` |", "|---|---:|---:|---:|"]
    for name, row in rows.items():
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        lines.append(f"| `{name}` | {row['median_s']:.2f} s | {row['min_s']:.2f} s | {ratio} |")
    if "before" in result:
        b = result["before"]
        lines.append(f"\nBefore (one fresh `tutor study --no-demo` with the shipped embeddings switched off): "
                     f"{b['fresh: tutor study --no-demo, no shipped embeddings']:.2f} s, {b['ratio']:.2f}x "
                     f"a bare import measured just after it ({b[BASELINE]:.2f} s).")
    lines.append(f"\nBaseline median {base:.2f} s; topic `{result['topic']}`, {result['repeats']} rounds after a "
                 f"discarded warm-up; load average {result.get('load_average')}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--topic", default="transformers")
    parser.add_argument("--before", action="store_true", help="also one fresh run without the shipped embeddings")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    args = parser.parse_args(argv)
    root = new_root()
    try:
        result = measure(root, args.topic, args.repeats, args.before, say=lambda m: print(m, file=sys.stderr))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result["machine"] = machine()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
