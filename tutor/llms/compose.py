"""How the offline model writes: every sentence it outputs is a passage it read, quoted and cited.

These functions turn retrieved passages into the answers of the built-in tasks (a lesson, research
notes, an extractive answer for any YAML-defined task). They add structure and headings, never facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from tutor.crew.outputs import Citation
from tutor.llms.protocol import Retrieved

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
STOPWORDS = frozenset(
    "a an the of to in on for and or is are was were be been being with by as at from that this these those "
    "it its into how what why when which who whom whose do does did can could should would will shall may might "
    "must about explain tell me us give show describe between vs versus over under than then there their they "
    "you your we our i my not no yes so such also more most less least very much many some any each every all "
    "short history topic notes course learner lesson please".split()
)
CONTRAST = re.compile(r"\b(not|unlike|instead|rather than|whereas|however|but|vs\.?|versus|only)\b", re.I)
SIMILARITY_COVERED = 0.45  # MiniLM cosine above which a passage is on topic even without shared words


def content_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2]


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ers", "er", "ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def mentions(text: str, word: str) -> bool:
    return _stem(word.lower()) in _stems(text)


@lru_cache(maxsize=8192)
def _stems(text: str) -> frozenset[str]:
    """The stems of a text's words, kept: an answer asks this of the same candidate lines thousands of times."""
    return frozenset(_stem(w.lower()) for w in _WORD.findall(text))


def topic_covered(topic: str, passages: list[Retrieved]) -> bool:
    """The notes cover a topic when a passage is very close in meaning, or every topic word is in them."""
    if not passages:
        return False
    if max(p.similarity for p in passages) >= SIMILARITY_COVERED:
        return True
    words = [w for w in content_words(topic) if len(w) >= 4] or content_words(topic)
    text = "\n".join(f"{p.heading}\n{p.text}" for p in passages)
    return bool(words) and all(mentions(text, w) for w in words)


def relevant(topic: str, passages: list[Retrieved], limit: int) -> list[Retrieved]:
    """The passages about the topic: close in meaning to the best one, or headed by a topic word."""
    if not passages:
        return []
    best = max(p.similarity for p in passages)
    words = content_words(topic)
    keep = [
        p for p in passages
        if p.similarity >= max(best - 0.15, 0.25) or any(mentions(p.heading, w) for w in words)
    ]
    return (keep or passages[:1])[:limit]


def _headed_by(topic: str, p: Retrieved) -> bool:
    return any(mentions(p.heading, w) for w in content_words(topic))


def focus(topic: str, passages: list[Retrieved], limit: int) -> list[Retrieved]:
    """The passages under headings that name the topic (and any as close in meaning as the best one);
    when no heading names it, the passages close in meaning to the best one."""
    headed = [p for p in passages if _headed_by(topic, p)]
    if not headed:
        return relevant(topic, passages, limit)
    best = max(p.similarity for p in passages)
    return [p for p in passages if p in headed or p.similarity >= best - 0.03][:limit]


def teaching_order(passages: list[Retrieved]) -> list[Retrieved]:
    """The notes' own order, the module of the best passage first: the notes build ideas in sequence."""
    if not passages:
        return []
    home = passages[0].source
    return sorted(passages, key=lambda p: (p.source != home, p.source, p.line_start))


def lines_of(text: str) -> list[str]:
    """The passage's lines without heading markers or empty lines."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        out.append(re.sub(r"^#{1,6}\s+", "", stripped))
    return out


def plain(line: str) -> str:
    """A line without list markers, for quoting inline."""
    return re.sub(r"^([-*+]|\d+\.)\s+", "", line).strip()


def is_lead_in(p: Retrieved) -> bool:
    """A section's one-line lead-in ("Core components of the transformer:") teaches nothing alone."""
    body = [l for l in lines_of(p.text) if l != p.subsection]
    return len(body) <= 1 and (not body or body[0].rstrip().endswith(":") or len(body[0]) < 40)


def clip_lines(lines: list[str], limit: int) -> list[str]:
    kept, size = [], 0
    for line in lines:
        if kept and size + len(line) > limit:
            break
        kept.append(line)
        size += len(line)
    return kept


def unique_citations(passages: Iterable[Retrieved]) -> list[Citation]:
    seen, out = set(), []
    for p in passages:
        if (p.source, p.section, p.kind) not in seen:
            seen.add((p.source, p.section, p.kind))
            out.append(Citation(source=p.source, section=p.section, kind=p.kind))
    return out


def notes_only(passages: Iterable[Retrieved]) -> list[Retrieved]:
    """The passages in the notes' (or a user's document's) own words: what may be quoted as the notes."""
    return [p for p in passages if p.kind == "notes"]



def compose_research(topic: str, passages: list[Retrieved]) -> str:
    if not topic_covered(topic, notes_only(passages)):
        near = ", ".join(f"{p.heading} ({p.source})" for p in passages[:3]) or "none"
        return f"The course notes do not cover {topic}. Nearest sections: {near}."
    chosen = focus(topic, passages, limit=8)
    lines = [f"Research notes on {topic}, from the course notes:"]
    for p in chosen:
        quote = " ".join(plain(l) for l in clip_lines([l for l in lines_of(p.text) if l != p.subsection], 400))
        lines.append(f"- {p.cite} {quote}")
    return "\n".join(lines)


def compose_extract(query: str, task_text: str, passages: list[Retrieved], max_lines: int = 8) -> str:
    """A grounded extractive answer for any task: the note lines that best match it, quoted and cited."""
    if not topic_covered(query, notes_only(passages)):
        near = ", ".join(f"{p.heading} ({p.source})" for p in passages[:3]) or "none"
        return f'The course notes do not cover "{query}". The nearest sections they do cover: {near}.'
    wanted = set(content_words(f"{query} {task_text}"))
    query_words = set(content_words(query))
    scored = []
    for rank, p in enumerate(passages):
        for order, line in enumerate(l for l in lines_of(p.text) if l != p.subsection):
            words = set(content_words(line))
            overlap = len(words & wanted) + 2 * len(words & query_words)
            scored.append((overlap + p.similarity * 2 - rank * 0.3, rank, order, plain(line), p))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    on_topic = [s for s in scored if s[0] - s[4].similarity * 2 + s[1] * 0.3 > 0] or scored
    picked = sorted(on_topic[:max_lines], key=lambda s: (s[1], s[2]))
    lines = [f'From the course notes, on "{query}":']
    for _, _, _, line, p in picked:
        if line:
            lines.append(f'- "{line}" {p.cite}')
    lines.append("")
    lines.append("(The offline model quotes the notes; configure a generative model for a written answer.)")
    return "\n".join(lines)
