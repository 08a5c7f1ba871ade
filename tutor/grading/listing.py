"""Questions that ask for the members of a list the notes give ("What are the 5 V's of big data?", "What are the main
types of transformer-based LLMs?", "Which regularization techniques help prevent overfitting?").

Their answer is the members' names, and no one point of the notes holds them: graded against the best point alone,
"Encoder-only models, decoder-only models and encoder-decoder models" was "incorrect 0.10 (confidence 0.95)" against
encoder-decoder models' line, and "Volume, velocity, variety, veracity and value" unsure against Volume's. So the
key point of such a question is the list of the members (the names of the points of the section the best point is
in), and an answer is read by the members it names:

    an answer of the names and little else (no negation, at most BESIDE other words):
    every member named                                        correct
    three quarters of them, where the question gives no count correct, the others named as missed
    half of them or more                                      partially correct
    fewer                                                     graded as any answer is (it may describe them)

A question is a list question when it asks for kinds, types, techniques ... or "what are the N ...", its section's
heading shares its words ("the 5 V's of Big Data", "Main Types of Transformer-Based LLMs"), the section holds three
to eight members, as many as a count the question gives, and the question names none of them (then it asks about
that one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tutor.grading.decision import EVIDENCE, banded
from tutor.grading.model import Grade
from tutor.grading.text import NEGATIONS, STOPWORDS, stem, tokens

LIST_QUESTION = re.compile(
    r"\b(types|kinds|categories|families|varieties|components|stages|what are the (?:\d+|two|three|four|five|six|seven|"
    r"main)|name (?:the|all)|list (?:the|all)|which (?:\w+ ){0,2}(?:techniques|methods|models|approaches|tools|metrics|"
    r"parameters|layers))\b", re.I)
_COUNT = re.compile(r"\b(\d+|two|three|four|five|six|seven|eight)\b", re.I)
_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
# words a member's name shares with its kind, which an answer may leave out ("encoder-only" for "Encoder-Only Models")
_KIND_WORDS = frozenset("model models method methods technique techniques type types approach approaches".split())
_JOINERS = frozenset("the a an of and or".split())
ALL_NAMED = 1.0
MOST_NAMED = 0.75  # where the question gives no count: most of the list is a right answer, the rest named as missed
HALF_NAMED = 0.5
BESIDE = 2  # words an answer may hold beside the names ("the", "and" aside): more, and it says something of them


def count_asked(question: str) -> int | None:
    m = _COUNT.search(question)
    if not m:
        return None
    word = m.group(1).lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def members(question: str, best: Any, candidates: Sequence[Any]) -> list[str]:
    """The names of the list a list question asks for: the points of the section whose heading shares most of its
    words (`best`'s first, where two share as many), by their names (a term, a subsection), in the order the
    search found them; [] where the question is no list question."""
    if not LIST_QUESTION.search(question) or best is None:
        return []
    from tutor.grading.keypoints import GENERIC_TERMS, is_example
    from tutor.knowledge.chunking import title

    asked = _stems(question)
    sections = list(dict.fromkeys([(best.source, best.section), *((p.source, p.section) for p in candidates)]))
    shared = [len(asked & _stems(title(section))) for _, section in sections]
    home = sections[max(range(len(sections)), key=lambda i: (shared[i], -i))]
    if max(shared) < 2:
        return []
    heading = title(home[1])
    # the terms of one subsection ("Key Components": Crews, Agents, Tasks, ...) where one holds three or more, else
    # the section's concepts (its subsections, "1. Encoder-Only Models", ...; or its terms, "Volume", "Velocity", ...)
    terms: dict[str, list[str]] = {}
    concepts: list[str] = []
    for p in candidates:
        # an example is no member; a term named "Tasks" is (CrewAI's), though its "Task:" lines are examples elsewhere
        if (p.source, p.section) != home or p.parent or (is_example(p) and p.term.lower() not in ("task", "tasks")):
            continue
        name = p.name
        if name.lower() in GENERIC_TERMS or name == heading or not _stems(name):
            continue
        if name not in concepts:
            concepts.append(name)
        if p.term and p.term.lower() not in GENERIC_TERMS and name not in terms.setdefault(p.concept, []):
            terms[p.concept].append(name)
    grouped = max(terms.values(), key=len, default=[])
    names = grouped if len(grouped) >= 3 and len(grouped) < len(concepts) else concepts
    count = count_asked(question)
    if not 3 <= len(names) <= 8 or (count is not None and count != len(names)):
        return []
    if any(named(question, [n]) for n in names):
        return []  # "what tasks are encoder-only models used for?" asks about one of them
    return names


def named(answer: str, names: Sequence[str]) -> list[str]:
    """The members an answer names: the words of a member's name but its kind's ("models"), as stems, side by side
    in the name's order, small joining words aside ("L1 and L2 regularization" names "L1/L2 Regularization";
    "encoder only and decoder only" does not name "Encoder-Decoder Models")."""
    said = [stem(t) for t in tokens(answer.lower()) if t not in _JOINERS]

    def says(form: str) -> bool:
        words = [t for t in tokens(form.lower()) if t not in _JOINERS]
        own = [stem(t) for t in words if t not in _KIND_WORDS] or [stem(t) for t in words]
        return bool(own) and any(said[k:k + len(own)] == own for k in range(len(said)))

    # a name or its short form in brackets ("Human-in-the-loop (HITL)": "human in the loop", or "HITL")
    return [n for n in names if any(says(f) for f in (re.sub(r"\s*\(.*?\)", " ", n), *re.findall(r"\((.*?)\)", n)))]


def list_grade(answer: str, names: Sequence[str], question: str, citations: Sequence[Any] | None,
               graded_against: str) -> Grade | None:
    """The grade of an answer to a list question, or None where it names too few members to be read this way."""
    if not names or not answer.strip() or not bare(answer, names, question):
        return None
    said = named(answer, names)
    share = len(said) / len(names)
    missed = [n for n in names if n not in said]
    if share >= ALL_NAMED or (share >= MOST_NAMED and count_asked(question) is None):
        verdict = "correct"
    elif share >= HALF_NAMED:
        verdict = "partially_correct"
    else:
        return None
    listed = ", ".join(names)
    if not missed:
        feedback = f"Right: you named all {len(names)}: {', '.join(said)}."
    else:
        lead = "Right" if verdict == "correct" else "Partly right"
        feedback = (f"{lead}: you named {len(said)} of the {len(names)} ({', '.join(said)}); "
                    f"the notes also list {', '.join(missed)}.")
    return Grade(score=banded(verdict, share), verdict=verdict, covered=said, missed=missed, feedback=feedback,
                 citations=list(citations or []), confidence=EVIDENCE, graded_against=graded_against,
                 key_point=listed, stated_words=said, missing_words=missed, reason="listed")


def with_list_point(grade: Grade, answer: str, names: Sequence[str]) -> Grade:
    """An unsure grade of a list question shows the list as the key point, its names said or not marked: the learner
    judges an answer that describes the members ("how much data, how fast it comes, ...") against all of them, not
    against the one point the answer was read against ("Volume: Refers to the sheer size of data")."""
    said = named(answer, names)
    return grade.model_copy(update={"key_point": ", ".join(names), "stated_words": said, "check": "",
                                    "missing_words": [n for n in names if n not in said]})


def bare(answer: str, names: Sequence[str], question: str) -> bool:
    """The answer is the names and little else: at most two words beside the members' and the question's, and no
    negation. What it says of them ("Volume is about speed", "these are not the V's") is read as any answer is."""
    words = [t for t in tokens(answer.lower()) if t not in STOPWORDS or t in NEGATIONS]
    if any(t in NEGATIONS or t.endswith("n't") for t in words):
        return False
    known = _stems(question) | {stem(t) for n in names for t in tokens(n.lower())} | {stem(t) for t in _KIND_WORDS}
    return sum(1 for t in words if stem(t) not in known) <= BESIDE


def _stems(text: str) -> set[str]:
    return {stem(t) for t in tokens(text.lower()) if t not in STOPWORDS and t not in _KIND_WORDS}
