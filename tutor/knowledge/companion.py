"""The companion to the notes: our own explanations, worked examples, misconceptions and rubric questions.

`knowledge/companion/NN-module.yaml` holds, for the notes file of the same name, a list of entries.
Each entry explains one idea of one `##` section (a concept of `prerequisites.yaml`, or one idea within
it such as dropout within regularization):

    notes: 02-training-neural-networks.md
    entries:
      - concept: regularization          # a concept id of knowledge/prerequisites.yaml
        idea: Dropout                     # what the entry explains
        aliases: [dropout]                # topic words that select this entry (whole words)
        explains: "5. Regularization Techniques to Prevent Overfitting"   # the notes' `##` section
        intuition: ...                    # 2-4 plain sentences, no jargon
        example: ...                      # a worked example with numbers, or a concrete scenario
        misconceptions:                   # 1-3
          - wrong: Dropout is also applied when the trained model makes predictions.
            right: At inference every neuron is kept; ...
        questions:                        # 2 or more, above recall
          - level: understand             # understand | apply | analyze
            question: Why does dropping random neurons reduce overfitting?
            key_points: [..., ...]        # what a full answer states, one point each
        errata:                           # optional: where the notes are wrong or garbled
          - notes_say: "..."
            correction: "..."

The notes stay as they are; the companion is indexed beside them with kind `companion` and is always
shown as the tutor's explanation of the section it names, never as a quote of the notes.
`python -m tutor.knowledge.companion` checks every file and prints one line per problem.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from tutor.knowledge.chunking import Chunk, chunk_id, slugify

FOLDER = "companion"
EXPLANATION = "Tutor's explanation: "  # a companion passage's subsection: EXPLANATION + idea (+ MISCONCEPTIONS)
MISCONCEPTIONS = " (misconceptions)"
Level = Literal["remember", "understand", "apply", "analyze"]


class Misconception(BaseModel):
    wrong: str = Field(min_length=8)
    right: str = Field(min_length=8)


class RubricQuestion(BaseModel):
    level: Level
    question: str = Field(min_length=8)
    key_points: list[str] = Field(min_length=1)

    @property
    def text(self) -> str:
        return " ".join(self.question.split())

    @property
    def reference(self) -> str:
        """The key points as the reference a grader reads: one sentence per point."""
        return " ".join(_sentence(p) for p in self.key_points if p.strip())


def _sentence(point: str) -> str:
    point = point.strip()
    point = point[0].upper() + point[1:]
    return point if point.endswith((".", "!", "?")) else f"{point}."


def explanation_of(source: str, section: str) -> str:
    """How everything shown from the companion is labelled: the tutor's words, about a notes section."""
    return f"tutor's explanation of [{source} § {section}]"


class Erratum(BaseModel):
    notes_say: str = Field(min_length=3)
    correction: str = Field(min_length=8)


class Entry(BaseModel):
    concept: str
    idea: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)
    explains: str = Field(min_length=2)
    intuition: str = Field(min_length=20)
    example: str = Field(min_length=20)
    misconceptions: list[Misconception] = Field(min_length=1, max_length=4)
    questions: list[RubricQuestion] = Field(min_length=2)
    errata: list[Erratum] = Field(default_factory=list)
    # filled in on load
    notes: str = ""
    file: str = ""

    @property
    def names(self) -> list[str]:
        return [self.idea, *self.aliases]

    @property
    def anchor(self) -> str:
        return slugify(self.explains)

    @property
    def label(self) -> str:
        return explanation_of(self.notes, self.explains)


class CompanionFile(BaseModel):
    notes: str
    entries: list[Entry] = Field(min_length=1)


class Companion(BaseModel):
    entries: list[Entry] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    def for_passage(self, source: str, section: str, subsection: str) -> Entry | None:
        """The entry a companion passage was cut from (its subsection names the idea)."""
        idea = subsection.removeprefix(EXPLANATION).removesuffix(MISCONCEPTIONS)
        return next((e for e in self.for_section(source, section) if e.idea == idea), None)

    def for_section(self, notes: str, section: str) -> list[Entry]:
        return [e for e in self.entries if e.notes == notes and e.explains == section]

    def match(self, topic: str) -> list[Entry]:
        """Entries whose idea or an alias is named in the topic: ideas named before aliases, longest first; a name
        said only inside a longer one the topic names is not named ("data lake" in "what is a data lake house?")."""
        text = topic.lower()
        found = []
        for i, entry in enumerate(self.entries):
            spans = [(m.span(), n) for n in entry.names for m in [_name_pattern(n.lower().strip()).search(text)] if m]
            if spans:
                found.append((i, entry, spans))
        widest = [max(((b - a), (a, b)) for (a, b), _ in spans)[1] for _, _, spans in found]
        scored = []
        for (i, entry, spans), (a, b) in zip(found, widest):
            if any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) for a2, b2 in widest):
                continue
            hits = [len(n) + (1000 if n is entry.idea else 0) for _, n in spans]
            scored.append((-max(hits), i, entry))
        return [e for _, _, e in sorted(scored, key=lambda t: t[:2])]


def names_in(name: str, text: str) -> bool:
    """Whole-word match, plural or not, case-insensitive."""
    return _name_pattern(name.lower().strip()).search(text.lower()) is not None


@lru_cache(maxsize=8192)
def _name_pattern(name: str) -> re.Pattern[str]:
    """A name's pattern, compiled once (the companion's thousands of names are matched for every question: more
    than `re`'s own cache of 512 keeps)."""
    words = re.escape(name).replace(r"\ ", r"[\s-]+")
    return re.compile(rf"(?<![\w-]){words}(?:s|es)?(?![\w-])")


def companion_dir(knowledge_dir: Path) -> Path:
    return knowledge_dir / FOLDER


def course_companion() -> Companion:
    """The companion of the configured knowledge folder (TUTOR_KNOWLEDGE_DIR), read once per change."""
    from tutor.settings import get_settings

    return load_companion(get_settings().knowledge_dir)


def load_companion(knowledge_dir: Path) -> Companion:
    folder = companion_dir(knowledge_dir)
    if not folder.is_dir():
        return Companion()
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.yaml")))
    return _load(str(folder), stamp)


def _yaml(text: str):
    """yaml.safe_load, through libyaml where PyYAML has it: 0.04 s for the companion instead of 0.5 s."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=4)
def _load(folder: str, stamp: tuple) -> Companion:
    entries: list[Entry] = []
    problems: list[str] = []
    root = Path(folder)
    for name, _, _ in stamp:
        path = root / name
        try:
            data = CompanionFile.model_validate(_yaml(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError, OSError) as error:
            first = str(error).strip().splitlines()
            problems.append(f"{FOLDER}/{name}: {' '.join(first[:3])}")
            continue
        for entry in data.entries:
            entry.notes = data.notes
            entry.file = f"{FOLDER}/{name}"
            entries.append(entry)
    return Companion(entries=entries, problems=problems)


def chunks_for(entry: Entry) -> list[Chunk]:
    """The passages the index holds for one entry: explanation + example, and the misconceptions."""
    subsection = f"{EXPLANATION}{entry.idea}"
    parts = [
        (subsection, f"{entry.idea}. {entry.intuition.strip()}\nExample: {entry.example.strip()}"),
        (f"{subsection}{MISCONCEPTIONS}",
         "\n".join(f"Misconception: {m.wrong.strip()} Correction: {m.right.strip()}" for m in entry.misconceptions)),
    ]
    chunks = []
    for n, (subsection, text) in enumerate(parts):
        path = f"{entry.file} > {entry.explains} > {subsection} > {n}"
        chunks.append(
            Chunk(
                id=chunk_id(entry.file, path, text),
                text=text,
                source=entry.notes,
                module="Companion",
                section=entry.explains,
                subsection=subsection,
                anchor=entry.anchor,
                line_start=0,
                line_end=0,
                kind="companion",
            )
        )
    return chunks


def check(knowledge_dir: Path, concepts: dict[str, list[tuple[str, str]]] | None = None) -> list[str]:
    """Every problem, one line each: unreadable files, unknown concepts or sections, missing entries."""
    from tutor.knowledge.chunking import chunk_file

    companion = load_companion(knowledge_dir)
    problems = list(companion.problems)
    sections: dict[str, set[str]] = {}
    for path in sorted(knowledge_dir.glob("*.md")):
        sections[path.name] = {c.section for c in chunk_file(path, path.name)}
    for entry in companion.entries:
        where = f"{entry.file}: '{entry.idea}'"
        if entry.notes not in sections:
            problems.append(f"{where}: notes file {entry.notes} does not exist")
        elif entry.explains not in sections[entry.notes]:
            problems.append(f"{where}: explains '{entry.explains}', which is not a section of {entry.notes}")
        if concepts is not None and entry.concept not in concepts:
            problems.append(f"{where}: concept '{entry.concept}' is not in prerequisites.yaml")
        if not any(q.level != "remember" for q in entry.questions):
            problems.append(f"{where}: every question is recall; at least one must ask why, how, compare or apply")
    if concepts is not None:
        covered = {e.concept for e in companion.entries}
        for cid in concepts:
            if cid not in covered:
                problems.append(f"concept '{cid}' has no companion entry")
    return problems


def main(argv: list[str] | None = None) -> int:
    from tutor.settings import get_settings

    knowledge = Path(argv[0]) if argv else get_settings().knowledge_dir
    concepts = None
    prereq = knowledge / "prerequisites.yaml"
    if prereq.exists():
        raw = yaml.safe_load(prereq.read_text(encoding="utf-8")) or {}
        concepts = {
            cid: [(s["source"], s["section"]) for s in c.get("sections", [])] for cid, c in raw.get("concepts", {}).items()
        }
    problems = check(knowledge, concepts)
    for line in problems:
        print(line)
    entries = load_companion(knowledge).entries
    print(f"{len(entries)} entries, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
