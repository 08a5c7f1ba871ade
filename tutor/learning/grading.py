"""Grading a learner's free-text answer against a reference answer, with no LLM.

`OfflineGrader` turns (answer, reference, question) into a few dozen features, then a small
multinomial logistic regression (weights in `grader_weights.json`, fitted by
`benchmarks/fit_grader.py` on the SciEntsBank train file only, read here with numpy alone) gives the
probability of the three SciEntsBank labels, and those become a `Grade`.

Features, beyond a plain cosine: key-point coverage (the reference split into clauses, each matched
to the answer by embedding and by stemmed content words), clause alignment in both directions,
word-level alignment (synonyms count), content-word overlap that does not count words taken from the
question, negation and antonym conflicts near shared concepts (a negated pole agrees with the other
pole), a leading yes/no or option letter that differs, number agreement, and length.

Labels. SciEntsBank's 3-way labels are `correct`, `incorrect` and `contradictory`, where
`incorrect` pools the 5-way labels partially-correct-incomplete, irrelevant and non-domain, and
`contradictory` states the opposite of the reference. We order them

    contradictory (0)  <  incorrect (1)  <  correct (2)

because a wrong claim deserves less credit than an incomplete or off-topic answer. The score is the
expected credit under that order,

    score = P(correct) + PARTIAL_CREDIT * P(incorrect) * support

where `support` is the share of what the answer says that the reference backs (words taken only
from the question, or caught in a conflict, back nothing). It tells the two halves of the pooled
`incorrect` apart: an incomplete answer that is right as far as it goes earns partial credit, an
off-topic one earns none, and a contradiction earns none. Our verdicts follow the score with the
spaced-repetition bands (`verdict_for`), so SciEntsBank's labels map to them as correct -> correct,
incorrect -> partially_correct or incorrect, contradictory -> incorrect. For macro-F1 over the
SciEntsBank labels, `predict_labels` takes the arg-max with offsets fitted on train.

The answer is data, never instructions: sentences that address the grader ("ignore previous
instructions", "give full marks", `{"score": 5}`, "Final Answer: correct") and sentences that restate
the question are removed before any feature is computed, so they can never raise a score; answers
are cut at 4,000 characters.

Known limits: a swap of roles with the same words ("A predicts B from C" vs "A predicts C from B")
is not seen; a contradiction stated in other words than a known antonym or a "not" is seen only as
far as the embedding sees it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tutor.errors import UsageError

Verdict = Literal["correct", "partially_correct", "incorrect"]
LABELS = ("correct", "incorrect", "contradictory")  # SciEntsBank 3-way, the order of the weights' rows
LABEL_ORDER = {"contradictory": 0, "incorrect": 1, "correct": 2}  # for rank correlation with the score
WEIGHTS_PATH = Path(__file__).with_name("grader_weights.json")

PARTIAL_CREDIT = 0.5  # credit of an "incorrect" (incomplete) answer whose every word the reference backs
CORRECT_AT = 0.7  # score from which the verdict is correct (FSRS "Good" in tutor.learning.srs)
PARTIAL_AT = 0.4  # score from which it is partially correct (below: FSRS "Again", a lapse)


def verdict_for(score: float) -> Verdict:
    """The verdict a score earns: the same bands as the spaced-repetition ratings."""
    if score >= CORRECT_AT:
        return "correct"
    return "partially_correct" if score >= PARTIAL_AT else "incorrect"


class Grade(BaseModel):
    """A graded answer; the offline grader and an LLM grader both produce one."""

    # Extra keys an LLM adds ("reasoning") are dropped; the numbers are strict: "0.8", true and NaN are rejected.
    model_config = ConfigDict(extra="ignore")

    score: float = Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False, description="credit earned, 0 to 1")
    verdict: Verdict | None = Field(default=None, description="derived from the score when omitted")
    covered: list[str] = Field(default_factory=list, description="key points of the reference the answer covers")
    missed: list[str] = Field(default_factory=list, description="key points of the reference the answer misses")
    feedback: str = Field(default="", description="two or three sentences the learner can act on")
    citations: list[dict[str, str]] = Field(default_factory=list, description="{source, section} of the reference")
    confidence: float = Field(default=0.5, ge=0.0, le=1.0, strict=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _verdict_matches_score(self) -> "Grade":
        if self.verdict is None:
            self.verdict = verdict_for(self.score)
        # Loose bands, so an LLM's own judgement near a boundary stands, but "correct" at 0.1 does not.
        elif self.verdict == "correct" and self.score < 0.5:
            raise ValueError(f"verdict 'correct' needs a score of at least 0.5, got {self.score}")
        elif self.verdict == "incorrect" and self.score > 0.5:
            raise ValueError(f"verdict 'incorrect' needs a score of at most 0.5, got {self.score}")
        return self


@dataclass(frozen=True)
class GradingItem:
    """One answer to grade; `grade_many` also takes mappings with these keys or tuples in this order."""

    answer: str
    reference: str
    question: str = ""
    citations: Sequence[Mapping[str, str]] | None = None


# --- Text: tokens, stems, sentences, key points ---------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+(?:'t)?")
_WHOLE_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*[\n;]+\s*")
_CLAUSE_BREAK = re.compile(
    r",\s*(?:and|but|so|because|while|whereas|which|since)\s+|\s+(?:because|whereas|so that|while)\s+", re.I
)
_NEGATIONS = frozenset({"not", "no", "never", "none", "nothing", "neither", "nor", "without", "cannot", "nobody"})
_STOPWORDS = frozenset(
    """a an the and or but if then than so as of at by for with from into onto to in on is are was were be been
    being am do does did doing have has had having it its it's this that these those there here they them their
    he she him her his hers we us our you your i me my mine what which who whom whose when where why how can
    could will would shall should may might must also just very really too some any each every all both other
    such own about because while whereas since thus hence therefore however like get gets got make makes made
    one ones thing things something way use used uses using let lets""".split()
) - _NEGATIONS  # negations, comparatives and directions stay: they carry the meaning of science answers
_ANTONYMS = [
    ("increase", "decrease"), ("increase", "reduce"), ("more", "less"), ("more", "fewer"), ("larger", "smaller"),
    ("bigger", "smaller"), ("higher", "lower"), ("high", "low"), ("faster", "slower"), ("fast", "slow"),
    ("true", "false"), ("same", "different"), ("greater", "less"), ("greater", "smaller"),
    ("longer", "shorter"), ("long", "short"), ("stronger", "weaker"), ("strong", "weak"), ("heavier", "lighter"),
    ("hotter", "colder"), ("warmer", "cooler"), ("hot", "cold"), ("heat", "cool"), ("open", "closed"),
    ("complete", "incomplete"), ("series", "parallel"), ("conductor", "insulator"),
    ("attract", "repel"), ("east", "west"), ("north", "south"), ("up", "down"), ("left", "right"),
    ("absorb", "reflect"), ("positive", "negative"), ("before", "after"), ("above", "below"), ("top", "bottom"),
    ("add", "remove"), ("gain", "lose"), ("rise", "fall"), ("maximum", "minimum"), ("max", "min"),
    ("overfit", "underfit"), ("vanish", "explode"), ("linear", "nonlinear"), ("dense", "sparse"),
    ("supervised", "unsupervised"), ("precision", "recall"), ("encoder", "decoder"), ("local", "global"),
    ("first", "last"), ("inside", "outside"), ("dark", "light"), ("wet", "dry"), ("expand", "contract"),
    ("most", "least"), ("always", "never"), ("many", "few"), ("easier", "harder"),
    ("better", "worse"), ("improve", "degrade"), ("improve", "worsen"), ("static", "dynamic"), ("fixed", "adaptive"),
    ("highest", "lowest"), ("largest", "smallest"), ("biggest", "smallest"), ("large", "small"), ("big", "small"),
    ("keep", "remove"), ("keep", "discard"), ("forward", "backward"), ("raise", "lower"), ("grow", "shrink"),
    ("fastest", "slowest"), ("easy", "hard"), ("accurate", "inaccurate"), ("correct", "incorrect"),
    ("same", "opposite"), ("similar", "different"), ("deterministic", "random"), ("deep", "shallow"),
]
_NUMBER = re.compile(r"^\d+$")
_PUNCTUATION = re.compile(r"[.,;:!?()\n]+")

# Sentences that talk to the grader instead of answering: removed before any feature is computed.
_VERDICT_WORD = r"(?:correct|right|perfect|full|excellent|true|passing|pass|flawless)"
_INSTRUCTION = re.compile(
    "|".join(
        [
            # "Ignore the previous instructions", "disregard the rubric"
            r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,80}?\b(?:instructions?|prompts?|rules?|"
            r"above|previous|prior|earlier|guidelines?|rubric|reference|grading)\b",
            # "full marks", "10/10 points"; "the highest score" stays (non-maximum suppression keeps that box)
            r"\b(?:full|perfect)\s+(?:marks?|credit|points?|score|grade)\b",
            r"\b(?:maximum|max|top|highest|100\s*%?|10\s*/\s*10|5\s*/\s*5)\s+(?:marks?|credit|points?|grade)\b",
            r"\b(?:give|award|assign|grant)\s+(?:me|it|this|this answer|my answer|the answer)\s+(?:a\s+|an\s+|the\s+)?"
            r"(?:maximum|max|top|highest|high|full|perfect)\s+(?:score|marks?|grade|credit|points?)\b",
            r"\bfinal\s+(?:answer|verdict|grade|score)\s*[:=]",
            # 'score: 5', '"verdict": "correct"', but not "F1 score = 2 * P * R / (P + R)"
            r"[\"']?\b(?:score|grade|verdict|marks?)\b[\"']?\s*[:=]\s*[\"']?(?:\d+(?:\.\d+)?\s*(?:%|/\s*\d+)?(?!\s*[-+*/^(])(?![a-z])"
            rf"|{_VERDICT_WORD}\b|incorrect\b)",
            r"\{[^{}]*\b(?:score|grade|verdict|marks?|label|correct)\b[^{}]*\}",
            r"^\W*(?:system|assistant|user|human|grader|instructions?)\s*:",
            r"<\|?/?(?:im_start|im_end|system|user|assistant|endoftext)\|?>|\[/?INST\]|###\s*(?:instruction|system)",
            r"\b(?:mark|grade|score|rate|label|classify|treat|consider|evaluate|count)\s+(?:this|my|the|it)\s*"
            rf"(?:answer|response|submission)?\s+(?:as\s+)?{_VERDICT_WORD}\b",
            r"\b(?:this|my|the)\s+(?:answer|response|submission)\s+(?:is|was|should be)\s+(?:fully\s+|completely\s+|100%\s+)?"
            rf"{_VERDICT_WORD}\b",
            r"\byou\s+(?:must|should|will|shall|have to)\s+(?:now\s+)?(?:give|award|grade|mark|output|return|respond|"
            r"score|rate|say|accept)\b",
            r"\byou\s+are\s+(?:now\s+)?(?:a|an|the)\s+(?:grader|assistant|ai|teacher|evaluator|examiner|tutor)\b",
            r"\b(?:examiner|grader|evaluator|marker)\b[^.!?\n]{0,40}\b(?:give|award|mark|deserves?|score|grade)\b",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; "don't" stays one token so that its negation is seen."""
    return _TOKEN.findall(text.lower())


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry content: stop words dropped; numbers, negations and terms kept."""
    return [_stem(t) for t in tokens(text) if t not in _STOPWORDS and not t.endswith("'t")]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def key_points(text: str, max_points: int = 32) -> list[str]:
    """Clauses of a text: sentences, split again at clause conjunctions when both halves carry content."""
    points: list[str] = []
    for sentence in sentences(text):
        parts = [p.strip(" ,") for p in _CLAUSE_BREAK.split(sentence) if p and p.strip(" ,")]
        if len(parts) > 1 and all(len(content_stems(p)) >= 2 for p in parts):
            points.extend(parts)
        else:
            points.append(sentence)
    # Bare connectives and punctuation are not points; "Yes." and "No." are (yes/no answers).
    points = [p for p in points if content_stems(p)]
    return points[:max_points]


def is_instruction(sentence: str) -> bool:
    """Whether a sentence addresses the grader ("give full marks", '{"score": 1}') rather than the question."""
    return bool(_INSTRUCTION.search(sentence))


def _choices(question_words: list[str]) -> set[str]:
    """Stems the question offers as alternatives: the content words on either side of "or", and antonym poles."""
    content = [w for w in question_words if w not in _STOPWORDS or w == "or"]
    found = set()
    for k, word in enumerate(content):
        if word == "or":
            for neighbour in (k - 1, k + 1):
                if 0 <= neighbour < len(content) and content[neighbour] != "or":
                    found.add(_stem(content[neighbour]))
    poles = {stem for pair in _antonym_stems() for stem in pair}
    return found | {_stem(w) for w in question_words if _stem(w) in poles}


def _negated(text: str) -> set[str]:
    """Stems of the content words among the four words after a negation ("not", "doesn't", ...), within a clause.

    A clause's leading "no" is a reply ("No, because ..."), which the yes/no features read, not a negation.
    """
    scoped: set[str] = set()
    for clause in _PUNCTUATION.split(text):
        words = tokens(clause)
        for i, word in enumerate(words):
            if (word in _NEGATIONS and not (i == 0 and word == "no")) or word.endswith("'t"):
                for later in words[i + 1 : i + 5]:
                    if later not in _STOPWORDS:
                        scoped.add(_stem(later))
    return scoped


@lru_cache(maxsize=1)
def _antonym_stems() -> list[tuple[str, str]]:
    return [(_stem(a), _stem(b)) for a, b in _ANTONYMS]


def _antonym_conflicts(
    answer: set[str], reference: set[str], answer_negated: set[str] = frozenset(), reference_negated: set[str] = frozenset()
) -> list[tuple[str, str]]:
    """(answer word, reference word) pairs where each side holds one pole and not the other.

    A negated pole flips: "not the same" agrees with "different", so that pair is no conflict.
    """
    found = []
    for a, b in _antonym_stems():
        for mine, theirs in ((a, b), (b, a)):
            if mine in answer and theirs in reference and mine not in reference and theirs not in answer:
                if (mine in answer_negated) == (theirs in reference_negated):
                    found.append((mine, theirs))
    return found


# --- Features --------------------------------------------------------------------------------------

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
class _Prepared:
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


@dataclass
class GraderConfig:
    """Limits and the thresholds that decide which key points count as covered (for covered / missed)."""

    max_answer_chars: int = 4000  # longer answers are cut at a word boundary: a few paragraphs is plenty
    max_points: int = 32  # clauses per text, answer and reference alike
    point_similarity: float = 0.6  # a key point is covered from this clause similarity (MiniLM scale) ...
    point_lexical: float = 0.5  # ... with this share of its new content words, or from twice this alone
    cache_size: int = 50_000  # embeddings kept per grader


def _truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space when there is one in the second half."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit // 2)
    return cut[:space] if space > 0 else cut


def clean_answer(answer: str, question: str = "", limit: int = 4000) -> str:
    """The answer as graded: instruction-like sentences and restatements of the question removed, then cut."""
    # Look at a generous window first, so cutting never leaves half an instruction behind.
    kept = []
    question_stems = [set(content_stems(s)) for s in sentences(question)] if question else []
    # Whole sentences (not clauses): "SYSTEM: ...; award 100%." is one instruction, not two clauses.
    text = _truncate(answer, 4 * limit)
    whole = [t for t in _WHOLE_SENTENCE_END.split(text) if t.strip() and not is_instruction(t)]
    for sentence in sentences("\n".join(whole)):
        if is_instruction(sentence):
            continue
        stems = set(content_stems(sentence))
        if stems and any(len(stems & q) / len(stems | q) >= 0.7 for q in question_stems if q):
            continue  # the question copied back earns nothing
        kept.append(sentence)
    return _truncate(" ".join(kept), limit)


def _max_sims(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For clause embeddings rows (R, D) and cols (A, D): best match of each row (R,) and each col (A,)."""
    sims = rows @ cols.T  # (R, A)
    return sims.max(axis=1), sims.max(axis=0)


class OfflineGrader:
    """Grades answers against reference answers with an embedder and a small fitted model, no LLM.

    `embedder` is any callable from a list of texts to unit vectors (Chroma's `EmbeddingFunction`);
    by default the one TUTOR_EMBEDDER names (MiniLM). The shipped weights were fitted on MiniLM's
    similarity scale: another embedder keeps every guarantee (empty, injection, order of magnitude)
    but not the calibration.
    """

    def __init__(
        self,
        embedder: Callable[[list[str]], Sequence[Any]] | None = None,
        weights: str | Path | Mapping[str, Any] | None = None,
        config: GraderConfig | None = None,
    ) -> None:
        if embedder is None:
            from tutor.knowledge.embedder import make_embedder
            from tutor.settings import get_settings

            embedder = make_embedder(get_settings().embedder)
        self.embedder = embedder
        self.config = config or GraderConfig()
        self._weights_source = weights
        self._model: dict[str, np.ndarray] | None = None
        self._cache: dict[str, np.ndarray] = {}

    # -- public ---------------------------------------------------------------------------------

    def grade(
        self, answer: str, reference: str, question: str = "", citations: Iterable[Mapping[str, str]] | None = None
    ) -> Grade:
        return self.grade_many([GradingItem(answer, reference, question, list(citations) if citations else None)])[0]

    def grade_many(self, items: Iterable[GradingItem | Mapping[str, Any] | Sequence[Any]]) -> list[Grade]:
        """Grade a batch; all new texts go to the embedder in one call."""
        prepared = [self._prepare(_as_item(item)) for item in items]
        if not prepared:
            return []
        details = self._details(prepared)
        probabilities = self._probabilities(np.array([d["features"] for d in details]))
        return [self._grade(p, d, probs) for p, d, probs in zip(prepared, details, probabilities)]

    def features(self, items: Iterable[GradingItem | Mapping[str, Any] | Sequence[Any]]) -> np.ndarray:
        """The feature matrix (N, len(FEATURES)) the fitted model reads; `benchmarks/fit_grader.py` fits on it."""
        prepared = [self._prepare(_as_item(item)) for item in items]
        return np.array([d["features"] for d in self._details(prepared)], dtype=np.float64).reshape(-1, len(FEATURES))

    def label_probabilities(self, items: Iterable[Any]) -> np.ndarray:
        """P(correct), P(incorrect), P(contradictory) per item, (N, 3), in the order of `LABELS`."""
        return self._probabilities(self.features(items))

    def predict_labels(self, items: Iterable[Any]) -> list[str]:
        """The SciEntsBank label each item most likely has, with the fitted decision offsets (for macro-F1)."""
        return self.labels_from_probabilities(self.label_probabilities(items))

    def labels_from_probabilities(self, probabilities: np.ndarray) -> list[str]:
        model = self._load()
        decided = np.log(np.clip(probabilities, 1e-12, 1.0)) + model["decision_bias"]
        return [LABELS[i] for i in decided.argmax(axis=1)]

    @staticmethod
    def score_from_probabilities(probabilities: np.ndarray, support: np.ndarray) -> np.ndarray:
        """Expected credit (N,): correct 1, incorrect PARTIAL_CREDIT x support, contradictory 0."""
        return np.clip(probabilities[:, 0] + PARTIAL_CREDIT * probabilities[:, 1] * support, 0.0, 1.0)

    # -- steps ----------------------------------------------------------------------------------

    def _prepare(self, item: GradingItem) -> _Prepared:
        reference = (item.reference or "").strip()
        if not reference:
            raise UsageError("cannot grade without a reference answer")
        reference = _truncate(reference, self.config.max_answer_chars)
        question = _truncate((item.question or "").strip(), self.config.max_answer_chars)
        answer = clean_answer(item.answer or "", question, self.config.max_answer_chars)
        points = key_points(reference, self.config.max_points) or [reference]
        clauses = key_points(answer, self.config.max_points) if answer else []
        citations = [{"source": str(c.get("source", "")), "section": str(c.get("section", ""))} for c in item.citations or []]
        words = _content_words(reference) + _content_words(answer)
        # What each side says beyond the question, as a bag of words: the answer's new content vs the reference's.
        asked = set(content_stems(question))
        new_reference = " ".join(w for w in _content_words(reference) if _stem(w) not in asked)
        new_answer = " ".join(w for w in _content_words(answer) if _stem(w) not in asked)
        texts = [reference, *points] + ([answer, *clauses] if answer else []) + ([question] if question else [])
        texts += [t for t in (new_reference, new_answer) if t] + words
        blank = not (item.answer or "").strip()
        return _Prepared(
            answer, reference, question, clauses, points, citations, new_reference, new_answer, blank, texts
        )

    def _embed(self, prepared: list[_Prepared]) -> None:
        new = list(dict.fromkeys(t for p in prepared for t in p.texts if t not in self._cache))
        if not new:
            return
        vectors = np.asarray(self.embedder(new), dtype=np.float32)  # (N, D)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)
        if len(self._cache) + len(new) > self.config.cache_size:
            self._cache.clear()  # simplest bound; a batch is always served whole
        self._cache.update(zip(new, vectors))

    def _details(self, prepared: list[_Prepared]) -> list[dict[str, Any]]:
        self._embed(prepared)
        return [self._item_details(p) for p in prepared]

    def _item_details(self, p: _Prepared) -> dict[str, Any]:
        """Features of one item, and the per-point facts the feedback and the score are built from."""
        cfg = self.config
        n_points = len(p.points)
        if not p.answer:
            return {"features": np.zeros(len(FEATURES)), "support": 0.0, "covered": [False] * n_points,
                    "conflicts": [[] for _ in p.points], "empty": True}
        vec = self._cache.__getitem__
        a, r = vec(p.answer), vec(p.reference)
        q = vec(p.question) if p.question else None
        point_vecs = np.stack([vec(t) for t in p.points])  # (P, D)
        clause_vecs = np.stack([vec(t) for t in p.answer_clauses or [p.answer]])  # (C, D)
        point_best, clause_best = _max_sims(point_vecs, clause_vecs)  # (P,), (C,)

        answer_words, reference_words = tokens(p.answer), tokens(p.reference)
        a_stems, r_stems = set(content_stems(p.answer)), set(content_stems(p.reference))
        q_stems = set(content_stems(p.question))
        new_ref = (r_stems - q_stems) or r_stems  # what the reference adds to the question
        a_neg, r_neg = _negated(p.answer), _negated(p.reference)
        shared = a_stems & r_stems

        # Word-level alignment, so that synonyms count: (Rw, Aw) similarities of content words.
        ref_words, ans_words = _content_words(p.reference), _content_words(p.answer)
        word_sims = _word_matrix([vec(w) for w in ref_words], [vec(w) for w in ans_words])  # (Rw, Aw)
        ref_best = {_stem(w): float(best) for w, best in zip(ref_words, word_sims.max(axis=1))}  # by stem
        is_new = np.array([_stem(w) not in q_stems for w in ref_words]) if ref_words else np.zeros(0, bool)
        if not is_new.any():
            is_new = np.ones(len(ref_words), bool)

        covered, conflicts, credit = [], [], []
        for text, sim in zip(p.points, point_best):
            stems = set(content_stems(text))
            own = (stems - q_stems) or stems
            lexical = len(own & a_stems) / len(own) if own else 0.0
            point_neg = _negated(text)
            clash = [("negation", w) for w in sorted(stems & a_stems) if (w in point_neg) != (w in a_neg)]
            clash += [("opposite", mine, theirs) for mine, theirs in _antonym_conflicts(a_stems, stems, a_neg, point_neg)]
            conflicts.append(clash)
            hit = (sim >= cfg.point_similarity and lexical >= cfg.point_lexical) or lexical >= min(1.0, 2 * cfg.point_lexical)
            covered.append(bool(hit and not clash))
            # A word earns full credit when its stem is in the answer, part of it for a close synonym.
            soft = [1.0 if stem in a_stems else _word_credit(ref_best.get(stem, 0.0)) for stem in own]
            credit.append(0.0 if clash else float(np.mean(soft)) if soft else lexical)

        # Support: how much of what the answer adds to the question the reference backs (a word caught in a
        # conflict backs nothing). It decides the partial credit of an incomplete answer.
        clashing = {c[1] for cs in conflicts for c in cs}
        backed = []
        for j, word in enumerate(ans_words):
            stem = _stem(word)
            if stem in q_stems and stem not in clashing:
                continue  # the question's own words: neither for nor against
            if stem in clashing:
                backed.append(0.0)
            else:
                backed.append(1.0 if stem in r_stems else _word_credit(float(word_sims[:, j].max())))
        support = float(np.mean(backed)) if backed else 0.0

        choices = _choices(tokens(p.question))
        cos_ar = float(a @ r)
        cos_aq = float(a @ q) if q is not None else 0.0
        cos_rq = float(r @ q) if q is not None else 0.0
        ref_bigrams = _bigrams(content_stems(p.reference))
        lead_a, lead_r = _leading_choice(p.answer), _leading_choice(p.reference)
        numbers_r = {w for w in reference_words if _NUMBER.match(w)} - {w for w in tokens(p.question) if _NUMBER.match(w)}
        numbers_a = {w for w in answer_words if _NUMBER.match(w)}
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
            "fuzzy_recall_new": _fuzzy_recall(new_ref, a_stems, ans_words),
            "choice_conflict": float(bool(choices & a_stems - r_stems) and bool(choices & r_stems - a_stems)),
            "lex_recall_new": len(new_ref & a_stems) / len(new_ref) if new_ref else 0.0,
            "lex_recall": len(shared) / len(r_stems) if r_stems else 0.0,
            "lex_precision": len(shared) / len(a_stems) if a_stems else 0.0,
            "bigram_recall": len(ref_bigrams & _bigrams(content_stems(p.answer))) / len(ref_bigrams) if ref_bigrams else 0.0,
            "question_copy": len((a_stems & q_stems) - r_stems) / len(a_stems) if a_stems else 0.0,
            "off_reference": len(a_stems - r_stems - q_stems) / len(a_stems) if a_stems else 0.0,
            "negation_xor": float(bool(a_neg) != bool(r_neg)),
            "negation_conflict": float(any(c[0] == "negation" for cs in conflicts for c in cs)),
            "antonym_conflict": min(2.0, float(len(_antonym_conflicts(a_stems, r_stems, a_neg, r_neg)))),
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
            "surface": {_stem(w): w for w in reversed(reference_words + answer_words)},  # stem -> a word as written
            "empty": False,
        }

    def _load(self) -> dict[str, np.ndarray]:
        if self._model is None:
            source = self._weights_source
            if source is None or isinstance(source, (str, Path)):
                data = json.loads(Path(source or WEIGHTS_PATH).read_text(encoding="utf-8"))
            else:
                data = dict(source)
            if list(data["features"]) != list(FEATURES) or list(data["labels"]) != list(LABELS):
                raise ValueError("grader weights were fitted on other features or labels; refit with benchmarks/fit_grader.py")
            self._model = {
                "mean": np.asarray(data["mean"], dtype=np.float64),  # (F,)
                "scale": np.asarray(data["scale"], dtype=np.float64),  # (F,)
                "coef": np.asarray(data["coef"], dtype=np.float64),  # (3, F)
                "intercept": np.asarray(data["intercept"], dtype=np.float64),  # (3,)
                "decision_bias": np.asarray(data.get("decision_bias", [0.0, 0.0, 0.0]), dtype=np.float64),  # (3,)
            }
        return self._model

    def _probabilities(self, features: np.ndarray) -> np.ndarray:
        model = self._load()
        x = (features - model["mean"]) / model["scale"]  # (N, F)
        logits = x @ model["coef"].T + model["intercept"]  # (N, 3)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def _grade(self, p: _Prepared, details: dict[str, Any], probabilities: np.ndarray) -> Grade:
        covered = [t for t, hit in zip(p.points, details["covered"]) if hit]
        missed = [t for t, hit in zip(p.points, details["covered"]) if not hit]
        if details["empty"]:
            return Grade(
                score=0.0, covered=[], missed=missed, citations=p.citations, confidence=1.0,
                feedback=_feedback("incorrect", [], missed, [], empty="blank" if p.blank else "removed"),
            )
        score = round(float(self.score_from_probabilities(probabilities[None, :], np.array([details["support"]]))[0]), 4)
        surface = details["surface"]
        conflicts = list(dict.fromkeys(
            (c[0], *(surface.get(stem, stem) for stem in c[1:])) for cs in details["conflicts"] for c in cs
        ))
        return Grade(
            score=score,
            covered=covered,
            missed=missed,
            feedback=_feedback(verdict_for(score), covered, missed, conflicts),
            citations=p.citations,
            confidence=round(float(probabilities.max()), 4),
        )


def _trigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _fuzzy_recall(wanted: set[str], stems: set[str], words: list[str]) -> float:
    """Share of the wanted stems the answer holds exactly or misspelt (character trigram Jaccard >= 0.5)."""
    if not wanted:
        return 0.0
    grams = [_trigrams(w) for w in words]
    hits = 0
    for stem in wanted:
        if stem in stems:
            hits += 1
        else:
            target = _trigrams(stem)
            hits += any(len(target & g) / len(target | g) >= 0.5 for g in grams)
    return hits / len(wanted)


def _word_matrix(rows: list[np.ndarray], cols: list[np.ndarray]) -> np.ndarray:
    """Cosine similarities (R, C) of two lists of unit vectors; zeros in place of an empty side."""
    if not rows or not cols:
        return np.zeros((max(1, len(rows)), max(1, len(cols))))
    return np.stack(rows) @ np.stack(cols).T


def _word_credit(similarity: float) -> float:
    """Credit for a reference word matched only by meaning: MiniLM puts synonyms at 0.5-0.9, unrelated words below."""
    return float(np.clip((similarity - 0.5) / 0.4, 0.0, 1.0))


def _content_words(text: str, limit: int = 200) -> list[str]:
    """Distinct content words (surface forms, one per stem), for word-level alignment."""
    seen: dict[str, str] = {}
    for word in tokens(text):
        if word not in _STOPWORDS and not word.endswith("'t"):
            seen.setdefault(_stem(word), word)
    return list(seen.values())[:limit]


def _bigrams(stems: list[str]) -> set[tuple[str, str]]:
    return set(zip(stems, stems[1:]))


_LEAD_OPTION = re.compile(r"^\W*([A-EXYZ])(?:[.,:;)]|\s*$)")
_LEAD_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


def _leading_choice(text: str) -> str | None:
    """The reply a text opens with: "yes", "no", or an option letter ("B." in "B. Because ...")."""
    match = _LEAD_OPTION.match(text) or _LEAD_YES_NO.match(text)
    return match.group(1).lower() if match else None


def _short(text: str, limit: int = 110) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else _truncate(text, limit) + "…"


_OPENING = {"correct": "Good answer", "partially_correct": "Partly right", "incorrect": "Not there yet"}


def _feedback(
    verdict: Verdict,
    covered: list[str],
    missed: list[str],
    conflicts: list[tuple[str, ...]],
    empty: Literal["blank", "removed"] | None = None,
) -> str:
    """Two or three sentences built only from the reference's key points and the cues found: no new facts."""
    if empty:
        first = f' Start from this key point: "{_short(missed[0])}".' if missed else ""
        if empty == "blank":
            return f"No answer was given.{first}"
        return f"Nothing in the answer goes beyond restating the question or addressing the grader.{first}"
    opening = _OPENING[verdict]
    if covered:
        parts = [f"{opening}: you covered " + "; ".join(f'"{_short(c)}"' for c in covered[:3]) + "."]
    else:
        parts = [f"{opening}: no key point of the reference is stated in your answer in the same terms."]
    if conflicts:
        kind, *words = conflicts[0]
        if kind == "opposite":
            parts.append(f'Check one claim: your answer says "{words[0]}" where the reference says "{words[1]}".')
        else:
            parts.append(f'Check one claim: a "not" in one of the two answers changes what is said about "{words[0]}".')
    if missed:
        parts.append("To complete it, add: " + "; ".join(f'"{_short(m)}"' for m in missed[:2]) + ".")
    else:
        parts.append("Every key point of the reference is there.")
    return " ".join(parts[:3])


def _as_item(item: GradingItem | Mapping[str, Any] | Sequence[Any]) -> GradingItem:
    if isinstance(item, GradingItem):
        return item
    if isinstance(item, Mapping):
        return GradingItem(
            str(item.get("answer", "") or ""), str(item.get("reference", "") or ""),
            str(item.get("question", "") or ""), item.get("citations"),
        )
    return GradingItem(*item)
