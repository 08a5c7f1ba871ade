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


def slugify(title: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", title.lower()).strip()
    return re.sub(r"[\s]+", "-", slug)


def chunk_id(source: str, heading_path: str, text: str) -> str:
    """Same content at the same place gives the same id, so re-indexing is idempotent."""
    digest = hashlib.sha1(f"{source}\n{heading_path}\n{text}".encode()).hexdigest()
    return digest[:24]


def _split_long(lines: list[tuple[int, str]], limit: int) -> list[list[tuple[int, str]]]:
    """Cut numbered lines into pieces under `limit` characters at blank lines or bullets."""
    pieces: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    size = 0
    for number, line in lines:
        boundary = not line.strip() or line.lstrip().startswith(("- ", "* ", "1. ")) or re.match(r"^\s*\d+\.\s", line)
        if current and size + len(line) > limit and boundary:
            pieces.append(current)
            current, size = [], 0
        if not current and not line.strip():
            continue
        current.append((number, line))
        size += len(line) + 1
    if current:
        pieces.append(current)
    for piece in pieces:
        while piece and not piece[-1][1].strip():
            piece.pop()
    pieces = [p for p in pieces if p]
    # A single line longer than the limit is cut at sentence ends.
    result: list[list[tuple[int, str]]] = []
    for piece in pieces:
        if sum(len(l) for _, l in piece) <= limit * 2 or len(piece) > 1:
            result.append(piece)
            continue
        number, line = piece[0]
        sentences = re.split(r"(?<=[.!?])\s+", line)
        buf = ""
        for sentence in sentences:
            if buf and len(buf) + len(sentence) > limit:
                result.append([(number, buf)])
                buf = ""
            buf = f"{buf} {sentence}".strip()
        if buf:
            result.append([(number, buf)])
    return result


def chunk_markdown(text: str, source: str, default_title: str) -> list[Chunk]:
    """Chunks of a Markdown document: one or more per `##` section (or per heading if it has no `##`)."""
    lines = text.splitlines()
    has_h2 = any(l.startswith("## ") for l in lines)
    split_level = 2 if has_h2 else 1
    module = default_title
    for line in lines:
        m = _HEADING.match(line)
        if m and len(m.group(1)) == 1:
            module = m.group(2).strip()
            break

    # Group lines into (section, subsection, [(lineno, text)]) blocks.
    blocks: list[tuple[str, str, list[tuple[int, str]]]] = []
    section, subsection = "", ""
    current: list[tuple[int, str]] = []

    def flush() -> None:
        if any(l.strip() for _, l in current):
            blocks.append((section, subsection, list(current)))
        current.clear()

    for number, line in enumerate(lines, start=1):
        m = _HEADING.match(line)
        if m:
            level, title = len(m.group(1)), m.group(2).strip()
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
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

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
