"""Quiz items mined from the course notes with no text-generation model.

The notes are glossary-like Markdown (`**Term**: definition`, `### Term` followed by a defining
bullet, lists of named parts), so facts are read off that structure and turned into multiple
choice, short-answer and cloze questions. Every item quotes the note text it comes from
(`explanation`, markup removed), and distractors are sibling concepts that are checked not to be
correct as well.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tutor.knowledge.chunking import Chunk

Kind = Literal["mcq", "short", "cloze", "computed"]
QuizKind = Literal["mcq", "short", "cloze", "mixed"]
Level = Literal["remember", "understand", "apply", "analyze"]
LEVELS: tuple[str, ...] = ("remember", "understand", "apply", "analyze")
BLANK = "_____"
MIXED_ORDER: tuple[Kind, ...] = ("mcq", "short", "cloze")  # `mixed` rotates through these

MIN_OPTIONS, MAX_OPTIONS = 3, 5
DISTRACTORS = 3  # four options when the notes offer enough sibling concepts
NEAR_DUPLICATE_JACCARD = 0.8  # token overlap at which two options read as the same answer
MIN_DEFINITION_WORDS, MAX_DEFINITION_WORDS = 3, 45
MAX_DEFINITION_CHARS = 320
MAX_TERM_WORDS = 7
MAX_LIST_MEMBERS = 8
MAX_EXPLANATION_CHARS = 900  # a list or pair explanation longer than this is more chapter than answer
DEFINITION_OVERLAP = 0.3  # content-word overlap at which a non-sibling's definition may also fit
GIVEAWAY_RATIO = 1.4  # a correct option this much longer than every distractor (plus 10 characters) gives itself away

STOPWORDS = frozenset(
    "a an the and or but if then else of to in on at by for with from into onto over under as is are was were be "
    "been being it its this that these those there here which who whom whose what when where why how not no nor "
    "so than too very can could may might must shall should will would do does did done has have had having i we "
    "you he she they them their our your his her my me us all any each every both few more most other some such "
    "only own same just also about above below between through during before after again further once up down "
    "out off".split()
)

# Labels that name a role in the notes, not a concept: never a term to ask about.
GENERIC_LABELS = frozenset({
    "example", "examples", "formula", "formulas", "task", "tasks", "model name", "model names", "impact", "impacts",
    "concept", "concepts", "purpose", "significance", "trade offs", "tradeoffs", "steps", "step", "pros", "cons",
    "strength", "strengths", "weakness", "weaknesses", "principle", "principles", "technique", "techniques",
    "application", "applications", "advantage", "advantages", "disadvantage", "disadvantages", "limitation",
    "limitations", "challenge", "challenges", "solution", "solutions", "problem", "problems", "process", "processes",
    "note", "notes", "definition", "summary", "overview", "use cases", "uses", "benefits", "drawbacks",
    "key components", "core components", "components", "enhancements", "training modes", "key concepts",
    "architecture", "mitigation techniques", "impact on performance",
})
_GENERIC_WORDS = frozenset(
    """example examples formula task model name impact concept purpose significance trade-offs tradeoffs steps
    pros cons strength strengths weakness principle techniques technique applications advantages advantage
    disadvantages limitations limitation challenges solutions problems process definition summary overview
    benefits drawbacks components enhancements modes concepts architecture uses""".split()
)
# Labels whose text defines the concept they sit under (`### Two-Stage Detectors` / `- **Process**: ...`).
DEFINING_LABELS = frozenset({"concept", "definition", "process", "purpose", "description", "idea"})
EXAMPLE_LABELS = frozenset({"example", "examples", "e g", "for example"})
# Generic labels that may still be concepts when their siblings are ("Crews, Agents, Tasks, Tools, Processes").
_MAYBE_CONCEPTS = frozenset({"task", "tasks", "processes", "components", "architecture", "uses", "applications"})
_ROLE_LABELS = GENERIC_LABELS - _MAYBE_CONCEPTS  # never a concept, even among concepts

# Headings that introduce a discussion rather than name a concept.
_DISCUSSION_OPENERS = frozenset(
    """why how what impact impacts role effects effect use uses advantages disadvantages improvements improved
    steps challenges limitations solutions problems applications significance trade-offs key core main typical
    techniques training mitigation pros cons importance evolution dealing adjusting components types""".split()
)
# Section titles whose top-level bullets form a named collection worth a "which is one of" question.
_COLLECTION_WORDS = frozenset(
    """tools techniques methods concepts components types layers tweaks challenges metrics steps parameters modes
    measurements applications enhancements models properties stages operations architecture""".split()
)
# Third-person verbs a definition may open with, so a cloze can read "_____ measures ...".
DEFINITION_VERBS = frozenset(
    """refers measures determines uses adds accelerates adjusts normalizes increases stops combines reduces
    stabilizes converts preserves allows reuses applies extracts detects automates predicts assigns focuses
    eliminates retains removes balances defines sets controls involves adapts encourages represents quantifies
    processes transforms takes replaces utilizes enables splits introduces ensures provides captures generates
    learns computes maps helps creates prevents stores finds updates encodes decodes selects produces makes keeps
    limits improves highlights ignores calculates estimates describes consists contains treats requires
    leverages divides penalizes scales shifts sums multiplies concatenates trains""".split()
)


# ---- text helpers ---------------------------------------------------------------------------------
_BLOCKQUOTE = re.compile(r"^\s{0,3}>\s?")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_ENUMERATION = re.compile(r"^(?:\d+|[a-zA-Z])[.)]\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_PSEUDO_HEADING = re.compile(r"^(\*\*|__)[^*_]{2,80}?:?(\*\*|__):?$")  # a bold line alone: `**Key Components:**`


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def clean_markup(line: str) -> str:
    """One line of Markdown as a reader sees it: no heading hashes, bullets, emphasis, code ticks or escapes."""
    text = line
    while _BLOCKQUOTE.match(text):
        text = _BLOCKQUOTE.sub("", text, count=1)
    m = _HEADING.match(text)
    if m:
        text = m.group(2)
    m = _BULLET.match(text)
    if m:
        text = m.group(3)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images keep their alt text
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links keep their words
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"__(.+?)__", r"\1", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?![\s_])(.+?)(?<![\s_])_(?![\w_])", r"\1", text)
    text = text.replace("`", "")
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!\"'|>~])", r"\1", text)
    text = re.sub(r"\\$", "", text)  # a hard line break
    return " ".join(text.split())


def note_text(markdown: str) -> str:
    """What a reader sees of a passage, line by line; every explanation is a substring of it (whitespace aside)."""
    return "\n".join(clean_markup(line) for line in markdown.splitlines())


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()  # naïve -> naive
    return re.findall(r"[a-z0-9]+", folded)


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def _norm(text: str) -> str:
    return " ".join(_words(text))


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def near_duplicate(a: str, b: str) -> bool:
    """True when two answers read as the same: equal or contained once normalised (case, punctuation,
    plural -s), or token Jaccard >= 0.8."""
    na, nb = _singular(_norm(a)), _singular(_norm(b))
    if not na or not nb:
        return na == nb
    if na == nb or f" {na} " in f" {nb} " or f" {nb} " in f" {na} ":
        return True
    ta, tb = set(na.split()), set(nb.split())
    return len(ta & tb) / len(ta | tb) >= NEAR_DUPLICATE_JACCARD


def _singular(normalized: str) -> str:
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                    for w in normalized.split())


def _stem(word: str) -> str:
    return word[:5]


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def _content_stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _words(text) if w not in STOPWORDS and len(w) > 1)


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def _acronyms(term: str) -> frozenset[str]:
    """Acronyms a term goes by: `Stochastic Gradient Descent (SGD)` -> {"sgd"}; `NMS` -> {"nms"}."""
    found = {m.lower() for m in re.findall(r"\(([A-Za-z0-9][A-Za-z0-9\-/]{1,9})\)", term) if any(c.isupper() for c in m)}
    bare = re.sub(r"\s*\([^)]*\)", "", term).strip()
    if re.fullmatch(r"[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*", bare) and len(bare) <= 8:
        found.add(bare.lower())
    return frozenset(found)


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def _bare(term: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", term).strip()


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def mentions(text: str, term: str) -> bool:
    """True when `text` names `term`: the words of its name (with or without the parenthesis) or its acronym."""
    haystack = f" {_norm(text)} "
    for name in {term, _bare(term)}:
        n = _norm(name)
        if n and f" {n} " in haystack:
            return True
    return any(f" {a} " in haystack for a in _acronyms(term))


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def leaks(text: str, term: str) -> bool:
    """True when `text` gives `term` away: it names it, or shares most of its content words (stemmed)."""
    if mentions(text, term):
        return True
    stems = _content_stems(_bare(term))
    if not stems:
        return False
    shared = stems & _content_stems(text)
    return len(shared) >= max(1, math.ceil(len(stems) * 2 / 3))


@lru_cache(maxsize=1 << 16)  # pure and called in inner loops
def same_concept(a: str, b: str) -> bool:
    """Two terms that name the same thing (`Dropout` twice, `NMS` and `Non-Maximum Suppression (NMS)`)."""
    if near_duplicate(a, b) or near_duplicate(_bare(a), _bare(b)):
        return True
    stems_a, stems_b = _content_stems(_bare(a)), _content_stems(_bare(b))
    if stems_a and stems_a == stems_b:  # "Seq2Seq Model" and "Seq2Seq Modeling"
        return True
    acr_a, acr_b = _acronyms(a), _acronyms(b)
    if acr_a & acr_b:
        return True
    return bool(acr_a & {_norm(_bare(b)).replace(" ", "")} or acr_b & {_norm(_bare(a)).replace(" ", "")})


def _first_sentence(text: str) -> str:
    protected = re.sub(r"\b(e\.g|i\.e|etc|vs|cf|approx)\.", lambda m: m.group(0).replace(".", "\x00"), text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])", protected, maxsplit=1)
    return parts[0].replace("\x00", ".").strip()


def _sentences(text: str) -> list[str]:
    protected = re.sub(r"\b(e\.g|i\.e|etc|vs|cf|approx)\.", lambda m: m.group(0).replace(".", "\x00"), text)
    return [s.replace("\x00", ".").strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])", protected) if s.strip()]


def _strip_period(text: str) -> str:
    return text.rstrip().rstrip(".").rstrip()


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lower_first(text: str) -> str:
    """Lower-case the first word unless it is an acronym or a name (`BERT`, `ImageNet`)."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[1:].lower() != first[1:] or not first[0].isupper()):
        return text
    return text[:1].lower() + text[1:]


def _title(heading: str) -> str:
    """A heading as a name: no enumeration (`1. `, `a. `), no "(e.g., ...)" aside, no trailing colon."""
    title = _ENUMERATION.sub("", heading.strip()).rstrip(":").strip()
    return re.sub(r"\s*\((?:e\.g\.?|i\.e\.?|for example)[^)]*\)", "", title, flags=re.IGNORECASE).strip()


def _clean_term(raw: str) -> str:
    term = _title(clean_markup(raw))
    term = re.sub(r"\s*\((?:e\.g\.?|i\.e\.?|for example)[^)]*\)", "", term, flags=re.IGNORECASE)
    term = re.sub(r"\s+Definition$", "", term)  # `XAI Definition` is a definition of XAI
    m = re.fullmatch(r"What (?:an? |the )?(.+?) (?:is|are)", term, flags=re.IGNORECASE)
    if m:
        term = _capitalize(m.group(1))
    return term.strip(" :")


def is_generic(label: str) -> bool:
    n = _norm(_title(label))
    if not n or n in GENERIC_LABELS:
        return True
    words = n.split()
    return all(w in _GENERIC_WORDS or w in STOPWORDS for w in words)


def _concept_labels(items: Sequence["_Item"]) -> bool:
    """True when most labelled siblings name concepts, so a generic-looking one ("Tasks") is a concept too."""
    labels = [i.label for i in items if i.label]
    return bool(labels) and sum(not is_generic(l) for l in labels) * 2 > len(labels)


def _is_formula_garbage(text: str) -> bool:
    if any(s in text for s in ("$", "\\", "{", "}")):
        return True
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return True
    letters = sum(c.isalpha() for c in visible)
    return letters / len(visible) < 0.7 or text.count("=") > 2


def _good_term(term: str, allow_generic: bool = False) -> bool:
    """A name worth asking about; `allow_generic` for labels among concepts (CrewAI's "Tasks", "Processes")."""
    words = term.split()
    return (
        0 < len(words) <= MAX_TERM_WORDS
        and len(term) <= 60
        and any(c.isalpha() for c in term)
        and (not is_generic(term) or allow_generic and _norm(term) not in _ROLE_LABELS)
        and _norm(term) not in STOPWORDS
        and not term.endswith(("?", "."))
        and not re.match(r"(?i)(how|why|when|where|which|who)\b", term)
    )


def _good_definition(text: str) -> bool:
    words = text.split()
    return (
        MIN_DEFINITION_WORDS <= len(words) <= MAX_DEFINITION_WORDS
        and 12 <= len(text) <= MAX_DEFINITION_CHARS
        and not _is_formula_garbage(text)
    )


# ---- models -----------------------------------------------------------------------------------------
class Fact(BaseModel):
    """One thing the notes state: a term and its definition, or a named list of parts."""

    model_config = ConfigDict(frozen=True)  # shared between quizzes through the cache

    term: str  # the concept, or the list's name for a list fact
    definition: str = ""  # first sentence of the definition, as written
    example: str = ""
    members: list[str] = Field(default_factory=list)  # a list fact's named parts, in note order
    context: str = ""  # the parent concept or subsection that disambiguates the term ("CAP Theorem")
    sentence: str  # the note text it comes from, markup removed: a substring of the section's note_text
    section: str
    subsection: str = ""
    source: str
    module: str
    line_start: int  # the lines a pair question may quote (from the heading of a `### Term`)
    line_end: int
    siblings: str = ""  # facts under the same parent share this key; pairs are drawn from them
    note: str = ""  # how it was read: "glossary", "heading", "sentence", "list" or "inline list"

    @property
    def is_list(self) -> bool:
        return bool(self.members)

    @property
    def key(self) -> str:
        """Facts with the same key are about the same thing; a quiz asks about each once."""
        if self.is_list:
            return f"list:{self.source}:{self.section}:{_norm(self.term)}"
        return f"term:{_norm(_bare(self.term)) or _norm(self.term)}"


class QuizItem(BaseModel):
    """One question with its reference answer and the note passage that grounds it."""

    id: str = ""  # sha1 of kind, question and answer; always derived, whatever was given
    kind: Kind
    question: str = Field(min_length=1)
    options: list[str] | None = None  # mcq only
    answer: str = Field(min_length=1)  # from the notes; for mcq the correct option's text
    explanation: str = ""  # the note sentence(s) the item comes from
    section: str = ""
    source: str = ""
    module: str = ""
    check: dict[str, Any] | None = None  # a computed item's check, for the code that grades it
    level: Level = "remember"  # what the question asks of the learner: remember, understand, apply, analyze
    key_points: list[str] = Field(default_factory=list)  # a rubric question's points; the answer joins them

    @model_validator(mode="after")
    def _valid(self) -> "QuizItem":
        if self.kind == "mcq":
            options = self.options or []
            if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
                raise ValueError(f"a multiple choice item has {MIN_OPTIONS}-{MAX_OPTIONS} options, got {len(options)}")
            if sum(o == self.answer for o in options) != 1:
                raise ValueError("exactly one option must equal the answer")
            for i, a in enumerate(options):
                for b in options[i + 1 :]:
                    if near_duplicate(a, b):
                        raise ValueError(f"options {a!r} and {b!r} are the same or nearly the same")
        elif self.options is not None:
            raise ValueError(f"a {self.kind} item has no options")
        if self.kind == "cloze":
            if BLANK not in self.question:
                raise ValueError(f"a cloze question has a blank ({BLANK})")
            if mentions(self.question.replace(BLANK, " "), self.answer):
                raise ValueError("a cloze question must not contain its answer")
            if _norm(self.answer) in STOPWORDS:
                raise ValueError("a cloze blank is never a stopword")
        # always derived, so an item a model wrote gets the same id as the same item made here
        self.id = item_id(self.kind, self.question, self.answer)
        return self


class Quiz(BaseModel):
    """The quizzer's output (tasks.yaml `output: Quiz`)."""

    items: list[QuizItem] = Field(default_factory=list)


def item_id(kind: str, question: str, answer: str) -> str:
    return hashlib.sha1(f"{kind}\n{question}\n{answer}".encode()).hexdigest()[:16]


def question_key(item: QuizItem) -> str:
    """The spaced-repetition card of an item: the same question and answer give the same key, whatever
    the options or the run (case and spacing do not count)."""
    digest = hashlib.sha1(f"{item.kind}\n{_norm(item.question)}\n{_norm(item.answer)}".encode()).hexdigest()[:16]
    return f"quiz:{item.source}:{digest}"


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
    return list(_read_notes(list(chunks)).facts)


class _Notes(BaseModel):
    facts: tuple[Fact, ...]
    texts: dict[tuple[str, str], str]  # (source, section) -> note_text of the section
    lines: dict[tuple[str, str], dict[int, str]]  # (source, section) -> line number -> note text of the line


_NOTES_CACHE: dict[tuple[tuple[str, int], ...], _Notes] = {}
_NOTES_CACHE_SIZE = 4  # the notes, and a few topic or test corpora


def _read_notes(chunks: list[Chunk]) -> _Notes:
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


# ---- distractors ------------------------------------------------------------------------------------
def _tier(fact: Fact, other: Fact) -> int:
    if other.source == fact.source and other.section == fact.section:
        return 0 if other.siblings == fact.siblings else 1
    return 2 if other.module == fact.module else 3


def pick_distractors(
    fact: Fact, pool: Sequence[Fact], rng: random.Random, field: Literal["term", "definition"], count: int = DISTRACTORS,
) -> list[str]:
    """Wrong options for a question on `fact`: sibling concepts first (same parent, section, module, then
    anywhere), of a length like the answer's, none of them also correct and no two alike."""
    answer = _option(fact, field)
    head = _head_stem(fact.term)
    candidates: list[tuple[float, str]] = []
    for other in pool:
        if other.is_list or other.key == fact.key or same_concept(other.term, fact.term):
            continue
        if fact.context and same_concept(other.term, fact.context):
            continue  # "In the notes on RNN-Based Seq2Seq, which term ...?" never offers "RNN-Based Seq2Seq"
        text = _option(other, field)
        if not text or near_duplicate(text, answer):
            continue
        tier = _tier(fact, other)
        # outside the sibling group, a term sharing a word with the answer may be its parent or a variant
        # ("Seq2Seq Modeling" for RNN-Based Seq2Seq, "Pooling Layers" for Global Average Pooling); siblings
        # ("Horizontal Scaling", "Vertical Scaling") are contrasted on purpose
        if tier > 0 and _content_stems(_bare(other.term)) & _content_stems(_bare(fact.term)):
            continue
        if field == "definition":
            # a definition that names the answer term, an alias or its head word could be read as correct
            # ("Modern embeddings are context-dependent" for "What does Word Embeddings refer to?")
            if mentions(other.definition, fact.term) or near_duplicate(other.definition, fact.definition):
                continue
            if mentions(fact.definition, other.term) or head and head in _content_stems(other.definition):
                continue
            # a definition from elsewhere saying much the same ("Adapt the pre-trained model to a specific
            # task" for Transfer Learning) could be defended as correct
            if tier > 0 and _overlap(other.definition, fact.definition) >= DEFINITION_OVERLAP:
                continue
        else:
            if leaks(fact.definition, other.term) or mentions(other.definition, fact.term):
                continue
            # a term whose head word the definition uses may fit it too ("Word Embeddings" for a line on embeddings)
            other_head = _head_stem(other.term)
            if other_head and other_head in _content_stems(fact.definition):
                continue
        spread = abs(math.log(max(len(text), 1) / max(len(answer), 1)))
        weight = 1.2 if field == "definition" else 0.4
        candidates.append((tier + weight * spread + rng.random() * 0.9, text))
    candidates.sort(key=lambda c: c[0])
    chosen: list[str] = []
    for _, text in candidates:
        if all(not near_duplicate(text, c) for c in chosen):
            chosen.append(text)
        if len(chosen) == count:
            break
    return chosen


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of two texts' content words (stemmed)."""
    sa, sb = _content_stems(a), _content_stems(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def _option(fact: Fact, field: str) -> str:
    return fact.term if field == "term" else _capitalize(_strip_period(fact.definition))


def _member_distractors(fact: Fact, pool: Sequence[Fact], section_text: str, rng: random.Random) -> list[str]:
    """Terms from elsewhere for "which of these is one of <list>": never a member, nor named in the list's section."""
    candidates: list[tuple[float, str]] = []
    for other in pool:
        if other.is_list or (other.source, other.section) == (fact.source, fact.section):
            continue
        if any(same_concept(other.term, m) for m in fact.members) or mentions(section_text, other.term):
            continue
        if same_concept(other.term, fact.term):
            continue
        tier = 0 if other.module == fact.module else 1
        spread = abs(math.log(len(other.term) / max(1, sum(map(len, fact.members)) / len(fact.members))))
        candidates.append((tier + 0.3 * spread + rng.random() * 0.9, other.term))
    candidates.sort(key=lambda c: c[0])
    chosen: list[str] = []
    for _, text in candidates:
        if all(not near_duplicate(text, c) for c in chosen):
            chosen.append(text)
        if len(chosen) == DISTRACTORS:
            break
    return chosen


# ---- questions --------------------------------------------------------------------------------------
def _quote(text: str) -> str:
    return f"\u201c{_strip_period(text)}\u201d"


def _context_phrase(fact: Fact, for_term_answer: bool) -> str:
    context = fact.context
    if not context or (for_term_answer and leaks(context, fact.term)):
        return ""
    return context


def _item(fact: Fact, kind: Kind, question: str, answer: str, options: list[str] | None = None,
          explanation: str | None = None, level: Level = "remember") -> QuizItem | None:
    try:
        return QuizItem(kind=kind, question=question, options=options, answer=answer,
                        explanation=explanation or fact.sentence, section=fact.section, source=fact.source,
                        module=fact.module, level=level)
    except ValueError:
        return None


def _mcq(fact: Fact, pool: Sequence[Fact], rng: random.Random, texts: dict[tuple[str, str], str]) -> QuizItem | None:
    if fact.is_list:
        # members of a sentence's list ("ReLU, sigmoid, and tanh") have no sibling concepts to mix with;
        # and a member that shares the list's words ("High Threshold" under "Threshold Adjustment") is a giveaway
        choices = [m for m in fact.members if not _content_stems(_bare(m)) & _content_stems(_bare(fact.term))]
        if fact.note == "inline list" or not choices:
            return None
        distractors = _member_distractors(fact, pool, texts.get((fact.source, fact.section), ""), rng)
        if len(distractors) < MIN_OPTIONS - 1:
            return None
        answer = rng.choice(choices)
        where = f" in \u201c{fact.context}\u201d" if fact.context else ""
        question = f"Which of these is listed under \u201c{fact.term}\u201d{where}?"
        return _shuffled(fact, question, answer, distractors, rng)
    if leaks(fact.definition, fact.term):
        # "which term is described as ..." would quote the answer, and as an option the definition
        # would be the one repeating the term's words ("Adjusts the learning rate ..." for LR Scheduling)
        return None
    forms = ["term", "definition"]
    rng.shuffle(forms)
    for form in forms:
        if form == "term":
            distractors = pick_distractors(fact, pool, rng, "term")
            context = _context_phrase(fact, for_term_answer=True)
            lead = f"In the notes on {context}, which" if context else "Which"
            question = f"{lead} term is described as: {_quote(fact.definition)}?"
            answer = fact.term
        else:
            distractors = pick_distractors(fact, pool, rng, "definition")
            answer = _option(fact, "definition")
            longest = max((len(d) for d in distractors), default=0)
            if distractors and len(answer) > GIVEAWAY_RATIO * longest + 10:
                continue  # the longest option would be the right one: ask for the term instead
            context = _context_phrase(fact, for_term_answer=False)
            where = f" in the notes on {context}" if context else ""
            verb = "do" if _plural(fact.term) else "does"
            question = f"What {verb} {fact.term} refer to{where}?"
        if len(distractors) >= MIN_OPTIONS - 1:
            item = _shuffled(fact, question, answer, distractors, rng)
            if item is not None:
                return item
    return None


def _shuffled(fact: Fact, question: str, answer: str, distractors: list[str], rng: random.Random) -> QuizItem | None:
    options = [answer, *distractors]
    rng.shuffle(options)
    return _item(fact, "mcq", question, answer, options)


def _short(fact: Fact, partner: Fact | None, span: str) -> QuizItem | None:
    if fact.is_list:
        where = f" in \u201c{fact.context}\u201d" if fact.context else ""
        question = f"Name the {len(fact.members)} items the notes list under \u201c{fact.term}\u201d{where}."
        return _item(fact, "short", question, ", ".join(fact.members))
    if partner is not None:
        first, second = sorted((fact, partner), key=lambda f: f.line_start)  # in the notes' order
        question = f"What is the difference between {first.term} and {second.term}?"
        answer = f"{first.term}: {_with_period(first.definition)} {second.term}: {_with_period(second.definition)}"
        return _item(fact, "short", question, answer, explanation=span, level="analyze")
    context = _context_phrase(fact, for_term_answer=False)
    question = f"Explain {fact.term}" + (f", as the notes on {context} describe it." if context else ".")
    answer = _with_period(_capitalize(fact.definition))
    if fact.example:
        answer += f" Example: {_with_period(fact.example)}"
    return _item(fact, "short", question, answer)


def _with_period(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", '"', "\u201d", ")")) else f"{text}."


def _cloze(fact: Fact, rng: random.Random) -> QuizItem | None:
    if fact.is_list:
        choices = [m for m in fact.members if not any(mentions(o, m) for o in fact.members if o != m)]
        if not choices:
            return None
        answer = rng.choice(choices)
        if fact.note == "inline list":
            blanked = _blank(fact.sentence, answer)
            if blanked:
                return _item(fact, "cloze", f"Fill in the blank: \u201c{_with_period(blanked)}\u201d", answer)
        shown = [BLANK if m == answer else m for m in fact.members]
        where = f" in \u201c{fact.context}\u201d" if fact.context else ""
        question = (f"Fill in the blank: the notes list under \u201c{fact.term}\u201d{where}: "
                    f"{', '.join(shown[:-1])} and {shown[-1]}.")
        return _item(fact, "cloze", question, answer)
    if leaks(fact.definition, fact.term) or _norm(fact.term) in STOPWORDS:
        return None
    definition = _with_period(fact.definition)
    first = _words(definition)[:1]
    if fact.note == "sentence":
        blanked = _blank(fact.sentence, fact.term)
        statement = blanked or ""
    elif first and first[0] in DEFINITION_VERBS:
        statement = f"{BLANK} {_lower_first(definition)}"
    elif first and first[0].endswith("ing") and len(first[0]) > 5:
        statement = f"{BLANK} means {_lower_first(definition)}"
    elif first and first[0] in ("a", "an", "the"):
        verb = "are" if _plural(fact.term) else "is"
        statement = f"{BLANK} {verb} {_lower_first(definition)}"
    else:
        statement = f"{BLANK}: {definition}"
    if not statement:
        return None
    context = _context_phrase(fact, for_term_answer=True)
    lead = f"Fill in the blank (from the notes on {context})" if context else "Fill in the blank"
    return _item(fact, "cloze", f"{lead}: \u201c{_with_period(statement)}\u201d", fact.term)


def _plural(term: str) -> bool:
    last = _bare(term).split()[-1] if _bare(term).split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is")) and not last.isupper()


def _blank(sentence: str, term: str) -> str:
    """The sentence with `term` replaced by the blank, once; "" when it is not there as a whole word."""
    for name in (term, _bare(term)):
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        if pattern.search(sentence):
            blanked = pattern.sub(BLANK, sentence, count=1)
            return blanked if not mentions(blanked.replace(BLANK, " "), term) else ""
    return ""


def _pair_for(fact: Fact, facts: Sequence[Fact], used: set[str], reader_spans: dict[tuple[str, str], dict[int, str]],
              rng: random.Random) -> tuple[Fact, str] | None:
    """A sibling defined right next to `fact` in a "vs." passage or a group of two, with the passage quoting both."""
    if fact.is_list or fact.note == "sentence":
        return None
    siblings = [f for f in facts if not f.is_list and f.note == fact.note and f.siblings == fact.siblings
                and (f.source, f.section) == (fact.source, fact.section) and f.note != "sentence"]
    if fact not in siblings:
        return None
    index = siblings.index(fact)
    titles = f"{fact.section} {fact.subsection}"
    contrast = bool(re.search(r"\bvs\.?\b|\bversus\b", titles, re.IGNORECASE))
    if not contrast and len(siblings) != 2:
        return None
    neighbours = [siblings[i] for i in (index - 1, index + 1) if 0 <= i < len(siblings)]
    rng.shuffle(neighbours)
    for other in neighbours:
        if other.key in used or same_concept(other.term, fact.term):
            continue
        first, second = sorted((fact, other), key=lambda f: f.line_start)
        lines = reader_spans[(fact.source, fact.section)]
        span = normalize_space(" ".join(lines[n] for n in sorted(lines) if first.line_start <= n <= second.line_end))
        if len(span) <= MAX_EXPLANATION_CHARS:
            return other, span
    return None


def generate_quiz(
    chunks: Sequence[Chunk],
    n: int,
    kind: QuizKind = "mixed",
    seed: int = 0,
    topic_sections: Sequence[tuple[str, str]] | None = None,
) -> list[QuizItem]:
    """Up to `n` questions from the notes: the same seed gives the same quiz; no question and no fact twice.

    `kind` is "mcq", "short", "cloze" or "mixed" (rotating through the three). With `topic_sections`
    ((source, section) pairs) the questions come from those sections, then, if they hold too few
    facts, from the rest of their modules. Fewer than `n` items means the notes did not offer more.
    """
    if kind not in ("mcq", "short", "cloze", "mixed", "computed"):
        raise ValueError(f"kind must be mcq, short, cloze or mixed, got {kind!r}")
    if n < 1 or kind == "computed":  # computed items come from the demo models, not from here
        return []
    chunks = list(chunks)
    rng = random.Random(seed)
    notes = _read_notes(chunks)
    facts, texts, plain_lines = notes.facts, notes.texts, notes.lines

    shuffled = list(facts)
    rng.shuffle(shuffled)
    tiers = [shuffled]  # facts to draw from, in order: a later tier only when the earlier ones run dry
    if topic_sections:
        wanted = {(source, section) for source, section in topic_sections}
        modules = {(c.source, c.module) for c in chunks if (c.source, c.section) in wanted}
        tiers = [
            [f for f in shuffled if (f.source, f.section) in wanted],
            [f for f in shuffled if (f.source, f.module) in modules and (f.source, f.section) not in wanted],
        ]

    kinds: list[Kind] = list(MIXED_ORDER) if kind == "mixed" else [kind]  # type: ignore[list-item]
    items: list[QuizItem] = []
    used_keys: set[str] = set()
    asked: set[str] = set()

    def make(fact: Fact, want: Kind) -> tuple[QuizItem | None, Fact | None]:
        if want == "mcq":
            return _mcq(fact, facts, rng, texts), None
        if want == "cloze":
            return _cloze(fact, rng), None
        pair = None
        if rng.random() < 0.5:
            pair = _pair_for(fact, facts, used_keys, plain_lines, rng)
        if pair is not None:
            return _short(fact, pair[0], pair[1]), pair[0]
        return _short(fact, None, ""), None

    def next_item(turn: int) -> bool:
        # the asked sections before their modules; within them the kind whose turn it is, else the next
        for tier in tiers:
            for offset in range(len(kinds)):
                want = kinds[(turn + offset) % len(kinds)]
                for fact in tier:
                    if fact.key in used_keys:
                        continue
                    item, partner = make(fact, want)
                    if item is None or _norm(item.question) in asked:
                        continue
                    items.append(item)
                    asked.add(_norm(item.question))
                    used_keys.update(f.key for f in (fact, partner) if f is not None)
                    return True
        return False

    turn = 0
    while len(items) < n and next_item(turn):
        turn += 1
    return items


# ---- questions a demo's code answers --------------------------------------------------------------
COMPUTED_KINDS = {"conv_output_size": "convolution", "iou": "iou_nms", "softmax_temperature": "temperature"}


def computed_items(n: int, seed: int, topic: str = "") -> list[QuizItem]:
    """`n` numeric questions whose answers the demo models compute (the grader re-checks them by code).
    A topic that one of the demos illustrates puts that kind first."""
    import random

    from tutor.demos import pick_demo_for_topic
    from tutor.demos.checks import make_check

    kinds = list(COMPUTED_KINDS)
    fitting = pick_demo_for_topic(topic) if topic else None
    kinds.sort(key=lambda k: COMPUTED_KINDS[k] != fitting)
    rng = random.Random(seed)
    items: list[QuizItem] = []
    seen: set[str] = set()
    for attempt in range(n * 5):
        if len(items) == n:
            break
        check = make_check(kinds[len(items) % len(kinds)] if not fitting else kinds[0], rng)
        if check.question in seen:
            continue
        seen.add(check.question)
        items.append(QuizItem(
            kind="computed", question=check.question, answer=f"{check.answer:g}", explanation=check.working,
            section=check.section, source=check.source, check=check.model_dump(mode="json"), level="apply",
        ))
    return items


def topic_has_computed(topic: str) -> bool:
    from tutor.demos import pick_demo_for_topic

    return not topic or pick_demo_for_topic(topic) in COMPUTED_KINDS.values()
