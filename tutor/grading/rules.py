"""The grader's rules over probabilities: how the pair model's and the stacker's readings combine, and how
P(correct, incomplete, contradictory, unrelated) becomes a decision. Pure numpy over (N, 4) arrays, so that
`benchmarks/fit_grader.py` fits the stacker with exactly the rules the grader applies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tutor.grading.features import FEATURES
from tutor.grading.model import PARTIAL_CREDIT


def comparison(sides: np.ndarray, named: Sequence[bool], stated: float = 0.4) -> np.ndarray:
    """Probabilities (4,) for an answer to a comparison from each side's judgement `sides` (S, 4) (the pair
    model on what the answer says of that side's term, against that side's point); `named`: which sides the
    answer speaks of. Every side spoken of: their mean. Some not spoken of: incomplete, as surely as the best
    side is stated in full or in part (P(correct) + P(incomplete) >= `stated`), unless a side spoken of is contradicted; else the mean over all
    sides, the silent ones unrelated."""
    named = np.asarray(named, dtype=bool)
    spoken = sides[named]
    if named.all() or not len(spoken):
        return sides.mean(axis=0)
    best = float((spoken[:, 0] + spoken[:, 1]).max())  # the side stated, in full or in part
    if (spoken.argmax(axis=1) == 2).any() or best < stated:
        silent = np.tile([0.0, 0.0, 0.0, 1.0], (int((~named).sum()), 1))
        return np.concatenate([spoken, silent]).mean(axis=0)
    return np.array([0.0, best, 0.0, 1.0 - best])


def credit(probabilities: np.ndarray) -> np.ndarray:
    """Expected credit of pair probabilities (N, 4) before support: P(correct) + PARTIAL_CREDIT x P(incomplete)."""
    return probabilities[:, 0] + PARTIAL_CREDIT * probabilities[:, 1]


def decide(probabilities: np.ndarray, support: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """0 correct, 1 incomplete (some credit), 2 no credit: the 3-way arg-max with the offsets, then an
    `incorrect` is incomplete when its supported partial credit outweighs P(unrelated)."""
    three = (np.log(np.clip(to_three_way(probabilities), 1e-12, 1.0)) + bias).argmax(axis=1)
    partial = probabilities[:, 1] * support >= probabilities[:, 3]
    return np.where(three == 0, 0, np.where((three == 1) & partial, 1, 2))


NEAR_COPY = 0.5  # share of the answer's content words that are the reference's, from which it is a near-copy
PAIR_DENIES = 0.3  # P(correct) under which the pair model's "not correct" stands for a near-copy


def guard_near_copies(stacked: np.ndarray, pair: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The stacker's probabilities, except for a near-copy of the reference that the pair model reads as not
    correct (P(correct) < PAIR_DENIES): there the pair model's stand, however the stacker would raise them.
    Word overlap and sentence similarity are high for "Dropout drops the learning rate ..." against "Dropout
    drops neurons ..."; only the model that reads both texts together sees the swapped concept, and the
    features must not talk it out of that. (benchmarks/fit_grader.py fits the stacker with this rule on.)"""
    near = ((features[:, FEATURES.index("lex_precision")] >= NEAR_COPY) & (pair[:, 0] < PAIR_DENIES)
            & (stacked[:, 0] > pair[:, 0]))
    return np.where(near[:, None], pair, stacked)


NOTES_DOUBT = 0.5  # against the notes, a pair-model P(correct) below this the stacker may not raise


def keep_pair_doubt(stacked: np.ndarray, pair: np.ndarray, notes: np.ndarray) -> np.ndarray:
    """The stacker's probabilities, except against the notes where the pair model doubts the answer
    (P(correct) < NOTES_DOUBT) and the stacker would raise it: there the pair model's stand. The stacker was
    fitted on school-science answers (SciEntsBank); on the notes' own points the pair model, which learnt from
    our answers to them, reads better, and the features' similarity is lifted by the shared topic ("Dropout
    makes the network bigger by duplicating layers" against the dropout point: correct 0.83 with the stacker)."""
    lifted = notes & (pair[:, 0] < NOTES_DOUBT) & (stacked[:, 0] > pair[:, 0])
    return np.where(lifted[:, None], pair, stacked)


def stack_inputs(pair: np.ndarray, features: np.ndarray) -> np.ndarray:
    """What the stacker reads: the pair model's log-probabilities next to the features, (N, 4 + F)."""
    return np.concatenate([np.log(np.clip(pair, 1e-6, 1.0)), features], axis=1)


def to_three_way(probabilities: np.ndarray) -> np.ndarray:
    """P(PAIR_LABELS) (N, 4) -> P(correct, incorrect, contradictory) (N, 3): incomplete and unrelated pool."""
    return np.stack([probabilities[:, 0], probabilities[:, 1] + probabilities[:, 3], probabilities[:, 2]], axis=1)
