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
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from tutor.knowledge.chunking import TERM_LINE, title
from tutor.knowledge.companion import Companion, Entry, names_in
from tutor.llms.asking import COMPARE
from tutor.llms.compose import content_words, is_lead_in, lines_of, mentions, notes_only, plain
from tutor.llms.protocol import Retrieved

OWN_MARGIN = 0.12  # a passage of the topic's own sections this close to their best one is a key idea
PREREQUISITE_MARGIN = 0.03  # a prerequisite's passage, which must also name the topic
TAUGHT_SIMILARITY = 0.55  # with no name matched, the notes teach a topic their closest passage is this close to
# with no name matched and no notes passage that close, a topic described in a learner's words ("switching off random
# neurons while training") is the idea whose companion explanation, written in plain words too, is this close to it
DESCRIBED_SIMILARITY = 0.4  # ... and at least as close as the closest line of the notes
DESCRIBED_WORDS = 4  # ... and has this many words: a shorter one is a name the notes do not teach ("layer norm")
AGREED_SIMILARITY = 0.28  # ... or farther, where the notes' closest line and the closest explanation agree
DESCRIBED_OVER = 0.05  # how much closer an idea's explanation is than the named one's for a description to be of it
NEAR_SPELLING = 0.86  # difflib ratio above which a topic is a misspelling of an idea's name ("backpropogation")
MAX_STEPS = 8

Section = tuple[str, str]


class Library(Protocol):
    """Where the plan reads the notes: every passage of some sections with its closeness in meaning to a
    query (the dense ranking), and the hybrid search."""

    def sections(self, query: str, sections: list[Section]) -> list[Retrieved]: ...

    def search(self, query: str, k: int) -> list[Retrieved]: ...

    def words(self) -> set[str]: ...

    def explained(self, query: str, k: int) -> list[Retrieved]: ...


def _words(texts: list[str]) -> set[str]:
    return {w.lower() for t in texts for w in re.findall(r"[A-Za-z]{5,}", t)}


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

    def explained(self, query: str, k: int) -> list[Retrieved]:
        """The companion's explanations closest to the query, closest first (they say each idea in plain words)."""
        hits = [as_retrieved(p, p.similarity) for p in self.retriever.search(query, k=k, kinds=("companion",), per="chunk")]
        return sorted(hits, key=lambda p: -p.similarity)

    def words(self) -> set[str]:
        """Every word of the notes and the companion, headings included: what a misspelt topic is read against."""
        if not hasattr(self, "_vocabulary"):
            self._vocabulary = _words([f"{c.section} {c.subsection} {c.text}" for c in self.retriever.lexical.chunks])
        return self._vocabulary


class PassageLibrary:
    """Only the passages a search returned (a model's own `search_notes` call, a test's passages)."""

    def __init__(self, passages: list[Retrieved]) -> None:
        self.passages = notes_only(passages)

    def sections(self, query: str, sections: list[Section]) -> list[Retrieved]:
        return [p for p in self.passages if (p.source, p.section) in set(sections)]

    def search(self, query: str, k: int) -> list[Retrieved]:
        return self.passages[:k]

    def explained(self, query: str, k: int) -> list[Retrieved]:
        return []  # a search's notes passages only: a described topic is read against the whole index

    def words(self) -> set[str]:
        return _words([f"{p.section} {p.subsection} {p.text}" for p in self.passages])


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
    """The entries a topic names (any case: "relu", "hitl"), else those whose initials it types ("mAP" is mean
    average precision, not a feature map), else those whose name it misspells. Of the entries named, a more
    general idea named inside the first one's name ("attention" in "multi-head attention") is left out."""
    if companion is None:
        return []
    typed = " ".join(topic.lower().replace("-", " ").split())
    acronyms = [e for e in companion.entries if _is_acronym(topic) and any(typed.replace(" ", "") in initials(n)
                                                                             for n in e.names)]
    if acronyms and any(c.isupper() for c in topic[1:]):  # "mAP", "IoU": typed as an abbreviation
        return acronyms
    named = companion.match(topic)
    if named:
        first = _named_as(named[0], topic)
        return [named[0]] + [e for e in named[1:] if not names_in(_named_as(e, topic), first)]
    if acronyms:
        return acronyms
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


def _named_as(entry: Entry, topic: str) -> str:
    """The longest of the entry's names the topic names."""
    return max((n for n in entry.names if names_in(n, topic)), key=len, default=entry.idea)


def _is_acronym(topic: str) -> bool:
    """One short token: "nms", "mAP", "tf-idf"."""
    bare = topic.replace("-", "")
    return 2 <= len(bare) <= 6 and bare.isalpha() and " " not in topic.strip()


def initials(name: str) -> set[str]:
    """The ways a name is abbreviated: "Non-maximum suppression" -> nms; "Area under the precision-recall
    curve" -> auprc (small words left out) or autprc; "(IoU)" is read from its words, not its brackets."""
    words = [w for w in re.split(r"[\s\-/]+", re.sub(r"\(.*?\)", " ", name.lower())) if w and w[0].isalnum()]
    small = {"the", "of", "a", "an", "and", "for", "in", "to"}
    return {"".join(w[0] for w in words), "".join(w[0] for w in words if w not in small)} - {""}


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit ("dropuot" is one edit from "dropout")."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def spelled(topic: str, vocabulary: set[str]) -> str:
    """The topic with each word the notes never use replaced by the notes' word it misspells: one edit
    (two for a word of eight letters or more), its first letter kept ("atention" -> "attention")."""
    out = []
    for word in re.findall(r"[A-Za-z]+|[^A-Za-z]+", topic):
        low = word.lower()
        if len(low) < 5 or not low.isalpha() or low in vocabulary:
            out.append(word)
            continue
        allowed = 1 if len(low) < 8 else 2
        near = sorted((_distance(low, v), v) for v in vocabulary
                      if v[0] == low[0] and abs(len(v) - len(low)) <= allowed)
        out.append(near[0][1] if near and near[0][0] <= allowed else word)
    return "".join(out)


def names_topic(p: Retrieved, names: list[str], section: bool = True) -> bool:
    """The passage's heading or a term it defines ("- **Dropout**: ...") is the topic, by one of its names;
    `section=False`: its own heading, not only the `##` section's title ("CNNs for Non-Traditional Domains"
    names CNNs, its passage "Applications" teaches audio and malware)."""
    heads = [p.subsection, title(p.section) if section or not p.subsection else ""]
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
    "Batch normalization in CNNs"); an alias naming it in passing ("conv relu block") is no link, nor a
    comparison ("RNN vs. transformer seq2seq" teaches the difference, not the idea)."""
    if companion is None:
        return []
    return [e for e in companion.entries if all(e is not f for f in entries) and not re.search(r"\bvs\b", e.idea)
            and any(names_in(n, e.idea) or names_in(n, e.idea.replace("-", " ")) for n in names if len(n) >= 2)]


def plan(topic: str, library: Library, companion: Companion | None) -> Plan:
    topic = " ".join(topic.split())
    vocabulary = library.words() | _words([n for e in (companion.entries if companion else []) for n in e.names])
    read = spelled(topic, vocabulary)  # "dropuot" is read as "dropout"
    entries = resolve(read, companion)
    if entries and companion is not None and len(topic.split()) > DESCRIBED_WORDS and not COMPARE.search(topic):
        entries = _described_better(read, entries, library, companion)
    primary = entries[0] if entries else None
    names = list(dict.fromkeys([topic, read]))
    if primary:
        names += [primary.idea, *[a for a in primary.aliases if names_in(a, read) or len(a) > 3]]
    query = read if not primary or names_in(primary.idea, read) else f"{read} ({primary.idea})"
    concept_own, before = _concepts(read, entries)
    own = _sections(entries) or concept_own
    result = Plan(topic=topic, entries=entries)
    if not own:
        hits = library.search(query, 10)
        named = [p for p in hits if names_topic(p, names)]
        close = [p for p in hits if p.similarity >= TAUGHT_SIMILARITY]
        own = _sections_of(named[:2] or close[:1])
        described = companion is not None and len(topic.split()) >= DESCRIBED_WORDS and not named
        if described:  # described, not named: the idea whose plain explanation is closer than any line of the notes
            entries, similarity = _described(query, library, companion)
            if entries and (not own or similarity >= close[0].similarity):
                result.entries, own = entries, _sections(entries)
            elif not own and hits:  # farther, where the notes' closest line and the closest explanation agree
                entries = _agreed(query, hits[0], library, companion)
                if entries:
                    result.entries, own = entries, _sections(entries)
        if not own:
            result.mentions = _mentioning(read, hits)
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
    # elsewhere, a passage teaches the topic when its heading or a term it defines names it: being close in
    # meaning is not enough ("Impact of ImageNet" is close to "cnn" and teaches transfer learning)
    steps += [p for p in _in_order(pool, links) if names_topic(p, names, section=False)
              and p.similarity >= best - OWN_MARGIN]
    steps += [p for p in _in_order(pool, before) if p.similarity >= best - PREREQUISITE_MARGIN
              and names_topic(p, names, section=False)]
    result.steps = steps[:MAX_STEPS]
    return result


def _described(query: str, library: Library, companion: Companion) -> tuple[list[Entry], float]:
    """The companion entry a topic describes without naming it: the one whose explanation is closest in meaning,
    from DESCRIBED_SIMILARITY on ("switching off random neurons while training" -> Dropout), and how close."""
    for p in library.explained(query, 4):
        if p.similarity < DESCRIBED_SIMILARITY:
            break
        entry = companion.for_passage(p.source, p.section, p.subsection)
        if entry is not None:
            return [entry], p.similarity
    return [], 0.0


def _described_better(topic: str, entries: list[Entry], library: Library, companion: Companion) -> list[Entry]:
    """A topic of several words that names an idea in passing ("one overall score for a detector across all
    classes" names "detector"; "training with 16-bit numbers to save GPU memory", "GPU") describes another where
    that one's explanation is clearly closer in meaning than the named one's (mean average precision, mixed
    precision training): the described idea alone (the one named in passing is no part of the lesson)."""
    hits = library.explained(topic, 8)
    closest = {}
    for p in hits:
        entry = companion.for_passage(p.source, p.section, p.subsection)
        if entry is not None and entry.idea not in closest:
            closest[entry.idea] = (p.similarity, entry)
    if not closest:
        return entries
    best_similarity, best = max(closest.values(), key=lambda c: c[0])
    named = closest.get(entries[0].idea, (0.0, None))[0]
    if best.idea == entries[0].idea or best_similarity < DESCRIBED_SIMILARITY or best_similarity < named + DESCRIBED_OVER:
        return entries
    return [best]


def _agreed(query: str, closest: Retrieved, library: Library, companion: Companion) -> list[Entry]:
    """The idea a description is about where it reads too far from every explanation to say so alone, but the
    notes' closest line and the closest explanation are of one section ("getting rid of duplicate boxes": non-maximum
    suppression, both ways), from AGREED_SIMILARITY on; else none."""
    for p in library.explained(query, 1):
        if p.similarity >= AGREED_SIMILARITY and closest.similarity >= AGREED_SIMILARITY and \
                (p.source, p.section) == (closest.source, closest.section):
            entry = companion.for_passage(p.source, p.section, p.subsection)
            return [entry] if entry is not None else []
    return []


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
