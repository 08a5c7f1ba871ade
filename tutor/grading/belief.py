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
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

BELIEF_PATH = Path(__file__).with_name("belief.json")
FEATURES = ("log_p_correct", "log_p_incomplete", "log_p_contradictory", "log_p_unrelated",
            "recall", "soft_recall", "lexical_recall", "precision", "similarity", "length")
FLOOR = 1e-4


def signals(evidence, pair: np.ndarray, similarity: float, point_words: int) -> np.ndarray:
    """The belief's inputs (FEATURES) for one answer; `evidence` None (nothing written) gives the empty answer's."""
    logs = np.log(np.clip(np.asarray(pair, dtype=np.float64), FLOOR, 1.0))
    if evidence is None:
        return np.concatenate([logs, [0.0, 0.0, 0.0, 0.0, 0.0, math.log(1.0 / (point_words + 1))]])
    length = math.log((evidence.answer_words + 1) / (point_words + 1))
    return np.concatenate([logs, [evidence.recall, evidence.soft_recall, evidence.lexical_recall, evidence.precision,
                                  similarity, length]])


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
        meta = {k: v for k, v in data.items() if k not in ("features", "weights", "bias", "mean", "scale")}
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


@lru_cache(maxsize=2)
def shared_belief(path: str = str(BELIEF_PATH)) -> Belief | PairOnly:
    file = Path(path)
    if not file.exists():
        return PairOnly()
    return Belief.from_json(json.loads(file.read_text(encoding="utf-8")))
