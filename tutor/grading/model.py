"""The `Grade` every grader produces (offline or a configured model), and the bands of its score.

A score is the credit an answer earns, 0 to 1. Its verdict follows the spaced-repetition bands: from
`CORRECT_AT` correct (FSRS "Good"), from `PARTIAL_AT` partially correct, below that incorrect (a lapse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Verdict = Literal["correct", "partially_correct", "incorrect", "unsure"]
UNSURE = "unsure"  # the grader cannot tell: the learner compares with the key point (a teacher reviews a batch)
LABELS = ("correct", "incorrect", "contradictory")  # SciEntsBank's 3-way labels
LABEL_ORDER = {"contradictory": 0, "incorrect": 1, "correct": 2}  # for rank correlation with the score

PARTIAL_CREDIT = 0.5  # credit of an incomplete answer whose every word the reference backs
CORRECT_AT = 0.7  # score from which the verdict is correct (FSRS "Good" in tutor.learning.srs)
PARTIAL_AT = 0.4  # score from which it is partially correct (below: FSRS "Again", a lapse)


SELF_RATINGS = {"yes": 0.8, "partly": 0.55, "no": 0.2}  # the learner's own judgement -> score (FSRS Good / Hard / Again)
SELF_RATING_WORDS = {"y": "yes", "yes": "yes", "p": "partly", "partly": "partly", "partial": "partly", "n": "no", "no": "no"}


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
    covered: list[str] = Field(default_factory=list, description="key points the answer states")
    missed: list[str] = Field(default_factory=list, description="key points the answer leaves out")
    contradicted: list[str] = Field(default_factory=list, description="key points the answer states the opposite of")
    feedback: str = Field(default="", description="two or three sentences the learner can act on")
    citations: list[dict[str, str]] = Field(default_factory=list, description="{source, section} of the key points")
    confidence: float = Field(default=0.5, ge=0.0, le=1.0, strict=True, allow_inf_nan=False)
    graded_against: str = Field(default="", description="'reference', or 'notes' when key points were picked from them")
    confused_with: dict[str, str] | None = Field(
        default=None, description="{concept, source, section, text}: the other concept of the notes the answer describes"
    )
    key_point: str = Field(default="", description="the key point the answer was judged against")
    stated_words: list[str] = Field(default_factory=list, description="the key point's words the answer states")
    missing_words: list[str] = Field(default_factory=list, description="the key point's words the answer does not state")
    reason: str = Field(default="", description="what settled the verdict: said_back, contradicted, meaning, unsure, ...")
    check: str = Field(default="", description="for an unsure grade, where the answer may say the opposite of the key point")
    self_rated: bool = Field(default=False, description="the learner judged the answer against the key point")
    meaning: dict[str, float] | None = Field(
        default=None, description="the meaning model's calibrated P(correct, incomplete, contradictory, unrelated)")

    @model_validator(mode="after")
    def _verdict_matches_score(self) -> "Grade":
        if self.verdict is None:
            self.verdict = verdict_for(self.score)
        elif self.verdict == UNSURE:
            return self  # the score is a best guess, in any band
        # Loose bands, so an LLM's own judgement near a boundary stands, but "correct" at 0.1 does not.
        elif self.verdict == "correct" and self.score < 0.5:
            raise ValueError(f"verdict 'correct' needs a score of at least 0.5, got {self.score}")
        elif self.verdict == "incorrect" and self.score > 0.5:
            raise ValueError(f"verdict 'incorrect' needs a score of at most 0.5, got {self.score}")
        return self

    def forced(self) -> "Grade":
        """`--strict`: an unsure grade given the verdict its best-guess score earns; any other grade as it is."""
        if self.verdict != UNSURE:
            return self
        return self.model_copy(update={"verdict": verdict_for(self.score), "reason": "strict"})

    def self_rate(self, rating: str) -> "Grade":
        """The learner's own judgement of an unsure grade against the key point ("yes", "partly", "no"): the
        score and verdict it earns, recorded as self-rated."""
        choice = SELF_RATING_WORDS.get(rating.strip().lower())
        if choice is None:
            raise ValueError(f"a self-rating is yes, partly or no, got {rating!r}")
        score = SELF_RATINGS[choice]
        said = {"yes": "says the key point", "partly": "says part of the key point", "no": "does not say the key point"}[choice]
        point = f' The key point: "{self.key_point}".' if self.key_point else ""
        return self.model_copy(update={"score": score, "verdict": verdict_for(score), "self_rated": True, "reason": "self_rated",
                                       "feedback": f"You judged that your answer {said}: recorded as "
                                                   f"{verdict_for(score).replace('_', ' ')}.{point}"})


@dataclass(frozen=True)
class GradingItem:
    """One answer to grade; `grade_many` also takes mappings with these keys or tuples in this order.

    `points` are the key points to judge against when they were chosen elsewhere (from the notes, by
    `tutor.grading.keypoints`); otherwise the reference is split into its clauses. `siblings` are
    points of other concepts nearby, {concept, text, source, section}, for "that describes X" feedback.
    """

    answer: str
    reference: str
    question: str = ""
    citations: Sequence[Mapping[str, str]] | None = None
    points: Sequence[str] | None = None
    siblings: Sequence[Mapping[str, str]] | None = None
    graded_against: str = "reference"
    concept: str = ""  # the concept asked about, when known
    members: Sequence[str] | None = None  # a list question's members ("Volume", "Velocity", ...: tutor.grading.listing)
