"""Vectors of the sentences an offline answer is chosen from, made once and shipped with tutor.

The offline explainer (`tutor.llms.answer.compose_answer`) chooses the sentence that answers a question from
the lines of the passages its search found: the notes' lines and the companion's sentences, 1,367 of them in
the shipped course. It compares each with the question in meaning, so a question never asked before embeds
its 30 to 60 candidates: most of a new answer's time, and what a class asking at once waits on
(`python -m benchmarks.web --class 16`). `tutor/knowledge/data/shipped-minilm-sentences.*` holds each
candidate's vector, float16, keyed by the SHA-1 of the text as it is read (`Candidate.read_as`) and by the
embedder that made it, as `tutor.knowledge.prebuilt` ships the passages' vectors. `tutor.llms.direct.kept_vectors`
takes a sentence's shipped vector before embedding it; a user's own files, an edited line and any other
embedder are embedded as before.

    python -m tutor.llms.sentences            # regenerate after editing knowledge/ (about half a minute)
    python -m tutor.llms.sentences --check    # exit 1 when the shipped vectors are stale

tests/test_prebuilt.py fails when they are stale, so a change to the notes comes with new vectors.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tutor.knowledge.prebuilt import DATA, Shipped, course_chunks, load_table, write_table

VECTORS = DATA / "shipped-minilm-sentences.npy"  # (N, C) float16, row i for hashes[i]
INDEX = DATA / "shipped-minilm-sentences.json"  # {"embedder", "model", "dimensions", "dtype", "sentences", "hashes"}


def sentence_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def course_sentences(knowledge_dir: Path) -> list[str]:
    """Every candidate sentence of the shipped notes and companion, as an answer reads it: each passage is
    formatted as the agent's search shows it and read back, as `search_as_the_agent` does."""
    from tutor.llms.answer import _candidates
    from tutor.llms.protocol import parse_passages
    from tutor.tools.notes import format_passages

    class Hit:  # a passage as the search returns it
        def __init__(self, chunk: Any) -> None:
            self.source, self.section, self.subsection = chunk.source, chunk.section, chunk.subsection
            self.kind, self.text, self.similarity = chunk.kind, chunk.text, 1.0
            self.line_start, self.line_end = chunk.line_start, chunk.line_end

    passages = parse_passages(format_passages([Hit(c) for c in course_chunks(knowledge_dir)]))
    return sorted({c.read_as for c in _candidates(passages)})


class ShippedSentences(Shipped):
    """The shipped sentences' vectors, unit length as float32, by the SHA-1 of the sentence."""

    def vector(self, text: str) -> np.ndarray | None:  # type: ignore[override]
        return self.by_hash(sentence_hash(text))


@lru_cache(maxsize=1)
def shipped_sentences() -> ShippedSentences | None:
    """The shipped vectors, or None when they are missing or unreadable (then every sentence is embedded)."""
    return load_table(INDEX, VECTORS, ShippedSentences)  # type: ignore[return-value]


def build(knowledge_dir: Path, embedder: Any = None, say: Callable[[str], None] = print) -> int:
    """Embed every candidate sentence of the shipped course and write VECTORS and INDEX; how many."""
    from tutor.knowledge.embedder import MiniLMEmbedder

    texts = {sentence_hash(t): t for t in course_sentences(knowledge_dir)}
    n = write_table(texts, embedder or MiniLMEmbedder(), INDEX, VECTORS, "sentences", say)
    shipped_sentences.cache_clear()
    return n


def stale(knowledge_dir: Path) -> tuple[list[str], int]:
    """(course sentences with no shipped vector, how many shipped vectors no sentence has any more)."""
    texts = course_sentences(knowledge_dir)
    table = shipped_sentences()
    if table is None:
        return texts, 0
    return [t for t in texts if table.vector(t) is None], len(set(table.hashes) - {sentence_hash(t) for t in texts})


def main(argv: list[str] | None = None) -> int:
    from tutor.settings import bundled_path, quiet_libraries

    parser = argparse.ArgumentParser(prog="python -m tutor.llms.sentences", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the shipped vectors are stale")
    parser.add_argument("--knowledge", type=Path, default=bundled_path("knowledge"), help="the shipped notes")
    args = parser.parse_args(argv)
    quiet_libraries()
    if not args.check:
        n = build(args.knowledge, say=lambda line: print(line, file=sys.stderr))
        print(f"wrote {n} sentence vectors to {VECTORS.name} and {INDEX.name}")
        return 0
    missing, unused = stale(args.knowledge)
    for text in missing[:20]:
        print(f"no shipped vector: {text[:100]}")
    if unused:
        print(f"{unused} shipped vector(s) of sentences the notes no longer have")
    problems = len(missing) + unused
    print("up to date" if not problems else "stale: run python -m tutor.llms.sentences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
