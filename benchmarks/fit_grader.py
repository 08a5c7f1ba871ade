"""Fit the grader's stacker (tutor/grading/stacker.json): the pair model's probabilities and the features,
combined by a multinomial logistic regression.

    python -m tutor.grading.train --holdout 0.2 --out benchmarks/out/pair-holdout.safetensors
    python benchmarks/fit_grader.py [--pairs benchmarks/out/pair-holdout.holdout.jsonl]
                                    [--model benchmarks/out/pair-holdout.safetensors] [--out tutor/grading/stacker.json]

Train data only. The stacker must learn how far to trust the pair model on questions it has not seen,
so it is fitted on the pairs the pair model was *not* trained on: the 20% of train questions that
`--holdout 0.2` kept out (real answers and their hard cases), scored by that holdout model. The shipped
pair model is then trained on everything (`--holdout 0`). The regularisation and the decision offsets
are chosen by 5-fold cross-validation grouped by question inside those pairs; the same folds also report
whether stacking beats the pair model alone; if it does not, only the pair model's decision offsets are
written (`"stack": false`). The grader's near-copy rule (`tutor.grading.grader.guard_near_copies`) is applied
to the cross-validated probabilities before anything is chosen, as the grader applies it.
scikit-learn is needed for this script only; the grader reads the JSON with numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from tutor.grading.metrics import macro_f1  # noqa: F401  (benchmarks/grading.py imports it from here)

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "datasets" / "scientsbank"
TRAIN = "sciEntsBank_3way_train.jsonl"
TESTS = ("test-unseen-answers", "test-unseen-questions")
CACHE = REPO / "benchmarks" / "out" / "embeddings-minilm.npz"
HOLDOUT_MODEL = REPO / "benchmarks" / "out" / "pair-holdout.safetensors"


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def items_of(rows: list[dict]) -> list[dict]:
    return [{"answer": r["student_answer"], "reference": r["reference_answer"], "question": r["question"]} for r in rows]


class CachedEmbedder:
    """MiniLM with its vectors kept on disk between runs (benchmarks/out/), so refits take seconds."""

    def __init__(self, path: Path | None = CACHE) -> None:
        from tutor.knowledge.embedder import MiniLMEmbedder

        self.inner = MiniLMEmbedder()
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

    def name(self) -> str:
        return self.inner.name()

    def save(self) -> None:
        if self.dirty and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.vectors)
            np.savez(self.path, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))


def merit(s: dict) -> float:
    """What a bias or a stacker is chosen by: macro-F1 on real answers, less what it misses of the targets
    (attacks below 0.4 on 90%, filler kept at 0.7 on 95%, correct answers scored 0.7 on 80%)."""
    m = (s["macro_f1"] + 0.5 * min(0.0, s["attacks_below_0.4"] - 0.9) + 0.5 * min(0.0, s["filler_at_0.7"] - 0.95)
         + 0.5 * min(0.0, s["correct_at_0.7"] - 0.8))
    # Held-out companion questions (our learners' deep-learning answers): good ones at 0.7, wrong ones under 0.4.
    for key in ("companion_good_at_0.7", "companion_wrong_below_0.4"):
        if s.get(key) is not None:
            m += 0.5 * min(0.0, s[key] - 0.9)
    return m


def tune_for_merit(rows: list[dict], probs: np.ndarray, support: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Decision offsets around the macro-F1 ones that maximise `merit` (the score bands move with them)."""
    best, best_bias = merit(summary(rows, probs, support, start)), start
    for b0 in np.arange(-1.0, 1.01, 0.1):  # a push towards or away from `correct`
        for b2 in (0.0, 0.25, -0.25):
            bias = start + np.array([b0, 0.0, b2])
            m = merit(summary(rows, probs, support, bias))
            if m > best + 1e-9:
                best, best_bias = m, bias
    return best_bias


def tune_decision_bias(probabilities: np.ndarray, y: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """Offsets added to log P(label) (3-way) that maximise macro-F1 (the rare `contradictory` needs a push)."""
    grid = np.arange(-1.5, 1.51, 0.05) if grid is None else grid
    logp = np.log(np.clip(probabilities, 1e-12, 1.0))
    best, best_bias = -1.0, np.zeros(3)
    for b1 in grid:
        for b2 in grid:
            bias = np.array([0.0, b1, b2])
            f1 = _macro_f1_codes(y, (logp + bias).argmax(axis=1))
            if f1 > best + 1e-9:
                best, best_bias = f1, bias
    return best_bias


def _macro_f1_codes(y: np.ndarray, pred: np.ndarray) -> float:
    f1 = []
    for k in range(3):
        tp = np.sum((y == k) & (pred == k))
        denominator = np.sum(y == k) + np.sum(pred == k)
        f1.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(f1))


def questions_by_group(datasets: Path) -> dict[str, str]:
    from tutor.grading.train_data import TRAIN_FILES

    out = {}
    for name in TRAIN_FILES:
        origin = "beetle" if "beetle" in name else "scientsbank"
        for row in load_rows(datasets / name):
            out[f"{origin}:{row['qid']}"] = row["question"]
    return out


def summary(rows: list[dict], probs: np.ndarray, support: np.ndarray, bias: np.ndarray) -> dict:
    """Macro-F1 on real answers, attacks under 0.4 and filler at 0.7 or more, for one set of probabilities."""
    from tutor.grading.grader import OfflineGrader
    from tutor.grading.rules import to_three_way
    from tutor.grading.model import LABELS

    score = OfflineGrader.score_from_probabilities(probs, support, bias)
    real = np.array([r["origin"] in ("scientsbank", "beetle") for r in rows])
    three = {"correct": 0, "incomplete": 1, "unrelated": 1, "contradictory": 2}
    y = np.array([three[r["label"]] for r in rows])
    pred = (np.log(np.clip(to_three_way(probs), 1e-12, 1)) + bias).argmax(1)
    kept = ("scientsbank", "beetle", "filler", "notes", "peer", "notes_paraphrase")
    good_kinds = ("companion_paraphrase", "companion_terse", "companion_informal")
    wrong_kinds = ("companion_swapped", "companion_misconception", "companion_sibling")
    attack = np.array([r["origin"] not in kept and not r["origin"].startswith("companion_") for r in rows])
    good = np.array([r["origin"] in good_kinds for r in rows])
    wrong = np.array([r["origin"] in wrong_kinds for r in rows])
    filler = np.array([r["origin"] == "filler" for r in rows])
    peer = np.array([r["origin"] == "peer" for r in rows])
    correct = real & (y == 0)
    return {"macro_f1": round(_macro_f1_codes(y[real], pred[real]), 3), "labels": list(LABELS),
            "correct_at_0.7": round(float(np.mean(score[correct] >= 0.7)), 3),
            "attacks_below_0.4": round(float(np.mean(score[attack] < 0.4)), 3),
            "filler_at_0.7": round(float(np.mean(score[filler] >= 0.7)), 3),
            "peer_at_0.7": round(float(np.mean(score[peer] >= 0.7)), 3) if peer.any() else None,
            "companion_good_at_0.7": round(float(np.mean(score[good] >= 0.7)), 3) if good.any() else None,
            "companion_wrong_below_0.4": round(float(np.mean(score[wrong] < 0.4)), 3) if wrong.any() else None}


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    from tutor.grading.features import FEATURES
    from tutor.grading.grader import STACKER_PATH, OfflineGrader
    from tutor.grading.rules import guard_near_copies, stack_inputs, to_three_way
    from tutor.grading.pair import PAIR_LABELS, PairModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=HOLDOUT_MODEL)
    parser.add_argument("--pairs", type=Path, default=None, help="default: the --model path with .holdout.jsonl")
    parser.add_argument("--datasets", type=Path, default=DATA.parent)
    parser.add_argument("--out", type=Path, default=STACKER_PATH)
    parser.add_argument("--no-cache", action="store_true", help=f"embed everything afresh instead of reading {CACHE.name}")
    args = parser.parse_args(argv)

    pairs_path = args.pairs or args.model.with_suffix(".holdout.jsonl")
    rows = load_rows(pairs_path)
    questions = questions_by_group(args.datasets)
    items = [{"answer": r["answer"], "reference": r["reference"], "question": r.get("question") or questions.get(r["group"], "")}
             for r in rows]
    embedder = CachedEmbedder(None if args.no_cache else CACHE)
    grader = OfflineGrader(embedder=embedder, pair=PairModel(args.model), stacker=False)
    started = time.perf_counter()
    features = grader.features(items)
    pair = grader.pair_probabilities(items)
    embedder.save()
    support = features[:, FEATURES.index("support")]
    x = stack_inputs(pair, features)
    print(f"{len(rows)} held-out pairs, inputs {x.shape}, in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    y = np.array([PAIR_LABELS.index(r["label"]) for r in rows])
    groups = np.array([r["group"] for r in rows])
    three = np.array([{"correct": 0, "incomplete": 1, "unrelated": 1, "contradictory": 2}[r["label"]] for r in rows])
    real = np.array([r["origin"] in ("scientsbank", "beetle") for r in rows])

    folds = list(GroupKFold(n_splits=5).split(x, y, groups))
    results = {}
    for c in (0.01, 0.03, 0.1, 0.3, 1.0):
        oof = np.zeros((len(y), len(PAIR_LABELS)))
        for train, held in folds:
            scaler = StandardScaler().fit(x[train])
            model = LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(x[train]), y[train])
            oof[held] = model.predict_proba(scaler.transform(x[held]))
        oof = guard_near_copies(oof, pair, features)  # as the grader applies it
        bias = tune_for_merit(rows, oof, support, tune_decision_bias(to_three_way(oof)[real], three[real]))
        results[c] = (oof, bias, summary(rows, oof, support, bias))
        print(f"C={c:<5} grouped CV: {results[c][2]}", file=sys.stderr)
    pair_bias = tune_for_merit(rows, pair, support, tune_decision_bias(to_three_way(pair)[real], three[real]))
    alone = summary(rows, pair, support, pair_bias)
    print(f"pair model alone: {alone}", file=sys.stderr)

    best_c = max(results, key=lambda c: merit(results[c][2]))
    _, bias, cv = results[best_c]
    if merit(cv) <= merit(alone):
        weights = {"about": "Decision offsets for the pair model alone (stacking did not beat it in grouped CV); "
                            "fitted by benchmarks/fit_grader.py.", "stack": False,
                   "decision_bias": pair_bias.round(4).tolist(),
                   "fit": {"pairs": str(pairs_path.name), "rows": len(rows), "pair_alone": alone,
                           "best_stacker": {"C": best_c, "cv": cv}}}
        args.out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
        print(f"stacking does not beat the pair model alone: wrote its decision offsets to {args.out}", file=sys.stderr)
        return 0
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=best_c, max_iter=5000).fit(scaler.transform(x), y)
    assert list(model.classes_) == list(range(len(PAIR_LABELS)))
    weights = {
        "about": "Multinomial logistic regression over the pair model's log-probabilities and the grader's features; "
                 "fitted by benchmarks/fit_grader.py on the pairs the holdout pair model did not see.",
        "features": list(FEATURES),
        "labels": list(PAIR_LABELS),
        "mean": scaler.mean_.round(6).tolist(),
        "scale": scaler.scale_.round(6).tolist(),
        "coef": model.coef_.round(6).tolist(),
        "intercept": model.intercept_.round(6).tolist(),
        "decision_bias": bias.round(4).tolist(),
        "pair_decision_bias": pair_bias.round(4).tolist(),  # with another embedder the pair model answers alone
        "embedder": "tutor-all-minilm-l6-v2",
        "fit": {
            "pairs": str(pairs_path.name), "pairs_sha256": hashlib.sha256(pairs_path.read_bytes()).hexdigest(),
            "rows": len(rows), "C": best_c, "folds": "5-fold GroupKFold by question", "cv": cv, "pair_alone": alone,
        },
    }
    args.out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: C={best_c}, grouped CV {cv} (pair model alone: {alone})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
