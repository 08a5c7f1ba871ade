"""The real all-MiniLM-L6-v2 from the bundled package, over the real course notes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tutor.knowledge.embedder import MiniLMEmbedder
from tutor.settings import get_settings

pytestmark = pytest.mark.slow


def test_minilm_embeds_paraphrases_close_and_unrelated_text_far():
    embedder = MiniLMEmbedder()
    query, paraphrase, unrelated = embedder(
        [
            "why do we add sine and cosine to embeddings",
            "sinusoidal positional encodings give the transformer a sense of word order",
            "a data warehouse stores cleaned tables for business reports",
        ]
    )
    assert query.shape == (384,) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-4)
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.2
    assert np.allclose(embedder.embed_query(["why do we add sine and cosine to embeddings"])[0], query, atol=1e-5)


def test_search_over_the_real_notes_finds_positional_encoding_first(tutor, monkeypatch):
    monkeypatch.setenv("TUTOR_EMBEDDER", "minilm")
    get_settings.cache_clear()
    assert sorted(get_settings().knowledge_dir.glob("*.md")), "the course notes are missing"

    ran = tutor("search", "why do we add sine and cosine to embeddings", "--json")

    assert ran.exit_code == 0, ran.output
    hits = json.loads(ran.stdout)
    top = hits[0]
    assert "positional encoding" in f"{top['section']} {top['subsection']}".lower(), hits[:2]
    assert "sine and cosine" in top["text"]
    assert top["source"].endswith(".md") and top["line_start"] <= top["line_end"]
    assert top["similarity"] > 0.3
    # The collection remembers it was built by MiniLM: a second search re-embeds nothing.
    again = tutor("index", "--json")
    assert json.loads(again.stdout)["embedded"] == 0
