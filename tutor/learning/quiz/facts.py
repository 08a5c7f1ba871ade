"""Reading the notes into facts: a term and its definition, or a named list of parts, from the
Markdown's structure (`**Term**: definition`, `### Term` and its defining bullet, lists)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from tutor.knowledge.chunking import Chunk
from tutor.learning.quiz.common import (
    DEFINING_LABELS,
    EXAMPLE_LABELS,
    MAX_EXPLANATION_CHARS,
    MAX_LIST_MEMBERS,
    MIN_OPTIONS,
    STOPWORDS,
    _BLOCKQUOTE,
    _BULLET,
    _COLLECTION_WORDS,
    _DISCUSSION_OPENERS,
    _FENCE,
    _HEADING,
    _PSEUDO_HEADING,
    _bare,
    _capitalize,
    _clean_term,
    _first_sentence,
    _good_definition,
    _good_term,
    _is_formula_garbage,
    _norm,
    _sentences,
    _stem,
    _title,
    _words,
    clean_markup,
    is_generic,
    normalize_space,
    note_text,
    same_concept,
)
from tutor.learning.quiz.items import Fact


# ---- reading the notes --------------------------------------------------------------------------
class _Item(BaseModel):
    """A bullet (or a paragraph) with its continuation lines and nested bullets."""

    indent: int
    lines: list[int]  # file line numbers of the bullet and its continuation lines
    raw: str  # the bullet's Markdown text, lines joined
    label: str = ""  # the bold (or `Label:`) term, cleaned
    body: str = ""  # the text after the label, cleaned
    subsection: str = ""
    heading_line: int = 0
    children: list["_Item"] = Field(default_factory=list)
    paragraph: bool = False

    @property
    def text(self) -> str:
        return clean_markup(self.raw)

    def last_line(self) -> int:
        return max([self.lines[-1]] + [c.last_line() for c in self.children])


_LABELLED = (
    re.compile(r"^\*\*(?P<t>[^*]+?)\*\*\s*:\s*(?P<d>.*)$"),
    re.compile(r"^\*\*(?P<t>[^*]+?):\*\*\s*(?P<d>.*)$"),
    re.compile(r"^\*(?P<t>[^*]+?)\*\s*:\s*(?P<d>.*)$"),
    re.compile(r"^\*(?P<t>[^*]+?):\*\s*(?P<d>.*)$"),
    re.compile(r"^(?P<t>[A-Z][^:*`.!?]{0,50}?):\s+(?P<d>\S.*)$"),
)


def _split_label(raw: str) -> tuple[str, str]:
    for pattern in _LABELLED:
        m = pattern.match(raw.strip())
        if m:
            label = clean_markup(m.group("t"))
            if pattern is _LABELLED[-1] and len(label.split()) > 6:
                continue
            return label, clean_markup(m.group("d"))
    return "", ""


class _Section(BaseModel):
    source: str
    module: str
    section: str
    lines: dict[int, str]  # file line number -> raw line


def section_texts(chunks: Iterable[Chunk]) -> dict[tuple[str, str], str]:
    """The Markdown of each (source, section), put back together from its chunks in line order."""
    return {key: "\n".join(s.lines[n] for n in sorted(s.lines)) for key, s in _sections(chunks).items()}


def _sections(chunks: Iterable[Chunk]) -> dict[tuple[str, str], _Section]:
    sections: dict[tuple[str, str], _Section] = {}
    for chunk in sorted(chunks, key=lambda c: (c.source, c.line_start)):
        key = (chunk.source, chunk.section)
        section = sections.setdefault(key, _Section(source=chunk.source, module=chunk.module, section=chunk.section, lines={}))
        for offset, line in enumerate(chunk.text.splitlines()):
            number = chunk.line_start + offset
            if number in section.lines and section.lines[number] != line:
                # one line longer than a chunk was cut at sentence ends: its pieces share the line number
                section.lines[number] = f"{section.lines[number]} {line}"
            else:
                section.lines[number] = line
    return sections


def _parse(section: _Section) -> list[_Item]:
    """The section's bullets as a tree, top level first; paragraphs become childless items."""
    roots: list[_Item] = []
    stack: list[_Item] = []
    subsection, heading_line = "", 0
    in_fence = False
    last: _Item | None = None
    for number in sorted(section.lines):
        raw_line = section.lines[number]
        if _FENCE.match(raw_line):
            in_fence = not in_fence
            last = None
            continue
        if in_fence:
            continue
        line = raw_line
        while _BLOCKQUOTE.match(line):
            line = _BLOCKQUOTE.sub("", line, count=1)
        if not line.strip():
            if last is not None and last.paragraph:
                last = None  # a blank line ends a paragraph; a bullet may go on (`  *Example*: ...` below it)
            continue
        heading = _HEADING.match(line)
        if heading:
            subsection, heading_line = _title(heading.group(2)), number
            stack, last = [], None
            continue
        bullet = _BULLET.match(line)
        if bullet:
            indent = len(bullet.group(1).expandtabs(4))
            item = _Item(indent=indent, lines=[number], raw=bullet.group(3), subsection=subsection,
                         heading_line=heading_line)
            while stack and stack[-1].indent >= indent:
                stack.pop()
            (stack[-1].children if stack else roots).append(item)
            stack.append(item)
            last = item
            continue
        indent = len(line) - len(line.lstrip())
        if last is not None and (last.paragraph or indent > last.indent):
            last.lines.append(number)  # a wrapped line or an indented continuation (`  *Example*: ...`)
            last.raw = f"{last.raw} {line.strip()}"
            continue
        if _PSEUDO_HEADING.match(line.strip()):
            # `**Key Components:**` on its own line heads the bullets below it, like a parent bullet
            item = _Item(indent=-1, lines=[number], raw=line.strip(), subsection=subsection, heading_line=heading_line)
            roots.append(item)
            stack, last = [item], None
            continue
        item = _Item(indent=-1, lines=[number], raw=line.strip(), subsection=subsection, heading_line=heading_line,
                     paragraph=True)
        roots.append(item)
        stack, last = [], item
    for item in _walk(roots):
        item.label, item.body = _split_label(item.raw)
    return roots


def _walk(items: list[_Item]) -> Iterable[_Item]:
    for item in items:
        yield item
        yield from _walk(item.children)



def _concept_labels(items: Sequence["_Item"]) -> bool:
    """True when most labelled siblings name concepts, so a generic-looking one ("Tasks") is a concept too."""
    labels = [i.label for i in items if i.label]
    return bool(labels) and sum(not is_generic(l) for l in labels) * 2 > len(labels)



class _Reader:
    """Facts of one section."""

    def __init__(self, section: _Section) -> None:
        self.section = section
        self.plain = {n: clean_markup(l) for n, l in section.lines.items()}
        self.facts: list[Fact] = []

    def span(self, start: int, end: int) -> str:
        return normalize_space(" ".join(self.plain[n] for n in sorted(self.plain) if start <= n <= end))

    def fact(self, **kw: Any) -> Fact:
        return Fact(source=self.section.source, module=self.section.module, section=self.section.section, **kw)

    def read(self) -> list[Fact]:
        roots = _parse(self.section)
        self._glossary(roots, parent=None)
        self._headings(roots)
        self._lists(roots)
        self._sentences(roots)
        return self.facts

    # `- **Term**: definition` bullets, at any depth
    def _glossary(self, items: list[_Item], parent: _Item | None) -> None:
        by_heading: dict[str, list[_Item]] = {}
        for item in items:
            by_heading.setdefault(item.subsection, []).append(item)
        concepts = {heading: _concept_labels(group) for heading, group in by_heading.items()}
        for item in items:
            among_concepts = concepts[item.subsection]
            self._glossary(item.children, parent=item)
            if item.paragraph or not item.label:
                continue
            term = _clean_term(item.label)
            if not _good_term(term, allow_generic=among_concepts) or _norm(item.label) in EXAMPLE_LABELS:
                continue
            body, example = _split_example(item.body)
            lines = list(item.lines)
            if body:
                body = _strip_formula_prefix(body)
            elif item.children:
                first = item.children[0]
                definer = first if not first.label else next(
                    (c for c in item.children[:3] if _norm(c.label) in DEFINING_LABELS), None)
                if definer is not None:
                    body = _split_example(definer.body if definer.label else definer.text)[0]
                    lines = list(range(item.lines[0], definer.lines[-1] + 1))
            example = example or _child_example(item)
            definition = _capitalize(_first_sentence(body))
            if not _good_definition(definition):
                continue
            context = ""
            if parent is not None and parent.label and not is_generic(parent.label) and _good_term(
                    _clean_term(parent.label)):
                context = _clean_term(parent.label)
            elif (item.subsection and not is_generic(item.subsection) and _norm(item.subsection) != _norm(term)
                  and not _contrasts(item.subsection)):
                context = item.subsection
            elif is_generic(term) or item.subsection and is_generic(item.subsection):
                # "Tasks" or a "Limitations" bullet says little on its own: name the section
                context = _title(self.section.section)
            self.facts.append(self.fact(
                term=term, definition=definition, example=example, context=context,
                sentence=self.span(lines[0], lines[-1]), subsection=item.subsection,
                line_start=lines[0], line_end=lines[-1],
                siblings=f"{item.subsection}|{parent.lines[0] if parent else item.heading_line}", note="glossary",
            ))

    # `### Term` followed by a bullet that defines it
    def _headings(self, roots: list[_Item]) -> None:
        by_heading: dict[int, list[_Item]] = {}
        for item in roots:
            if item.heading_line:
                by_heading.setdefault(item.heading_line, []).append(item)
        known = {_norm(f.term) for f in self.facts}
        for heading_line, items in by_heading.items():
            term = _clean_term(items[0].subsection)
            if not _good_term(term) or _norm(term) in known or not _names_a_concept(term):
                continue
            bullets = [i for i in items if not i.paragraph]
            if not bullets:
                continue
            definer = bullets[0] if not bullets[0].label else next(
                (i for i in bullets[:3] if _norm(i.label) in DEFINING_LABELS), None)
            if definer is None:
                continue
            body, example = _split_example(definer.body if definer.label else definer.text)
            definition = _capitalize(_first_sentence(body))
            if not _good_definition(definition):
                continue
            example = example or _child_example(definer) or next(
                (_split_example(i.body)[0] for i in bullets if _norm(i.label) in EXAMPLE_LABELS), "")
            self.facts.append(self.fact(
                term=term, definition=definition, example=example, context="",
                sentence=self.span(definer.lines[0], definer.lines[-1]), subsection=items[0].subsection,
                line_start=heading_line, line_end=definer.lines[-1], siblings=f"heading|{self.section.section}",
                note="heading",
            ))

    # named parts: a parent bullet, a `###` subsection or a collection-like section with 3+ glossary children
    def _lists(self, roots: list[_Item]) -> None:
        groups: list[tuple[str, bool, list[_Item]]] = []
        for item in _walk(roots):
            if item.label and item.children:
                groups.append((_clean_term(item.label), is_generic(item.label), item.children))
        by_heading: dict[str, list[_Item]] = {}
        for item in roots:
            by_heading.setdefault(item.subsection, []).append(item)
        for heading, items in by_heading.items():
            if heading:
                groups.append((heading, is_generic(heading), items))
            elif _is_collection(self.section.section):
                groups.append((_title(self.section.section), False, items))
        for name, generic, items in groups:
            among_concepts = _concept_labels(items)
            members = [i for i in items if i.label and not i.paragraph
                       and _good_term(_clean_term(i.label), allow_generic=among_concepts)
                       and not (i.body and _is_formula_garbage(i.body))]
            names = [_clean_term(i.label) for i in members]
            if not MIN_OPTIONS <= len(names) <= MAX_LIST_MEMBERS or not name:
                continue
            start, end = members[0].lines[0], members[-1].last_line()
            sentence = self.span(start, end)
            if len(sentence) > MAX_EXPLANATION_CHARS:
                continue
            self.facts.append(self.fact(
                term=name, members=names, context="" if not generic else _title(self.section.section),
                sentence=sentence, subsection=items[0].subsection, line_start=start, line_end=end, note="list",
            ))

    # "X is a Y" sentences and "X include A, B and C" lists in running text
    def _sentences(self, roots: list[_Item]) -> None:
        known = {_norm(f.term) for f in self.facts}
        for item in _walk(roots):
            text = item.body if item.label else item.text
            for sentence in _sentences(text):
                listed = _INLINE_LIST.match(sentence)
                if listed:
                    members = _split_members(listed.group("items"))
                    name = listed.group("name").strip()
                    if members and _good_term(name) and not any(same_concept(name, m) for m in members):
                        self.facts.append(self.fact(
                            term=name, members=members, sentence=sentence, subsection=item.subsection,
                            line_start=item.lines[0], line_end=item.lines[-1], note="inline list",
                        ))
                    continue
                defined = _IS_A.match(sentence)
                if item.label or not defined:
                    continue
                term = _capitalize(re.sub(r"^(?:an?|the)\s+", "", _clean_term(defined.group("term")), flags=re.I))
                definition = _capitalize(defined.group("def").strip())
                if (_good_term(term) and _norm(term) not in known and _good_definition(definition)
                        and term.split()[0].lower() not in _PRONOUNS and len(term.split()) <= 5
                        and not set(_words(term)) & _VAGUE_NOUNS):
                    known.add(_norm(term))
                    self.facts.append(self.fact(
                        term=term, definition=definition, sentence=sentence, subsection=item.subsection,
                        line_start=item.lines[0], line_end=item.lines[-1], note="sentence",
                        siblings=f"sentence|{item.lines[0]}",
                    ))


_VAGUE_NOUNS = frozenset("result results goal idea method approach output input problem reason key point difference "
                         "main first second purpose answer thing way".split())
_PRONOUNS = frozenset("it this that these those there here which what each every such its their our we you they he "
                      "she one both all most many some another other no".split())
_IS_A = re.compile(
    r"^(?:An?\s+|The\s+)?(?P<term>[A-Z][\w\-/()' ]{1,50}?)\s+"
    r"(?:is\s+defined\s+as|refers\s+to|means|denotes|(?:is|are)\s+(?=(?:a|an|the|one)\s))\s*(?P<def>.+?)\.?$"
)
_INLINE_LIST = re.compile(
    r"^(?P<name>[A-Z][\w\-/' ]{2,60}?)\s+(?:include|includes|are|is made of|consists? of)\s+(?P<items>[^.;:]+?)\.?$"
)


def _split_members(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+", text) if p.strip()]
    if not MIN_OPTIONS <= len(parts) <= MAX_LIST_MEMBERS:
        return []
    if any(len(p.split()) > 4 or _norm(p) in STOPWORDS or not any(c.isalpha() for c in p) for p in parts):
        return []
    return parts


def _split_example(text: str) -> tuple[str, str]:
    """`definition. Example: ...` -> (definition, example)."""
    m = re.search(r"(?:^|\s)(?:Examples?|For example|E\.g\.)\s*[:,]\s*", text)
    if not m:
        return text.strip(), ""
    return text[: m.start()].strip(), text[m.end():].strip()


def _child_example(item: _Item) -> str:
    for child in item.children:
        if _norm(child.label) in {"example", "examples"}:
            return child.body
    return ""


def _strip_formula_prefix(body: str) -> str:
    """`Precision = TP / (TP + FP): Focuses on ...` -> `Focuses on ...` (the formula is asked elsewhere)."""
    m = re.match(r"^[^:]{1,60}=[^:]{1,60}:\s+(\S.*)$", body)
    return m.group(1) if m else body


def _names_a_concept(heading: str) -> bool:
    words = _words(heading)
    if not words or words[0] in _DISCUSSION_OPENERS:
        return False
    return not _contrasts(heading)


def _contrasts(heading: str) -> bool:
    """A heading about two things ("Data Lake vs. Data Warehouse", "Tensors and GPUs")."""
    return bool(re.search(r"\b(vs\.?|versus|and)\b|,", _bare(heading), flags=re.IGNORECASE))


def _head_stem(term: str) -> str:
    """The stem of a term's head word: `Word Embeddings` -> "embed"; "" for short heads."""
    words = [w for w in _words(_bare(term)) if w not in STOPWORDS]
    return _stem(words[-1]) if words and len(words[-1]) >= 4 else ""


def _is_collection(section: str) -> bool:
    words = set(_words(section))
    return bool(words & _COLLECTION_WORDS) or bool(re.match(r"(?:\d+\.\s*)?(?:the\s+)?\d+\s", section, re.IGNORECASE))


def extract_facts(chunks: Iterable[Chunk]) -> list[Fact]:
    """Every fact the notes state, in note order (by source, then line)."""
    return list(read_notes(list(chunks)).facts)


class _Notes(BaseModel):
    facts: tuple[Fact, ...]
    texts: dict[tuple[str, str], str]  # (source, section) -> note_text of the section
    lines: dict[tuple[str, str], dict[int, str]]  # (source, section) -> line number -> note text of the line


_NOTES_CACHE: dict[tuple[tuple[str, int], ...], _Notes] = {}
_NOTES_CACHE_SIZE = 4  # the notes, and a few topic or test corpora


def read_notes(chunks: list[Chunk]) -> _Notes:
    """The facts and note text of a corpus, read once per distinct set of chunks."""
    key = tuple((c.id, c.line_start) for c in chunks)
    cached = _NOTES_CACHE.get(key)
    if cached is not None:
        return cached
    sections = _sections(chunks)
    facts: list[Fact] = []
    for section in sections.values():
        facts.extend(_Reader(section).read())
    facts.sort(key=lambda f: (f.source, f.line_start, f.line_end, f.note, f.term))
    notes = _Notes(
        facts=tuple(facts),
        texts={k: note_text("\n".join(s.lines[n] for n in sorted(s.lines))) for k, s in sections.items()},
        lines={k: {n: clean_markup(l) for n, l in s.lines.items()} for k, s in sections.items()},
    )
    if len(_NOTES_CACHE) >= _NOTES_CACHE_SIZE:
        _NOTES_CACHE.pop(next(iter(_NOTES_CACHE)))
    _NOTES_CACHE[key] = notes
    return notes
