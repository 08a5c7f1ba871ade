"""Quiz items mined from the course notes with no text-generation model.

The notes are glossary-like Markdown (`**Term**: definition`, `### Term` followed by a defining
bullet, lists of named parts), so facts are read off that structure and turned into multiple
choice, short-answer and cloze questions. Every item quotes the note text it comes from
(`explanation`, markup removed), and distractors are sibling concepts that are checked not to be
correct as well.

A package by question kind:
- `common`: the kinds, levels and limits, and the text helpers every kind uses;
- `items`: `Fact` (one thing the notes state), `QuizItem`, `Quiz`;
- `facts`: reading the notes' Markdown into facts (`extract_facts`);
- `recall`: multiple choice, short answer, cloze and the notes' "X vs. Y" comparisons (`generate_quiz`);
- `computed`: questions a demo model's code answers;
- `levels`: questions beyond recall (why, apply, the companion's rubric questions) and `leveled_quiz`,
  which mixes the levels for `tutor quiz --level`.
"""
from tutor.learning.quiz.common import (
    BLANK,
    GIVEAWAY_RATIO,
    LEVELS,
    Kind,
    Level,
    QuizKind,
    leaks,
    mentions,
    near_duplicate,
    normalize_space,
    note_text,
    same_concept,
)
from tutor.learning.quiz.computed import COMPUTED_KINDS, computed_items, topic_has_computed
from tutor.learning.quiz.facts import extract_facts, read_notes, section_texts
from tutor.learning.quiz.items import Fact, Quiz, QuizItem, item_id, question_key
from tutor.learning.quiz.levels import LEVEL_CHOICES, leveled_quiz, rubric_items
from tutor.learning.quiz.recall import generate_quiz, pick_distractors

__all__ = [
    "BLANK", "COMPUTED_KINDS", "GIVEAWAY_RATIO", "LEVELS", "LEVEL_CHOICES", "Fact", "Kind", "Level", "Quiz",
    "QuizItem", "QuizKind", "computed_items", "extract_facts", "generate_quiz", "item_id", "leaks", "leveled_quiz",
    "mentions", "near_duplicate", "normalize_space", "note_text", "pick_distractors", "question_key", "read_notes",
    "rubric_items", "same_concept", "section_texts", "topic_has_computed",
]
