"""What the teaching pages share: a grade as a card (a verdict with its colour, icon and word, the key points,
the sources by section name), a learner's answer checked in a learner's words, a form's fields."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from tutor.web.render import note_link, section_label

VERDICTS = {"correct": "Correct", "partially_correct": "Partly correct", "incorrect": "Incorrect",
            "unsure": "Not sure", "skipped": "Skipped", "needs_review": "Needs review"}
MAX_ANSWER_CHARS = 20_000

# The terminal's words, as a learner in the browser should read them.
_LEARNER_WORDS = [
    (re.compile(r",? or '-' to read it from standard input"), ""),
    (re.compile(r"--n must be between (\d+) and (\d+), got (\S+)"), r"a quiz has between \1 and \2 questions, not \3"),
    (re.compile(r"--kind must be one of ([^,]+(?:, [^,']+)*), got '([^']*)'"), r"the kind of question is one of \1, not '\2'"),
    (re.compile(r"--level must be one of ([^,]+(?:, [^,']+)*), got '([^']*)'"), r"the level is one of \1, not '\2'"),
    (re.compile(r"--seed must be zero or positive"), "the seed is zero or a positive number"),
    (re.compile(r"use --level (\w+)"), r"choose the level \1"),
    (re.compile(r"--kind ([\w/]+)"), r"the kind \1"),
    (re.compile(r'e\.g\. tutor study "([^"]+)"'), r'e.g. "\1"'),
    (re.compile(r"\s*\(?tutor (?:quiz|study|index|doctor)[^)]*\)?"), ""),
]


def learner_words(message: str) -> str:
    """A message from the library (written for the terminal) without its command-line words."""
    for pattern, replacement in _LEARNER_WORDS:
        message = pattern.sub(replacement, message)
    message = message.strip()
    first = message.split(" ", 1)[0]
    return message[:1].upper() + message[1:] if first.isalpha() else message  # "class.csv: ..." stays as named


def answer_note(text: str) -> str | None:
    """Why an answer cannot be graded yet, in a learner's words; None when it can."""
    if not text.strip():
        return "Write your answer first: a few words in your own terms are enough."
    if len(text) > MAX_ANSWER_CHARS:
        return f"That answer is {len(text):,} characters long; keep it under {MAX_ANSWER_CHARS:,}."
    if "\x00" in text:
        return "That answer contains characters a text cannot hold; type it again."
    return None


async def form_of(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items()}


def is_unsure(graded: Any) -> bool:
    return graded.verdict == "unsure"


def verdict_label(verdict: str) -> str:
    return VERDICTS.get(verdict, verdict.replace("_", " ").capitalize())


def source_link(source: str, section: str) -> dict[str, str]:
    """A citation as the pages show it: the section's name as the link, the file and section in small print."""
    return {"source": source, "section": section, "name": section_label(section), "link": note_link(source, section)}


def grade_view(graded: Any) -> dict[str, Any]:
    """What templates/_grade.html shows."""
    seen: set[tuple[str, str]] = set()
    links = []
    for c in graded.citations or []:
        key = (c.get("source", ""), c.get("section", ""))
        if key[0] and key not in seen:
            seen.add(key)
            links.append(source_link(*key))
    return {"g": graded, "verdict": verdict_label(graded.verdict), "css": graded.verdict, "links": links}


def no_rating(web: Any, request: Request, choice: str | None) -> Any:
    if choice is None:
        return web.problem(request, "Rate your answer with Again, Hard, Good or Easy.")
    return web.problem(request, "That answer was already rated, or the tutor restarted since; answer the question again.",
                       status=404)
