"""The prerequisite map (`knowledge/prerequisites.yaml`): which concepts build on which, and what to learn next.

- `unmet_prerequisites(topic, store)`: the concepts a topic builds on that the learner never met
  (no lesson, no answer in any of their sections) or met and is weak in (mastery below
  `WEAK_BELOW`; a concept's mastery is the mean of its answered sections' mastery), most basic first.
- `adaptive_sections(store)`: the sections a quiz should draw from, in order: due for review, weak,
  studied but never quizzed, new ones whose prerequisites are met, then the rest (weakest first).

Concepts with no `sections` are skipped: the learner cannot have met what the notes do not teach.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tutor.errors import UsageError
from tutor.learning.store import WEAK_BELOW, LearnerStore, SectionRef, section_refs

FILE_NAME = "prerequisites.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class Concept(BaseModel):
    title: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    sections: list[SectionRef] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)


class PrerequisiteMap(BaseModel):
    """The validated map: known ids only, no concept requiring itself, no cycle."""

    version: int = 1
    concepts: dict[str, Concept]

    @field_validator("concepts")
    @classmethod
    def _ids(cls, concepts: dict[str, Concept]) -> dict[str, Concept]:
        for cid, concept in concepts.items():
            if not _ID.match(cid):
                raise ValueError(f"concept id '{cid}' is not lower_snake_case")
            unknown = [r for r in concept.requires if r not in concepts]
            if unknown:
                raise ValueError(f"concept '{cid}' requires unknown concept(s): {', '.join(unknown)}")
        return concepts

    @model_validator(mode="after")
    def _acyclic(self) -> PrerequisiteMap:
        cycle = _find_cycle({cid: c.requires for cid, c in self.concepts.items()})
        if cycle:
            raise ValueError(f"prerequisites form a cycle: {' -> '.join(cycle)}")
        return self

    # -- queries -------------------------------------------------------------------------------

    def order(self) -> list[str]:
        """Every concept id, each after all it requires; ties keep the file's order."""
        position = {cid: i for i, cid in enumerate(self.concepts)}
        done: list[str] = []
        placed: set[str] = set()
        while len(done) < len(self.concepts):
            ready = [c for c in self.concepts if c not in placed and all(r in placed for r in self.concepts[c].requires)]
            nxt = min(ready, key=position.__getitem__)
            done.append(nxt)
            placed.add(nxt)
        return done

    def ancestors(self, ids: Iterable[str]) -> list[str]:
        """All concepts the given ones build on, directly or not (themselves excluded), most basic first."""
        targets = set(ids)
        seen: set[str] = set()
        stack = [r for cid in targets for r in self.concepts[cid].requires]
        while stack:
            cid = stack.pop()
            if cid not in seen:
                seen.add(cid)
                stack.extend(self.concepts[cid].requires)
        return [cid for cid in self.order() if cid in seen and cid not in targets]

    def concepts_for_topic(self, topic: str) -> list[str]:
        """Concepts a free-text topic names: by id, title or alias, as whole words (plural or not)."""
        text = " ".join(topic.lower().split())
        found = [
            cid for cid, c in self.concepts.items()
            if any(_names_in(name, text) for name in (cid.replace("_", " "), c.title.lower(), *map(str.lower, c.aliases)))
        ]
        if not found and len(text) > 3:  # a fragment of a title: "architecture", "language models"
            found = [cid for cid, c in self.concepts.items() if text in c.title.lower()]
        return found

    def concepts_for_sections(self, sections: Iterable[SectionRef]) -> list[str]:
        """Concepts taught in any of `sections` (a section with no source matches its heading anywhere)."""
        refs = list(sections)

        def taught(s: SectionRef) -> bool:
            return any(r.section == s.section and (not r.source or r.source == s.source) for r in refs)

        return [cid for cid, c in self.concepts.items() if any(taught(s) for s in c.sections)]


def _names_in(name: str, text: str) -> bool:
    return bool(re.search(rf"(?<![\w-]){re.escape(name)}(?:s|es)?(?![\w-])", text))


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def prerequisites_path() -> Path:
    """The map next to the notes in use, else the one shipped with the course notes."""
    from tutor.settings import bundled_path, get_settings

    mine = get_settings().knowledge_dir / FILE_NAME
    return mine if mine.exists() else bundled_path("knowledge") / FILE_NAME


def load_prerequisites(path: Path | None = None) -> PrerequisiteMap:
    """Read and validate the map; anything wrong with it ends in one line naming the file."""
    path = path or prerequisites_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as e:
        raise UsageError(f"cannot read the prerequisite map {path}: {e.strerror or e}") from e
    return _load(path, stamp)


@lru_cache(maxsize=8)
def _load(path: Path, stamp: int) -> PrerequisiteMap:
    """Parsed once per file version (`stamp` is its mtime): every lesson asks for the map."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read the prerequisite map {path}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise UsageError(f"the prerequisite map {path} is not valid YAML{where}") from e
    try:
        return PrerequisiteMap.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise UsageError(f"the prerequisite map {path} is invalid: {loc + ': ' if loc else ''}{message}") from e


# ---------------------------------------------------------------------------------------------
# Against the learner's record


class UnmetPrerequisite(BaseModel):
    concept: str
    title: str
    reason: Literal["never studied", "weak"]
    mastery: float | None = None
    sections: list[SectionRef] = Field(default_factory=list)


class AdaptiveSection(BaseModel):
    source: str
    section: str
    reason: Literal["due", "weak", "studied", "new", "refresh"]
    mastery: float | None = None
    due: int = 0  # review cards of this section due now


def _concept_state(
    concept: Concept, studied: set[tuple[str, str]], mastery: dict[tuple[str, str], float | None]
) -> tuple[bool, float | None]:
    keys = [(s.source, s.section) for s in concept.sections]
    met = any(k in studied for k in keys)
    scores = [m for k in keys if (m := mastery.get(k)) is not None]
    return met, (sum(scores) / len(scores) if scores else None)


def unmet_prerequisites(
    topic_or_sections: str | Iterable[Any],
    store: LearnerStore,
    now: datetime | None = None,
    prerequisites: PrerequisiteMap | None = None,
) -> list[UnmetPrerequisite]:
    """What `topic_or_sections` builds on that the learner never met or is weak in, most basic first."""
    pmap = prerequisites or load_prerequisites()
    if isinstance(topic_or_sections, str):
        targets = pmap.concepts_for_topic(topic_or_sections)
    else:
        targets = pmap.concepts_for_sections(section_refs(topic_or_sections))
    if not targets:
        return []
    studied = {(s.source, s.section) for s in store.studied_sections()}
    mastery = {(m.source, m.section): m.mastery for m in store.section_mastery(now)}
    unmet = []
    for cid in pmap.ancestors(targets):
        concept = pmap.concepts[cid]
        if not concept.sections:
            continue
        met, score = _concept_state(concept, studied, mastery)
        if not met:
            unmet.append(UnmetPrerequisite(concept=cid, title=concept.title, reason="never studied",
                                           sections=concept.sections))
        elif score is not None and score < WEAK_BELOW:
            unmet.append(UnmetPrerequisite(concept=cid, title=concept.title, reason="weak", mastery=score,
                                           sections=concept.sections))
    return unmet


def adaptive_sections(
    store: LearnerStore,
    now: datetime | None = None,
    limit: int | None = None,
    prerequisites: PrerequisiteMap | None = None,
) -> list[AdaptiveSection]:
    """Sections for an adaptive quiz, best first: due, weak, studied-not-quizzed, new and ready, the rest."""
    pmap = prerequisites or load_prerequisites()
    masteries = store.section_mastery(now)
    mastery = {(m.source, m.section): m.mastery for m in masteries}
    studied = {(s.source, s.section) for s in store.studied_sections()}
    picked: dict[tuple[str, str], AdaptiveSection] = {}

    def pick(key: tuple[str, str], reason: Any, due: int = 0) -> None:
        if key[1] and key not in picked:
            picked[key] = AdaptiveSection(source=key[0], section=key[1], reason=reason, mastery=mastery.get(key), due=due)

    due_count: dict[tuple[str, str], int] = {}
    for card in store.due_cards(now):  # most overdue first
        key = (card.source, card.section)
        due_count[key] = due_count.get(key, 0) + 1
    for key in due_count:
        pick(key, "due", due_count[key])
    for m in sorted((m for m in masteries if m.mastery is not None and m.mastery < WEAK_BELOW),
                    key=lambda m: m.mastery or 0.0):
        pick((m.source, m.section), "weak")
    for m in masteries:
        if m.attempts == 0:
            pick((m.source, m.section), "studied")
    for cid in pmap.order():
        concept = pmap.concepts[cid]
        ready = all(_ready(pmap.concepts[r], studied, mastery) for r in concept.requires)
        if ready:
            for s in concept.sections:
                if (s.source, s.section) not in studied:
                    pick((s.source, s.section), "new")
    for m in sorted((m for m in masteries if m.mastery is not None),
                    key=lambda m: (m.mastery or 0.0, m.last_seen)):
        pick((m.source, m.section), "refresh")
    ranked = list(picked.values())
    return ranked if limit is None else ranked[:limit]


def _ready(concept: Concept, studied: set[tuple[str, str]], mastery: dict[tuple[str, str], float | None]) -> bool:
    """A prerequisite counts as known once met and not weak (a concept with no sections never blocks)."""
    if not concept.sections:
        return True
    met, score = _concept_state(concept, studied, mastery)
    return met and (score is None or score >= WEAK_BELOW)
