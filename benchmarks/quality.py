"""Quality sections of the suite, built on the colleagues' scripts rather than beside them:

- retrieval: benchmarks/retrieval.py's `score` for dense, BM25 and hybrid, and the same `score` over
  CrewAI's own knowledge feature (benchmarks/crewai_knowledge.py), with query latency for all four;
- grading: benchmarks/grading.py, benchmarks/adversarial.py and benchmarks/heldout.py (both sets) run as they
  are, their JSON read back;
- demos: benchmarks/demos.py run as it is (a GPU column when CUDA is there), its JSON read back.

    python -m benchmarks --only retrieval,grading,demos
    python -m benchmarks.quality ours --home DIR     # worker: tutor's three modes in one process
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    QUESTIONS, REPO, CommandFailed, Context, build_index, in_process_settings, median, run_worker, tutor_env,
)

CREWAI_CONFIGS = ((4000, 200), (900, 100))  # CrewAI's default windows, and windows the size of tutor's chunks


def ours(home: Path) -> dict[str, Any]:
    """Recall and MRR per mode (benchmarks/retrieval.py's scoring) and per-query latency (k=5, as `tutor search`)."""
    in_process_settings(home)
    from benchmarks.retrieval import MODES, load_questions, score
    from tutor.knowledge.retrieval import _tokenizer_signature, open_retriever

    questions = load_questions(QUESTIONS)
    retriever = open_retriever()
    retriever.search("warm up the model and the lexical index", k=5)
    out: dict[str, Any] = {"questions": len(questions), "bm25_tokenizer": _tokenizer_signature(), "modes": {}}
    for mode in MODES:
        latencies = []
        for q in questions:
            started = time.perf_counter()
            retriever.search(q.question, k=5, mode=mode)
            latencies.append((time.perf_counter() - started) * 1000)
        result = score(retriever, questions, mode).model_dump()
        result["query_p50_ms"] = round(median(latencies), 2)
        out["modes"][mode] = result
    out["passages"] = len(retriever.lexical.chunks)
    return out


def retrieval(ctx: Context) -> dict[str, Any]:
    home = ctx.home("retrieval")
    ctx.say("retrieval: building tutor's index")
    build_s = build_index(home)
    env = tutor_env(home)
    ctx.say("retrieval: dense, BM25, hybrid")
    result = run_worker("quality", ["ours", "--home", str(home)], env)
    result["index_build_cold_s"] = round(build_s, 2)
    result["crewai"] = {}
    for size, overlap in CREWAI_CONFIGS:
        ctx.say(f"retrieval: CrewAI knowledge, windows of {size} characters")
        storage = home / f"crewai-{size}"
        result["crewai"][f"{size}/{overlap}"] = run_worker(
            "crewai_knowledge",
            ["--storage", str(storage), "--chunk-size", str(size), "--chunk-overlap", str(overlap)],
            env,
        )
    return result


def _script(args: list[str], env: dict[str, str], timeout: float = 3600) -> str:
    done = subprocess.run([sys.executable, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    return done.stdout


def grading(ctx: Context) -> dict[str, Any]:
    home = ctx.home("grading")
    out = home / "grading.json"
    limit = ["--limit", str(ctx.limit)] if ctx.limit else []
    ctx.say("grading: benchmarks/grading.py (SciEntsBank, DigiKlausur, risk-coverage, throughput)")
    started = time.perf_counter()
    _script(["-m", "benchmarks.grading", "--out", str(out), *limit], tutor_env(home))
    report = json.loads(out.read_text())
    ctx.say("grading: benchmarks/adversarial.py (attacks from the test references, the DL set, CLI timings)")
    adversarial = home / "adversarial.json"
    _script(["-m", "benchmarks.adversarial", "--out", str(adversarial), *limit] + (["--quick"] if ctx.quick else []),
            tutor_env(home))
    report["adversarial"] = json.loads(adversarial.read_text())
    index_home = home / "heldout-home"  # one index for both sets
    for name, key in (("heldout", "heldout"), ("tuning", "heldout_tuning")):
        ctx.say(f"grading: benchmarks/heldout.py --set {name} (graded against the notes)")
        path = home / f"{key}.json"
        _script(["-m", "benchmarks.heldout", "--set", name, "--home", str(index_home), "--out", str(path), *limit],
                tutor_env(home))
        report[key] = json.loads(path.read_text())
    report["script_s"] = round(time.perf_counter() - started, 1)
    return report


def demos(ctx: Context) -> dict[str, Any]:
    home = ctx.home("demos")
    ctx.say("demos: benchmarks/demos.py")
    _script(["-m", "benchmarks.demos", "--out", str(home), "--repeat", "1" if ctx.quick else "3"], tutor_env(home))
    return json.loads((home / "demos.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="quality benchmark workers")
    sub = parser.add_subparsers(dest="what", required=True)
    mine = sub.add_parser("ours")
    mine.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(ours(args.home)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
