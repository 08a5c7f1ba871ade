"""What the grader believes of an answer: the pair model's reading and the evidence, weighed together.

The pair model reads meaning; on real learners' answers to questions it never saw it is right less often
than its own calibration says (macro-F1 0.35 on held-out SciEntsBank questions), and on long answers it
was never trained on it reads little. The evidence (how much of the point the answer states, word by word
and by meaning, how much of the answer is on the point, the two sentences' cosine) transfers: it carries
no trace of any training set. So the belief is a small multinomial logistic model over both:

    inputs   log P(correct, incomplete, contradictory, unrelated) of the pair model (calibrated),
             recall, soft recall, lexical recall, precision (tutor.grading.evidence),
             the cosine of the answer's and the point's sentence embeddings,
             log((answer words + 1) / (point words + 1))
    output   P(correct, incomplete, contradictory, unrelated)

fitted by `python -m tutor.grading.fit_belief` on the pair model's held-out questions only (answers the pair
model never trained on, so the weights learn how far to trust it there), with its calibration checked on a
part of those questions the fit never saw. DigiKlausur is never read by the fit. The weights live in
`belief.json` beside this file; without it the belief is the pair model's reading alone.

Two fits are blended by the answer's length (`Blend`): all the inputs for answers as long as the pair model's
training answers, the evidence alone for longer ones (beyond their 99th percentile), where the pair model,
which reads at most 256 tokens and never saw such answers, says little that holds. The belief gives the score
(tutor.grading.decision: the expected credit); the verdicts stay with the evidence and the pair model.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

BELIEF_PATH = Path(__file__).with_name("belief.json")
FEATURES = ("log_p_correct", "log_p_incomplete", "log_p_contradictory", "log_p_unrelated",
            "recall", "soft_recall", "lexical_recall", "precision", "similarity", "length", "words")
FLOOR = 1e-4


def signals(evidence, pair: np.ndarray, similarity: float, point_words: int, answer_words: int = 0) -> np.ndarray:
    """The belief's inputs (FEATURES) for one answer; `evidence` None (nothing written) gives the empty answer's.
    The last, the answer's length in words, is no input of a fit: it chooses between the blend's two fits."""
    logs = np.log(np.clip(np.asarray(pair, dtype=np.float64), FLOOR, 1.0))
    if evidence is None:
        return np.concatenate([logs, [0.0, 0.0, 0.0, 0.0, 0.0, math.log(1.0 / (point_words + 1)), 0.0]])
    length = math.log((evidence.answer_words + 1) / (point_words + 1))
    return np.concatenate([logs, [evidence.recall, evidence.soft_recall, evidence.lexical_recall, evidence.precision,
                                  similarity, length, answer_words]])


class Belief:
    """P(PAIR_LABELS) from `signals`: softmax(W standardised(x) + b)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, mean: np.ndarray, scale: np.ndarray,
                 features: tuple[str, ...] = FEATURES, meta: dict | None = None) -> None:
        self.weights, self.bias = np.asarray(weights, float), np.asarray(bias, float)
        self.mean, self.scale = np.asarray(mean, float), np.asarray(scale, float)
        self.columns = [FEATURES.index(f) for f in features]
        self.features = tuple(features)
        self.meta = meta or {}

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(N, 4) for (N, len(FEATURES)) signals, or (4,) for one row."""
        x = np.asarray(x, dtype=np.float64)
        rows = np.atleast_2d(x)[:, self.columns]
        logits = ((rows - self.mean) / self.scale) @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return p[0] if x.ndim == 1 else p

    def to_json(self) -> dict:
        return {"features": list(self.features), "weights": np.round(self.weights, 6).tolist(),
                "bias": np.round(self.bias, 6).tolist(), "mean": np.round(self.mean, 6).tolist(),
                "scale": np.round(self.scale, 6).tolist(), **self.meta}

    @classmethod
    def from_json(cls, data: dict) -> "Belief":
        meta = {k: v for k, v in data.items() if k not in ("features", "weights", "bias", "mean", "scale", "about")}
        return cls(np.array(data["weights"]), np.array(data["bias"]), np.array(data["mean"]), np.array(data["scale"]),
                   tuple(data["features"]), meta)


class PairOnly:
    """The belief without its weights: the pair model's reading as it is."""

    features = FEATURES[:4]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        p = np.exp(np.atleast_2d(x)[:, :4])
        p /= p.sum(axis=1, keepdims=True)
        return p[0] if x.ndim == 1 else p


class Blend:
    """`within` for answers as long as those the pair model trained on, `beyond` (the evidence alone) for longer
    ones, linearly between the training answers' `lo` and `hi` lengths in words (their 90th and 99th
    percentiles): out of its training range the pair model's reading is not weighed at all."""

    def __init__(self, within: Belief, beyond: Belief, lo: float, hi: float) -> None:
        self.within, self.beyond, self.lo, self.hi = within, beyond, float(lo), float(hi)
        self.features = FEATURES

    def weight(self, words: np.ndarray) -> np.ndarray:
        return np.clip((self.hi - words) / max(self.hi - self.lo, 1.0), 0.0, 1.0)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        rows = np.atleast_2d(x)
        w = self.weight(rows[:, FEATURES.index("words")])[:, None]
        p = w * self.within.probabilities(rows) + (1 - w) * self.beyond.probabilities(rows)
        return p[0] if x.ndim == 1 else p

    def to_json(self) -> dict:
        return {"within": self.within.to_json(), "beyond": self.beyond.to_json(), "lo": self.lo, "hi": self.hi}


@lru_cache(maxsize=2)
def shared_belief(path: str = str(BELIEF_PATH)) -> Belief | Blend | PairOnly:
    file = Path(path)
    if not file.exists():
        return PairOnly()
    return load(json.loads(file.read_text(encoding="utf-8")))


def load(data: dict) -> Belief | Blend:
    data = {k: v for k, v in data.items() if k != "about"}
    if "within" in data:
        return Blend(Belief.from_json(data["within"]), Belief.from_json(data["beyond"]), data["lo"], data["hi"])
    return Belief.from_json(data)
