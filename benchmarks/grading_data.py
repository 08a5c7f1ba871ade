"""What the grading benchmarks share: where the data sets are, how their rows are read, and MiniLM with its
vectors kept on disk between runs.

    from benchmarks.grading_data import DATA, DIGIKLAUSUR, TESTS, TRAIN, CachedEmbedder, items_of, load_rows

Data sets (under /work/shared/datasets, next to the repository):
  - SciEntsBank 3-way: `TRAIN` (baselines' cut-offs are fitted on it, nothing else) and the two `TESTS`;
  - DigiKlausur (a neural-networks exam, scored 0/1/2 by its teacher): validation only, never fitted or tuned on;
  - benchmarks/grading_heldout.jsonl (held-out) and benchmarks/grading_tuning.jsonl (the tuning split): answers
    to questions about our notes, each with the verdict a careful teacher gives it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tutor.grading.metrics import macro_f1

__all__ = ["CACHE", "DATA", "DATASETS", "DIGIKLAUSUR", "HELDOUT", "HELDOUT2", "HELDOUT3", "HELDOUT4", "REPO", "TESTS", "TRAIN", "TUNING", "TUNING2", "CachedEmbedder",
           "items_of", "load_rows", "macro_f1", "scientsbank_test"]

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
DATA = DATASETS / "scientsbank"
TRAIN = "sciEntsBank_3way_train.jsonl"
TESTS = ("test-unseen-answers", "test-unseen-questions")
DIGIKLAUSUR = DATASETS / "digiklausur" / "digiklausur_nn_ws17.jsonl"
HELDOUT = REPO / "benchmarks" / "grading_heldout.jsonl"
TUNING = REPO / "benchmarks" / "grading_tuning.jsonl"
TUNING2 = REPO / "benchmarks" / "grading_tuning2.jsonl"  # a second tuning split (30 questions, 11 kinds), read while tuning
HELDOUT2 = REPO / "benchmarks" / "grading_heldout2.jsonl"  # a second held-out set, by another helper who never read the grader
HELDOUT3 = REPO / "benchmarks" / "grading_heldout3.jsonl"  # a third (48 questions, 11 kinds), by a third helper
HELDOUT4 = REPO / "benchmarks" / "grading_heldout4.jsonl"  # a fourth (40 questions, 11 kinds), by a fourth helper
CACHE = REPO / "benchmarks" / "out" / "embeddings-minilm.npz"


def load_rows(path: Path, limit: int | None = None) -> list[dict]:
    """The JSON lines of a file; the first `limit` of them when given (smoke runs)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def scientsbank_test(name: str, data: Path = DATA, limit: int | None = None) -> list[dict]:
    return load_rows(data / f"sciEntsBank_3way_{name}.jsonl", limit)


def items_of(rows: list[dict]) -> list[dict]:
    """Grading items (answer, reference, question) of SciEntsBank or DigiKlausur rows; a missing answer is blank."""
    return [{"answer": r.get("student_answer") or "", "reference": r["reference_answer"], "question": r["question"]}
            for r in rows]


class CachedEmbedder:
    """MiniLM with its vectors kept on disk between runs (benchmarks/out/), so reruns take seconds.

    It carries the inner embedder's `model_dir` and `device`, so the grader aligns the bundled MiniLM's
    contextual token vectors as it does with the plain `MiniLMEmbedder` (without them it would fall back to
    exact words only, as in the unit tests): the grades are the shipped grader's."""

    def __init__(self, path: Path | None = CACHE) -> None:
        from tutor.knowledge.embedder import MiniLMEmbedder

        self.inner = MiniLMEmbedder()
        self.model_dir = self.inner.model_dir
        self.device = self.inner.device
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as data:
                self.vectors = dict(zip(data["texts"].tolist(), data["vectors"]))
        self.dirty = False

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        new = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if new:
            self.vectors.update(zip(new, self.inner(new)))
            self.dirty = True
        return [self.vectors[t] for t in texts]

    def embed_query(self, texts: list[str]) -> list[np.ndarray]:
        return self(texts)

    def name(self) -> str:
        return self.inner.name()

    def save(self) -> None:
        if self.dirty and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.vectors)
            np.savez(self.path, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))
            self.dirty = False
