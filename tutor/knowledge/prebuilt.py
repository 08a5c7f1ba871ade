"""Embeddings of the shipped notes and companion, made once and shipped with tutor.

A fresh install would otherwise embed the ~470 passages of `knowledge/` (notes and companion) on its
first command: about 12 s on two cores, the first thing a new learner waits for. Instead
`tutor/knowledge/data/` holds each passage's vector, float16, keyed by the SHA-1 of the exact text the
embedder reads (`Chunk.search_text`) and by the embedder that made it (name and model). An index sync
inserts a course passage's shipped vector when both match; a passage whose text changed, a user's own
files and any other embedder are embedded as before.

    python -m tutor.knowledge.prebuilt            # regenerate after editing knowledge/ (about a minute)
    python -m tutor.knowledge.prebuilt --check    # exit 1 when the shipped vectors are stale
    python -m tutor.knowledge.prebuilt --verify   # also re-embed every passage and compare the vectors

tests/test_prebuilt.py fails when they are stale, so a change to the notes comes with new vectors. The sentences
an offline answer is chosen from are shipped the same way: regenerate them too, with `python -m tutor.llms.sentences`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tutor.knowledge.chunking import SUPPORTED_SUFFIXES, Chunk, UnreadableFile, chunk_file
from tutor.knowledge.companion import chunks_for, load_companion

DATA = Path(__file__).resolve().parent / "data"
VECTORS = DATA / "shipped-minilm.npy"  # (N, C) float16, row i for hashes[i]
INDEX = DATA / "shipped-minilm.json"  # {"embedder", "model", "dimensions", "dtype", "passages", "hashes"}
TOLERANCE = 2e-3  # per component: float16 keeps 11 significant bits of values below 0.5
BATCH = 64


def passage_hash(chunk: Chunk) -> str:
    """The content hash a shipped vector is keyed by: the exact text the embedder reads."""
    return hashlib.sha1(chunk.search_text.encode("utf-8")).hexdigest()


def identity(embedder: Any) -> dict[str, str]:
    """What must match for a shipped vector to stand in for the embedder's own (batch size does not)."""
    config = embedder.get_config() if hasattr(embedder, "get_config") else {}
    return {"embedder": str(embedder.name()), "model": str(config.get("model", ""))}


def course_chunks(knowledge_dir: Path) -> list[Chunk]:
    """Every passage an index of this notes folder holds before a user adds files: notes, then companion
    (the same files and order as NoteStore.sync reads)."""
    chunks: dict[str, Chunk] = {}
    for path in sorted(knowledge_dir.rglob("*")) if knowledge_dir.is_dir() else []:
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            try:
                for chunk in chunk_file(path, path.relative_to(knowledge_dir).as_posix()):
                    chunks.setdefault(chunk.id, chunk)
            except UnreadableFile:
                continue
    for entry in load_companion(knowledge_dir).entries:
        for chunk in chunks_for(entry):
            chunks.setdefault(chunk.id, chunk)
    return list(chunks.values())


class Shipped:
    """Shipped vectors, unit length as float32, by the SHA-1 of the text embedded (a passage's here; the sentences
    of `tutor.llms.sentences` use the same table)."""

    def __init__(self, meta: dict[str, Any], vectors: np.ndarray) -> None:
        self.identity = {"embedder": meta.get("embedder", ""), "model": meta.get("model", "")}
        self.hashes: list[str] = list(meta.get("hashes", []))
        if vectors.shape[0] != len(self.hashes):
            raise ValueError(f"{len(self.hashes)} hashes but {vectors.shape[0]} vectors")
        vectors = vectors.astype(np.float32)
        self.vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self.row = {h: i for i, h in enumerate(self.hashes)}

    def serves(self, embedder: Any) -> bool:
        try:
            return identity(embedder) == self.identity
        except Exception:  # an embedding function that cannot say what it is (a plain callable): none serve it
            return False

    def by_hash(self, key: str) -> np.ndarray | None:
        i = self.row.get(key)
        return None if i is None else self.vectors[i]

    def vector(self, chunk: Chunk) -> np.ndarray | None:
        return self.by_hash(passage_hash(chunk))


def load_table(index: Path, vectors: Path, kind: type[Shipped] = Shipped) -> Shipped | None:
    """A shipped table of `kind`, or None when it is missing or unreadable (then everything is embedded)."""
    try:
        return kind(json.loads(index.read_text(encoding="utf-8")), np.load(vectors, allow_pickle=False))
    except (OSError, ValueError):
        return None


@lru_cache(maxsize=1)
def shipped() -> Shipped | None:
    """The shipped passages' vectors, or None when they are missing or unreadable."""
    return load_table(INDEX, VECTORS)


def add_passages(
    collection: Any,
    chunks: list[Chunk],
    metadata: Callable[[Chunk], dict[str, Any]],
    embedder: Any,
    course_ids: Iterable[str] = (),
    on_progress: Callable[[str, int, int], None] | None = None,
) -> tuple[int, int]:
    """Add `chunks` to the collection: those among `course_ids` with a shipped vector for this embedder
    are inserted with it, the others embedded by the collection's embedder. (inserted, embedded)."""
    known: list[tuple[Chunk, np.ndarray]] = []
    rest: list[Chunk] = []
    table = shipped() if course_ids else None
    course = set(course_ids)
    serves = table is not None and table.serves(embedder)
    for chunk in chunks:
        vector = table.vector(chunk) if serves and chunk.id in course else None  # type: ignore[union-attr]
        if vector is None:
            rest.append(chunk)
        else:
            known.append((chunk, vector))
    for start in range(0, len(known), 500):
        part = known[start : start + 500]
        collection.add(
            ids=[c.id for c, _ in part],
            documents=[c.search_text for c, _ in part],
            metadatas=[metadata(c) for c, _ in part],
            embeddings=[v for _, v in part],
        )
    for start in range(0, len(rest), BATCH):
        batch = rest[start : start + BATCH]
        collection.add(ids=[c.id for c in batch], documents=[c.search_text for c in batch],
                       metadatas=[metadata(c) for c in batch])
        if on_progress:
            on_progress("embedding", min(start + BATCH, len(rest)), len(rest))
    return len(known), len(rest)


# ---- building and checking -------------------------------------------------------------------------
def build(knowledge_dir: Path, embedder: Any = None, say: Callable[[str], None] = print) -> int:
    """Embed every shipped passage and write VECTORS and INDEX; the number of passages."""
    from tutor.knowledge.embedder import MiniLMEmbedder

    texts: dict[str, str] = {}
    for chunk in course_chunks(knowledge_dir):
        texts.setdefault(passage_hash(chunk), chunk.search_text)
    n = write_table(texts, embedder or MiniLMEmbedder(), INDEX, VECTORS, "passages", say)
    shipped.cache_clear()
    return n


def write_table(texts: dict[str, str], embedder: Any, index: Path, vectors_path: Path, counted: str,
                say: Callable[[str], None] = print) -> int:
    """Embed `texts` (hash -> text) in batches and write them as a shipped table: the vectors float16 in hash
    order, the index JSON with the embedder's identity and `counted` (what the rows are) -> how many."""
    hashes = sorted(texts)
    rows = []
    for start in range(0, len(hashes), BATCH):
        rows.extend(embedder([texts[h] for h in hashes[start : start + BATCH]]))
        say(f"embedded {min(start + BATCH, len(hashes))}/{len(hashes)}")
    vectors = np.asarray(rows, dtype=np.float32).reshape(len(hashes), -1)
    vectors_path.parent.mkdir(parents=True, exist_ok=True)
    with open(vectors_path, "wb") as f:
        np.save(f, vectors.astype(np.float16), allow_pickle=False)
    meta = {**identity(embedder), "dimensions": int(vectors.shape[1]), "dtype": "float16",
            counted: len(hashes), "hashes": hashes}
    index.write_text(json.dumps(meta, indent=0) + "\n", encoding="utf-8")
    return len(hashes)


def stale(knowledge_dir: Path) -> tuple[list[Chunk], list[str]]:
    """(course passages with no shipped vector, shipped hashes no passage has any more)."""
    table = shipped()
    chunks = course_chunks(knowledge_dir)
    if table is None:
        return chunks, []
    have = {passage_hash(c) for c in chunks}
    return [c for c in chunks if table.vector(c) is None], sorted(set(table.hashes) - have)


def verify(knowledge_dir: Path, embedder: Any = None, every: int = 1) -> float:
    """Re-embed every `every`-th shipped passage; the largest difference of a component from its shipped vector."""
    from tutor.knowledge.embedder import MiniLMEmbedder

    embedder = embedder or MiniLMEmbedder()
    table = shipped()
    chunks = [c for c in course_chunks(knowledge_dir) if table is not None and table.vector(c) is not None][::every]
    worst = 0.0
    for start in range(0, len(chunks), BATCH):
        batch = chunks[start : start + BATCH]
        fresh = np.asarray(embedder([c.search_text for c in batch]), dtype=np.float32)
        stored = np.stack([table.vector(c) for c in batch])  # type: ignore[union-attr,misc]
        worst = max(worst, float(np.abs(fresh - stored).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    from tutor.settings import bundled_path, quiet_libraries

    parser = argparse.ArgumentParser(prog="python -m tutor.knowledge.prebuilt", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the shipped vectors are stale")
    parser.add_argument("--verify", action="store_true", help="with --check: re-embed every passage and compare")
    parser.add_argument("--knowledge", type=Path, default=bundled_path("knowledge"), help="the shipped notes")
    args = parser.parse_args(argv)
    quiet_libraries()
    if not args.check:
        n = build(args.knowledge, say=lambda line: print(line, file=sys.stderr))
        print(f"wrote {n} vectors to {VECTORS.relative_to(DATA.parent.parent.parent)} and {INDEX.name}")
        return 0
    missing, unused = stale(args.knowledge)
    for chunk in missing:
        print(f"no shipped vector: {chunk.source} § {chunk.section} > {chunk.subsection or '-'} (lines {chunk.line_start}-{chunk.line_end})")
    if unused:
        print(f"{len(unused)} shipped vector(s) of passages the notes no longer have")
    problems = len(missing) + len(unused)
    if args.verify and not problems:
        worst = verify(args.knowledge)
        print(f"largest difference from a fresh embedding: {worst:.2e} (tolerance {TOLERANCE})")
        problems += worst > TOLERANCE
    print("up to date" if not problems else "stale: run python -m tutor.knowledge.prebuilt")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
