"""Split notes into chunks that keep their heading path, line range and a stable content id.

A `##` section is the unit a citation points at; a long section is cut further at `###`
headings and then at paragraph or bullet boundaries so each chunk fits the embedder's window.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import BaseModel

MAX_CHARS = 900  # all-MiniLM-L6-v2 reads 256 word pieces, roughly 1,000 characters
SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".pdf"}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


class Chunk(BaseModel):
    """One retrievable piece of the notes, with everything a citation needs."""

    id: str
    text: str
    source: str  # file name inside the notes directory, or the user's file path
    module: str  # the document title (`#`)
    section: str  # the `##` heading a citation names
    subsection: str = ""
    anchor: str  # slug of `section`, as Markdown renderers make it
    line_start: int  # 1-based, inclusive
    line_end: int
    kind: str = "notes"  # "notes" (the notes' or a user's own words) or "companion" (the tutor's explanation)

    @property
    def heading_path(self) -> str:
        return " > ".join(p for p in (self.module, self.section, self.subsection) if p)

    @property
    def search_text(self) -> str:
        """What the embedder and BM25 read: the heading path gives a chunk its context."""
        return f"{self.heading_path}\n{self.text}"

    @property
    def citation(self) -> str:
        return f"{self.source} § {self.section} (lines {self.line_start}-{self.line_end})"

    def metadata(self) -> dict[str, str | int]:
        return self.model_dump(exclude={"id", "text"})


# A line that defines a term: "- **Dropout**: ...", "5. **Batch Normalization Layer**: ...", "- Batch Normalization: ..."
TERM_LINE = re.compile(r"^(?:(?:[-*+]|\d+[.)])\s+)?(?:\*\*(?P<bold>[^*]{2,80}?)\*\*|(?P<plain>[A-Z][\w\-/() ]{1,60}?))"
                        r"\s*(?::|\s[-–—]\s)")

def title(heading: str) -> str:
    """A heading without its list number: "3. Transformer Architecture" -> "Transformer Architecture",
    "b. Word2Vec" -> "Word2Vec"."""
    return re.sub(r"^\s*(\d+|[a-z])[.)]\s+", "", heading).strip()


def slugify(title: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", title.lower()).strip()
    return re.sub(r"[\s]+", "-", slug)


def chunk_id(source: str, heading_path: str, text: str) -> str:
    """Same content at the same place gives the same id, so re-indexing is idempotent."""
    digest = hashlib.sha1(f"{source}\n{heading_path}\n{text}".encode()).hexdigest()
    return digest[:24]


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _cut_line(line: str, limit: int) -> list[str]:
    """A line longer than `limit` cut at sentence ends, then at spaces, then anywhere."""
    parts: list[str] = []
    buf = ""
    for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
        words = sentence.split(" ") if len(sentence) > limit else [sentence]
        for word in words:
            while len(word) > limit:  # a formula or URL with no space in it
                if buf:
                    parts.append(buf)
                    buf = ""
                parts.append(word[:limit])
                word = word[limit:]
            joiner = " " if buf else ""
            if len(buf) + len(joiner) + len(word) > limit:
                parts.append(buf)
                buf, joiner = "", ""
            buf = f"{buf}{joiner}{word}"
    if buf:
        parts.append(buf)
    return [p for p in parts if p.strip()]


def _split_long(lines: list[tuple[int, str]], limit: int) -> list[list[tuple[int, str]]]:
    """Cut numbered lines into pieces whose text stays within `limit` characters.

    A piece closes at the last blank line, list item or code fence that keeps it under the limit;
    only a run of text with no such boundary is cut at the line that overflows, and only a single
    line longer than the limit is cut inside (at sentence ends, then spaces).
    """
    units: list[tuple[int, str]] = []
    for number, line in lines:
        if len(line) <= limit:
            units.append((number, line))
        else:
            units.extend((number, part) for part in _cut_line(line, limit))

    pieces: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    size = 0  # characters of "\n".join(current) + 1
    last_boundary = 0  # index in `current` where a cut keeps paragraphs, lists and code blocks whole
    in_fence = False
    for number, line in units:
        fence = bool(_FENCE.match(line))
        boundary = not in_fence and (not line.strip() or fence or bool(_LIST_ITEM.match(line)))
        if fence:
            in_fence = not in_fence
        while current and size + len(line) > limit:
            cut = len(current) if boundary or last_boundary == 0 else last_boundary
            pieces.append(current[:cut])
            current = current[cut:]
            while current and not current[0][1].strip():
                current.pop(0)
            size = sum(len(l) + 1 for _, l in current)
            last_boundary = 0
        if not current and not line.strip():
            continue
        if boundary and current:
            last_boundary = len(current)
        current.append((number, line))
        size += len(line) + 1
    if current:
        pieces.append(current)
    for piece in pieces:
        while piece and not piece[-1][1].strip():
            piece.pop()
    return [p for p in pieces if p]


def _heading_lines(lines: list[str]) -> dict[int, tuple[int, str]]:
    """{line index: (level, title)} for Markdown headings outside fenced code blocks."""
    headings: dict[int, tuple[int, str]] = {}
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence  # a `# comment` inside a code block is not a heading
            continue
        if not in_fence and (m := _HEADING.match(line)):
            headings[index] = (len(m.group(1)), m.group(2).strip())
    return headings


def chunk_markdown(text: str, source: str, default_title: str) -> list[Chunk]:
    """Chunks of a Markdown document: one or more per `##` section (or per heading if it has no `##`)."""
    lines = text.splitlines()
    headings = _heading_lines(lines)
    has_h2 = any(level == 2 for level, _ in headings.values())
    split_level = 2 if has_h2 else 1
    module = next((title for level, title in headings.values() if level == 1 and title), default_title)

    # Group lines into (section, subsection, [(lineno, text)]) blocks.
    blocks: list[tuple[str, str, list[tuple[int, str]]]] = []
    section, subsection = "", ""
    current: list[tuple[int, str]] = []

    def flush() -> None:
        if any(l.strip() for _, l in current):
            blocks.append((section, subsection, list(current)))
        current.clear()

    for number, line in enumerate(lines, start=1):
        if number - 1 in headings:
            level, title = headings[number - 1]
            if level < split_level:
                flush()
                continue
            if level == split_level:
                flush()
                section, subsection = title, ""
                continue
            if level == split_level + 1:
                flush()
                subsection = title
                current.append((number, line))
                continue
        current.append((number, line))
    flush()

    chunks: list[Chunk] = []
    for section_title, sub, block in blocks:
        section_title = section_title or "Introduction"
        for piece in _split_long(block, MAX_CHARS):
            body = "\n".join(l for _, l in piece).strip()
            if not body:
                continue
            path = " > ".join(p for p in (module, section_title, sub) if p)
            chunks.append(
                Chunk(
                    id=chunk_id(source, path, body),
                    text=body,
                    source=source,
                    module=module,
                    section=section_title,
                    subsection=sub,
                    anchor=slugify(section_title),
                    line_start=piece[0][0],
                    line_end=piece[-1][0],
                )
            )
    return chunks


def chunk_plain(text: str, source: str, title: str, section_prefix: str = "Part") -> list[Chunk]:
    """Chunks of plain text: paragraphs grouped under the size limit, each group its own section."""
    numbered = list(enumerate(text.splitlines(), start=1))
    chunks = []
    for i, piece in enumerate(_split_long(numbered, MAX_CHARS), start=1):
        body = "\n".join(l for _, l in piece).strip()
        if not body:
            continue
        section = f"{section_prefix} {i}"
        chunks.append(
            Chunk(
                id=chunk_id(source, f"{title} > {section}", body),
                text=body,
                source=source,
                module=title,
                section=section,
                anchor=slugify(section),
                line_start=piece[0][0],
                line_end=piece[-1][0],
            )
        )
    return chunks


class UnreadableFile(Exception):
    """A file that cannot be indexed (binary, not UTF-8, broken PDF); the index skips it."""


def read_pdf(path: Path, source: str) -> list[Chunk]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs every repair it attempts ("EOF marker not found"); the skip warning says it once.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as e:
        raise UnreadableFile(f"not a readable PDF ({e.__class__.__name__})") from e
    chunks: list[Chunk] = []
    for number, page in enumerate(pages, start=1):
        for chunk in chunk_plain(page, source, path.stem, section_prefix=f"Page {number}, part"):
            chunks.append(chunk)
    if not chunks:
        raise UnreadableFile("the PDF has no extractable text")
    return chunks


def chunk_file(path: Path, source: str) -> list[Chunk]:
    """Chunks of one file, or UnreadableFile saying why it cannot be indexed."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type '{suffix or path.name}' (use .md, .txt or .pdf)")
    if suffix == ".pdf":
        return read_pdf(path, source)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"cannot be read ({e.strerror or e})") from e
    if b"\x00" in raw[:8192]:
        raise UnreadableFile("looks binary")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableFile(f"is not UTF-8 text (byte {e.start})") from e
    if not text.strip():
        raise UnreadableFile("is empty")
    if suffix in (".md", ".markdown"):
        return chunk_markdown(text, source, default_title=path.stem)
    return chunk_plain(text, source, path.stem)
