"""Client/server mode against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tutor.settings import get_settings

pytestmark = pytest.mark.slow


def chroma_executable() -> str | None:
    """The `chroma` CLI next to this interpreter (a venv that is not activated), else on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    """A `chroma run` server with its own data folder; yields its URL and is killed afterwards."""
    executable = chroma_executable()
    if executable is None:
        pytest.skip("the `chroma` executable is not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "chroma-server.log").open("wb")
    server = subprocess.Popen(
        [executable, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"chroma run exited with {server.returncode}: {(tmp_path / 'chroma-server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_index_and_search_through_a_chroma_server(chroma_server, tutor, tmp_path, monkeypatch):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "norms.md").write_text(
        "# Normalization\n\n## Batch normalization\n\nNormalize each feature over the batch, then scale and shift.\n\n"
        "## Layer normalization\n\nNormalize over the features of one example; transformers use it.\n"
    )
    monkeypatch.setenv("TUTOR_KNOWLEDGE_DIR", str(notes))
    monkeypatch.setenv("TUTOR_CHROMA_URL", chroma_server)

    first = tutor("index", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["embedded"] == 2
    assert not get_settings().chroma_dir.exists()  # nothing was written to an embedded store

    second = tutor("index", "--json")
    assert json.loads(second.stdout)["embedded"] == 0  # idempotent on the server too

    ran = tutor("search", "which normalization do transformers use", "--json", "-k", "2")
    assert ran.exit_code == 0, ran.output
    hits = json.loads(ran.stdout)
    assert hits[0]["section"] == "Layer normalization"
    assert hits[0]["source"] == "norms.md" and hits[0]["line_start"] == 9

    # The collection really lives on the server: a plain client sees it, with its embedder recorded.
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    collection = next(c for c in client.list_collections() if c.name == "notes")
    assert collection.count() == 2 and collection.metadata["embedder"] == "tutor-hashing"
