"""The quiz's data: a fact read from the notes, a quiz item, a quiz, and their stable ids."""

from __future__ import annotations

from tutor.learning.quiz.common import (
    BLANK,
    Kind,
    Level,
    MAX_OPTIONS,
    MIN_OPTIONS,
    STOPWORDS,
    _bare,
    _norm,
    mentions,
    near_duplicate,
)

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


# ---- models -----------------------------------------------------------------------------------------
class Fact(BaseModel):
    """One thing the notes state: a term and its definition, or a named list of parts."""

    model_config = ConfigDict(frozen=True)  # shared between quizzes through the cache

    term: str  # the concept, or the list's name for a list fact
    definition: str = ""  # first sentence of the definition, as written
    example: str = ""
    members: list[str] = Field(default_factory=list)  # a list fact's named parts, in note order
    context: str = ""  # the parent concept or subsection that disambiguates the term ("CAP Theorem")
    sentence: str  # the note text it comes from, markup removed: a substring of the section's note_text
    section: str
    subsection: str = ""
    source: str
    module: str
    line_start: int  # the lines a pair question may quote (from the heading of a `### Term`)
    line_end: int
    siblings: str = ""  # facts under the same parent share this key; pairs are drawn from them
    note: str = ""  # how it was read: "glossary", "heading", "sentence", "list" or "inline list"

    @property
    def is_list(self) -> bool:
        return bool(self.members)

    @property
    def key(self) -> str:
        """Facts with the same key are about the same thing; a quiz asks about each once."""
        if self.is_list:
            return f"list:{self.source}:{self.section}:{_norm(self.term)}"
        return f"term:{_norm(_bare(self.term)) or _norm(self.term)}"


class QuizItem(BaseModel):
    """One question with its reference answer and the note passage that grounds it."""

    id: str = ""  # sha1 of kind, question and answer; always derived, whatever was given
    kind: Kind
    question: str = Field(min_length=1)
    options: list[str] | None = None  # mcq only
    answer: str = Field(min_length=1)  # from the notes; for mcq the correct option's text
    explanation: str = ""  # the note sentence(s) the item comes from
    section: str = ""
    source: str = ""
    module: str = ""
    check: dict[str, Any] | None = None  # a computed item's check, for the code that grades it
    level: Level = "remember"  # what the question asks of the learner: remember, understand, apply, analyze
    key_points: list[str] = Field(default_factory=list)  # a rubric question's points; the answer joins them

    @model_validator(mode="after")
    def _valid(self) -> "QuizItem":
        if self.kind == "mcq":
            options = self.options or []
            if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
                raise ValueError(f"a multiple choice item has {MIN_OPTIONS}-{MAX_OPTIONS} options, got {len(options)}")
            if sum(o == self.answer for o in options) != 1:
                raise ValueError("exactly one option must equal the answer")
            for i, a in enumerate(options):
                for b in options[i + 1 :]:
                    if near_duplicate(a, b):
                        raise ValueError(f"options {a!r} and {b!r} are the same or nearly the same")
        elif self.options is not None:
            raise ValueError(f"a {self.kind} item has no options")
        if self.kind == "cloze":
            if BLANK not in self.question:
                raise ValueError(f"a cloze question has a blank ({BLANK})")
            if mentions(self.question.replace(BLANK, " "), self.answer):
                raise ValueError("a cloze question must not contain its answer")
            if _norm(self.answer) in STOPWORDS:
                raise ValueError("a cloze blank is never a stopword")
        # always derived, so an item a model wrote gets the same id as the same item made here
        self.id = item_id(self.kind, self.question, self.answer)
        return self


class Quiz(BaseModel):
    """The quizzer's output (tasks.yaml `output: Quiz`)."""

    items: list[QuizItem] = Field(default_factory=list)


def item_id(kind: str, question: str, answer: str) -> str:
    return hashlib.sha1(f"{kind}\n{question}\n{answer}".encode()).hexdigest()[:16]


def question_key(item: QuizItem) -> str:
    """The spaced-repetition card of an item: the same question and answer give the same key, whatever
    the options or the run (case and spacing do not count)."""
    digest = hashlib.sha1(f"{item.kind}\n{_norm(item.question)}\n{_norm(item.answer)}".encode()).hexdigest()[:16]
    return f"quiz:{item.source}:{digest}"
