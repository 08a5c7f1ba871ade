"""Scale: index build throughput and search latency as the notes grow 1x / 10x / 100x, and the
embedder's throughput next to the bare SentenceTransformer's (the floor for the same model).

    python -m benchmarks --only scale
    python -m benchmarks.scale corpus OUT_DIR --factor 10          # write a grown copy of the notes
    python -m benchmarks.scale build-and-search --home H --knowledge K
    python -m benchmarks.scale embedder

The grown notes are variants of the real ones: copy i of a file renames its headings ("... (part i)")
and shuffles the order of sentences inside each line and of the items inside each bullet list, with
a seed per copy, so no two chunks are the same text and BM25's and the embedder's work is real.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import NOTES, Context, in_process_settings, median, percentile, run_worker, tutor_env
from benchmarks.startup import warm_queries

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*`(])")


def variant(text: str, copy: int) -> str:
    """Copy `copy` of a notes file: headings renamed, sentences within a line and items within a list shuffled."""
    rng = random.Random(copy)
    lines = text.splitlines()
    out: list[str] = []
    bullets: list[str] = []
    in_fence = False

    def flush() -> None:
        rng.shuffle(bullets)
        out.extend(bullets)
        bullets.clear()

    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            flush()
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        m = _HEADING.match(line)
        if m:
            flush()
            out.append(f"{m.group(1)} {m.group(2)} (part {copy})")
            continue
        sentences = _SENTENCE_END.split(line)
        if len(sentences) > 1:
            head = sentences[0] if _BULLET.match(line) else None
            rest = sentences[1:] if head is not None else sentences
            rng.shuffle(rest)
            line = " ".join(([head] if head is not None else []) + rest)
        if _BULLET.match(line) and not line.startswith(" "):
            bullets.append(line)
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out) + "\n"


def grow_corpus(out_dir: Path, factor: int, notes: Path = NOTES) -> Path:
    """The notes `factor` times: the originals plus factor - 1 variants of every file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(notes.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        (out_dir / path.name).write_text(text, encoding="utf-8")
        for copy in range(1, factor):
            (out_dir / f"{path.stem}-v{copy:03d}.md").write_text(variant(text, copy), encoding="utf-8")
    return out_dir


def _dir_mib(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024**2, 1)


def build_and_search(home: Path, knowledge: Path, queries: int) -> dict[str, Any]:
    """In one process: load the model, sync the grown notes into an empty index (timed), open the
    retriever (BM25 built, timed), then hybrid search latency over distinct queries."""
    in_process_settings(home, knowledge)
    from tutor.knowledge.retrieval import Retriever
    from tutor.knowledge.store import NoteStore
    from tutor.settings import get_settings

    store = NoteStore(get_settings())
    started = time.perf_counter()
    store.embedder(["load the model before timing the build"])
    load_s = time.perf_counter() - started
    report = store.sync(shipped=False)  # embedding throughput: no shipped vectors
    retriever = Retriever(store)
    __import__("bm25s")  # its import, scipy's included, is not part of building the index

    started = time.perf_counter()
    retriever.lexical  # BM25 index: tokenized and saved once per content
    bm25_s = time.perf_counter() - started
    retriever.search("warm up", k=5)
    latencies = []
    for q in warm_queries(queries):
        t = time.perf_counter()
        retriever.search(q, k=5)
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "files": report.files,
        "chunks": report.chunks,
        "build_s": round(report.seconds, 2),
        "chunks_per_s": round(report.chunks / report.seconds, 1),
        "bm25_build_s": round(bm25_s, 3),
        "model_load_s": round(load_s, 2),
        "search_p50_ms": round(median(latencies), 2),
        "search_p99_ms": round(percentile(latencies, 99), 2),
        "queries": len(latencies),
        "index_mib": _dir_mib(home / "index"),
    }


def embedder_throughput(repeats: int = 3) -> dict[str, Any]:
    """Our MiniLM embedder against the bare SentenceTransformer on the same texts: the chunks of the
    notes (as indexing embeds them) and single short queries (as search embeds them)."""
    from benchmarks.common import REPO
    from tutor.knowledge.chunking import chunk_file
    from tutor.knowledge.embedder import MiniLMEmbedder, bundled_model_dir
    from tutor.settings import quiet_libraries

    texts = [c.search_text for p in sorted((REPO / "knowledge").glob("*.md")) for c in chunk_file(p, p.name)]
    queries = warm_queries(50)
    ours = MiniLMEmbedder()
    started = time.perf_counter()
    ours(["load"])
    ours_load = time.perf_counter() - started
    numpy_path = None
    try:  # tutor's own MiniLM: its numpy path (a few texts, torch not loaded) timed on its own
        from tutor.knowledge.embedder import load_minilm

        minilm = load_minilm(ours.model_dir, ours.device)
        numpy_path = lambda batch: minilm.encode(batch, backend="numpy")  # noqa: E731
    except ImportError:  # the embedder before tutor/knowledge/minilm.py
        pass

    quiet_libraries()
    started = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    bare = SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True)
    bare.encode(["load"])
    bare_load = time.perf_counter() - started

    def bare_encode(batch: list[str]) -> Any:
        return bare.encode(batch, normalize_embeddings=True, show_progress_bar=False)

    def timed(fn: Any) -> tuple[float, Any]:
        runs, out = [], None
        for _ in range(repeats):
            t = time.perf_counter()
            out = fn(texts)
            runs.append(time.perf_counter() - t)
        return median(runs), out

    def per_query(fn: Any) -> float:
        runs = []
        for q in queries:
            t = time.perf_counter()
            fn([q])
            runs.append((time.perf_counter() - t) * 1000)
        return median(runs)

    # In turns, so load from elsewhere falls on both alike.
    ours_s, ours_vectors = timed(ours)
    bare_s, bare_vectors = timed(bare_encode)
    ours_s2, _ = timed(ours)
    bare_s2, _ = timed(bare_encode)
    ours_s, bare_s = min(ours_s, ours_s2), min(bare_s, bare_s2)
    import numpy as np

    diff = float(np.max(np.abs(np.asarray(ours_vectors, dtype=np.float32) - np.asarray(bare_vectors, dtype=np.float32))))
    numpy_query_ms = numpy_diff = None
    if numpy_path is not None:
        numpy_query_ms = round(per_query(numpy_path), 2)
        numpy_diff = float(np.max(np.abs(numpy_path(texts[:16]) - np.asarray(bare_vectors[:16], dtype=np.float32))))
    tokens = sum(len(ids) for ids in bare.tokenize(texts)["input_ids"].tolist())  # padded; an upper bound
    return {
        "texts": len(texts),
        "ours_texts_per_s": round(len(texts) / ours_s, 1),
        "bare_texts_per_s": round(len(texts) / bare_s, 1),
        "ratio_to_floor": round(bare_s / ours_s, 2),
        "ours_query_ms": round(per_query(ours), 2),
        "bare_query_ms": round(per_query(bare_encode), 2),
        "ours_load_s": round(ours_load, 2),
        "bare_import_and_load_s": round(bare_load, 2),
        "max_abs_diff": diff,
        "ours_numpy_query_ms": numpy_query_ms,  # one query on the numpy path (what a cold `tutor search` runs)
        "numpy_max_abs_diff": numpy_diff,
        "padded_tokens": tokens,
    }


def growth_exponent(small: dict[str, Any], large: dict[str, Any], key: str) -> float | None:
    """b in cost ~ chunks^b between two scales (1 = linear, 0 = flat)."""
    a, b = small.get(key), large.get(key)
    n1, n2 = small["chunks"], large["chunks"]
    if not a or not b or n1 == n2:
        return None
    return round(math.log(b / a) / math.log(n2 / n1), 2)


def run(ctx: Context) -> dict[str, Any]:
    factors = (1, 10) if ctx.quick else (1, 10, 100)
    queries = 50 if ctx.quick else 200
    scales: dict[str, Any] = {}
    for factor in factors:
        home = ctx.home(f"scale-{factor}x")
        corpus = grow_corpus(ctx.root / f"notes-{factor}x", factor)
        ctx.say(f"scale: {factor}x the notes: building and searching")
        result = run_worker("scale", ["build-and-search", "--home", str(home), "--knowledge", str(corpus),
                                      "--queries", str(queries)], tutor_env(home, corpus))
        result["factor"] = factor
        # The same queries from a fresh process over the built index: no torch loaded, so the query is
        # embedded on the numpy path, as in a `tutor` process that has not indexed anything itself.
        fresh = run_worker("startup", ["warm-search", "--home", str(home), "--knowledge", str(corpus),
                                       "--n", str(queries)], tutor_env(home, corpus))
        result["fresh_search_p50_ms"] = fresh["p50_ms"]
        result["fresh_search_p99_ms"] = fresh["p99_ms"]
        scales[f"{factor}x"] = result
        ctx.say(f"scale: {factor}x: {result['chunks']} chunks, {result['chunks_per_s']} chunks/s, "
                f"search p50 {result['search_p50_ms']} ms (fresh process {result['fresh_search_p50_ms']} ms)")
    first, last = scales[f"{factors[0]}x"], scales[f"{factors[-1]}x"]
    growth = {
        "build_s": growth_exponent(first, last, "build_s"),
        "search_p50_ms": growth_exponent(first, last, "search_p50_ms"),
        "fresh_search_p50_ms": growth_exponent(first, last, "fresh_search_p50_ms"),
        "bm25_build_s": growth_exponent(first, last, "bm25_build_s"),
    }
    ctx.say("scale: embedder throughput vs the bare SentenceTransformer")
    home = ctx.home("scale-embedder")
    embedder = run_worker("scale", ["embedder", "--repeats", "2" if ctx.quick else "3"], tutor_env(home))
    return {"scales": scales, "growth_exponent": growth, "embedder": embedder}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="scale benchmark workers")
    sub = parser.add_subparsers(dest="what", required=True)
    corpus = sub.add_parser("corpus")
    corpus.add_argument("out", type=Path)
    corpus.add_argument("--factor", type=int, default=10)
    build = sub.add_parser("build-and-search")
    build.add_argument("--home", type=Path, required=True)
    build.add_argument("--knowledge", type=Path, required=True)
    build.add_argument("--queries", type=int, default=200)
    emb = sub.add_parser("embedder")
    emb.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.what == "corpus":
        print(json.dumps({"path": str(grow_corpus(args.out, args.factor))}))
    elif args.what == "build-and-search":
        print(json.dumps(build_and_search(args.home, args.knowledge, args.queries)))
    else:
        print(json.dumps(embedder_throughput(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
