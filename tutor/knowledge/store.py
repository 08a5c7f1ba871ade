"""The Chroma collection that holds the notes' chunks: embedded on disk, or a Chroma server.

Indexing is idempotent: chunk ids come from content, so a re-index embeds only chunks that are new
and deletes only chunks that are gone. The collection records the embedder that built it; opening it
with another embedder rebuilds it rather than mixing vectors from two models.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field

from tutor.errors import UsageError, WorkFailed
from tutor.knowledge.chunking import SUPPORTED_SUFFIXES, Chunk, UnreadableFile, chunk_file
from tutor.knowledge.companion import FOLDER, chunks_for, companion_dir, load_companion
from tutor.settings import Settings, quiet_libraries

class IndexReport(BaseModel):
    """What one `tutor index` run did."""

    files: int = 0
    chunks: int = 0
    embedded: int = 0
    inserted: int = 0  # course passages given their shipped vector (tutor/knowledge/prebuilt.py), not embedded
    deleted: int = 0
    relocated: int = 0  # unchanged passages whose line range moved (metadata updated, not re-embedded)
    seconds: float = 0.0
    skipped: list[str] = Field(default_factory=list)  # "path: reason" for each file left out
    notices: list[str] = Field(default_factory=list)  # rebuilds and other things the user should know


class IndexState(BaseModel):
    """Kept in TUTOR_HOME/index/state.json: the user's own sources and the files seen last time."""

    sources: list[str] = Field(default_factory=list)
    fingerprint: str = ""


def _client_for(settings: Settings) -> Any:
    quiet_libraries()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UsageError(f"TUTOR_CHROMA_URL must look like http://host:port, got '{settings.chroma_url}'")
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as e:  # chromadb raises bare ValueError/ConnectionError/httpx errors here
            raise WorkFailed(f"cannot reach the Chroma server at {settings.chroma_url}") from e
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def release_local_store(path: Path) -> None:
    """Stop and forget the embedded Chroma system this process holds for `path`.

    Chroma shares one system per directory per process and keeps it even when starting it failed,
    so a damaged directory must be released before it is deleted and created again; otherwise the
    next client reuses the broken system (or an sqlite handle on the deleted file).
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        try:
            system.stop()
        except Exception:  # a system that never started cannot stop cleanly; it is dropped all the same
            pass


def embedder_identity(embedder: Any) -> dict[str, str]:
    """What a collection records about the embedder that built it: its name and its config."""
    return {"embedder": embedder.name(), "embedder_config": json.dumps(embedder.get_config(), sort_keys=True)}


LOCK_RETRIES = 15  # about 25 s of waiting in all for a store another process is writing
QUERIES_KEPT = 256  # query vectors a store keeps
_QUERIES_LOCK = threading.Lock()


def _transient(error: BaseException) -> bool:
    """SQLite's "database is locked" / "busy" from Chroma while another process writes: wait, don't rebuild."""
    text = f"{error.__class__.__name__} {error}".lower()
    return "locked" in text or "busy" in text


class NoteStore:
    """The notes collection plus the list of sources it was built from."""

    def __init__(self, settings: Settings, embedder: Any | None = None) -> None:
        from tutor.knowledge.embedder import make_embedder

        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedder)
        self.notices: list[str] = []
        self._queries: dict[str, Any] = {}  # query -> its vector, the last QUERIES_KEPT
        self._client: Any = None
        self._collection: Any = None

    # ---- opening -------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.settings.index_dir / "state.json"

    def load_state(self) -> IndexState:
        try:
            return IndexState.model_validate_json(self.state_path.read_text())
        except (OSError, ValueError):
            return IndexState()

    def save_state(self, state: IndexState) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=2))
        tmp.replace(self.state_path)

    def _open(self) -> Any:
        """The collection; a store another process holds locked is waited for, never taken for damaged."""
        for attempt in range(LOCK_RETRIES):
            try:
                return self._open_once()
            except Exception as e:
                if not _transient(e) or attempt == LOCK_RETRIES - 1:
                    raise
                self._client = None
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _open_once(self) -> Any:
        try:
            self._client = _client_for(self.settings)
            return self._get_collection()
        except (UsageError, WorkFailed):
            raise
        except Exception as e:  # a damaged sqlite file or segment surfaces as many exception types
            if _transient(e):
                raise
            if self.settings.chroma_url:
                raise WorkFailed(f"the Chroma server at {self.settings.chroma_url} failed: {e}") from e
            self.notices.append(
                f"the index at {self.settings.chroma_dir} is damaged or from an incompatible version "
                f"({e.__class__.__name__}); rebuilding it"
            )
            self._client = None
            release_local_store(self.settings.chroma_dir)
            if self.settings.chroma_dir.is_file():
                self.settings.chroma_dir.unlink()
            shutil.rmtree(self.settings.chroma_dir, ignore_errors=True)
            self.save_state(self.load_state().model_copy(update={"fingerprint": ""}))
            try:
                self._client = _client_for(self.settings)
                return self._get_collection()
            except Exception as again:
                raise WorkFailed(
                    f"cannot create an index at {self.settings.chroma_dir}: {again.__class__.__name__}: {again}"
                ) from again

    def _get_collection(self) -> Any:
        name = self.settings.collection
        wanted = embedder_identity(self.embedder)
        # Read the recorded embedder from the listing: `get_collection` with another embedder raises a
        # conflict error before its metadata can be read.
        existing = {c.name: (c.metadata or {}) for c in self._client.list_collections()}
        if name in existing:
            recorded = {key: existing[name].get(key) for key in wanted}
            if recorded != wanted:
                was = recorded["embedder"] or "unknown"
                if recorded["embedder"] == wanted["embedder"]:
                    was += f" {recorded['embedder_config'] or '{}'}"
                    now = f"{wanted['embedder']} {wanted['embedder_config']}"
                else:
                    now = wanted["embedder"]
                self.notices.append(f"the index was built with embedder '{was}', not '{now}'; rebuilding it")
                self._client.delete_collection(name)
                self.save_state(self.load_state().model_copy(update={"fingerprint": ""}))
        return self._client.get_or_create_collection(
            name,
            embedding_function=self.embedder,
            metadata=wanted,
            configuration={"hnsw": {"space": "cosine"}},
        )

    @property
    def collection(self) -> Any:
        if self._collection is None:
            self._collection = self._open()
        return self._collection

    # ---- sources -------------------------------------------------------------------------------
    def _source_files(self, state: IndexState) -> tuple[list[tuple[Path, str]], list[str]]:
        """(path, source name) for every file to index, and warnings for sources that vanished."""
        files: list[tuple[Path, str]] = []
        warnings: list[str] = []
        notes = self.settings.knowledge_dir
        if notes.is_dir():
            for path in sorted(notes.rglob("*")):
                if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.append((path, path.relative_to(notes).as_posix()))
        for source in state.sources:
            root = Path(source)
            if root.is_dir():
                # In a folder only note-like files count; a file named on the command line is tried
                # whatever its type, so the user hears why it was skipped.
                for path in sorted(root.rglob("*")):
                    hidden = any(p.startswith(".") for p in path.relative_to(root).parts)
                    if path.is_file() and not hidden and path.suffix.lower() in SUPPORTED_SUFFIXES:
                        files.append((path, str(path)))
            elif root.exists():
                files.append((root, str(root)))
            else:
                warnings.append(f"{source}: no longer exists; its passages leave the index")
        return files, warnings

    def fingerprint(self, state: IndexState | None = None) -> str:
        state = state or self.load_state()
        files, _ = self._source_files(state)
        h = hashlib.sha1(json.dumps(embedder_identity(self.embedder), sort_keys=True).encode())
        folder = companion_dir(self.settings.knowledge_dir)
        extra = [(p, f"{FOLDER}/{p.name}") for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
        for path, source in files + extra:
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{source}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()

    def add_sources(self, paths: Iterable[Path]) -> None:
        state = self.load_state()
        for path in paths:
            if not path.exists():
                raise UsageError(f"no such file or folder: {path}")
            resolved = str(path.resolve())
            notes = self.settings.knowledge_dir.resolve()
            if Path(resolved) == notes or notes in Path(resolved).parents:
                continue  # the course notes are always indexed
            if resolved not in state.sources:
                state.sources.append(resolved)
        self.save_state(state)

    # ---- indexing -------------------------------------------------------------------------------
    def needs_sync(self) -> bool:
        state = self.load_state()
        return state.fingerprint != self.fingerprint(state) or self.collection.count() == 0

    def sync(
        self,
        rebuild: bool = False,
        on_progress: Callable[[str, int, int], None] | None = None,
        shipped: bool = True,
    ) -> IndexReport:
        """Bring the collection in line with the source files; embed only what changed. A new passage of the
        shipped notes gets its shipped vector unless `shipped` is False or this is a rebuild (which re-embeds).

        One process at a time: two commands started together on a fresh TUTOR_HOME would otherwise
        both build the index. The second waits, then finds nothing (or little) left to embed."""
        import fcntl

        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.settings.index_dir / "sync.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self._sync(rebuild, on_progress, shipped and not rebuild)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _sync(
        self,
        rebuild: bool,
        on_progress: Callable[[str, int, int], None] | None,
        shipped: bool = True,
    ) -> IndexReport:
        from tutor.knowledge.prebuilt import add_passages

        started = time.perf_counter()
        report = IndexReport()
        if rebuild:
            self.reset()
        state = self.load_state()
        files, warnings = self._source_files(state)
        report.skipped.extend(warnings)
        state.sources = [s for s in state.sources if Path(s).exists()]

        chunks: dict[str, Chunk] = {}
        course: set[str] = set()  # passages of the notes folder and the companion, which may have shipped vectors
        for i, (path, source) in enumerate(files, start=1):
            if on_progress:
                on_progress(f"reading {path.name}", i, len(files))
            try:
                for chunk in chunk_file(path, source):
                    chunks.setdefault(chunk.id, chunk)
                    if path.is_relative_to(self.settings.knowledge_dir):
                        course.add(chunk.id)
                report.files += 1
            except UnreadableFile as e:
                report.skipped.append(f"{path}: {e}")

        companion = load_companion(self.settings.knowledge_dir)
        report.skipped.extend(companion.problems)
        for entry in companion.entries:
            for chunk in chunks_for(entry):
                chunks.setdefault(chunk.id, chunk)
                course.add(chunk.id)

        collection = self.collection
        stored = collection.get(include=["metadatas"])
        existing = dict(zip(stored["ids"], stored["metadatas"]))
        new_ids = [cid for cid in chunks if cid not in existing]
        stale = sorted(set(existing) - set(chunks))
        for start in range(0, len(stale), 500):
            collection.delete(ids=stale[start : start + 500])
        # Same text at the same heading keeps its id (and its vector) when lines above it move;
        # its line range still changes, so the metadata is updated without re-embedding.
        moved = [cid for cid in chunks if cid in existing and existing[cid] != self._metadata(chunks[cid])]
        for start in range(0, len(moved), 500):
            ids = moved[start : start + 500]
            collection.update(ids=ids, metadatas=[self._metadata(chunks[cid]) for cid in ids])
        report.inserted, report.embedded = add_passages(
            collection, [chunks[cid] for cid in new_ids], self._metadata, self.embedder,
            course_ids=course if shipped else (), on_progress=on_progress)
        # The lexical index is cached per content hash, so it covers citations (line ranges) too.
        content_hash = hashlib.sha1("\n".join(chunks[cid].model_dump_json() for cid in sorted(chunks)).encode())
        collection.modify(metadata={**embedder_identity(self.embedder), "content": content_hash.hexdigest()})
        state.fingerprint = self.fingerprint(state)
        self.save_state(state)

        report.chunks = len(chunks)
        report.relocated = len(moved)
        report.deleted = len(stale)
        report.notices = list(self.notices)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    @staticmethod
    def _metadata(chunk: Chunk) -> dict[str, str | int]:
        return {**chunk.metadata(), "text": chunk.text}

    def reset(self) -> None:
        """Drop the collection (keep the list of sources) so the next sync re-embeds everything."""
        from chromadb.errors import NotFoundError

        try:
            self.collection  # opening may already rebuild a damaged store
            self._client.delete_collection(self.settings.collection)
        except (ValueError, NotFoundError):  # nothing to drop
            pass
        self._collection = None
        state = self.load_state()
        state.fingerprint = ""
        self.save_state(state)

    # ---- reading --------------------------------------------------------------------------------
    def content_hash(self) -> str:
        return str((self.collection.metadata or {}).get("content", ""))

    def all_chunks(self) -> list[Chunk]:
        got = self.collection.get(include=["metadatas"])
        chunks = []
        for cid, meta in zip(got["ids"], got["metadatas"]):
            chunks.append(Chunk(id=cid, **{k: v for k, v in meta.items() if k in Chunk.model_fields}))
        chunks.sort(key=lambda c: (c.source, c.line_start, c.id))
        return chunks

    def embed_query(self, query: str) -> Any:
        """The query's vector; the last QUERIES_KEPT are kept (a search embeds its query once for each kind of
        passage, and the offline answer composer the question again)."""
        with _QUERIES_LOCK:
            vector = self._queries.get(query)
        if vector is None:
            vector = self.embedder.embed_query([query])[0]
            with _QUERIES_LOCK:
                self._queries[query] = vector
                while len(self._queries) > QUERIES_KEPT:
                    self._queries.pop(next(iter(self._queries)))
        return vector

    def dense(self, query: str, k: int, query_vector: Any = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) for the k nearest chunks."""
        vector = self.embed_query(query) if query_vector is None else query_vector
        # Chroma answers with what it has when k exceeds its size (nothing when empty), so no count() per query.
        got = self.collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0])]

    def vectors(self, ids: list[str]) -> dict[str, Any]:
        """The stored embeddings of these chunks (no model call)."""
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))


def dump_json(items: list[BaseModel]) -> str:
    return json.dumps([i.model_dump(mode="json") for i in items], indent=2, ensure_ascii=False)
