"""The real all-MiniLM-L6-v2 from the bundled package, over the real course notes."""

from __future__ import annotations

import json
import re

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


@pytest.mark.parametrize("topic, sections", [
    ("gradient descent", {"2. How Neural Networks Learn from Labeled Data", "3. Dealing with Local Minima in Loss Optimization"}),
    ("bn", {"4. Vanishing Gradients and Covariance Shift", "3. Typical CNN Architecture for Image Classification"}),
    ("human in the loop", {"6. Trustworthy and Ethical AI: Human in-, on-, and out-the-loop"}),
    ("cot", {"5. Components of CrewAI Framework and Chain-of-Thought Reasoning"}),
    ("SHAP", {"7. Explainability (XAI) in Deep Learning"}),
    ("backpropogation", {"2. How Neural Networks Learn from Labeled Data"}),
])
def test_a_lessons_key_ideas_come_from_the_sections_that_teach_the_topic(tutor, monkeypatch, topic, sections):
    """Key ideas by meaning (#26): never HOG for gradient descent nor tokenization for batch normalization."""
    monkeypatch.setenv("TUTOR_EMBEDDER", "minilm")
    get_settings.cache_clear()
    ran = tutor("study", topic, "--no-demo", "--json")
    assert ran.exit_code == 0, ran.output
    md = json.loads(ran.stdout)["markdown"]
    keys = md.split("## Key ideas", 1)[1].split("\n## ", 1)[0]
    cited = re.findall(r"^\d+\. \*\*.+?\*\* \[[^§\]]+ § ([^\]>]+?)(?: > [^\]]*)?\]", keys, re.M)
    assert cited and set(cited) <= sections, cited


def test_a_topic_the_notes_only_mention_gets_a_short_lesson_that_says_so(tutor, monkeypatch):
    monkeypatch.setenv("TUTOR_EMBEDDER", "minilm")
    get_settings.cache_clear()
    lesson = json.loads(tutor("study", "spam detection", "--no-demo", "--json").stdout)
    assert lesson["covered"] is False and "only mention" in lesson["markdown"]
    assert "high precision for spam detection" in lesson["markdown"] and "## Key ideas" not in lesson["markdown"]


def test_ask_leads_with_the_answer_and_a_chat_follow_up_adds_something_new(tutor, monkeypatch):
    monkeypatch.setenv("TUTOR_EMBEDDER", "minilm")
    get_settings.cache_clear()
    answer = json.loads(tutor("ask", "what happens if the nms threshold is too low?", "--json").stdout)["answer"]
    assert "missed detections" in answer.splitlines()[0]  # the consequence first, then the bullets
    ran = tutor("chat", input="what is non-maximum suppression?\nand if its threshold is too high?\n/quit\n")
    assert ran.exit_code == 0, ran.output
    turns = ran.stdout.split("you> ")
    first, second = (" ".join(t.split("Ask next")[0].replace("│", " ").split()) for t in turns[1:3])
    assert "duplicate" in second.lower()
    quoted = re.findall(r"\u201c([^\u201d]{20,})\u201d", first)
    assert quoted and not any(q in second for q in quoted)  # none of the first answer's lines again
