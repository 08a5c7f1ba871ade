"""Chunking: heading paths, real line ranges, size limits, stable ids, and every file type."""

from __future__ import annotations

import pytest

from tutor.knowledge.chunking import MAX_CHARS, UnreadableFile, chunk_file, chunk_markdown, slugify

NOTE = """\
# Transformers

A short welcome before any section.

## Self-attention

Each token attends to every other token.
The weights are a softmax over scaled dot products.

### Scaled dot product

We divide by sqrt(d_k) so the softmax does not saturate.

```python
# (B, T, C) -> (B, T, T): a comment, not a heading
att = q @ k.transpose(-2, -1)
```

## Positional encoding

Attention has no sense of order, so sine and cosine waves are added to the embeddings.
"""


def lines_of(text: str, start: int, end: int) -> str:
    return "\n".join(text.splitlines()[start - 1 : end]).strip()


def test_sections_keep_their_heading_path_and_real_line_range():
    chunks = chunk_markdown(NOTE, "transformers.md", default_title="transformers")

    assert [(c.section, c.subsection) for c in chunks] == [
        ("Introduction", ""),
        ("Self-attention", ""),
        ("Self-attention", "Scaled dot product"),
        ("Positional encoding", ""),
    ]
    for chunk in chunks:
        assert chunk.module == "Transformers"
        assert chunk.source == "transformers.md"
        assert chunk.anchor == slugify(chunk.section)
        # The recorded line range is exactly where the text sits in the file.
        assert chunk.text == lines_of(NOTE, chunk.line_start, chunk.line_end)

    scaled = chunks[2]
    assert scaled.heading_path == "Transformers > Self-attention > Scaled dot product"
    assert scaled.search_text.startswith(scaled.heading_path + "\n")
    assert "# (B, T, C)" in scaled.text  # a comment inside a code fence stays in its section
    assert chunks[3].anchor == "positional-encoding"
    assert chunks[3].citation == f"transformers.md § Positional encoding (lines {chunks[3].line_start}-{chunks[3].line_end})"


def test_a_document_without_sections_is_split_at_its_title():
    chunks = chunk_markdown("# Only a title\n\nsome text\n", "a.md", default_title="a")
    assert [(c.module, c.section, c.line_start, c.line_end) for c in chunks] == [("Only a title", "Only a title", 3, 3)]

    untitled = chunk_markdown("plain words\n", "b.md", default_title="b")
    assert [(c.module, c.section) for c in untitled] == [("b", "Introduction")]


def test_long_sections_are_split_under_the_limit_at_paragraphs_and_bullets():
    paragraphs = [f"Paragraph {i}: " + " ".join(f"word{i}x{j}" for j in range(40)) for i in range(12)]
    bullets = [f"- bullet {i} " + "gradient " * 12 for i in range(20)]
    run_on = " ".join(f"Sentence number {i} follows." for i in range(120))  # one line far over the limit
    text = "# M\n\n## Long\n\n" + "\n\n".join(paragraphs) + "\n\n" + "\n".join(bullets) + "\n\n" + run_on + "\n"

    chunks = chunk_markdown(text, "m.md", default_title="m")

    assert len(chunks) > 5
    assert all(c.section == "Long" for c in chunks)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    # Nothing is lost or duplicated, and paragraphs are never cut in the middle.
    assert "".join("".join(c.text.split()) for c in chunks) == "".join("".join(text.split("## Long", 1)[1].split()))
    for paragraph in paragraphs:
        assert sum(paragraph in c.text for c in chunks) == 1
    for chunk in chunks:
        assert chunk.line_start <= chunk.line_end
        if chunk.line_start != chunk.line_end:  # pieces of the run-on line all point at that one line
            assert chunk.text == lines_of(text, chunk.line_start, chunk.line_end)
    assert len({c.id for c in chunks}) == len(chunks)


def test_ids_are_stable_and_change_with_content_or_place():
    first = chunk_markdown(NOTE, "t.md", "t")
    again = chunk_markdown(NOTE, "t.md", "t")
    assert [c.id for c in first] == [c.id for c in again]

    edited = chunk_markdown(NOTE.replace("no sense of order", "no notion of order"), "t.md", "t")
    changed = {c.section for c, d in zip(first, edited) if c.id != d.id}
    assert changed == {"Positional encoding"}

    elsewhere = chunk_markdown(NOTE, "u.md", "t")
    assert not {c.id for c in first} & {c.id for c in elsewhere}

    # Lines added above a section move its line range but keep its id (so it is not re-embedded).
    shifted = chunk_markdown(NOTE.replace("A short welcome", "A short\n\nwelcome"), "t.md", "t")
    assert shifted[-1].id == first[-1].id
    assert shifted[-1].line_start == first[-1].line_start + 2


def test_text_files_are_chunked_by_paragraph_groups(tmp_path):
    path = tmp_path / "lecture.txt"
    path.write_text("Dropout zeroes random activations.\n\nIt acts as a regulariser.\n", encoding="utf-8")

    chunks = chunk_file(path, "lecture.txt")

    assert [(c.module, c.section, c.line_start, c.line_end) for c in chunks] == [("lecture", "Part 1", 1, 3)]
    assert "regulariser" in chunks[0].text


def make_pdf(path, pages: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:  # TrueType: text extractable
        for text in pages:
            fig = plt.figure(figsize=(5, 3))
            fig.text(0.05, 0.5, text)
            pdf.savefig(fig)
            plt.close(fig)


def test_pdf_pages_become_cited_sections(tmp_path):
    path = tmp_path / "slides.pdf"
    make_pdf(path, ["Dropout randomly zeroes activations.", "Batch normalization rescales each batch."])

    chunks = chunk_file(path, "slides.pdf")

    assert [c.section for c in chunks] == ["Page 1, part 1", "Page 2, part 1"]
    assert "Dropout" in chunks[0].text and "Batch normalization" in chunks[1].text
    assert all(c.module == "slides" and c.source == "slides.pdf" for c in chunks)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "PDF"),
        ("truncated.pdf", b"%PDF-1.", "PDF"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.md", "caf\xe9 na\xefve".encode("latin-1"), "UTF-8"),
        ("empty.md", b"  \n", "empty"),
        ("model.bin", b"\x00\x01", "unsupported"),
    ],
)
def test_files_that_cannot_be_read_say_why(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        chunk_file(path, name)


def test_an_unreadable_file_says_why(tmp_path, monkeypatch):
    path = tmp_path / "secret.md"
    path.write_text("# hidden\n")
    original = type(path).read_bytes

    def denied(self):
        if self.name == "secret.md":
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(type(path), "read_bytes", denied)
    with pytest.raises(UnreadableFile, match="Permission denied"):
        chunk_file(path, "secret.md")
