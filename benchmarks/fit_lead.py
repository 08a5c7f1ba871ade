"""Fit the weights of the lead sentence's features (tutor/llms/lead.py) on the tuning sets' questions.

    python -m benchmarks.fit_lead [--l2 1.0] [--write]

Every question of benchmarks/ask_set.jsonl and ask_set2.jsonl, and every second turn of followups.jsonl and
followups2.jsonl, is answered offline as `tutor ask` / `tutor chat` answer it; each time the lead is chosen, its
candidates' features are kept, a candidate counting as right when it holds one of the question's facts (a
follow-up's keywords). The weights are a conditional logit (a softmax over each question's candidates) with an L2
pull towards the hand weights, fitted by L-BFGS; "meaning" stays at 1 (the scale). Questions none of whose
candidates holds a fact are left out. The held-out sets (ask_set3.jsonl, followups3.jsonl) are never read here:
measure on them after, with `python -m benchmarks.teaching --only-answers --ask benchmarks/ask_set3.jsonl ...`.
`--write` prints the WEIGHTS line to paste into tutor/llms/lead.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import in_process_settings, new_root  # noqa: E402

HERE = Path(__file__).resolve().parent
ASK = [HERE / "ask_set.jsonl", HERE / "ask_set2.jsonl"]
FOLLOWUPS = [HERE / "followups.jsonl", HERE / "followups2.jsonl"]


def collect() -> list[tuple[np.ndarray, np.ndarray]]:
    """(features of each candidate, whether it holds a fact) for every lead chosen on the tuning sets."""
    from tutor.learning.conversation import ChatSession, ask
    from tutor.learning.flows import CrewOptions
    from tutor.llms import answer as answer_mod
    from tutor.llms.lead import lead_features

    options = CrewOptions(model="offline")
    seen: list[tuple] = []
    original = answer_mod.choose_lead

    def spy(question, pool, notes, about_ideas=("", [], None), weights=None):
        seen.append((question, pool, notes, about_ideas))
        return original(question, pool, notes, about_ideas, weights)

    answer_mod.choose_lead = spy
    out = []
    try:
        for path in ASK:
            for row in (json.loads(line) for line in path.read_text().splitlines() if line.strip()):
                seen.clear()
                ask(row["question"], options)
                out += _examples(seen, row["facts"], lead_features)
        for path in FOLLOWUPS:
            for row in (json.loads(line) for line in path.read_text().splitlines() if line.strip()):
                chat = ChatSession(options=options, store=None)
                chat.handle(row["first"])
                seen.clear()
                chat.handle(row["second"])
                out += _examples(seen, row["keywords"], lead_features)
    finally:
        answer_mod.choose_lead = original
    return out


def _examples(seen: list[tuple], facts: list[str], lead_features) -> list[tuple[np.ndarray, np.ndarray]]:
    if not seen:
        return []
    question, pool, notes, about_ideas = seen[-1]
    fit, table = lead_features(question, pool, notes, about_ideas)
    right = np.array([any(f.lower() in c.text.lower() for f in facts) for c in fit])
    return [(table, right)] if right.any() and not right.all() else []


def fit(data: list[tuple[np.ndarray, np.ndarray]], l2: float) -> dict[str, float]:
    from scipy.optimize import minimize

    from tutor.llms.lead import FEATURES, HAND

    free = [k for k, f in enumerate(FEATURES) if f != "meaning"]
    prior = np.array([HAND[f] for f in FEATURES])

    def weights(theta: np.ndarray) -> np.ndarray:
        w = prior.copy()
        w[free] = theta
        return w

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = weights(theta)
        total, grad = 0.0, np.zeros(len(FEATURES))
        for x, right in data:
            z = x @ w
            z -= z.max()
            p = np.exp(z) / np.exp(z).sum()
            mass = p[right].sum()
            total -= np.log(max(mass, 1e-12))
            q = np.where(right, p, 0.0) / max(mass, 1e-12)  # the right candidates' share
            grad -= (q - p) @ x
        total += l2 * float(((theta - prior[free]) ** 2).sum())
        g = grad[free] + 2 * l2 * (theta - prior[free])
        return total, g

    result = minimize(loss, prior[free], jac=True, method="L-BFGS-B")
    return {f: round(float(v), 3) for f, v in zip(FEATURES, weights(result.x))}


def top1(data: list[tuple[np.ndarray, np.ndarray]], w: dict[str, float]) -> float:
    from tutor.llms.lead import FEATURES

    v = np.array([w[f] for f in FEATURES])
    return float(np.mean([right[int(np.argmax(x @ v))] for x, right in data]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l2", type=float, default=1.0, help="pull towards the hand weights")
    parser.add_argument("--write", action="store_true", help="print the WEIGHTS line for tutor/llms/lead.py")
    args = parser.parse_args(argv)
    in_process_settings(new_root())
    from tutor.llms.lead import HAND

    data = collect()
    rng = np.random.default_rng(26)
    order = rng.permutation(len(data))
    folds = [order[k::5] for k in range(5)]
    cv = []
    for k in range(5):  # five-fold by question: how the fit does on questions it did not see
        train = [data[i] for i in order if i not in set(folds[k])]
        test = [data[i] for i in folds[k]]
        cv.append((top1(test, HAND), top1(test, fit(train, args.l2))))
    weights = fit(data, args.l2)
    print(json.dumps({"questions": len(data), "hand_in_sample": round(top1(data, HAND), 3),
                      "fitted_in_sample": round(top1(data, weights), 3),
                      "cross_validated_hand": round(float(np.mean([h for h, _ in cv])), 3),
                      "cross_validated_fitted": round(float(np.mean([f for _, f in cv])), 3), "weights": weights}, indent=1))
    if args.write:
        print(f"WEIGHTS = {weights!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
