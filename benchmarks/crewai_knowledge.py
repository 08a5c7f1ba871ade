"""CrewAI's own knowledge feature on the same notes, questions and embedder, scored like tutor's search.

    python -m benchmarks.crewai_knowledge --storage DIR [--chunk-size 4000 --chunk-overlap 200]

`crewai.knowledge.Knowledge` with a `TextFileKnowledgeSource` over knowledge/*.md, embedded by the
same all-MiniLM-L6-v2 (the bundled directory, through CrewAI's "sentence-transformer" provider),
stored in a Chroma client whose directory is under DIR. CrewAI cuts each file into fixed windows of
characters (4,000 with 200 overlap by default) that ignore headings, so a returned window is mapped
back to the `##` section holding most of its lines ("strict"); "lenient" counts a window as a hit for
every section it touches. Recall@1, recall@3 and MRR then come from benchmarks/retrieval.py's own
`score`, so both systems are judged by the same code. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import NOTES, QUESTIONS, median

DEFAULT_THRESHOLD = 0.6  # Knowledge.query's own default score_threshold
DEPTH = 10  # windows read per question (MRR reads 10 sections deep)


@dataclass
class Hit:
    source: str
    section: str


class SectionMap:
    """Which `##` section each line of each notes file belongs to, from tutor's own chunks."""

    def __init__(self, notes: Path) -> None:
        from tutor.knowledge.chunking import chunk_file

        self.texts: dict[str, str] = {}
        self.line_section: dict[str, dict[int, str]] = {}
        for path in sorted(notes.glob("*.md")):
            self.texts[path.name] = path.read_text(encoding="utf-8")
            lines: dict[int, str] = {}
            for chunk in chunk_file(path, path.name):
                for number in range(chunk.line_start, chunk.line_end + 1):
                    lines.setdefault(number, chunk.section)
            self.line_section[path.name] = lines

    def locate(self, window: str) -> tuple[str, list[tuple[str, int]]] | None:
        """(source, [(section, lines of the window in it), most first]) for a window of a notes file."""
        for source, text in self.texts.items():
            at = text.find(window)
            if at < 0:
                continue
            first = text.count("\n", 0, at) + 1
            last = first + window.count("\n")
            counts: dict[str, int] = {}
            for number in range(first, last + 1):
                section = self.line_section[source].get(number)
                if section:
                    counts[section] = counts.get(section, 0) + 1
            return source, sorted(counts.items(), key=lambda kv: -kv[1])
        return None


class CrewAIRetriever:
    """CrewAI's Knowledge behind the `search(query, k, mode, per)` that benchmarks.retrieval.score calls."""

    def __init__(self, knowledge: Any, sections: SectionMap, lenient: bool) -> None:
        self.knowledge = knowledge
        self.sections = sections
        self.lenient = lenient

    def search(self, query: str, k: int = 10, mode: str = "dense", per: str = "section") -> list[Hit]:
        results = self.knowledge.query([query], results_limit=DEPTH, score_threshold=0.0)
        hits: list[Hit] = []
        seen: set[tuple[str, str]] = set()
        for result in results:
            located = self.sections.locate(result["content"])
            if located is None:
                continue
            source, counts = located
            for section, _ in counts if self.lenient else counts[:1]:
                if (source, section) not in seen:
                    seen.add((source, section))
                    hits.append(Hit(source, section))
        return hits[:k]


def build_knowledge(storage: Path, chunk_size: int, chunk_overlap: int, notes: Path = NOTES) -> tuple[Any, float]:
    """A Knowledge over the notes, its Chroma directory inside `storage`; (knowledge, seconds to embed)."""
    from tutor.settings import quiet_libraries

    quiet_libraries()
    from chromadb.config import Settings
    from crewai.knowledge.knowledge import Knowledge
    from crewai.knowledge.source.text_file_knowledge_source import TextFileKnowledgeSource
    from crewai.knowledge.storage.knowledge_storage import KnowledgeStorage
    from crewai.rag.chromadb.config import ChromaDBConfig
    from crewai.rag.chromadb.factory import create_client
    from crewai.rag.embeddings.factory import build_embedder

    from tutor.knowledge.embedder import bundled_model_dir

    spec = {"provider": "sentence-transformer",
            "config": {"model_name": str(bundled_model_dir()), "device": "cpu", "normalize_embeddings": True}}
    client = create_client(ChromaDBConfig(
        settings=Settings(persist_directory=str(storage), is_persistent=True, allow_reset=True,
                          anonymized_telemetry=False),
        embedding_function=build_embedder(spec),  # type: ignore[arg-type]
    ))
    name = f"notes_{chunk_size}_{chunk_overlap}"
    knowledge_storage = KnowledgeStorage(collection_name=name)
    knowledge_storage._client = client  # explicit storage: never CrewAI's default folder
    source = TextFileKnowledgeSource(file_paths=sorted(notes.glob("*.md")), chunk_size=chunk_size,
                                     chunk_overlap=chunk_overlap)
    knowledge = Knowledge(collection_name=name, sources=[source], storage=knowledge_storage)
    started = time.perf_counter()
    knowledge.add_sources()
    seconds = time.perf_counter() - started
    return knowledge, seconds


def evaluate(storage: Path, chunk_size: int, chunk_overlap: int) -> dict[str, Any]:
    from benchmarks.retrieval import load_questions, score

    questions = load_questions(QUESTIONS)
    knowledge, build_s = build_knowledge(storage, chunk_size, chunk_overlap)
    windows = len(knowledge.sources[0].chunks)
    sections = SectionMap(NOTES)
    knowledge.query(["warm up the model"], results_limit=1, score_threshold=0.0)
    latencies, answered = [], 0
    for q in questions:
        started = time.perf_counter()
        knowledge.query([q.question], results_limit=5, score_threshold=0.0)
        latencies.append((time.perf_counter() - started) * 1000)
        answered += bool(knowledge.query([q.question], results_limit=5, score_threshold=DEFAULT_THRESHOLD))
    out: dict[str, Any] = {
        "chunk_size": chunk_size,
        "chunk_overlap": chunk_overlap,
        "windows": windows,
        "build_s": round(build_s, 2),
        "query_p50_ms": round(median(latencies), 2),
        "answered_at_default_threshold": answered,
        "questions": len(questions),
    }
    for lenient in (False, True):
        s = score(CrewAIRetriever(knowledge, sections, lenient), questions, "dense")
        out["lenient" if lenient else "strict"] = s.model_dump()
    stray = [p for p in Path(os.environ.get("XDG_DATA_HOME", "/nonexistent")).glob("*")]
    out["crewai_default_dirs_created"] = [str(p) for p in stray]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", type=Path, required=True)
    parser.add_argument("--chunk-size", type=int, default=4000)
    parser.add_argument("--chunk-overlap", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(evaluate(args.storage, args.chunk_size, args.chunk_overlap)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
