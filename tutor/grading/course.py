"""What the grader knows of the whole course: the stems of every word of the notes folder and its companion
(`course_words`: an answer in words the course never uses says nothing of it), and the one-word names of its
concepts (`course_terms`: another concept's name put in a point's place is a substitution)."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from tutor.grading.text import stem, tokens

__all__ = ["TERM_SPREAD", "course_terms", "course_words"]


TERM_SPREAD = 0.03  # the share of the notes' passages a concept's name is found in, at most


def course_words() -> set[str]:
    """The stems of every word in the configured notes folder and its companion (read once per folder)."""
    from tutor.settings import get_settings

    return _course_words(str(get_settings().knowledge_dir))


def course_terms() -> frozenset[str]:
    """The course's one-word names of its concepts, as stems: its bold terms of one word and the abbreviations in
    brackets ("Momentum", "Sharding", "SGD", "LSTM"), those the notes use in a few passages only. Another concept's
    name put in a point's place is a substitution whether or not its passage was among those retrieved."""
    from tutor.settings import get_settings

    return _course_terms(str(get_settings().knowledge_dir))


@lru_cache(maxsize=4)
def _chunks(folder: str) -> tuple:
    """The notes folder's passages, read and chunked once for both tables."""
    from tutor.knowledge.prebuilt import course_chunks

    return tuple(course_chunks(Path(folder)))


@lru_cache(maxsize=4)
def _spread(folder: str) -> Counter:
    """In how many passages each stem is found."""
    return Counter(t for chunk in _chunks(folder) for t in {stem(w) for w in tokens(chunk.text)})


@lru_cache(maxsize=4)
def _course_words(folder: str) -> frozenset[str]:
    return frozenset(_spread(folder))


@lru_cache(maxsize=4)
def _course_terms(folder: str) -> frozenset[str]:
    from tutor.grading.keypoints import GENERIC_TERMS, points_of_passages

    chunks, spread = _chunks(folder), _spread(folder)
    out = set()
    for point in points_of_passages(chunks):
        for name in {point.term, point.concept} - {""}:
            if name.lower() in GENERIC_TERMS:
                continue
            bare = [w for w in tokens(re.sub(r"\(.*?\)", "", name)) if not w.isdigit()]
            # a bold term of one word ("**Momentum**"), not a subsection's heading ("### Problems", "### Techniques")
            forms = re.findall(r"\((\w+)\)", name) + (bare if len(bare) == 1 and name == point.term else [])
            out |= {stem(f.lower()) for f in forms if len(f) > 2}
    # a name the notes use in a few places is a concept's; one used everywhere ("process", "value") is a word
    return frozenset(t for t in out if spread[t] <= max(TERM_SPREAD * len(chunks), 3))
