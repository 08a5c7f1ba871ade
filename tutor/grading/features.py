"""Features of an (answer, reference, question) item: what the key points, the words and the embeddings say.

They give the grader what the pair model does not: the share of what the answer says that the reference
backs (`support`, the partial credit of an incomplete answer), which reference clauses the answer matches
in words or meaning, and the negation, opposite-word, option-letter and number cues the feedback names.
The fitted stacker (`tutor.grading.grader`) reads them next to the pair model's probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tutor.errors import UsageError
from tutor.grading.model import GradingItem
from tutor.grading.text import (
    NUMBER, antonym_conflicts, bigrams, choices, clean_answer, content_stems, content_words, fuzzy_recall,
    key_points, leading_choice, negated_stems, stem, tokens, truncate,
)

FEATURES = (
    "cos_answer_reference", "cos_answer_question", "cos_reference_question", "cos_gain_over_question",
    "align_recall", "align_precision", "align_worst_point", "coverage", "conflict_points",
    "soft_recall", "soft_precision", "soft_coverage", "support", "cos_new_content", "fuzzy_recall_new",
    "choice_conflict",
    "lex_recall_new", "lex_recall", "lex_precision", "bigram_recall", "question_copy", "off_reference",
    "negation_xor", "negation_conflict", "antonym_conflict", "lead_match", "lead_mismatch",
    "number_recall", "number_conflict", "log_length_ratio", "log_answer_words", "short_answer",
    "log_reference_points",
)


@dataclass
class Prepared:
    """An item's texts after cleaning, with everything the features need but the embeddings."""

    answer: str
    reference: str
    question: str
    answer_clauses: list[str]
    points: list[str]
    citations: list[dict[str, str]]
    new_reference: str  # the reference's content words that the question does not already hold
    new_answer: str  # the same for the answer
    blank: bool  # nothing was written (as opposed to everything being removed by `clean_answer`)
    texts: list[str] = field(default_factory=list)  # what to embed
    concept: str = ""  # the concept asked about, when known: its name earns no credit (grader._named_pairs)


@dataclass
class GraderConfig:
    """Limits and the thresholds that decide which key points count as covered (for covered / missed)."""

    max_answer_chars: int = 4000  # longer answers are cut at a word boundary: a few paragraphs is plenty
    max_points: int = 32  # clauses per text, answer and reference alike
    point_similarity: float = 0.6  # a key point is covered from this clause similarity (MiniLM scale) ...
    point_lexical: float = 0.5  # ... with this share of its new content words, or from twice this alone
    cache_size: int = 50_000  # embeddings kept per grader


def max_sims(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For clause embeddings rows (R, D) and cols (A, D): best match of each row (R,) and each col (A,)."""
    sims = rows @ cols.T  # (R, A)
    return sims.max(axis=1), sims.max(axis=0)


def word_matrix(rows: list[np.ndarray], cols: list[np.ndarray]) -> np.ndarray:
    """Cosine similarities (R, C) of two lists of unit vectors; zeros in place of an empty side."""
    if not rows or not cols:
        return np.zeros((max(1, len(rows)), max(1, len(cols))))
    return np.stack(rows) @ np.stack(cols).T


def word_credit(similarity: float) -> float:
    """Credit for a reference word matched only by meaning: MiniLM puts synonyms at 0.5-0.9, unrelated words below."""
    return float(np.clip((similarity - 0.5) / 0.4, 0.0, 1.0))




def prepare(item: GradingItem, config: GraderConfig) -> Prepared:
    reference = (item.reference or "").strip()
    if not reference:
        raise UsageError("cannot grade without a reference answer")
    reference = truncate(reference, config.max_answer_chars)
    question = truncate((item.question or "").strip(), config.max_answer_chars)
    answer = clean_answer(item.answer or "", question, config.max_answer_chars)
    given = [truncate(t.strip(), config.max_answer_chars) for t in item.points or [] if t and t.strip()]
    points = given[: config.max_points] or key_points(reference, config.max_points) or [reference]
    clauses = key_points(answer, config.max_points) if answer else []
    citations = [{"source": str(c.get("source", "")), "section": str(c.get("section", ""))} for c in item.citations or []]
    words = content_words(reference) + content_words(answer)
    # What each side says beyond the question, as a bag of words: the answer's new content vs the reference's.
    asked = set(content_stems(question))
    new_reference = " ".join(w for w in content_words(reference) if stem(w) not in asked)
    new_answer = " ".join(w for w in content_words(answer) if stem(w) not in asked)
    texts = [reference, *points] + ([answer, *clauses] if answer else []) + ([question] if question else [])
    texts += [t for t in (new_reference, new_answer) if t] + words
    blank = not (item.answer or "").strip()
    return Prepared(
        answer, reference, question, clauses, points, citations, new_reference, new_answer, blank, texts,
        (item.concept or "").strip(),
    )


def item_details(p: Prepared, vec: Callable[[str], np.ndarray], config: GraderConfig) -> dict[str, Any]:
    """Features of one item, and the per-point facts the feedback and the score are built from."""
    cfg = config
    n_points = len(p.points)
    if not p.answer:
        return {"features": np.zeros(len(FEATURES)), "support": 0.0, "covered": [False] * n_points,
                "conflicts": [[] for _ in p.points], "empty": True}
    a, r = vec(p.answer), vec(p.reference)
    q = vec(p.question) if p.question else None
    point_vecs = np.stack([vec(t) for t in p.points])  # (P, D)
    clause_vecs = np.stack([vec(t) for t in p.answer_clauses or [p.answer]])  # (C, D)
    point_best, clause_best = max_sims(point_vecs, clause_vecs)  # (P,), (C,)

    answer_words, reference_words = tokens(p.answer), tokens(p.reference)
    a_stems, r_stems = set(content_stems(p.answer)), set(content_stems(p.reference))
    q_stems = set(content_stems(p.question))
    new_ref = (r_stems - q_stems) or r_stems  # what the reference adds to the question
    a_neg, r_neg = negated_stems(p.answer), negated_stems(p.reference)
    shared = a_stems & r_stems

    # Word-level alignment, so that synonyms count: (Rw, Aw) similarities of content words.
    ref_words, ans_words = content_words(p.reference), content_words(p.answer)
    word_sims = word_matrix([vec(w) for w in ref_words], [vec(w) for w in ans_words])  # (Rw, Aw)
    ref_best = {stem(w): float(best) for w, best in zip(ref_words, word_sims.max(axis=1))}  # by stem
    is_new = np.array([stem(w) not in q_stems for w in ref_words]) if ref_words else np.zeros(0, bool)
    if not is_new.any():
        is_new = np.ones(len(ref_words), bool)

    covered, conflicts, credit = [], [], []
    for text, sim in zip(p.points, point_best):
        stems = set(content_stems(text))
        own = (stems - q_stems) or stems
        lexical = len(own & a_stems) / len(own) if own else 0.0
        point_neg = negated_stems(text)
        clash = [("negation", w) for w in sorted(stems & a_stems) if (w in point_neg) != (w in a_neg)]
        clash += [("opposite", mine, theirs) for mine, theirs in antonym_conflicts(a_stems, stems, a_neg, point_neg)]
        conflicts.append(clash)
        hit = (sim >= cfg.point_similarity and lexical >= cfg.point_lexical) or lexical >= min(1.0, 2 * cfg.point_lexical)
        covered.append(bool(hit and not clash))
        # A word earns full credit when its stem is in the answer, part of it for a close synonym.
        soft = [1.0 if stem in a_stems else word_credit(ref_best.get(stem, 0.0)) for stem in own]
        credit.append(0.0 if clash else float(np.mean(soft)) if soft else lexical)

    # Support: how much of what the answer adds to the question the reference backs (a word caught in a
    # conflict backs nothing). It decides the partial credit of an incomplete answer.
    clashing = {c[1] for cs in conflicts for c in cs}
    backed = []
    for j, word in enumerate(ans_words):
        st = stem(word)
        if st in q_stems and st not in clashing:
            continue  # the question's own words: neither for nor against
        if st in clashing:
            backed.append(0.0)
        else:
            backed.append(1.0 if st in r_stems else word_credit(float(word_sims[:, j].max())))
    support = float(np.mean(backed)) if backed else 0.0

    offered = choices(tokens(p.question))
    cos_ar = float(a @ r)
    cos_aq = float(a @ q) if q is not None else 0.0
    cos_rq = float(r @ q) if q is not None else 0.0
    ref_bigrams = bigrams(content_stems(p.reference))
    lead_a, lead_r = leading_choice(p.answer), leading_choice(p.reference)
    numbers_r = {w for w in reference_words if NUMBER.match(w)} - {w for w in tokens(p.question) if NUMBER.match(w)}
    numbers_a = {w for w in answer_words if NUMBER.match(w)}
    n_answer, n_reference = len(content_stems(p.answer)), len(content_stems(p.reference))
    features = {
        "cos_answer_reference": cos_ar,
        "cos_answer_question": cos_aq,
        "cos_reference_question": cos_rq,
        "cos_gain_over_question": cos_ar - cos_aq if q is not None else 0.0,
        "align_recall": float(point_best.mean()),
        "align_precision": float(clause_best.mean()),
        "align_worst_point": float(point_best.min()),
        "coverage": sum(covered) / n_points,
        "conflict_points": sum(bool(c) for c in conflicts) / n_points,
        "soft_recall": float(word_sims.max(axis=1)[is_new].mean()) if ref_words else 0.0,
        "soft_precision": float(word_sims.max(axis=0).mean()) if ans_words else 0.0,
        "soft_coverage": float(np.mean(credit)),
        "support": support,
        "cos_new_content": float(vec(p.new_answer) @ vec(p.new_reference)) if p.new_answer and p.new_reference else 0.0,
        "fuzzy_recall_new": fuzzy_recall(new_ref, a_stems, ans_words),
        "choice_conflict": float(bool(offered & a_stems - r_stems) and bool(offered & r_stems - a_stems)),
        "lex_recall_new": len(new_ref & a_stems) / len(new_ref) if new_ref else 0.0,
        "lex_recall": len(shared) / len(r_stems) if r_stems else 0.0,
        "lex_precision": len(shared) / len(a_stems) if a_stems else 0.0,
        "bigram_recall": len(ref_bigrams & bigrams(content_stems(p.answer))) / len(ref_bigrams) if ref_bigrams else 0.0,
        "question_copy": len((a_stems & q_stems) - r_stems) / len(a_stems) if a_stems else 0.0,
        "off_reference": len(a_stems - r_stems - q_stems) / len(a_stems) if a_stems else 0.0,
        "negation_xor": float(bool(a_neg) != bool(r_neg)),
        "negation_conflict": float(any(c[0] == "negation" for cs in conflicts for c in cs)),
        "antonym_conflict": min(2.0, float(len(antonym_conflicts(a_stems, r_stems, a_neg, r_neg)))),
        "lead_match": float(lead_a is not None and lead_a == lead_r),
        "lead_mismatch": float(lead_a is not None and lead_r is not None and lead_a != lead_r),
        "number_recall": len(numbers_r & numbers_a) / len(numbers_r) if numbers_r else 0.0,
        "number_conflict": float(bool(numbers_r) and bool(numbers_a) and not numbers_r & numbers_a),
        "log_length_ratio": float(np.clip(math.log((1 + n_answer) / (1 + n_reference)), -3.0, 3.0)),
        "log_answer_words": math.log1p(n_answer),
        "short_answer": float(n_answer <= 2),
        "log_reference_points": math.log(n_points),
    }
    return {
        "features": np.array([features[name] for name in FEATURES]),
        "support": support,
        "covered": covered,
        "conflicts": conflicts,
        "surface": {stem(w): w for w in reversed(reference_words + answer_words)},  # stem -> a word as written
        "empty": False,
    }

