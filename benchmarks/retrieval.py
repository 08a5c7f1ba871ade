"""Retrieval benchmark: dense vs BM25 vs hybrid on paraphrased student questions, plus speed.

    python -m benchmarks.retrieval [--questions benchmarks/retrieval_questions.jsonl] [--out benchmarks/out]

Builds the index over knowledge/ with the real all-MiniLM-L6-v2 in a temporary TUTOR_HOME, then
reports recall@1, recall@3 and MRR (a hit is any passage from the question's (source, section)),
index build time, cold `tutor search` wall time (a fresh process over the built index) and warm
search latency in-process. Writes benchmarks/out/retrieval.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

REPO = Path(__file__).resolve().parent.parent
MODES = ("dense", "bm25", "hybrid")
MRR_DEPTH = 10  # ranks read for MRR; a section found deeper counts 0


class Question(BaseModel):
    question: str
    source: str
    section: str


class ModeScore(BaseModel):
    recall_at_1: float
    recall_at_3: float
    mrr: float
    misses_at_3: list[str]  # questions whose section is not in the top 3


class Report(BaseModel):
    questions: int
    passages: int
    embedder: str
    bm25_tokenizer: str  # stopword list and stemming: without PyStemmer BM25 matches exact word forms only
    modes: dict[str, ModeScore]
    index_build_s: float  # in-process sync of the notes into an empty index, model already loaded
    index_build_cold_s: float  # `tutor index` in a fresh process into an empty TUTOR_HOME
    cold_search_s: float  # `tutor search QUERY --json` in a fresh process, index built (median of 3)
    warm_search_p50_ms: float  # hybrid search in-process, model and indexes loaded
    warm_search_p95_ms: float
    warm_queries: int


def load_questions(path: Path) -> list[Question]:
    return [Question.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]


def score(retriever, questions: list[Question], mode: str) -> ModeScore:
    ranks: list[int | None] = []
    for q in questions:
        hits = retriever.search(q.question, k=MRR_DEPTH, mode=mode, per="section")
        ranks.append(next((r for r, p in enumerate(hits, 1) if (p.source, p.section) == (q.source, q.section)), None))
    n = len(questions)
    return ModeScore(
        recall_at_1=round(sum(r == 1 for r in ranks) / n, 4),
        recall_at_3=round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
        mrr=round(sum(1 / r for r in ranks if r) / n, 4),
        misses_at_3=[q.question for q, r in zip(questions, ranks) if r is None or r > 3],
    )


def run_cli(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tutor", *args], env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tutor {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds


def markdown(report: Report) -> str:
    rows = [
        "| mode | recall@1 | recall@3 | MRR |",
        "|---|---|---|---|",
        *(f"| {m} | {s.recall_at_1:.3f} | {s.recall_at_3:.3f} | {s.mrr:.3f} |" for m, s in report.modes.items()),
    ]
    speed = [
        "",
        "| speed | value |",
        "|---|---|",
        f"| index build ({report.passages} passages, model loaded) | {report.index_build_s:.2f} s |",
        f"| index build, cold `tutor index` | {report.index_build_cold_s:.2f} s |",
        f"| cold `tutor search` (fresh process) | {report.cold_search_s:.2f} s |",
        f"| warm search p50 / p95 ({report.warm_queries} queries) | "
        f"{report.warm_search_p50_ms:.1f} / {report.warm_search_p95_ms:.1f} ms |",
    ]
    title = f"Retrieval on {report.questions} questions, embedder {report.embedder}, BM25 {report.bm25_tokenizer}"
    return "\n".join([title, "", *rows, *speed])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=REPO / "benchmarks" / "retrieval_questions.jsonl")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--embedder", default="minilm", help="minilm (the real model) or hashing")
    parser.add_argument("--warm-queries", type=int, default=100)
    args = parser.parse_args()

    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        env = {
            **os.environ,
            "TUTOR_HOME": str(Path(tmp) / "home"),
            "TUTOR_EMBEDDER": args.embedder,
            "TUTOR_KNOWLEDGE_DIR": str(REPO / "knowledge"),
        }
        env.pop("TUTOR_CHROMA_URL", None)
        os.environ.update({k: env[k] for k in ("TUTOR_HOME", "TUTOR_EMBEDDER", "TUTOR_KNOWLEDGE_DIR")})
        os.environ.pop("TUTOR_CHROMA_URL", None)

        cold_env = {**env, "TUTOR_HOME": str(Path(tmp) / "cold-home")}
        index_build_cold = run_cli(["index"], cold_env)

        from tutor.knowledge.retrieval import Retriever, _tokenizer_signature
        from tutor.knowledge.store import NoteStore
        from tutor.settings import get_settings

        get_settings.cache_clear()
        store = NoteStore(get_settings())
        store.embedder(["load the model before timing the build"])
        report_index = store.sync(shipped=False)  # embedding throughput: no shipped vectors
        retriever = Retriever(store)
        modes = {mode: score(retriever, questions, mode) for mode in MODES}

        latencies = []
        for i in range(args.warm_queries):
            started = time.perf_counter()
            retriever.search(questions[i % len(questions)].question, k=5)
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()

        cold = sorted(run_cli(["search", questions[i].question, "--json"], env) for i in range(3))

        report = Report(
            questions=len(questions),
            passages=report_index.chunks,
            embedder=store.embedder.name(),
            bm25_tokenizer=_tokenizer_signature(),
            modes=modes,
            index_build_s=round(report_index.seconds, 3),
            index_build_cold_s=round(index_build_cold, 3),
            cold_search_s=round(cold[1], 3),
            warm_search_p50_ms=round(statistics.median(latencies), 2),
            warm_search_p95_ms=round(latencies[int(0.95 * (len(latencies) - 1))], 2),
            warm_queries=len(latencies),
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.json").write_text(report.model_dump_json(indent=2) + "\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
