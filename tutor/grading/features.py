"""An (answer, reference, question) item made ready to grade: the answer cleaned, the reference in key points.

`prepare` removes what addresses the grader and what restates the question (the answer is data, never
instructions), cuts over-long texts, and splits the reference into its key points when none were given.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.errors import UsageError
from tutor.grading.model import GradingItem
from tutor.grading.text import clean_answer, key_points, truncate


@dataclass
class Prepared:
    """An item's texts after cleaning."""

    answer: str
    reference: str
    question: str
    answer_clauses: list[str]
    points: list[str]
    citations: list[dict[str, str]]
    blank: bool  # nothing was written (as opposed to everything being removed by `clean_answer`)
    concept: str = ""  # the concept asked about, when known: its name earns no credit (evidence: given words)


@dataclass
class GraderConfig:
    """Limits of what one grade reads and keeps."""

    max_answer_chars: int = 4000  # longer answers are cut at a word boundary: a few paragraphs is plenty
    max_points: int = 32  # clauses per text, answer and reference alike
    cache_size: int = 50_000  # token vectors and pair probabilities kept per grader


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
    blank = not (item.answer or "").strip()
    return Prepared(answer, reference, question, clauses, points, citations, blank, (item.concept or "").strip())
