"""Citations checked against the knowledge base: how a learner knows what came from the notes.

Every `[source § section]` a lesson or an answer writes is resolved against the index: a marker that names a
real `##` section (of the course notes or of a file the user indexed) is verified; any other is rewritten in
the text as an unverified citation and left out of the citations shown as sources. The counts go into the
output (`citations_verified`, `citations_unverified`), and a text with citations of which none is real says
so at the top.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_MARKER = re.compile(r"\[([^\[\]§]+?)\s*§\s*([^\[\]]+?)\]")
NONE_VERIFIED = ("> **Note:** none of the citations below names a section of the notes; read this as the model's "
                 "own words, not as what the notes say.")


def _key(source: str, section: str) -> tuple[str, str]:
    section = section.split(" > ")[0]
    section = re.sub(r"\s*\(lines \d+-\d+\)\s*$", "", section)
    return source.strip().lower(), " ".join(section.split()).lower()


def check_citations(text: str, citations: Iterable[Any], known: set[tuple[str, str]]) -> tuple[str, list[Any], int, int]:
    """(text with unverified markers rewritten, the verified citations, verified count, unverified count).
    `known` holds (source, section) of every indexed section; `citations` are Citation-like objects."""
    index = {_key(s, sec) for s, sec in known}
    verified: set[tuple[str, str]] = set()
    unverified: set[tuple[str, str]] = set()

    def mark(m: re.Match) -> str:
        source, section = m.group(1), m.group(2)
        if _key(source, section) in index:
            verified.add(_key(source, section))
            return m.group(0)
        if "explanation of" in source:  # the tutor's companion label wraps a real citation
            return m.group(0)
        unverified.add(_key(source, section))
        return f"[unverified citation: {source.strip()} § {section.strip()}]"

    checked = _MARKER.sub(mark, text)
    kept = []
    for c in citations:
        key = _key(c.source, c.section)
        if key in index:
            verified.add(key)
            kept.append(c)
        else:
            unverified.add(key)
    if unverified and not verified:
        checked = f"{NONE_VERIFIED}\n\n{checked}"
    return checked, kept, len(verified), len(unverified)


def indexed_sections() -> set[tuple[str, str]]:
    """(source, section) of every section the index holds."""
    from tutor.tools.notes import shared_retriever

    return {(c.source, c.section) for c in shared_retriever().lexical.chunks}
