"""Memory: the peak resident set size of `tutor search`, `tutor study` and `tutor grade --batch`.

    python -m benchmarks --only memory
    python -m benchmarks.memory batch-file OUT.jsonl [--n 500]   # the class file the batch grades

Peak RSS comes from GNU time (`/usr/bin/time -v`, "Maximum resident set size") when it is there,
else from `resource.getrusage(RUSAGE_CHILDREN)` in a small wrapper process. The batch is 500 rows
of SciEntsBank's test files (question, answer = the student's answer, reference = the reference
answer); its wall time gives the class-grading throughput of a fresh process, start-up included.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO, SCIENTSBANK, CommandFailed, Context, build_index, median, python_argv, tutor_argv, tutor_env,
)
from benchmarks.startup import GRADE_ANSWER, GRADE_QUESTION, GRADE_REFERENCE, QUERY, TOPIC

BATCH_ROWS = 500
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def batch_file(path: Path, n: int = BATCH_ROWS) -> Path:
    """n graded-answer rows from SciEntsBank's two test files, as `tutor grade --batch` reads them."""
    rows: list[dict[str, str]] = []
    for name in ("sciEntsBank_3way_test-unseen-answers.jsonl", "sciEntsBank_3way_test-unseen-questions.jsonl"):
        for line in (SCIENTSBANK / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and len(rows) < n:
                r = json.loads(line)
                rows.append({"id": r.get("student_answer_id") or str(len(rows) + 1), "question": r["question"],
                             "answer": r["student_answer"], "reference": r["reference_answer"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def peak_rss(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one fresh process running argv."""
    started = time.perf_counter()
    if Path("/usr/bin/time").exists():
        done = subprocess.run(["/usr/bin/time", "-v", *argv], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - started
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        if done.returncode != 0 or not m:
            raise CommandFailed(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-800:]}")
        return int(m.group(1)) / 1024, seconds
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    kib, code = done.stdout.split()
    if int(code) != 0:
        raise CommandFailed(f"{' '.join(argv)} exited {code}: {done.stderr.strip()[-800:]}")
    return int(kib) / 1024, seconds


def run(ctx: Context) -> dict[str, Any]:
    home = ctx.home("memory")
    ctx.say("memory: building the index and the 500-answer batch")
    build_index(home)
    env = tutor_env(home)
    batch = batch_file(ctx.root / "batch-500.jsonl")
    commands = {
        "import torch, chromadb (baseline)": python_argv("import torch, chromadb"),
        "tutor search": tutor_argv("search", QUERY),
        "tutor study": tutor_argv("study", TOPIC),
        "tutor grade": tutor_argv("grade", GRADE_ANSWER, "--question", GRADE_QUESTION, "--reference", GRADE_REFERENCE),
        f"tutor grade --batch ({BATCH_ROWS} answers)": tutor_argv("grade", "--batch", str(batch)),
    }
    repeats = 1 if ctx.quick else 5
    out: dict[str, Any] = {"method": "/usr/bin/time -v" if Path("/usr/bin/time").exists() else "getrusage",
                           "commands": {}}
    peaks: dict[str, list[float]] = {name: [] for name in commands}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeats):  # in turns, as the start-up timings: a burst of load falls on all alike
        for name, argv in commands.items():
            mib, seconds = peak_rss(argv, env)
            peaks[name].append(round(mib, 1))
            walls[name].append(round(seconds, 3))
        ctx.say(f"memory: round {round_ + 1}/{repeats}: " + ", ".join(
            f"{name} {peaks[name][-1]:.0f} MiB {walls[name][-1]:.2f}s" for name in commands))
    for name in commands:
        out["commands"][name] = {"peak_rss_mib": max(peaks[name]), "wall_s": round(median(walls[name]), 3),
                                 "runs_s": walls[name]}
    batch_row = out["commands"][f"tutor grade --batch ({BATCH_ROWS} answers)"]
    out["batch_answers"] = BATCH_ROWS
    out["batch_answers_per_s"] = round(BATCH_ROWS / batch_row["wall_s"], 1)
    out["batch_in_process"] = batch_in_process(ctx, home, batch, 1 if ctx.quick else 3)
    return out


def batch_in_process(ctx: Context, home: Path, batch: Path, repeats: int) -> dict[str, Any]:
    """Class grading inside one process, the model already loaded: what start-up does not explain.
    The run with the median time of `repeats` fresh processes."""
    from benchmarks.common import run_worker

    ctx.say("memory: batch grading in-process")
    runs = [run_worker("memory", ["grade-in-process", "--home", str(home), "--batch", str(batch)], tutor_env(home))
            for _ in range(repeats)]
    runs.sort(key=lambda r: r["seconds"])
    return {**runs[len(runs) // 2], "runs_s": [r["seconds"] for r in runs]}


def grade_in_process(home: Path, batch: Path) -> dict[str, Any]:
    from benchmarks.common import in_process_settings

    in_process_settings(home)
    from tutor.learning import flows

    rows = flows.read_batch(batch)
    options = flows.CrewOptions()
    started = time.perf_counter()
    flows.offline_grader().embedder(["load the model"])
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    results = list(flows.grade_batch(rows, options))
    seconds = time.perf_counter() - started
    return {"answers": len(results), "seconds": round(seconds, 3), "answers_per_s": round(len(results) / seconds, 1),
            "model_load_s": round(load_s, 3), "errors": sum(r.error is not None for r in results)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="memory benchmark workers")
    sub = parser.add_subparsers(dest="what", required=True)
    make = sub.add_parser("batch-file")
    make.add_argument("out", type=Path)
    make.add_argument("--n", type=int, default=BATCH_ROWS)
    grade = sub.add_parser("grade-in-process")
    grade.add_argument("--home", type=Path, required=True)
    grade.add_argument("--batch", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.what == "batch-file":
        print(json.dumps({"path": str(batch_file(args.out, args.n))}))
    else:
        print(json.dumps(grade_in_process(args.home, args.batch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
