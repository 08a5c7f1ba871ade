"""The note store and hybrid retrieval: idempotent indexing, embedder identity, fusion, recovery."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import known_embedding_functions

from tutor.knowledge.chunking import chunk_file
from tutor.knowledge.embedder import EMBEDDERS, HashingEmbedder, MiniLMEmbedder
from tutor.knowledge.retrieval import Retriever, open_retriever
from tutor.knowledge.store import NoteStore
from tutor.settings import get_settings

OPTIMIZERS = """\
# Optimizers

## Adam

Adam keeps running averages of the gradient and of its square, as in the Kingma-Ba paper.

## Learning rate warmup

Start with a tiny step size and grow it linearly over the first updates.
"""

REGULARIZATION = """\
# Regularization

## Dropout

During training each unit is randomly zeroed with probability p, so no unit can rely on another.

## Weight decay

An L2 penalty on the weights pulls them towards zero.
"""


@pytest.fixture(autouse=True)
def chroma_registry():
    """Chroma registers the class of every embedder a collection is created with; undo the fakes'."""
    saved = dict(known_embedding_functions)
    yield
    known_embedding_functions.clear()
    known_embedding_functions.update(saved)


@pytest.fixture
def notes(tmp_path, monkeypatch):
    """A small notes folder used as TUTOR_KNOWLEDGE_DIR."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "optimizers.md").write_text(OPTIMIZERS)
    (folder / "regularization.md").write_text(REGULARIZATION)
    monkeypatch.setenv("TUTOR_KNOWLEDGE_DIR", str(folder))
    get_settings.cache_clear()
    return folder


class RecordingEmbedder(HashingEmbedder):
    """The hashing embedder (same name and config) that remembers every text it embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __call__(self, input: Documents) -> Embeddings:
        self.seen.extend(input)
        return super().__call__(input)


def store_with(embedder: Any) -> NoteStore:
    get_settings.cache_clear()
    return NoteStore(get_settings(), embedder=embedder)


# ---- idempotent indexing -----------------------------------------------------------------------


def test_reindexing_embeds_only_what_changed(notes):
    first = store_with(RecordingEmbedder())
    report = first.sync()
    assert (report.files, report.chunks, report.embedded, report.deleted) == (2, 4, 4, 0)
    assert len(first.embedder.seen) == 4

    again = store_with(RecordingEmbedder())
    report = again.sync()
    assert (report.chunks, report.embedded, report.deleted) == (4, 0, 0)
    assert again.embedder.seen == []
    assert not again.needs_sync()

    # One sentence changes in one section of one file: exactly that chunk is embedded again.
    (notes / "regularization.md").write_text(REGULARIZATION.replace("An L2 penalty", "A squared L2 penalty"))
    edited = store_with(RecordingEmbedder())
    assert edited.needs_sync()
    report = edited.sync()
    assert (report.chunks, report.embedded, report.deleted) == (4, 1, 1)
    assert len(edited.embedder.seen) == 1 and "squared L2 penalty" in edited.embedder.seen[0]
    assert "squared" in " ".join(c.text for c in edited.all_chunks())

    # A deleted file takes its passages with it.
    (notes / "optimizers.md").unlink()
    removed = store_with(RecordingEmbedder())
    report = removed.sync()
    assert (report.files, report.chunks, report.embedded, report.deleted) == (1, 2, 0, 2)
    assert {c.source for c in removed.all_chunks()} == {"regularization.md"}
    hits = Retriever(removed).search("Kingma Adam", k=5)
    assert all(p.source != "optimizers.md" for p in hits)


def test_lines_added_above_a_section_move_its_citation_without_re_embedding(notes):
    store_with(HashingEmbedder()).sync()
    (notes / "optimizers.md").write_text(OPTIMIZERS.replace("# Optimizers\n", "# Optimizers\n\nTwo\nnew lines.\n"))

    store = store_with(RecordingEmbedder())
    report = store.sync()

    assert (report.embedded, report.relocated) == (1, 2)  # the intro is new; both sections only moved
    assert store.embedder.seen[0].startswith("Optimizers > Introduction")
    warmup = next(c for c in store.all_chunks() if c.section == "Learning rate warmup")
    text = (notes / "optimizers.md").read_text().splitlines()
    assert text[warmup.line_start - 1] == "Start with a tiny step size and grow it linearly over the first updates."
    # The cached BM25 index follows the new line ranges too.
    hit = Retriever(store).search("tiny step size warmup", k=1)[0]
    assert (hit.section, hit.line_start) == ("Learning rate warmup", warmup.line_start)


def test_rebuild_re_embeds_everything(notes):
    store_with(HashingEmbedder()).sync()
    store = store_with(RecordingEmbedder())
    report = store.sync(rebuild=True)
    assert (report.chunks, report.embedded) == (4, 4)


# ---- the embedder --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("embedder", "config"),
    [
        (HashingEmbedder(dimensions=64), {"dimensions": 64}),
        (MiniLMEmbedder(batch_size=16), {"model": "all-MiniLM-L6-v2", "batch_size": 16}),
    ],
)
def test_embedders_implement_chromas_whole_protocol(embedder, config):
    assert isinstance(embedder, EmbeddingFunction)
    assert embedder.get_config() == config
    rebuilt = type(embedder).build_from_config(embedder.get_config())
    assert type(rebuilt) is type(embedder) and rebuilt.get_config() == config
    assert known_embedding_functions[embedder.name()] is type(embedder)  # Chroma can rebuild it by name
    assert embedder.default_space() in embedder.supported_spaces()
    assert not embedder.is_legacy()
    assert set(EMBEDDERS) == {"minilm", "hashing"}


def test_hashing_embedder_is_deterministic_and_unit_length():
    embedder = HashingEmbedder()
    a, b = embedder(["attention is all you need"]), embedder.embed_query(["attention is all you need"])
    assert np.allclose(a[0], b[0]) and np.isclose(np.linalg.norm(a[0]), 1.0)
    assert a[0].shape == (256,)


def test_the_collection_records_the_embedder_that_built_it(notes):
    store = store_with(HashingEmbedder())
    store.sync()
    assert store.collection.metadata["embedder"] == "tutor-hashing"
    assert json.loads(store.collection.metadata["embedder_config"]) == {"dimensions": 256}
    assert store.collection.configuration["embedding_function"].name() == "tutor-hashing"


@pytest.mark.parametrize("other", [HashingEmbedder(dimensions=64), "renamed"])
def test_another_embedder_rebuilds_the_index_with_a_notice(notes, other):
    store_with(HashingEmbedder()).sync()

    if other == "renamed":

        class Renamed(HashingEmbedder):
            @staticmethod
            def name() -> str:
                return "another-model"

        other = Renamed()
    store = store_with(other)
    report = store.sync()

    assert report.embedded == report.chunks == 4  # every vector comes from the new embedder
    assert len(report.notices) == 1 and "rebuilding" in report.notices[0]
    assert re.search(r"built with embedder 'tutor-hashing.*', not '.*'", report.notices[0])
    assert store.collection.metadata["embedder"] == other.name()
    assert Retriever(store).search("dropout", k=1)[0].section == "Dropout"


def test_switching_embedder_from_the_cli_rebuilds_with_a_notice(notes, tutor, monkeypatch):
    assert tutor("index").exit_code == 0
    monkeypatch.setitem(EMBEDDERS, "small", lambda: HashingEmbedder(dimensions=32))

    ran = tutor("search", "dropout", "--json", env={"TUTOR_EMBEDDER": "small"})

    assert ran.exit_code == 0, ran.output
    assert "rebuilding" in ran.stderr and "tutor-hashing" in ran.stderr
    assert json.loads(ran.stdout)[0]["section"] == "Dropout"


# ---- hybrid retrieval -----------------------------------------------------------------------------


class ConceptEmbedder(EmbeddingFunction[Documents]):
    """A fake dense model that knows paraphrases and nothing else: words map to shared concepts."""

    CONCEPTS = {
        "dropout": ["zeroed", "zeroes", "zero", "dropping", "dropped", "switching", "off", "neurons", "unit", "units"],
        "schedule": ["warmup", "step", "size", "linearly", "ramp"],
        "penalty": ["l2", "penalty", "decay", "shrink"],
    }

    def __init__(self) -> None:
        self.index = {w: i + 1 for i, words in enumerate(self.CONCEPTS.values()) for w in words}

    def __call__(self, input: Documents) -> Embeddings:
        vectors = []
        for text in input:
            v = np.zeros(len(self.CONCEPTS) + 1, dtype=np.float32)
            v[0] = 0.05  # never the zero vector
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if word in self.index:
                    v[self.index[word]] += 1.0
            vectors.append(v / np.linalg.norm(v))
        return vectors

    @staticmethod
    def name() -> str:
        return "test-concepts"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "ConceptEmbedder":
        return ConceptEmbedder()


def test_hybrid_finds_rare_terms_through_bm25_and_paraphrases_through_dense(notes):
    store = store_with(ConceptEmbedder())
    store.sync()
    retriever = Retriever(store)
    query = "Kingma and switching off neurons"  # a rare name, and a paraphrase of dropout

    def sections(mode):
        return [p.section for p in retriever.search(query, k=2, mode=mode)]

    assert "Adam" not in sections("dense") and sections("dense")[0] == "Dropout"
    assert sections("bm25") == ["Adam"]  # no word of the paraphrase occurs in the Dropout section
    assert set(sections("hybrid")) == {"Adam", "Dropout"}

    hits = retriever.search(query, k=2)
    adam = next(p for p in hits if p.section == "Adam")
    assert adam.citation == "optimizers.md § Adam"
    assert (adam.source, adam.module, adam.anchor, adam.line_start, adam.line_end) == ("optimizers.md", "Optimizers", "adam", 5, 5)
    assert 0 < adam.score <= 1 and max(p.score for p in hits) <= 1
    assert adam.similarity > 0  # filled in from its stored vector although dense did not rank it


def test_search_returns_one_passage_per_section_unless_asked(notes):
    long_section = "# Long\n\n## Momentum\n\n" + "\n\n".join(
        f"Momentum paragraph {i}: velocity accumulates past gradients. " + "filler words here " * 40 for i in range(6)
    )
    (notes / "long.md").write_text(long_section)
    store = store_with(HashingEmbedder())
    store.sync()
    assert len([c for c in store.all_chunks() if c.section == "Momentum"]) > 2

    hits = Retriever(store).search("momentum velocity accumulates gradients", k=5)
    assert len(hits) == len({(p.source, p.section) for p in hits})
    assert hits[0].section == "Momentum"

    every_chunk = Retriever(store).search("momentum velocity accumulates gradients", k=5, per="chunk")
    assert sum(p.section == "Momentum" for p in every_chunk) > 1


def test_search_builds_the_index_on_first_use(notes):
    messages: list[str] = []
    retriever = open_retriever(echo=messages.append)
    assert any("indexed 2 files" in m for m in messages)
    assert retriever.search("warmup", k=1)[0].section == "Learning rate warmup"

    messages.clear()
    open_retriever(echo=messages.append)
    assert messages == []  # nothing changed, nothing said


# ---- recovery ------------------------------------------------------------------------------------


def test_a_corrupted_index_directory_is_rebuilt_with_a_message(notes, tutor):
    assert tutor("index").exit_code == 0
    sqlite = get_settings().chroma_dir / "chroma.sqlite3"
    assert sqlite.exists()
    sqlite.write_bytes(b"this is not a database" * 500)

    ran = tutor("search", "dropout", "--json")

    assert ran.exit_code == 0, ran.output
    assert "damaged" in ran.stderr and "rebuilding" in ran.stderr
    assert "Traceback" not in ran.output
    assert json.loads(ran.stdout)[0]["section"] == "Dropout"
    assert tutor("search", "warmup", "--json").exit_code == 0


def test_a_corrupted_index_found_by_a_fresh_process_is_rebuilt(notes):
    from tutor.knowledge.store import release_local_store

    store_with(HashingEmbedder()).sync()
    release_local_store(get_settings().chroma_dir)  # as if this were a new process
    (get_settings().chroma_dir / "chroma.sqlite3").write_bytes(b"\x00garbage" * 100)

    store = store_with(HashingEmbedder())
    report = store.sync()

    assert report.embedded == 4 and "damaged" in report.notices[0]
    assert Retriever(store).search("Kingma", k=1)[0].section == "Adam"


def test_a_file_where_the_index_directory_should_be_is_replaced(notes):
    chroma_dir = get_settings().chroma_dir
    chroma_dir.parent.mkdir(parents=True)
    chroma_dir.write_text("not a directory")

    store = store_with(HashingEmbedder())
    report = store.sync()

    assert report.embedded == 4 and "damaged" in report.notices[0]
    assert chroma_dir.is_dir()


def test_files_that_cannot_be_read_are_skipped_and_the_rest_indexed(notes, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "good.md").write_text("# Mine\n\n## Residuals\n\nSkip connections add the input back.\n")
    (mine / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (mine / "photo.png").write_bytes(b"\x89PNG\x00\x00")  # not a note type: ignored inside a folder
    store = store_with(HashingEmbedder())
    store.add_sources([mine])

    report = store.sync()

    assert report.files == 3
    assert len(report.skipped) == 1 and "latin1.txt" in report.skipped[0] and "UTF-8" in report.skipped[0]
    assert {c.source for c in chunk_file(mine / "good.md", "x")} == {"x"}
    assert any(c.section == "Residuals" for c in store.all_chunks())


def test_a_half_written_lexical_cache_is_rebuilt_not_read_as_empty(notes):
    """Eight processes starting at once: one may find the cache folder another is still writing. The cache is
    published by renaming a finished folder into place, and an empty chunk list is never trusted."""
    from tutor.knowledge.retrieval import LexicalIndex

    store = store_with(HashingEmbedder())
    store.sync()
    built = LexicalIndex.load_or_build(store)
    assert len(built.chunks) == 4
    lexical = store.settings.index_dir / "lexical"
    [folder] = list(lexical.iterdir())  # published, and no staging folder left behind
    assert ".tmp-" not in folder.name and (folder / "chunks.jsonl").read_text().count("\n") == 3
    (folder / "chunks.jsonl").write_text("")  # what a reader saw mid-write before
    again = LexicalIndex.load_or_build(store)
    assert len(again.chunks) == 4 and again.search("dropout", 2)
    assert (folder / "chunks.jsonl").read_text().count("\n") == 3  # and the cache is whole again
