"""`tutor index` and `tutor search` from the outside: output, exit codes, bad input, instant help."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.knowledge.retrieval import Passage
from tutor.settings import get_settings

NOTES = {
    "attention.md": """\
# Attention

## Self-attention

Every token attends to every other token through a softmax over scaled dot products.

## Positional encoding

Attention has no sense of order, so sine and cosine waves of many frequencies are added to the embeddings.
""",
    "training.md": """\
# Training

## Dropout

During training each unit is randomly zeroed with probability p.
""",
}


@pytest.fixture
def notes(tmp_path, monkeypatch):
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    monkeypatch.setenv("TUTOR_KNOWLEDGE_DIR", str(folder))
    get_settings.cache_clear()
    return folder


def assert_one_clean_line(ran, code: int, *needles: str) -> str:
    """The run ended with `code`, one line on stderr naming every needle, and no traceback."""
    assert ran.exit_code == code, ran.output
    assert "Traceback" not in ran.output
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- searching --------------------------------------------------------------------------------


def test_search_builds_the_index_on_first_use_and_prints_cited_json(notes, tutor):
    ran = tutor("search", "why add sine and cosine waves", "--json", "--k", "2")

    assert ran.exit_code == 0, ran.output
    assert "indexed 2 files" in ran.stderr
    hits = [Passage.model_validate(h) for h in json.loads(ran.stdout)]
    assert len(hits) == 2
    top = hits[0]
    assert (top.source, top.module, top.section, top.anchor) == ("attention.md", "Attention", "Positional encoding", "positional-encoding")
    assert (top.line_start, top.line_end) == (9, 9) and "sine and cosine" in top.text
    assert 0 < top.score <= 1

    again = tutor("search", "dropout", "--json", "--k", "1")
    assert again.stderr == ""  # already indexed: nothing to say
    assert json.loads(again.stdout)[0]["section"] == "Dropout"


def test_search_prints_readable_hits_with_citations(notes, tutor):
    ran = tutor("search", "softmax over scaled dot products", "-k", "1")
    assert ran.exit_code == 0, ran.output
    assert "1. Self-attention" in ran.stdout
    assert "attention.md:5-5" in ran.stdout


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_search_modes(notes, tutor, mode):
    ran = tutor("search", "dropout probability", "--mode", mode, "--json", "-k", "1")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)[0]["section"] == "Dropout"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("search", ""), "query is empty"),
        (("search", "   \t "), "query is empty"),
        (("search", "dropout", "--k", "0"), "--k must be at least 1"),
        (("search", "dropout", "--mode", "fuzzy"), "--mode must be"),
        (("index", "does-not-exist.md"), "no such file or folder: does-not-exist.md"),
    ],
)
def test_bad_input_ends_in_one_line_and_exit_2(notes, tutor, args, needle):
    assert_one_clean_line(tutor(*args), 2, needle)


def test_an_unreachable_chroma_server_is_one_line_naming_it(notes, tutor):
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("search", "dropout"), ("index",)):
        assert_one_clean_line(tutor(*args, env={"TUTOR_CHROMA_URL": url}), 1, url, "cannot reach")


def test_a_malformed_chroma_url_is_bad_usage(notes, tutor):
    assert_one_clean_line(tutor("search", "x", env={"TUTOR_CHROMA_URL": "localhost:8000"}), 2, "TUTOR_CHROMA_URL")


# ---- indexing ---------------------------------------------------------------------------------


def test_index_reports_a_summary_and_is_idempotent(notes, tutor):
    first = tutor("index", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["files"], report["chunks"], report["embedded"], report["skipped"]) == (2, 3, 3, [])

    second = tutor("index")
    assert second.exit_code == 0
    assert "Indexed 2 files into 3 passages (0 embedded, 0 removed)" in second.stdout

    rebuilt = json.loads(tutor("index", "--rebuild", "--json").stdout)
    assert rebuilt["embedded"] == 3


def test_unreadable_files_are_skipped_by_name_and_the_rest_indexed(notes, tutor, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    good = mine / "residuals.md"
    good.write_text("# Mine\n\n## Residual connections\n\nA skip connection adds the block's input to its output.\n")
    binary = tmp_path / "weights.txt"
    binary.write_bytes(b"\x00\x01\x02\x03" * 100)
    latin = tmp_path / "cafe.md"
    latin.write_bytes("# Caf\xe9\n\nna\xefve".encode("latin-1"))
    broken = tmp_path / "slides.pdf"
    broken.write_bytes(b"%PDF-1.7\n%broken beyond repair")
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    read_bytes = Path.read_bytes

    def deny_locked(self):  # tests run as root here, so chmod 000 would not stop the read
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", deny_locked)

    ran = tutor("index", str(mine), str(binary), str(latin), str(broken), str(locked))

    assert ran.exit_code == 0, ran.output
    assert "Traceback" not in ran.output
    warnings = [line for line in ran.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 4
    for path, reason in ((binary, "binary"), (latin, "UTF-8"), (broken, "PDF"), (locked, "Permission denied")):
        assert any(str(path) in w and reason in w for w in warnings), (path, warnings)
    assert "Indexed 3 files" in ran.stdout  # the two notes and residuals.md

    hit = json.loads(tutor("search", "skip connection adds the input", "--json", "-k", "1").stdout)[0]
    assert (hit["source"], hit["section"]) == (str(good.resolve()), "Residual connections")


def test_a_removed_user_folder_leaves_the_index_with_a_warning(notes, tutor, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "extra.txt").write_text("Label smoothing softens one-hot targets.")
    assert tutor("index", str(mine)).exit_code == 0
    (mine / "extra.txt").unlink()
    mine.rmdir()

    ran = tutor("index", "--json")

    report = json.loads(ran.stdout)
    assert report["deleted"] == 1 and "no longer exists" in report["skipped"][0]
    assert json.loads(tutor("index", "--json").stdout)["skipped"] == []  # forgotten after one warning


# ---- instant help -----------------------------------------------------------------------------

HEAVY = ("torch", "crewai", "chromadb", "sentence_transformers", "litellm", "bm25s")


@pytest.mark.parametrize("argv", [["--help"], ["search", "--help"], ["index", "--help"]])
def test_help_imports_no_heavy_library(argv):
    probe = (
        "import sys\n"
        f"sys.argv = ['tutor', *{argv!r}]\n"
        "from tutor.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print('HEAVY:', ','.join(heavy), 'CODE:', code, file=sys.stderr)\n"
    )
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)

    assert "Usage" in done.stdout
    assert done.stderr.strip().endswith("HEAVY:  CODE: 0"), done.stderr


def test_a_real_process_prints_nothing_but_its_warnings_and_summary(notes, tmp_path):
    """In a real process no library logger or warning leaks a stray line (pytest would capture it)."""
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>")
    env = {**os.environ, "TUTOR_KNOWLEDGE_DIR": str(notes), "COLUMNS": "200"}

    done = subprocess.run(
        [sys.executable, "-m", "tutor", "index", str(broken)], capture_output=True, text=True, env=env, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"warning: skipped {broken}: not a readable PDF (PdfStreamError)"]
    assert done.stdout.startswith("Indexed 2 files into 3 passages")
