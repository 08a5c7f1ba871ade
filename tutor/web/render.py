"""Text to HTML for the pages: Markdown with raw HTML disabled, citations as links that land on the cited heading
or bullet of the notes, highlighted.

Everything that reaches a page from the notes, a user's document, a model or a learner is either escaped
by Jinja2 or rendered here by markdown-it with `html: False` (a `<script>` in a note is shown as text).

A citation names `source § section` or `source § section > subsection`: the section is a `#`/`##` heading of
the file, the subsection a `###` heading inside it or the bold term of a bullet (`- **Dropout**: ...`). Its link
is `/notes/SOURCE?hl=SECTION#ANCHOR`, ANCHOR the section's slug, or `slug(section)--slug(subsection)`; the notes
page gives that id to the heading's block or the bullet and marks it `highlight`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape, unescape
from urllib.parse import quote

from markupsafe import Markup

CITATION = re.compile(r"\[([\w.\-]+\.(?:md|txt|pdf)) § ([^\]\n]{1,160})\]")
BULLET_TERM = re.compile(r"<li>(\s*<p>)?\s*<strong>(.{1,120}?)</strong>")


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _slug(text: str) -> str:
    from tutor.knowledge.chunking import slugify

    return slugify(text)


def split_section(section: str) -> tuple[str, str]:
    """"5. Regularization > AlexNet" -> ("5. Regularization", "AlexNet"); no subsection -> (section, "")."""
    head, _, sub = section.partition(" > ")
    return head.strip(), sub.strip()


def anchor(section: str) -> str:
    head, sub = split_section(section)
    return f"{_slug(head)}--{_slug(sub)}" if sub else _slug(head)


def note_link(source: str, section: str, subsection: str = "") -> str:
    """The notes page of `source`, scrolled to the cited section (or its subsection) and highlighting it."""
    if subsection:
        section = f"{section} > {subsection}"
    return f"/notes/{quote(source)}?hl={quote(section)}#{quote(anchor(section))}"


def section_label(section: str) -> str:
    """A section's name as a learner reads it: "5. Regularization > AlexNet" -> "Regularization › AlexNet"."""
    from tutor.knowledge.chunking import title

    head, sub = split_section(section)
    name = title(head) or head or "the notes"
    return f"{name} › {title(sub) or sub}" if sub else name


def markdown(text: str) -> Markup:
    """A lesson or an answer as HTML: raw HTML is shown as text; each [source § section] is a link named by the
    section (the file and section in its tooltip) to the notes, scrolled to that heading or bullet."""

    def link(match: re.Match[str]) -> str:
        source, section = match.group(1), match.group(2).strip()
        label = "§ " + section_label(section)
        for ch in "[]*_`<>\\":
            label = label.replace(ch, " ")
        tip = f"{source} § {section}".replace('"', "'").replace("\\", " ")
        return f'[{label}]({note_link(source, section)} "{tip}")'

    html = _markdown().render(CITATION.sub(link, text))
    return Markup(html.replace('<a href="/notes/', '<a class="cite" href="/notes/'))


def _mark_terms(html: str, section_anchor: str, wanted: str) -> tuple[str, bool]:
    """Each bullet that starts with a bold term gets the id `section--term` (the first of a name only); the wanted
    one is marked highlight."""
    seen: set[str] = set()
    found = False

    def one(m: re.Match[str]) -> str:
        nonlocal found
        term = _slug(unescape(re.sub(r"<[^>]+>", "", m.group(2))))
        ident = f"{section_anchor}--{term}"
        if not term or ident in seen:
            return m.group(0)
        seen.add(ident)
        mark = ""
        if wanted and ident == wanted and not found:
            found, mark = True, " class=highlight"
        return f'<li id="{escape(ident)}"{mark}>{m.group(1) or ""}<strong>{m.group(2)}</strong>'

    return BULLET_TERM.sub(one, html), found


def _blocks(lines: list[str], pattern: str) -> list[tuple[str, list[str]]]:
    """Lines split at the headings `pattern` matches: [(heading title or "", lines)], the heading line kept."""
    current: list[str] = []
    out: list[tuple[str, list[str]]] = [("", current)]
    for line in lines:
        if re.match(pattern, line):
            current = [line]
            out.append((line.lstrip("#").strip(), current))
        else:
            current.append(line)
    return out


def notes_html(text: str, source: str, highlight: str = "") -> tuple[Markup, bool]:
    """A notes file as HTML, every section, subsection and bullet term with the id its citations link to; the
    cited one marked `highlight` (a subsection that is not found falls back to its section). Also: whether
    anything was highlighted."""
    md = _markdown()
    wanted_head, wanted_sub = split_section(highlight) if highlight else ("", "")
    wanted_section = _slug(wanted_head) if wanted_head else ""
    wanted = anchor(highlight) if highlight else ""
    out: list[str] = []
    marked = False
    for title, lines in _blocks(text.splitlines(), r"^#{1,2}\s"):  # a section of the index: a `#` or `##` heading
        if not title:
            out.append(md.render("\n".join(lines)))
            continue
        section_anchor = _slug(title)
        parts: list[str] = []
        inner = False
        for sub, sub_lines in _blocks(lines, r"^###\s"):
            body = md.render("\n".join(sub_lines))
            if not sub:
                body, hit = _mark_terms(body, section_anchor, wanted if wanted_sub else "")
                inner = inner or hit
                parts.append(body)
                continue
            sub_anchor = f"{section_anchor}--{_slug(sub)}"
            hit = bool(wanted_sub) and sub_anchor == wanted and not inner
            body, term_hit = _mark_terms(body, sub_anchor, "")
            if not hit and wanted_sub and section_anchor == wanted_section and not inner:
                body, term_hit = _mark_terms(md.render("\n".join(sub_lines)), section_anchor, wanted)
            inner = inner or hit or term_hit
            parts.append(f'<section id="{escape(sub_anchor)}"{" class=highlight" if hit else ""}>{body}</section>')
        whole = section_anchor == wanted_section and (not wanted_sub or not inner)
        marked = marked or inner or whole
        out.append(f'<section id="{escape(section_anchor)}"{" class=highlight" if whole else ""}>{"".join(parts)}</section>')
    return Markup("".join(out)), marked
