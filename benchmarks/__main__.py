"""Every benchmark, side by side: `python -m benchmarks` writes benchmarks/RESULTS.md and benchmarks/results.json.

    python -m benchmarks                         # everything (about an hour on 2 cores)
    python -m benchmarks --quick                 # a smoke run: fewer repeats, 1x/10x scale; writes benchmarks/out/
    python -m benchmarks --only startup,memory   # some sections; the others are kept from the last results.json
    python -m benchmarks --quick --only grading --limit 30 --out-dir /tmp/x   # a smoke run of the grading section

Sections: retrieval, grading, startup, scale, memory, demos. Every TUTOR_HOME and temporary file lives
under one fresh directory in /tmp, removed at the end (--keep keeps it). The real MiniLM embedder is
used throughout (TUTOR_EMBEDDER=minilm) and no model is configured (the offline model answers).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import memory, quality, report, scale, startup
from benchmarks.common import REPO, Context, git_commit, load_average, machine, new_root

SECTIONS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "retrieval": quality.retrieval,
    "grading": quality.grading,
    "startup": startup.run,
    "scale": scale.run,
    "memory": memory.run,
    "demos": quality.demos,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller scale, for a smoke run")
    parser.add_argument("--only", default="", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where results.json and RESULTS.md go (default: benchmarks/, or benchmarks/out/ with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (its path is printed)")
    parser.add_argument("--limit", type=int, default=None,
                        help="grading: the first N rows of each data set (a smoke run; its figures mean nothing)")
    args = parser.parse_args(argv)

    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    out_dir = args.out_dir or (REPO / "benchmarks" / ("out" if args.quick else ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.json"

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    ctx = Context(quick=args.quick, root=new_root(), log=log, limit=args.limit)
    log(f"temporary root {ctx.root}")
    command = ("python -m benchmarks" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "")
               + (f" --limit {args.limit}" if args.limit else ""))
    previous = json.loads(results_path.read_text()) if results_path.exists() and args.only else {}
    results: dict[str, Any] = {
        "command": command,
        "commit": git_commit(),
        "quick": args.quick,
        "machine": machine(),
        "sections": dict(previous.get("sections", {})),
        "errors": {},
    }
    started = time.perf_counter()
    try:
        for name in chosen:
            log(f"== {name}")
            t = time.perf_counter()
            try:
                section = SECTIONS[name](ctx)
            except Exception as e:  # one failing section must not lose the others' figures
                results["errors"][name] = f"{e.__class__.__name__}: {e}"
                traceback.print_exc()
                continue
            section["seconds"] = round(time.perf_counter() - t, 1)
            section["quick"] = args.quick
            results["sections"][name] = section
            log(f"== {name} done in {section['seconds']} s")
    finally:
        if args.keep:
            log(f"kept {ctx.root}")
        else:
            shutil.rmtree(ctx.root, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_at_end"] = load_average()
    order = {name: i for i, name in enumerate(SECTIONS)}
    results["sections"] = dict(sorted(results["sections"].items(), key=lambda kv: order.get(kv[0], 99)))
    results_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    report.write(results, out_dir / "RESULTS.md")
    log(f"wrote {results_path} and {out_dir / 'RESULTS.md'}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
