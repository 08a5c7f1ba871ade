"""Measure the grader on SciEntsBank and DigiKlausur against its baselines, how its confidence ranks its
verdicts, and its speed.

    python -m benchmarks.grading [--data ../shared/datasets/scientsbank] [--limit N] [--no-speed] [--no-legacy]

1. SciEntsBank 3-way, on test-unseen-answers and test-unseen-questions. Systems:
   - bag-of-words cosine with two cut-offs fitted on train, on lower-cased word counts and, a stronger
     variant, on stemmed content words (stop words dropped),
   - MiniLM cosine (answer vs reference) with two cut-offs fitted on train,
   - the previous grader (features + logistic regression, read from git at LEGACY_COMMIT), when it still runs,
   - OfflineGrader (tutor.grading) as shipped. Its verdict, made strict (`Grade.forced()`: an unsure grade takes
     the verdict of its best-guess score), maps to SciEntsBank's labels: correct -> correct; incorrect with reason
     "contradicted", or any other verdict but correct whose meaning model reads "contradictory" most likely ->
     contradictory; any other incorrect, and partially_correct -> incorrect.
   Metrics: accuracy and macro-F1 over correct / incorrect / contradictory for all answers (strict) and, for the
   grader, for the answers it decides (not unsure) with their share; the Spearman correlation of the score with
   contradictory < incorrect < correct; the share of `correct` answers scored 0.7 or more; a 95% interval of the
   macro-F1 gain over the baselines, resampling whole questions.
2. DigiKlausur (validation only: nothing is fitted or tuned on it): Pearson r and Spearman rho between the score
   and the teacher's score / max_score, over every answer (an empty answer scores 0, for the baseline too), beside
   the plain MiniLM cosine of answer and reference computed in the same run (r 0.542 over all 646; embedding an
   empty answer as a blank instead of scoring it 0 gives the 0.539 of the data set's README).
3. Risk-coverage: answers sorted by the grade's confidence, the unsure ones last (they are not decided; their
   strict verdict stands in for them); for 10%, 20%, ... 100% of them, the accuracy of the verdicts of the most
   confident share. SciEntsBank (both test files together): the 3-way mapping above (so a partially_correct
   verdict is right for "incorrect"); DigiKlausur: the teacher's 0 / 1 / 2 is incorrect / partially_correct /
   correct. And the grader's own operating point: the share decided and the accuracy of those.
4. Throughput: grade_many on 500 answers with a fresh grader (nothing cached), beside embedding the same answers
   and references alone with the same model in the same run (the floor: the grader embeds them too). The cold
   `tutor grade` against `import torch, chromadb` is in benchmarks/adversarial.py (section 3) and startup.

Results go to benchmarks/out/grading.json; Markdown tables are printed. `--limit N` reads the first N rows of
each file (a smoke run; the figures mean nothing then).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr

if __package__ in (None, ""):  # run as a script: python benchmarks/grading.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.grading_data import (  # noqa: E402
    CACHE, DATA, DIGIKLAUSUR, REPO, TESTS, TRAIN, CachedEmbedder, items_of, load_rows, macro_f1, scientsbank_test,
)

LEGACY_COMMIT = "7abc96a"  # the last commit with tutor/learning/grading.py, the grader this one replaces
OUT = REPO / "benchmarks" / "out" / "grading.json"
LABELS = ("correct", "incorrect", "contradictory")
HUMAN_VERDICT = {0: "incorrect", 1: "partially_correct", 2: "correct"}  # DigiKlausur's teacher's 0 / 1 / 2
COVERAGES = tuple(range(10, 101, 10))
OURS = "OfflineGrader"
PREVIOUS = "previous grader"
BOW_STEMMED = "bag-of-words cosine, stemmed content words"
_WORD = re.compile(r"[a-z0-9]+")


# -- baselines --------------------------------------------------------------------------------------
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


def minilm_cosine(embedder: Any, answers: list[str], references: list[str]) -> np.ndarray:
    """Cosine of the answer's and the reference's MiniLM vectors; 0 for an empty answer."""
    live = [i for i, a in enumerate(answers) if a.strip()]
    out = np.zeros(len(answers))
    if live:
        texts = [t for i in live for t in (answers[i], references[i])]
        vectors = np.asarray(embedder(texts), dtype=np.float64)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        out[live] = np.einsum("nd,nd->n", vectors[0::2], vectors[1::2])
    return out


def legacy_grader(embedder: Any) -> Any:
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


def try_legacy_grader(embedder: Any) -> Any | None:
    """The previous grader, or None (with the reason on stderr) where it no longer loads or runs."""
    try:
        grader = legacy_grader(embedder)
        grader.predict_labels([{"answer": "Water evaporates.", "reference": "The water evaporated.", "question": "?"}])
        return grader
    except Exception as e:  # the old module from git, against today's environment
        print(f"previous grader ({LEGACY_COMMIT}) left out: {e.__class__.__name__}: {e}", file=sys.stderr)
        return None


# -- the grader's verdicts as labels ------------------------------------------------------------------
def scientsbank_label(grade: Any) -> str:
    """SciEntsBank's 3-way label of a grade's strict verdict."""
    g = grade.forced()
    if g.verdict == "correct":
        return "correct"
    if g.verdict == "incorrect" and g.reason == "contradicted":
        return "contradictory"
    if g.meaning and max(g.meaning, key=g.meaning.get) == "contradictory":  # not credited, and read as contradicting
        return "contradictory"
    return "incorrect"


def human_verdict(row: dict) -> str:
    """DigiKlausur's teacher's score (0, 1 or 2 of 2) as a verdict."""
    return HUMAN_VERDICT[int(round(2 * row["score"] / row["max_score"]))]


# -- metrics --------------------------------------------------------------------------------------------
def _ratio(numerator: float, denominator: float) -> float | None:
    return round(float(numerator) / denominator, 4) if denominator else None


def _correlation(f: Any, x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return round(float(f(x, y).statistic), 4)


def metrics(truth: list[str], predicted: list[str], score: np.ndarray) -> dict:
    from tutor.grading.model import LABEL_ORDER

    return {
        "answers": len(truth),
        "accuracy": round(float(np.mean([t == p for t, p in zip(truth, predicted)])), 4),
        "macro_f1": round(macro_f1(truth, predicted, LABELS), 4),
        "f1_per_label": {label: round(macro_f1(truth, predicted, (label,)), 4) for label in LABELS},
        "spearman": _correlation(spearmanr, score, np.array([LABEL_ORDER[t] for t in truth], dtype=float)),
    }


def grader_metrics(truth: list[str], grades: list[Any]) -> dict:
    """All answers with strict verdicts, and the decided ones (not unsure) alone."""
    predicted = [scientsbank_label(g) for g in grades]
    score = np.array([g.score for g in grades])
    out = metrics(truth, predicted, score)
    decided = [i for i, g in enumerate(grades) if g.verdict != "unsure"]
    sure_truth, sure_predicted = [truth[i] for i in decided], [predicted[i] for i in decided]
    out["confident"] = {
        "answers": len(decided), "share": _ratio(len(decided), len(grades)),
        "accuracy": _ratio(sum(t == p for t, p in zip(sure_truth, sure_predicted)), len(decided)),
        "macro_f1": round(macro_f1(sure_truth, sure_predicted, LABELS), 4) if decided else None,
    }
    out["correct_at_0.7"] = correct_at(truth, score)
    out["verdicts"] = dict(Counter(g.verdict for g in grades))
    out["reasons"] = dict(Counter(g.reason for g in grades))
    return out


def correct_at(truth: list[str], score: np.ndarray, at: float = 0.7) -> float | None:
    mask = np.array([t == "correct" for t in truth])
    return round(float(np.mean(score[mask] >= at)), 4) if mask.any() else None


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


def risk_coverage(grades: list[Any], right: list[bool]) -> dict:
    """Accuracy of the most confident share of the verdicts, for each coverage (unsure grades last, with their
    strict verdicts), and the grader's own operating point (the decided ones)."""
    n = len(grades)
    unsure = np.array([g.verdict == "unsure" for g in grades])
    order = sorted(range(n), key=lambda i: (bool(unsure[i]), -grades[i].confidence))
    ok = np.array(right, dtype=bool)
    rows = []
    for pct in COVERAGES:
        k = max(1, math.ceil(n * pct / 100)) if n else 0
        picked = order[:k]
        rows.append({"coverage": pct / 100, "answers": k,
                     "accuracy": round(float(ok[picked].mean()), 4) if k else None,
                     "unsure_included": int(unsure[picked].sum()) if k else 0,
                     "lowest_confidence": round(float(grades[picked[-1]].confidence), 4) if k else None})
    decided = ~unsure
    return {"answers": n, "table": rows,
            "operating_point": {"decided_share": _ratio(int(decided.sum()), n),
                                "accuracy_decided": _ratio(int(ok[decided].sum()), int(decided.sum())),
                                "accuracy_all_strict": _ratio(int(ok.sum()), n)}}


# -- sections -------------------------------------------------------------------------------------------
def scientsbank(grader: Any, embedder: Any, data: Path, limit: int | None, legacy: bool) -> tuple[dict, dict]:
    """(results per system and test file, the risk-coverage table over both test files)."""
    splits = {"train": load_rows(data / TRAIN, limit)}
    splits |= {name: scientsbank_test(name, data, limit) for name in TESTS}

    def cosine(rows: list[dict]) -> np.ndarray:
        return minilm_cosine(embedder, [r["student_answer"] for r in rows], [r["reference_answer"] for r in rows])

    def bow(stemmed: bool):
        return lambda rows: np.array([bow_cosine(r["student_answer"], r["reference_answer"], stemmed) for r in rows])

    baselines = {"bag-of-words cosine": bow(False), BOW_STEMMED: bow(True), "MiniLM cosine": cosine}
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
            results[system][name]["correct_at_0.7"] = correct_at(truth[name], score)

    previous = try_legacy_grader(embedder) if legacy else None
    if previous is not None:
        results[PREVIOUS] = {"commit": LEGACY_COMMIT}
        for name in TESTS:
            items = items_of(splits[name])
            started = time.perf_counter()
            score = np.array([x.score for x in previous.grade_many(items)])
            predicted = previous.predict_labels(items)
            results[PREVIOUS][name] = metrics(truth[name], predicted, score)
            results[PREVIOUS][name]["correct_at_0.7"] = correct_at(truth[name], score)
            results[PREVIOUS][name]["seconds"] = round(time.perf_counter() - started, 2)
            predictions[PREVIOUS, name] = predicted

    results[OURS] = {"labels": "strict verdict: correct -> correct; incorrect (contradicted) -> contradictory; "
                               "other incorrect, partially_correct -> incorrect"}
    all_grades, all_right = [], []
    for name in TESTS:
        started = time.perf_counter()
        grades = grader.grade_many(items_of(splits[name]), strict=False)
        seconds = time.perf_counter() - started
        results[OURS][name] = grader_metrics(truth[name], grades)
        results[OURS][name]["seconds"] = round(seconds, 2)
        predictions[OURS, name] = [scientsbank_label(g) for g in grades]
        all_grades += grades
        all_right += [p == t for p, t in zip(predictions[OURS, name], truth[name])]
        for baseline, key in ((PREVIOUS, "previous"), (BOW_STEMMED, "bow_stemmed")):
            if (baseline, name) in predictions:
                results[OURS][name][f"macro_f1_gain_over_{key}_95ci"] = paired_bootstrap(
                    splits[name], predictions[OURS, name], predictions[baseline, name])
    return results, risk_coverage(all_grades, all_right)


def digiklausur(grader: Any, embedder: Any, path: Path, limit: int | None) -> tuple[dict, dict]:
    """(Pearson and Spearman of our score and of the MiniLM cosine with the teacher's, the risk-coverage table)."""
    rows = load_rows(path, limit)
    human = np.array([r["score"] / r["max_score"] for r in rows], dtype=float)
    started = time.perf_counter()
    grades = grader.grade_many(items_of(rows), strict=False)
    seconds = time.perf_counter() - started
    ours = np.array([g.score for g in grades])
    cosine = minilm_cosine(embedder, [r.get("student_answer") or "" for r in rows], [r["reference_answer"] for r in rows])
    truth = [human_verdict(r) for r in rows]
    right = [g.forced().verdict == t for g, t in zip(grades, truth)]
    result = {
        "answers": len(rows), "empty_answers": sum(not (r.get("student_answer") or "").strip() for r in rows),
        "questions": len({r["qid"] for r in rows}),
        OURS: {"pearson": _correlation(pearsonr, ours, human), "spearman": _correlation(spearmanr, ours, human),
               "verdicts": dict(Counter(g.verdict for g in grades)), "reasons": dict(Counter(g.reason for g in grades)),
               "seconds": round(seconds, 2)},
        "MiniLM cosine": {"pearson": _correlation(pearsonr, cosine, human),
                          "spearman": _correlation(spearmanr, cosine, human)},
        "human_verdicts": dict(Counter(truth)),
    }
    return result, risk_coverage(grades, right)


def throughput(rows: list[dict], n: int = 500) -> dict:
    """Seconds to grade n answers with a fresh grader (nothing cached): the first batch in a process, which also
    pays torch's one-off set-up for each new input shape, then a second fresh grader; and, the baseline in the
    same run, the same model embedding the same answers and references alone."""
    from tutor.grading.grader import OfflineGrader
    from tutor.knowledge.embedder import MiniLMEmbedder, load_minilm

    embedder = MiniLMEmbedder()
    started = time.perf_counter()
    load_minilm(embedder.model_dir, embedder.device)
    load_s = time.perf_counter() - started
    items = items_of(rows[:n])
    timings = []
    for _ in range(2):
        grader = OfflineGrader(embedder=embedder)
        started = time.perf_counter()
        grader.grade_many(items)
        timings.append(time.perf_counter() - started)
    first, warm = timings
    texts = list(dict.fromkeys(t for i in items for t in (i["answer"], i["reference"]) if t))
    started = time.perf_counter()
    embedder(texts)
    embed_s = time.perf_counter() - started
    return {"answers": len(items), "first_batch_seconds": round(first, 2), "warm_seconds": round(warm, 2),
            "answers_per_second_first_batch": round(len(items) / first, 1),
            "answers_per_second_warm": round(len(items) / warm, 1), "model_load_seconds": round(load_s, 2),
            "baseline_embed_texts": len(texts), "baseline_embed_seconds": round(embed_s, 2),
            "warm_ratio_to_embedding": round(warm / embed_s, 2) if embed_s else None,
            "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}


# -- output ---------------------------------------------------------------------------------------------
def _f(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> list[str]:
    """The tables `python -m benchmarks.grading` prints (benchmarks/report.py renders the same JSON)."""
    lines = ["SciEntsBank 3-way (cut-offs fitted on train; the grader's verdicts strict, and its decided ones alone):", "",
             "| system | test | accuracy | macro-F1 | macro-F1, confident only | decided | Spearman | correct scored >= 0.7 |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for system, by_split in report["scientsbank"].items():
        for name in TESTS:
            m = by_split.get(name)
            if not isinstance(m, dict):
                continue
            c = m.get("confident") or {}
            lines.append(f"| {system} | {name} | {_f(m['accuracy'])} | {_f(m['macro_f1'])} | {_f(c.get('macro_f1'))} | "
                         f"{_f(c.get('share'))} | {_f(m['spearman'])} | {_f(m.get('correct_at_0.7'))} |")
    ours = report["scientsbank"].get(OURS, {})
    gains = []
    for name in TESTS:
        for key, label in (("previous", PREVIOUS), ("bow_stemmed", "stemmed bag-of-words")):
            ci = (ours.get(name) or {}).get(f"macro_f1_gain_over_{key}_95ci")
            if ci:
                gains.append(f"- {name}: over the {label} [{ci[0]:+.3f}, {ci[1]:+.3f}]")
    if gains:
        lines += ["", "Macro-F1 gain of the grader (strict), 95% interval, questions resampled:", *gains]
    d = report.get("digiklausur")
    if d:
        lines += ["", f"DigiKlausur (validation only; {d['answers']} answers to {d['questions']} questions, "
                  f"{d['empty_answers']} empty, scored 0): correlation with the teacher's score / max_score.", "",
                  "| system | Pearson r | Spearman rho |", "|---|---:|---:|"]
        for system in (OURS, "MiniLM cosine"):
            lines.append(f"| {system} | {_f(d[system]['pearson'])} | {_f(d[system]['spearman'])} |")
        lines.append(f"\nOur verdicts: {d[OURS]['verdicts']}; the teacher's: {d['human_verdicts']}.")
    rc = report.get("risk_coverage") or {}
    if rc:
        sets = list(rc)
        lines += ["", "Risk-coverage: accuracy of the verdicts of the most confident share (unsure grades last, "
                  "with their strict verdicts; in brackets, how many unsure are included).", "",
                  "| coverage | " + " | ".join(sets) + " |", "|---:|" + "---:|" * len(sets)]
        for k, pct in enumerate(COVERAGES):
            cells = [f"{_f(rc[s]['table'][k]['accuracy'])} ({rc[s]['table'][k]['unsure_included']})" for s in sets]
            lines.append(f"| {pct}% | " + " | ".join(cells) + " |")
        for s in sets:
            op = rc[s]["operating_point"]
            lines.append(f"\n{s} at the grader's operating point: {_f(op['decided_share'])} decided, accuracy "
                         f"{_f(op['accuracy_decided'])} on those ({_f(op['accuracy_all_strict'])} on all, strict).")
    t = report.get("throughput_minilm_cpu")
    if t:
        lines.append(f"\nThroughput (MiniLM, CPU, nothing cached): {t['answers']} answers in {t['warm_seconds']} s = "
                     f"{t['answers_per_second_warm']} answers/s warm; first batch in the process {t['first_batch_seconds']} s "
                     f"= {t['answers_per_second_first_batch']} answers/s; embedding the same {t['baseline_embed_texts']} "
                     f"texts alone {t['baseline_embed_seconds']} s (grading warm = {t['warm_ratio_to_embedding']}x that); "
                     f"load average {t['load_average_1min']} on {t['cpus']} CPUs.")
    return lines


def main(argv: list[str] | None = None) -> int:
    from tutor.grading.grader import OfflineGrader

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the SciEntsBank folder")
    parser.add_argument("--digiklausur", type=Path, default=DIGIKLAUSUR)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--limit", type=int, default=None, help="the first N rows of each file (a smoke run)")
    parser.add_argument("--no-speed", action="store_true", help="skip the throughput")
    parser.add_argument("--no-legacy", action="store_true", help="leave the previous grader out")
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh (no benchmarks/out/ cache)")
    args = parser.parse_args(argv)

    embedder = CachedEmbedder(None if args.no_cache else CACHE)
    grader = OfflineGrader(embedder=embedder)
    results, rc_scientsbank = scientsbank(grader, embedder, args.data, args.limit, not args.no_legacy)
    digi, rc_digi = digiklausur(grader, embedder, args.digiklausur, args.limit)
    embedder.save()
    report: dict[str, Any] = {
        "scientsbank": results, "digiklausur": digi,
        "risk_coverage": {"SciEntsBank (both test files)": rc_scientsbank, "DigiKlausur": rc_digi},
        "label_order": "contradictory < incorrect < correct", "limit": args.limit,
    }
    if not args.no_speed:
        report["throughput_minilm_cpu"] = throughput(scientsbank_test("test-unseen-questions", args.data),
                                                     min(500, args.limit or 500))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(report)))
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
