"""tutor's own MiniLM (tutor/knowledge/minilm.py) against the oracle, SentenceTransformer on the same weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tutor.knowledge.chunking import chunk_file
from tutor.knowledge.embedder import bundled_model_dir
from tutor.knowledge.minilm import MiniLM
from tutor.settings import bundled_path

pytestmark = pytest.mark.slow

NOTES = bundled_path("knowledge")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    chunks = [c.search_text for p in sorted(NOTES.glob("*.md")) for c in chunk_file(p, p.name)]
    longer_than_the_window = " ".join(chunks[:6])  # > 256 word pieces: cut where sentence-transformers cuts
    return [*chunks, longer_than_the_window, "", "why do we add sine and cosine to embeddings",
            "Ünïcödé — naïve café, 日本語 and an emoji 😀", "ReLU(x) = max(0, x)"]


@pytest.fixture(scope="module")
def oracle(texts):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True)
    return model, model.encode(texts, normalize_embeddings=True, show_progress_bar=False)


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM(bundled_model_dir())


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_both_paths_give_the_sentence_transformers_vectors(minilm, texts, oracle, backend):
    ours = np.concatenate([minilm.encode(texts[i : i + 8], batch_size=4, backend=backend)
                           for i in range(0, len(texts), 8)])

    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    assert np.abs(ours - oracle[1]).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_word_pieces_and_the_cut_at_256_match_sentence_transformers(minilm, texts, oracle):
    model, _ = oracle
    for text in (texts[-5], texts[-1], texts[-2]):
        assert minilm.tokenizer.encode(text).ids == model.tokenize([text])["input_ids"][0].tolist()
    assert len(minilm.tokenizer.encode(texts[-5]).ids) == 256


def test_batches_sorted_by_length_come_back_in_input_order(minilm, texts):
    one_by_one = np.stack([minilm.encode([t], backend="numpy")[0] for t in texts[:5]])
    together = minilm.encode(texts[:5][::-1], batch_size=2, backend="numpy")[::-1]
    assert np.abs(one_by_one - together).max() < 1e-5
    assert minilm.encode([]).shape == (0, 384)


def test_a_cold_search_imports_neither_torch_nor_sentence_transformers(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "attention.md").write_text("# Attention\n\n## Positional encoding\n\nSine and cosine waves mark "
                                        "where each token sits in the sequence.\n")
    env = {**os.environ, "TUTOR_EMBEDDER": "minilm", "TUTOR_KNOWLEDGE_DIR": str(notes)}
    built = subprocess.run([sys.executable, "-m", "tutor", "index"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    probe = (
        "import sys\n"
        "sys.argv = ['tutor', 'search', 'why sine and cosine', '--json']\n"
        "from tutor.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('HEAVY:', sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    searched = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300,
                              cwd=Path(__file__).parent)
    assert '"section": "Positional encoding"' in searched.stdout, searched.stderr
    assert searched.stderr.strip().endswith("HEAVY: []"), searched.stderr
