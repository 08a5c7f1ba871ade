"""What teaches a topic: a lesson's key ideas chosen by meaning, never by a word the topic happens to share.

`plan(topic, library, companion)` reads a topic as a learner types it ("bn", "relu", "human in the loop",
"backpropogation") and decides:

- the companion entries that teach it: named by their idea or an alias in any case, else spelled nearly so;
- the topic's own `##` sections: the entries' sections; else the sections of the prerequisite map's concept
  that names it; else the sections whose heading or defined term names it (the hybrid ranking finds them);
  else the section closest in meaning, when it is close enough to teach it;
- the key ideas, in this order: the passages of its own sections (the one naming the topic first), then those
  of the sections where the companion teaches the same idea again ("Vanishing gradients in RNNs") or its
  concept is taught, then those of its prerequisites (knowledge/prerequisites.yaml). Each is kept by its
  closeness in meaning to the topic (the dense ranking), under a cut-off below the best passage of the
  topic's own sections, stricter the further it is from them: how many comes from that cut-off, not a count;
- for a topic the notes only mention in passing ("cross-validation"), the lines that mention it and the
  nearest sections: a short lesson that says so, not a padded one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Protocol

from tutor.knowledge.chunking import TERM_LINE, title
from tutor.knowledge.companion import Companion, Entry, names_in
from tutor.llms.compose import content_words, is_lead_in, lines_of, mentions, notes_only, plain
from tutor.llms.protocol import Retrieved

OWN_MARGIN = 0.12  # a passage of the topic's own sections this close to their best one is a key idea
LINK_MARGIN = 0.06  # one of a section teaching the same idea again, or the concept's other sections
PREREQUISITE_MARGIN = 0.03  # a prerequisite's passage, which must also name the topic
TAUGHT_SIMILARITY = 0.55  # with no name matched, the notes teach a topic their closest passage is this close to
NEAR_SPELLING = 0.86  # difflib ratio above which a topic is a misspelling of an idea's name ("backpropogation")
MAX_STEPS = 8

Section = tuple[str, str]


class Library(Protocol):
    """Where the plan reads the notes: every passage of some sections with its closeness in meaning to a
    query (the dense ranking), and the hybrid search."""

    def sections(self, query: str, sections: list[Section]) -> list[Retrieved]: ...

    def search(self, query: str, k: int) -> list[Retrieved]: ...


def as_retrieved(chunk: Any, similarity: float) -> Retrieved:
    return Retrieved(source=chunk.source, section=chunk.section, subsection=chunk.subsection,
                     line_start=chunk.line_start, line_end=chunk.line_end, similarity=similarity, text=chunk.text,
                     kind=chunk.kind)


class IndexLibrary:
    """The index itself (tutor.knowledge.retrieval.Retriever): every passage of a section, however deep a
    search would rank it."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    def sections(self, query: str, sections: list[Section]) -> list[Retrieved]:
        wanted = set(sections)
        chunks = [c for c in self.retriever.lexical.chunks if c.kind == "notes" and (c.source, c.section) in wanted]
        sims = self.retriever.similarities(query, [c.id for c in chunks])
        return [as_retrieved(c, round(sims.get(c.id, 0.0), 4)) for c in chunks]

    def search(self, query: str, k: int) -> list[Retrieved]:
        return [as_retrieved(p, p.similarity) for p in self.retriever.search(query, k=k, kinds=("notes",), per="chunk")]


class PassageLibrary:
    """Only the passages a search returned (a model's own `search_notes` call, a test's passages)."""

    def __init__(self, passages: list[Retrieved]) -> None:
        self.passages = notes_only(passages)

    def sections(self, query: str, sections: list[Section]) -> list[Retrieved]:
        return [p for p in self.passages if (p.source, p.section) in set(sections)]

    def search(self, query: str, k: int) -> list[Retrieved]:
        return self.passages[:k]


@dataclass
class Plan:
    topic: str
    entries: list[Entry] = field(default_factory=list)  # the companion entries that teach it, best first
    own: list[Section] = field(default_factory=list)  # the sections that teach it, best first
    steps: list[Retrieved] = field(default_factory=list)  # the key ideas, in teaching order
    mentions: list[tuple[str, Retrieved]] = field(default_factory=list)  # lines that mention an untaught topic
    nearest: list[Retrieved] = field(default_factory=list)

    @property
    def taught(self) -> bool:
        return bool(self.steps)


def resolve(topic: str, companion: Companion | None) -> list[Entry]:
    """The entries a topic names (any case: "relu", "hitl"), else those whose name it misspells."""
    if companion is None:
        return []
    named = companion.match(topic)
    if named:
        return named
    typed = " ".join(topic.lower().replace("-", " ").split())
    if len(typed) < 5:
        return []
    scored = []
    for i, entry in enumerate(companion.entries):
        for name in entry.names:
            if len(name) >= 5:
                ratio = difflib.SequenceMatcher(None, typed, name.lower().replace("-", " ")).ratio()
                if ratio >= NEAR_SPELLING:
                    scored.append((-ratio, name is not entry.idea, i, entry))
    found: list[Entry] = []
    for *_, entry in sorted(scored, key=lambda s: s[:3]):
        if all(entry is not e for e in found):
            found.append(entry)
    return found


def names_topic(p: Retrieved, names: list[str]) -> bool:
    """The passage's heading or a term it defines ("- **Dropout**: ...") is the topic, by one of its names."""
    heads = [p.subsection, title(p.section)]
    for line in lines_of(p.text):
        m = TERM_LINE.match(line)
        if m:
            heads.append((m["bold"] or m["plain"]).strip())
    return any(names_in(n, h.replace("-", " ")) or names_in(n, h) for n in names if len(n) >= 2 for h in heads if h)


def _said(p: Retrieved, names: list[str]) -> bool:
    text = f"{p.subsection}\n{p.text}"
    return any(names_in(n, text) or names_in(n, text.replace("-", " ")) for n in names if len(n) >= 2)


def _sections(entries: list[Entry]) -> list[Section]:
    return list(dict.fromkeys((e.notes, e.explains) for e in entries))


def _concepts(topic: str, entries: list[Entry]) -> tuple[list[Section], list[Section]]:
    """The sections of the topic's concept and of the concepts it requires, from the prerequisite map."""
    from tutor.errors import TutorError
    from tutor.learning.prerequisites import load_prerequisites

    try:
        pmap = load_prerequisites()
    except TutorError:
        return [], []
    ids = list(dict.fromkeys(e.concept for e in entries if e.concept in pmap.concepts))
    if not ids:  # a concept whose name is the whole topic: "detection" is no name of "spam detection"
        words = content_words(topic)
        ids = [cid for cid in pmap.concepts_for_topic(topic)
               if any(names_in(n, topic) and all(mentions(n, w) for w in words)
                      for n in (pmap.concepts[cid].title, *pmap.concepts[cid].aliases))]
    own = [(r.source, r.section) for cid in ids for r in pmap.concepts[cid].sections]
    before = [(r.source, r.section) for cid in ids for req in pmap.concepts[cid].requires
              for r in pmap.concepts[req].sections]
    return list(dict.fromkeys(own)), list(dict.fromkeys(before))


def _links(names: list[str], entries: list[Entry], companion: Companion | None) -> list[Entry]:
    """Entries elsewhere that teach the same idea again: their idea names it ("Vanishing gradients in RNNs",
    "Batch normalization in CNNs"); an alias naming it in passing ("conv relu block") is no link."""
    if companion is None:
        return []
    return [e for e in companion.entries if all(e is not f for f in entries)
            and any(names_in(n, e.idea) or names_in(n, e.idea.replace("-", " ")) for n in names if len(n) >= 2)]


def plan(topic: str, library: Library, companion: Companion | None) -> Plan:
    topic = " ".join(topic.split())
    entries = resolve(topic, companion)
    primary = entries[0] if entries else None
    names = [topic]
    if primary:
        names += [primary.idea, *[a for a in primary.aliases if names_in(a, topic) or len(a) > 3]]
    query = topic if not primary or names_in(primary.idea, topic) else f"{topic} ({primary.idea})"
    concept_own, before = _concepts(topic, entries)
    own = _sections(entries) or concept_own
    result = Plan(topic=topic, entries=entries)
    if not own:
        hits = library.search(query, 10)
        named = [p for p in hits if names_topic(p, names)]
        close = [p for p in hits if p.similarity >= TAUGHT_SIMILARITY]
        own = _sections_of(named[:2] or close[:1])
        if not own:
            result.mentions = _mentioning(topic, hits)
            result.nearest = hits[:3]
            return result
    result.own = own
    links = [s for s in _sections(_links(names[:2], entries, companion)) + concept_own if s not in own]
    before = [s for s in before if s not in own and s not in links]
    pool = library.sections(query, list(dict.fromkeys(own + links + before)))
    pool = [p for p in pool if not is_lead_in(p)] or pool
    home = [p for p in pool if (p.source, p.section) in own]
    if not home:
        return result
    best = max(p.similarity for p in home)
    leading = sorted((p for p in home if names_topic(p, names)), key=lambda p: -p.similarity)[:1] or \
        [max(home, key=lambda p: p.similarity)]
    steps = leading + [p for p in _in_order(home, own) if p not in leading
                       and (p.similarity >= best - OWN_MARGIN or names_topic(p, names))]
    steps += [p for p in _in_order(pool, links)
              if p.similarity >= best - LINK_MARGIN or (names_topic(p, names) and p.similarity >= best - OWN_MARGIN)]
    steps += [p for p in _in_order(pool, before) if p.similarity >= best - PREREQUISITE_MARGIN and _said(p, names)]
    result.steps = steps[:MAX_STEPS]
    return result


def _sections_of(passages: list[Retrieved]) -> list[Section]:
    return list(dict.fromkeys((p.source, p.section) for p in passages))


def _in_order(passages: list[Retrieved], sections: list[Section]) -> list[Retrieved]:
    """The passages of these sections, section by section in the order given, each in the notes' order."""
    rank = {s: i for i, s in enumerate(sections)}
    chosen = [p for p in passages if (p.source, p.section) in rank]
    return sorted(chosen, key=lambda p: (rank[(p.source, p.section)], p.line_start))


def _mentioning(topic: str, passages: list[Retrieved]) -> list[tuple[str, Retrieved]]:
    """The notes' lines that say the topic: its whole name, or every word of it."""
    words = [w for w in content_words(topic) if len(w) >= 3]
    found: list[tuple[str, Retrieved]] = []
    for p in passages:
        for line in lines_of(p.text):
            if names_in(topic, line) or names_in(topic, line.replace("-", " ")) or (
                    words and all(mentions(line, w) for w in words)):
                if all(plain(line) != f for f, _ in found):
                    found.append((plain(line), p))
    return found[:3]
