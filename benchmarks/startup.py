"""Start-up and latency: how long a learner waits for each command, next to the imports it cannot avoid.

    python -m benchmarks --only startup          # as part of the suite
    python -m benchmarks.startup warm-search --home DIR   # one worker: warm search latency in-process

Every command runs in a fresh process, in turns with its baseline (`python -c "import typer, rich"`
for `--help`, `python -c "import torch, chromadb"` for the commands that search), after one
discarded warm-up round; the figure is the median, the ratio is median over median.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    QUESTIONS, Context, build_index, in_process_settings, median, percentile, python_argv, run_worker,
    time_in_turns, tutor_argv, tutor_env,
)

TOPIC = "transformers"
QUERY = "why do we add sine and cosine to embeddings"
GRADE_QUESTION = "What does dropout do during training?"
GRADE_REFERENCE = "Dropout randomly drops neurons during training so the network does not rely on any one of them."
GRADE_ANSWER = "It switches off random neurons while training, which stops the model from depending on single units."
WARM_QUERIES = 200

# (name, what it is, baseline name); the baselines are the imports a command of that kind cannot avoid.
HELP_COMMANDS = {
    "import typer, rich": python_argv("import typer, rich"),
    "tutor --help": tutor_argv("--help"),
}
WORK_COMMANDS = {
    "import torch, chromadb": python_argv("import torch, chromadb"),
    "tutor search": tutor_argv("search", QUERY),
    "tutor study --no-demo": tutor_argv("study", TOPIC, "--no-demo"),
    "tutor study": tutor_argv("study", TOPIC),
    "tutor grade": tutor_argv("grade", GRADE_ANSWER, "--question", GRADE_QUESTION, "--reference", GRADE_REFERENCE),
}
BASELINE_OF = {
    "tutor --help": "import typer, rich",
    "tutor search": "import torch, chromadb",
    "tutor study --no-demo": "import torch, chromadb",
    "tutor study": "import torch, chromadb",
    "tutor grade": "import torch, chromadb",
}


def warm_queries(n: int = WARM_QUERIES) -> list[str]:
    """n distinct queries: the retrieval questions and rewordings of them (no two alike, so a cache of
    query vectors could not flatter the figure)."""
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    forms = ("{q}", "{q}?", "tell me {q}", "explain: {q}", "in the notes, {q}")
    out: list[str] = []
    for form in forms:
        out.extend(form.format(q=q) for q in questions)
    return list(dict.fromkeys(out))[:n]


def warm_search(home: Path, n: int = WARM_QUERIES, knowledge: Path | None = None) -> dict[str, Any]:
    """Hybrid search latency in one process with the model and both indexes loaded (k=5, per heading)."""
    in_process_settings(home, knowledge)
    from tutor.knowledge.retrieval import open_retriever

    started = time.perf_counter()
    retriever = open_retriever()
    retriever.search("warm up the model and the lexical index", k=5)
    first_s = time.perf_counter() - started
    queries = warm_queries(n)
    latencies = []
    for q in queries:
        t = time.perf_counter()
        retriever.search(q, k=5)
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "queries": len(queries),
        "p50_ms": round(median(latencies), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "open_and_first_query_s": round(first_s, 3),
    }


def run(ctx: Context) -> dict[str, Any]:
    home = ctx.home("startup")
    ctx.say("startup: building the index")
    index_s = build_index(home)
    env = tutor_env(home)
    help_repeats = 9 if ctx.quick else 21
    ctx.say(f"startup: --help vs import typer, rich ({help_repeats} rounds)")
    times = time_in_turns({k: (v, env) for k, v in HELP_COMMANDS.items()}, help_repeats, say=None)
    ctx.say(f"startup: search, study, grade vs import torch, chromadb ({ctx.repeats} rounds)")
    times |= time_in_turns({k: (v, env) for k, v in WORK_COMMANDS.items()}, ctx.repeats, say=ctx.say)
    commands = {}
    for name, runs in times.items():
        row: dict[str, Any] = {"median_s": round(median(runs), 3), "min_s": round(min(runs), 3), "runs_s": runs}
        base = BASELINE_OF.get(name)
        if base:
            row["baseline"] = base
            row["ratio"] = round(median(runs) / median(times[base]), 2)
            row["ratio_of_minima"] = round(min(runs) / min(times[base]), 2)
        commands[name] = row
    ctx.say("startup: warm search in-process")
    warm = run_worker("startup", ["warm-search", "--home", str(home)], env)
    return {
        "index_build_cold_s": round(index_s, 2),
        "commands": commands,
        "warm_search": warm,
        "query": QUERY,
        "topic": TOPIC,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="start-up benchmark workers")
    sub = parser.add_subparsers(dest="what", required=True)
    warm = sub.add_parser("warm-search")
    warm.add_argument("--home", type=Path, required=True)
    warm.add_argument("--knowledge", type=Path)
    warm.add_argument("--n", type=int, default=WARM_QUERIES)
    args = parser.parse_args(argv)
    if args.what == "warm-search":
        print(json.dumps(warm_search(args.home, args.n, args.knowledge)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
