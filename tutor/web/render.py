"""Text to HTML for the pages: Markdown with raw HTML disabled, citations as links to the notes, SVG bars.

Everything that reaches a page from the notes, a user's document, a model or a learner is either escaped
by Jinja2 or rendered here by markdown-it with `html: False` (a `<script>` in a note is shown as text).
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from urllib.parse import quote

from markupsafe import Markup

CITATION = re.compile(r"\[([\w.\-]+\.(?:md|txt|pdf)) § ([^\]\n]{1,160})\]")


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def note_link(source: str, section: str) -> str:
    from tutor.knowledge.chunking import slugify

    return f"/notes/{quote(source)}?hl={quote(section)}#{quote(slugify(section))}"


def markdown(text: str) -> Markup:
    """A lesson or an answer as HTML: raw HTML is shown as text; each [source § section] links to the notes."""

    def link(match: re.Match[str]) -> str:
        source, section = match.group(1), match.group(2).strip()
        label = f"{source} § {section}".replace("[", "(").replace("]", ")")
        return f"[{label}]({note_link(source, section)})"

    return Markup(_markdown().render(CITATION.sub(link, text)))


def notes_html(text: str, source: str, highlight: str = "") -> Markup:
    """A notes file as HTML, every heading with the anchor the index cites; the highlighted section marked."""
    from tutor.knowledge.chunking import slugify

    md = _markdown()
    wanted = slugify(highlight) if highlight else ""
    # Render section by section: split the Markdown at headings so each lands inside its <section>.
    out: list[str] = []
    current: list[str] = []
    sections: list[tuple[str, list[str]]] = [("", current)]
    for line in text.splitlines():
        if re.match(r"^#{1,2}\s", line):  # a section of the index is a `#` or `##` heading; `###` stay inside
            current = [line]
            sections.append((line.lstrip("#").strip(), current))
        else:
            current.append(line)
    for title, lines in sections:
        body = md.render("\n".join(lines))
        if not title:
            out.append(body)
            continue
        anchor = slugify(title)
        mark = " class=highlight" if wanted and anchor == wanted else ""
        out.append(f'<section id="{escape(anchor)}"{mark}>{body}</section>')
    return Markup("".join(out))


def bars(rows: list[tuple[str, float | None]], width: int = 320) -> Markup:
    """Horizontal bars as inline SVG (no script, no CDN): one per (label, share in [0, 1] or None)."""
    height = 22
    parts = [f'<svg class=bars role=img viewBox="0 0 {width + 260} {height * max(1, len(rows))}" '
             f'width="{width + 260}" height="{height * max(1, len(rows))}">']
    for k, (label, value) in enumerate(rows):
        y = k * height
        shown = "not answered yet" if value is None else f"{value:.0%}"
        w = 0 if value is None else max(1, int(width * max(0.0, min(1.0, value))))
        parts.append(f'<text x="0" y="{y + 15}" class=label>{escape(label[:38])}</text>')
        parts.append(f'<rect x="250" y="{y + 4}" width="{width}" height="14" class=track></rect>')
        parts.append(f'<rect x="250" y="{y + 4}" width="{w}" height="14" class=fill></rect>')
        parts.append(f'<text x="{250 + width + 6}" y="{y + 15}" class=value>{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(scores: list[float], width: int = 420, height: int = 80) -> Markup:
    """The score history as an inline SVG line, oldest first."""
    if not scores:
        return Markup("")
    step = width / max(1, len(scores) - 1)
    points = " ".join(f"{k * step:.1f},{height - 4 - s * (height - 8):.1f}" for k, s in enumerate(scores))
    return Markup(f'<svg class=history role=img viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
                  f'<polyline points="{points}" class=line></polyline></svg>')
