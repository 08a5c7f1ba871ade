"""The pydantic models tasks name in tasks.yaml (`output:`): CrewAI validates answers into them,
the CLI renders them, and `--json` prints them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Citation(BaseModel):
    source: str
    section: str
    kind: str = "notes"  # "companion": the tutor's explanation of that section, not the notes' words


class DemoRef(BaseModel):
    """A demo model run inside a lesson: the numbers a learner reads and the figure's path."""

    name: str
    title: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    summary: str = ""
    figure: str | None = None


class CheckQuestion(BaseModel):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)  # the reference answer, from the notes or the companion's rubric
    source: str = ""
    section: str = ""
    level: str = "remember"  # remember, understand, apply or analyze
    key_points: list[str] = Field(default_factory=list)  # the rubric: what a full answer states


class CheckQuestions(BaseModel):
    questions: list[CheckQuestion] = Field(default_factory=list)


class Lesson(BaseModel):
    topic: str
    markdown: str = Field(min_length=1)
    citations: list[Citation] = Field(default_factory=list)
    check_questions: list[CheckQuestion] = Field(default_factory=list)
    demo: DemoRef | None = None
    covered: bool = True  # False when the notes do not cover the topic
    read_next: list[Citation] = Field(default_factory=list)
    citations_verified: int | None = None  # markers naming a real section of the index (tutor.crew.citations)
    citations_unverified: int | None = None  # markers naming none: rewritten in the text, never shown as a source


class Answer(BaseModel):
    """The answer to a learner's own question (`tutor ask`): a few cited sentences and what to ask next."""

    question: str
    answer: str = Field(min_length=1)  # Markdown; every sentence carries its citation
    citations: list[Citation] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)  # two questions to ask next
    covered: bool = True  # False when the notes do not answer the question
    citations_verified: int | None = None
    citations_unverified: int | None = None


def output_model(name: str) -> type[BaseModel]:
    """The model class for an `output:` name in tasks.yaml."""
    if name == "Lesson":
        return Lesson
    if name == "Answer":
        return Answer
    if name == "CheckQuestions":
        return CheckQuestions
    if name == "Quiz":
        from tutor.learning.quiz import Quiz

        return Quiz
    if name == "Grade":
        from tutor.grading.model import Grade

        return Grade
    raise KeyError(name)
