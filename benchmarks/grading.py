"""Measure the grader on SciEntsBank against its baselines and against the grader it replaced.

    python benchmarks/grading.py [--data ../shared/datasets/scientsbank]

Systems, each tuned on the train file only and reported on both test files:
  - bag-of-words cosine with two cut-offs tuned on train, on lower-cased word counts and, a stronger
    variant, on stemmed content words (stop words dropped),
  - MiniLM cosine (answer vs reference) with two cut-offs tuned on train,
  - the previous grader (features + logistic regression, read from git at LEGACY_COMMIT),
  - the pair model alone (tutor.grading.pair, no stacker),
  - OfflineGrader (tutor.grading) as shipped.
Metrics: accuracy and macro-F1 over correct / incorrect / contradictory, the Spearman correlation of
the score with the label order contradictory < incorrect < correct, and the share of `correct`
answers scored 0.7 or more (the verdict a learner sees). Then the throughput of grade_many on 500
answers with a fresh grader. The adversarial suite and the deep-learning set are in
benchmarks/adversarial.py. Results go to benchmarks/out/grading.json; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_grader import DATA, REPO, TESTS, TRAIN, CachedEmbedder, items_of, load_rows, macro_f1  # noqa: E402

LEGACY_COMMIT = "7abc96a"  # the last commit with tutor/learning/grading.py, the grader this one replaces
OUT = REPO / "benchmarks" / "out" / "grading.json"
LABELS = ("correct", "incorrect", "contradictory")
_WORD = re.compile(r"[a-z0-9]+")


def bow_cosine(a: str, b: str, stemmed: bool = False) -> float:
    """Cosine of word-count vectors: lower-cased words, or stemmed content words (stop words dropped)."""
    from tutor.grading.text import content_stems

    if stemmed:
        ca, cb = Counter(content_stems(a)), Counter(content_stems(b))
    else:
        ca, cb = Counter(_WORD.findall(a.lower())), Counter(_WORD.findall(b.lower()))
    dot = sum(v * cb[k] for k, v in ca.items())
    norm = (sum(v * v for v in ca.values()) * sum(v * v for v in cb.values())) ** 0.5
    return dot / norm if norm else 0.0


class CutOffs:
    """Two cut-offs on one similarity: below, between, above; which label sits in which band is tuned too."""

    def fit(self, scores: np.ndarray, truth: list[str]) -> "CutOffs":
        candidates = np.unique(np.quantile(scores, np.linspace(0.0, 1.0, 81)))
        best = (-1.0, 0.0, 0.0, ("incorrect", "incorrect", "correct"))
        for bands in (("incorrect", "contradictory", "correct"), ("contradictory", "incorrect", "correct")):
            for i, low in enumerate(candidates):
                for high in candidates[i:]:  # low == high: one cut-off, no middle band
                    f1 = macro_f1(truth, self._apply(scores, low, high, bands), LABELS)
                    if f1 > best[0]:
                        best = (f1, low, high, bands)
        _, self.low, self.high, self.bands = best
        return self

    @staticmethod
    def _apply(scores: np.ndarray, low: float, high: float, bands: tuple[str, str, str]) -> list[str]:
        return [bands[2] if s >= high else bands[1] if s >= low else bands[0] for s in scores]

    def predict(self, scores: np.ndarray) -> list[str]:
        return self._apply(scores, self.low, self.high, self.bands)

    def describe(self) -> dict:
        return {"low": round(float(self.low), 4), "high": round(float(self.high), 4), "bands": list(self.bands)}


def metrics(truth: list[str], predicted: list[str], score: np.ndarray) -> dict:
    from tutor.grading.model import LABEL_ORDER

    rho = spearmanr(score, [LABEL_ORDER[t] for t in truth]).statistic
    return {
        "accuracy": round(float(np.mean([t == p for t, p in zip(truth, predicted)])), 4),
        "macro_f1": round(macro_f1(truth, predicted, LABELS), 4),
        "f1_per_label": {label: round(macro_f1(truth, predicted, (label,)), 4) for label in LABELS},
        "spearman": round(float(rho), 4),
    }


def paired_bootstrap(rows: list[dict], ours: list[str], theirs: list[str], resamples: int = 2000) -> list[float]:
    """95% interval of macro-F1(ours) - macro-F1(theirs), resampling whole questions (answers to one
    question are not independent)."""
    rng = np.random.default_rng(0)
    by_question: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_question.setdefault(row["qid"], []).append(i)
    groups = list(by_question.values())
    differences = []
    for _ in range(resamples):
        picked = [i for g in rng.integers(0, len(groups), len(groups)) for i in groups[g]]
        truth = [rows[i]["label"] for i in picked]
        differences.append(macro_f1(truth, [ours[i] for i in picked], LABELS)
                           - macro_f1(truth, [theirs[i] for i in picked], LABELS))
    low, high = np.percentile(differences, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def legacy_grader(embedder):
    """The grader this one replaced, loaded from git (benchmarks/out/legacy/), on the same embedder."""
    import importlib.util
    import subprocess

    folder = REPO / "benchmarks" / "out" / "legacy"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("grading.py", "grader_weights.json"):
        blob = subprocess.run(["git", "-C", str(REPO), "show", f"{LEGACY_COMMIT}:tutor/learning/{name}"],
                              capture_output=True, check=True).stdout
        (folder / name).write_bytes(blob)
    spec = importlib.util.spec_from_file_location("legacy_grading", folder / "grading.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["legacy_grading"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.OfflineGrader(embedder=embedder)


def correct_at(truth: list[str], score: np.ndarray, at: float = 0.7) -> float:
    mask = np.array([t == "correct" for t in truth])
    return round(float(np.mean(score[mask] >= at)), 4)


def throughput(rows: list[dict], n: int = 500) -> dict:
    """Seconds to grade n answers with a fresh grader (nothing cached): the first batch in a process,
    which also pays torch's one-off set-up for each new input shape, and then a second fresh grader."""
    from tutor.knowledge.embedder import MiniLMEmbedder, load_sentence_model
    from tutor.grading.grader import OfflineGrader

    embedder = MiniLMEmbedder()
    started = time.perf_counter()
    load_sentence_model(embedder.model_dir, embedder.device)
    load_s = time.perf_counter() - started
    items = items_of(rows[:n])
    timings = []
    for _ in range(2):
        grader = OfflineGrader(embedder=embedder)
        started = time.perf_counter()
        grader.grade_many(items)
        timings.append(time.perf_counter() - started)
    first, warm = timings
    return {"answers": len(items), "first_batch_seconds": round(first, 2), "warm_seconds": round(warm, 2),
            "answers_per_second_first_batch": round(len(items) / first, 1),
            "answers_per_second_warm": round(len(items) / warm, 1), "model_load_seconds": round(load_s, 2),
            "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    from tutor.grading.grader import OfflineGrader

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    embedder = CachedEmbedder()
    grader = OfflineGrader(embedder=embedder)
    splits = {"train": load_rows(args.data / TRAIN)}
    splits |= {name: load_rows(args.data / f"sciEntsBank_3way_{name}.jsonl") for name in TESTS}

    def minilm_cosine(rows: list[dict]) -> np.ndarray:
        texts = [t for r in rows for t in (r["student_answer"], r["reference_answer"])]
        vectors = np.asarray(embedder(texts))  # (2N, D), unit length
        return np.einsum("nd,nd->n", vectors[0::2], vectors[1::2])

    def bow(stemmed: bool):
        return lambda rows: np.array([bow_cosine(r["student_answer"], r["reference_answer"], stemmed) for r in rows])

    baselines = {"bag-of-words cosine": bow(False), "bag-of-words cosine, stemmed content words": bow(True),
                 "MiniLM cosine": minilm_cosine}
    truth = {name: [r["label"] for r in rows] for name, rows in splits.items()}
    results: dict[str, dict] = {}
    predictions: dict[tuple[str, str], list[str]] = {}
    for system, similarity in baselines.items():
        cutoffs = CutOffs().fit(similarity(splits["train"]), truth["train"])
        results[system] = {"tuned_on_train": cutoffs.describe()}
        for name in TESTS:
            score = similarity(splits[name])
            predictions[system, name] = cutoffs.predict(score)
            results[system][name] = metrics(truth[name], predictions[system, name], score)

    graders = {"previous grader": legacy_grader(embedder), "pair model alone": OfflineGrader(embedder=embedder, stacker=False),
               "OfflineGrader": grader}
    for system, g in graders.items():
        results[system] = {}
        for name in TESTS:
            items = items_of(splits[name])
            started = time.perf_counter()
            if system == "previous grader":
                score = np.array([x.score for x in g.grade_many(items)])
            else:
                score = g.scores(items)
            predicted = g.predict_labels(items)
            results[system][name] = metrics(truth[name], predicted, score)
            results[system][name]["correct_at_0.7"] = correct_at(truth[name], score)
            results[system][name]["seconds"] = round(time.perf_counter() - started, 2)
            predictions[system, name] = predicted
    for name in TESTS:
        for baseline, key in (("previous grader", "previous"), ("bag-of-words cosine, stemmed content words", "bow_stemmed")):
            results["OfflineGrader"][name][f"macro_f1_gain_over_{key}_95ci"] = paired_bootstrap(
                splits[name], predictions["OfflineGrader", name], predictions[baseline, name])
    embedder.save()

    speed = throughput(splits["test-unseen-questions"])
    report = {"scientsbank": results, "throughput_minilm_cpu": speed,
              "label_order": "contradictory < incorrect < correct"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    print("| system | test | accuracy | macro-F1 | Spearman | correct scored >= 0.7 |")
    print("|---|---|---:|---:|---:|---:|")
    for system, by_split in results.items():
        for name in TESTS:
            m = by_split[name]
            at = f"{m['correct_at_0.7']:.3f}" if "correct_at_0.7" in m else "-"
            print(f"| {system} | {name} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['spearman']:.3f} | {at} |")
    for name in TESTS:
        for key, label in (("previous", "previous grader"), ("bow_stemmed", "stemmed bag-of-words")):
            ours = results["OfflineGrader"][name]["macro_f1"]
            base = "previous grader" if key == "previous" else "bag-of-words cosine, stemmed content words"
            gain = ours - results[base][name]["macro_f1"]
            low, high = results["OfflineGrader"][name][f"macro_f1_gain_over_{key}_95ci"]
            print(f"\n{name}: macro-F1 gain over {label} {gain:+.3f}, 95% interval (questions resampled) "
                  f"[{low:+.3f}, {high:+.3f}]", end="")
    print()
    print(f"Throughput (MiniLM, CPU, nothing cached): {speed['answers']} answers in {speed['warm_seconds']}s "
          f"= {speed['answers_per_second_warm']} answers/s warm; first batch in the process "
          f"{speed['first_batch_seconds']}s = {speed['answers_per_second_first_batch']} answers/s "
          f"(load average {speed['load_average_1min']} on {speed['cpus']} CPUs).")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
