"""Fit the grader's belief (tutor/grading/belief.json): the pair model's reading and the evidence, weighed.

    python -m tutor.grading.fit_belief [--features all|evidence] [--C 0.3] [--cache FILE] [--out FILE]

Needs the bench extra (scikit-learn). The answers are the pair model's held-out questions: the same examples
and the same grouped split `python -m tutor.grading.train` makes (seed 13, holdout 0.2), so the pair model
never trained on any of them. The signals are what grading computes (`OfflineGrader.signals`). A quarter of
those questions (grouped) is kept out of the fit to check it: log-loss, macro-F1 and reliability of the
belief against the pair model alone; then the belief is fitted on all of them and written. DigiKlausur,
SciEntsBank's test sets and our held-out sets are never read here (`python -m benchmarks.grading` and
`python -m benchmarks.heldout` measure them).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from tutor.grading.belief import BELIEF_PATH, FEATURES, Belief, Blend
from tutor.grading.pair import PAIR_LABELS

GROUPS = {"all": FEATURES[:10], "evidence": FEATURES[4:10], "pair": FEATURES[:4]}


def held_examples(with_train: bool = False) -> list:
    from tutor.grading.train import COMPANION_ANSWERS, DATA, meaning_examples
    from tutor.grading.train_data import split_groups

    examples = meaning_examples(Path(DATA), Path(COMPANION_ANSWERS), random.Random(13))
    train, held = split_groups(examples, 0.2, random.Random(14))
    return (held, train) if with_train else held


def compute_signals(held: list) -> np.ndarray:
    from tutor.grading.grader import OfflineGrader
    from tutor.knowledge.embedder import MiniLMEmbedder

    grader = OfflineGrader(MiniLMEmbedder())
    out = []
    for start in range(0, len(held), 256):
        chunk = held[start:start + 256]
        out.append(grader.signals([(e.answer, e.reference, e.question) for e in chunk]))
        print(f"  signals {start + len(chunk)}/{len(held)}", flush=True)
    return np.concatenate(out)


def fit(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], c: float) -> Belief:
    from sklearn.linear_model import LogisticRegression

    cols = [FEATURES.index(f) for f in features]
    rows = x[:, cols]
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, max_iter=5000).fit((rows - mean) / scale, y)
    weights = np.zeros((len(PAIR_LABELS), len(cols)))
    bias = np.full(len(PAIR_LABELS), -20.0)
    weights[model.classes_] = model.coef_
    bias[model.classes_] = model.intercept_
    return Belief(weights, bias, mean, scale, tuple(features))


def report(p: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.metrics import f1_score

    loss = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-9, 1))))
    top, right = p.max(axis=1), p.argmax(axis=1) == y
    bins = []
    for lo in np.arange(0.3, 1.0, 0.1):
        idx = (top >= lo) & (top < lo + 0.1)
        if idx.sum():
            bins.append([round(float(lo), 1), int(idx.sum()), round(float(top[idx].mean()), 3), round(float(right[idx].mean()), 3)])
    return {"log_loss": round(loss, 4), "macro_f1": round(float(f1_score(y, p.argmax(axis=1), average="macro")), 3),
            "accuracy": round(float(right.mean()), 3), "reliability": bins}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.grading.fit_belief", description=__doc__.split("\n")[0])
    parser.add_argument("--features", choices=sorted(GROUPS) + ["blend"], default="blend",
                        help="blend (default): all signals within the pair model's training lengths, the evidence beyond")
    parser.add_argument("--C", type=float, default=0.3, help="inverse L2 strength of the logistic fit")
    parser.add_argument("--cache", default="benchmarks/out/belief-signals.npz", help="signals cached here ('' for none)")
    parser.add_argument("--out", default=str(BELIEF_PATH))
    args = parser.parse_args(argv)
    t0 = time.time()
    held, train = held_examples(with_train=True)
    y = np.array([PAIR_LABELS.index(e.label) for e in held])
    groups = np.array([e.group for e in held])
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists() and len(np.load(cache)["x"]) == len(held):
        x = np.load(cache)["x"]
    else:
        x = compute_signals(held)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, x=x)
    if x.shape[1] == len(FEATURES) - 1:  # signals cached before the answer's length was one
        x = np.concatenate([x, np.array([[len(e.answer.split())] for e in held], dtype=float)], axis=1)
    print(f"{len(held)} held-out answers, {len(set(groups))} questions; signals in {time.time() - t0:.0f} s", flush=True)
    names = sorted(set(groups))
    random.Random(15).shuffle(names)
    check_groups = set(names[: len(names) // 4])
    check = np.array([g in check_groups for g in groups])
    lengths = np.array([len(e.answer.split()) for e in train])
    lo, hi = (float(v) for v in np.percentile(lengths, [90, 99]))

    def fitted(rows: np.ndarray) -> Belief | Blend:
        if args.features != "blend":
            return fit(x[rows], y[rows], GROUPS[args.features], args.C)
        return Blend(fit(x[rows], y[rows], GROUPS["all"], args.C), fit(x[rows], y[rows], GROUPS["evidence"], args.C), lo, hi)

    trial = fitted(~check)
    pair_only = np.exp(x[check][:, :4])
    pair_only /= pair_only.sum(axis=1, keepdims=True)
    origins = np.array([e.origin for e in held])
    checked = {"belief": report(trial.probabilities(x[check]), y[check]), "pair_only": report(pair_only, y[check])}
    for origin in ("scientsbank", "beetle"):
        idx = origins[check] == origin
        if idx.any():
            checked[f"belief_{origin}"] = report(trial.probabilities(x[check][idx]), y[check][idx])
            checked[f"pair_only_{origin}"] = report(pair_only[idx], y[check][idx])
    print(json.dumps({"checked_on_unfitted_questions": checked}, indent=1), flush=True)
    final = fitted(np.ones(len(y), dtype=bool))
    data = final.to_json()
    data["about"] = {"fitted_on": f"the pair model's held-out questions: {len(held)} answers, {len(names)} questions",
                     "C": args.C, "training_answer_words_p90_p99": [lo, hi],
                     "checked": {k: {m: v[m] for m in ("log_loss", "macro_f1", "accuracy")} for k, v in checked.items()}}
    Path(args.out).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.features})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
