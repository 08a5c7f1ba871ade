"""The shipped embeddings of the shipped notes and companion (tutor/knowledge/prebuilt.py): up to date with
the notes, equal to what the embedder makes, inserted (never embedded) on a fresh home; a changed passage,
a user's own file and another embedder embedded as before."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from chromadb.api.types import Documents, Embeddings

from tests.test_store import chroma_registry  # noqa: F401  (autouse: undo the fake embedders' Chroma registrations)
from tutor.knowledge import prebuilt
from tutor.knowledge.embedder import HashingEmbedder, MiniLMEmbedder
from tutor.knowledge.store import NoteStore
from tutor.settings import bundled_path, get_settings

REGENERATE = "the shipped embeddings are stale: run `python -m tutor.knowledge.prebuilt` and commit tutor/knowledge/data/"




class CountingMiniLM(MiniLMEmbedder):
    """MiniLM's name and config (so the shipped vectors serve it), but 384-d hashing vectors and a tally
    of every text it was asked to embed: a test that it is asked for nothing needs no model."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __call__(self, input: Documents) -> Embeddings:
        self.seen.extend(input)
        return HashingEmbedder(384)(input)


def store_with(embedder) -> NoteStore:
    get_settings.cache_clear()
    return NoteStore(get_settings(), embedder=embedder)


def test_the_shipped_embeddings_cover_exactly_the_shipped_passages():
    missing, unused = prebuilt.stale(bundled_path("knowledge"))
    assert not missing, f"{REGENERATE}; passages with no vector: " + "; ".join(
        f"{c.source} § {c.section} > {c.subsection}" for c in missing[:5])
    assert not unused, f"{REGENERATE}; {len(unused)} vectors of passages that are gone"
    table = prebuilt.shipped()
    assert table is not None and table.serves(MiniLMEmbedder())
    assert not table.serves(HashingEmbedder())
    meta = json.loads(prebuilt.INDEX.read_text())
    assert meta["dtype"] == "float16" and meta["passages"] == len(table.hashes) == table.vectors.shape[0]
    assert np.load(prebuilt.VECTORS).dtype == np.float16


@pytest.mark.slow
def test_the_shipped_vectors_are_what_minilm_makes():
    """Every 25th shipped passage re-embedded by the real MiniLM: equal within float16's precision
    (`python -m tutor.knowledge.prebuilt --check --verify` compares all of them)."""
    worst = prebuilt.verify(bundled_path("knowledge"), every=25)
    assert worst < prebuilt.TOLERANCE, f"{REGENERATE} (largest difference {worst:.2e})"


def test_a_fresh_home_inserts_the_shipped_vectors_and_embeds_nothing():
    store = store_with(CountingMiniLM())
    report = store.sync()
    course = prebuilt.course_chunks(bundled_path("knowledge"))

    assert store.embedder.seen == [], f"embedded {len(store.embedder.seen)} shipped passages instead of inserting them"
    assert (report.embedded, report.inserted, report.chunks) == (0, len(course), len(course))
    table = prebuilt.shipped()
    sample = course[::10]
    stored = store.vectors([c.id for c in sample])
    for chunk in sample:
        assert np.allclose(stored[chunk.id], table.vector(chunk), atol=1e-6)
    # Nothing changed: a second sync adds nothing; a rebuild re-embeds everything, as its help says.
    assert store_with(CountingMiniLM()).sync().inserted == 0
    rebuilt = store_with(CountingMiniLM())
    report = rebuilt.sync(rebuild=True)
    assert (report.embedded, report.inserted) == (len(course), 0) and len(rebuilt.embedder.seen) == len(course)


def test_the_cli_on_a_fresh_home_says_it_embedded_nothing(tutor, monkeypatch):
    monkeypatch.setenv("TUTOR_EMBEDDER", "minilm")
    ran = tutor("index", "--json")
    assert ran.exit_code == 0, ran.output
    report = json.loads(ran.stdout)
    assert report["embedded"] == 0 and report["inserted"] == report["chunks"] > 400


def test_a_changed_passage_and_the_users_own_files_are_embedded(tmp_path, monkeypatch):
    notes = tmp_path / "notes"
    shutil.copytree(bundled_path("knowledge"), notes)
    path = notes / "02-training-neural-networks.md"
    text = path.read_text()
    line = next(line for line in text.splitlines() if "dropout" in line.lower() and len(line) > 40)
    path.write_text(text.replace(line, line + " (edited by the learner)"))
    own = tmp_path / "mine.md"
    own.write_text("# Mine\n\n## Adam\n\nAdam keeps running averages of the gradient and of its square.\n")
    monkeypatch.setenv("TUTOR_KNOWLEDGE_DIR", str(notes))

    store = store_with(CountingMiniLM())
    store.add_sources([own])
    report = store.sync()

    assert len(store.embedder.seen) == report.embedded == 2  # the edited passage and the user's one
    assert any("(edited by the learner)" in t for t in store.embedder.seen)
    assert any("running averages" in t for t in store.embedder.seen)
    assert report.inserted == report.chunks - 2


def test_another_embedder_never_gets_minilms_vectors():
    store = store_with(HashingEmbedder())
    report = store.sync()
    assert report.inserted == 0 and report.embedded == report.chunks


# ---- the candidate sentences of an offline answer (tutor/llms/sentences.py) ---------------------------------
SENTENCES_STALE = ("the shipped sentence vectors are stale: run `python -m tutor.llms.sentences` and commit "
                   "tutor/knowledge/data/")


def test_the_shipped_sentence_vectors_cover_every_candidate_sentence():
    from tutor.llms import sentences

    missing, unused = sentences.stale(bundled_path("knowledge"))
    assert not missing, f"{SENTENCES_STALE}; e.g. {missing[:3]}"
    assert not unused, f"{SENTENCES_STALE}; {unused} vectors of sentences that are gone"
    table = sentences.shipped_sentences()
    assert table is not None and table.serves(MiniLMEmbedder()) and not table.serves(HashingEmbedder())
    assert not table.serves(lambda texts: texts)  # a plain function says nothing of what it is
    assert np.load(sentences.VECTORS).dtype == np.float16 and len(table.hashes) > 1000


@pytest.mark.slow
def test_the_shipped_sentence_vectors_are_what_minilm_makes():
    from tutor.llms import sentences

    texts = sentences.course_sentences(bundled_path("knowledge"))[::60]
    fresh = np.asarray(MiniLMEmbedder()(texts), dtype=np.float32)
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    table = sentences.shipped_sentences()
    worst = max(float(np.abs(f - table.vector(t)).max()) for f, t in zip(fresh, texts))
    assert worst < prebuilt.TOLERANCE, f"{SENTENCES_STALE} (largest difference {worst:.2e})"


def test_a_new_question_embeds_itself_and_no_shipped_sentence():
    """The answer composer's candidates from the shipped course are never embedded, a user's own line and the
    question are; another embedder gets nothing shipped."""
    from tutor.llms import sentences
    from tutor.llms.direct import kept_vectors

    course = sentences.course_sentences(bundled_path("knowledge"))[::100]
    counting = CountingMiniLM()
    texts = ["why do we need positional encoding?", *course, "A line of my own notes about attention heads."]
    vectors = kept_vectors(counting)(texts)
    assert counting.seen == [texts[0], texts[-1]]
    assert vectors.shape == (len(texts), 384)
    table = sentences.shipped_sentences()
    assert np.allclose(vectors[1], table.vector(course[0]), atol=1e-6)

    class Other(HashingEmbedder):
        def __init__(self) -> None:
            super().__init__(384)
            self.seen: list[str] = []

        def __call__(self, input: Documents) -> Embeddings:
            self.seen.extend(input)
            return super().__call__(input)

    other = Other()
    kept_vectors(other)(course)
    assert other.seen == course
