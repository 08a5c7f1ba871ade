"""Hybrid retrieval: dense (Chroma) and lexical (BM25, bm25s) rankings fused by reciprocal rank fusion.

Dense search finds paraphrases; BM25 finds exact terms (names, acronyms, formulas) that a small
embedder blurs. Reciprocal rank fusion needs no score calibration between the two.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from tutor.errors import UsageError
from tutor.knowledge.chunking import Chunk
from tutor.knowledge.store import NoteStore

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of the very top ranks
CANDIDATES = 40  # how deep each ranking is read before fusion
# Students ask in sentences ("why do we...", "what should I..."): with Lucene's 33 stopwords the
# question words survive, are rare in the notes, and so weigh most. NLTK's list drops them.
STOPWORDS = "en_plus"
Mode = Literal["hybrid", "dense", "bm25"]
Per = Literal["heading", "section", "chunk"]  # what one search hit stands for (duplicates beyond it are dropped)


class Passage(BaseModel):
    """A retrieved piece of the notes with its citation; the `--json` form of a search hit."""

    text: str
    source: str
    section: str
    subsection: str = ""
    module: str
    anchor: str
    line_start: int
    line_end: int
    score: float  # fused score scaled to [0, 1]: 1 means first in both rankings
    similarity: float  # cosine similarity of query and passage (0 when only BM25 found it)
    id: str
    kind: str = "notes"  # "companion": the tutor's explanation of the section, not the notes' words

    @property
    def citation(self) -> str:
        return f"{self.source} § {self.section}"


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional for bm25s; without it BM25 matches exact word forms
        return None


def _tokenize(texts: list[str]):
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=_stemmer(), show_progress=False)


def _tokenizer_signature() -> str:
    """Part of the BM25 cache key: an index tokenized one way cannot answer queries tokenized another."""
    return f"{STOPWORDS}-{'stem' if _stemmer() else 'nostem'}"


class LexicalIndex:
    """BM25 over the chunks' text, cached on disk per collection content."""

    def __init__(self, chunks: list[Chunk], retriever) -> None:
        self.chunks = chunks
        self.retriever = retriever
        self.by_id = {c.id: c for c in chunks}

    @classmethod
    def build(cls, chunks: list[Chunk]) -> "LexicalIndex":
        import bm25s

        tokens = _tokenize([c.search_text for c in chunks])
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(chunks, retriever)

    @classmethod
    def load_or_build(cls, store: NoteStore) -> "LexicalIndex":
        """The cached index for the collection's content, else one built now and published for the next
        process. Publishing is atomic (built in a folder of its own, then renamed into place), so a process
        starting while another writes the cache never reads half of it (an empty chunk list is never trusted)."""
        import bm25s

        content = store.content_hash() or "unknown"
        folder = store.settings.index_dir / "lexical" / f"{store.settings.collection}-{content}-{_tokenizer_signature()}"
        chunks_file = folder / "chunks.jsonl"
        if chunks_file.exists():
            try:
                chunks = [Chunk.model_validate_json(line) for line in chunks_file.read_text().splitlines()]
                if chunks:
                    return cls(chunks, bm25s.BM25.load(str(folder)))
            except (OSError, ValueError):
                pass
            shutil.rmtree(folder, ignore_errors=True)
        index = cls.build(store.all_chunks())
        if content != "unknown" and index.chunks:
            index._publish(folder, store.settings.collection)
        return index

    def _publish(self, folder: Path, collection: str) -> None:
        staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
        try:
            staging.mkdir(parents=True, exist_ok=True)
            self.retriever.save(str(staging))
            (staging / "chunks.jsonl").write_text("\n".join(c.model_dump_json() for c in self.chunks))
            for old in folder.parent.glob(f"{collection}-*"):  # caches of other content
                if old != folder and ".tmp-" not in old.name:
                    shutil.rmtree(old, ignore_errors=True)
            os.rename(staging, folder)
        except OSError:
            pass  # another process published the same content first, or the disk is read-only: no cache
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.chunks:
            return []
        tokens = _tokenize([query])
        if not tokens.vocab:
            return []
        # Words the corpus has never seen get their own ids; drop them so BM25 reads only known words.
        vocab = self.retriever.vocab_dict
        inverse = {i: w for w, i in tokens.vocab.items()}
        known = [[inverse[i] for i in ids if inverse[i] in vocab] for ids in tokens.ids]
        if not known[0]:
            return []
        results, scores = self.retriever.retrieve(known, k=min(k, len(self.chunks)), show_progress=False)
        return [(self.chunks[int(i)].id, float(s)) for i, s in zip(results[0], scores[0]) if s > 0]


def rrf(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused


class Retriever:
    """Search the notes; one instance loads the embedder and the indexes once."""

    def __init__(self, store: NoteStore) -> None:
        self.store = store
        self._lexical: LexicalIndex | None = None

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex.load_or_build(self.store)
        return self._lexical

    def search(
        self, query: str, k: int = 5, mode: Mode = "hybrid", per: Per = "heading", kinds: tuple[str, ...] | None = None
    ) -> list[Passage]:
        """The k best passages, best first: one per heading (`##` or `###`), per `##` section, or per chunk;
        `kinds` keeps only passages of those kinds ("notes", "companion"), all of them when None."""
        query = query.strip()
        if not query:
            raise UsageError("the query is empty: say what to search for")
        if k < 1:
            raise UsageError(f"--k must be at least 1, got {k}")
        by_id = self.lexical.by_id
        query_vector = self.store.embed_query(query) if mode != "bm25" else None
        depth = CANDIDATES if kinds is None else CANDIDATES * 3
        dense = self.store.dense(query, depth, query_vector) if mode != "bm25" else []
        lexical = self.lexical.search(query, depth) if mode != "dense" else []
        if kinds is not None:  # rank among the kinds asked for, so another kind never pushes a passage down
            dense = [(cid, v) for cid, v in dense if cid in by_id and by_id[cid].kind in kinds][:CANDIDATES]
            lexical = [(cid, v) for cid, v in lexical if cid in by_id and by_id[cid].kind in kinds][:CANDIDATES]
        similarity = dict(dense)
        rankings = [r for r in ([cid for cid, _ in dense], [cid for cid, _ in lexical]) if r]
        fused = rrf(rankings)
        best = 1.0 / (RRF_K + 1) * max(1, len(rankings))
        hits: list[tuple[Chunk, float]] = []
        seen: set[tuple[str, str, str]] = set()
        for cid, value in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])):
            chunk = by_id.get(cid)
            if chunk is None or (kinds is not None and chunk.kind not in kinds):
                continue
            key = {
                "heading": (chunk.source, chunk.section, chunk.subsection),
                "section": (chunk.source, chunk.section, ""),
                "chunk": (chunk.source, chunk.id, ""),
            }[per]
            if key in seen:
                continue
            seen.add(key)
            hits.append((chunk, value))
            if len(hits) == k:
                break
        if query_vector is not None:
            similarity.update(self._similarity(query_vector, [c.id for c, _ in hits if c.id not in similarity]))
        return [
            Passage(
                **chunk.model_dump(exclude={"id"}),
                id=chunk.id,
                score=round(value / best, 4),
                similarity=round(similarity.get(chunk.id, 0.0), 4),
            )
            for chunk, value in hits
        ]

    def search_with_companion(self, query: str, k: int = 5, mode: Mode = "hybrid", within_k: bool = False) -> list[Passage]:
        """The k best passages of the notes and the best k // 2 (at least one) of the companion, best first:
        the companion's fuller sentences never crowd the notes' own words out of a search. With `within_k`,
        k passages in all (a third of them, rounded down, from the companion)."""
        extra = k // 3 if within_k else max(1, k // 2)
        notes = self.search(query, k=k - extra if within_k else k, mode=mode, kinds=("notes",))
        mine = self.search(query, k=extra, mode=mode, kinds=("companion",)) if extra else []
        return sorted(notes + mine, key=lambda p: -p.score)

    def similarities(self, query: str, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the query and each of these chunks, from their stored vectors: the dense
        ranking of a chosen set of passages (a lesson's sections), however deep they sit in a search."""
        if not ids or not query.strip():
            return {}
        return self._similarity(self.store.embed_query(query.strip()), ids)

    def _similarity(self, query_vector, ids: list[str]) -> dict[str, float]:
        """Cosine similarity for passages only BM25 found, from their stored vectors."""
        import numpy as np

        q = np.asarray(query_vector, dtype=np.float32)
        return {cid: float(np.dot(q, np.asarray(v, dtype=np.float32))) for cid, v in self.store.vectors(ids).items()}


def open_retriever(settings=None, on_progress=None, echo=None) -> Retriever:
    """A retriever over an index that is built or refreshed first if the notes changed."""
    from tutor.settings import get_settings

    settings = settings or get_settings()
    store = NoteStore(settings)
    if store.needs_sync():
        report = store.sync(on_progress=on_progress)
        if echo:
            for notice in report.notices:
                echo(notice)
            shipped = f", {report.inserted} from the shipped embeddings" if report.inserted else ""
            echo(f"indexed {report.files} files, {report.chunks} passages ({report.embedded} embedded{shipped}) "
                 f"in {report.seconds:.1f}s")
            for skipped in report.skipped:
                echo(f"skipped {skipped}")
    elif echo:
        for notice in store.notices:
            echo(notice)
    return Retriever(store)
