"""What every question kind shares: the kinds and levels, the limits, and the text helpers that
normalise, compare and clean the notes' words."""

from __future__ import annotations

import math
import re
import typing
import unicodedata
from functools import lru_cache
from typing import Literal

from tutor.knowledge.companion import Level  # remember, understand, apply, analyze: one list for both

Kind = Literal["mcq", "short", "cloze", "computed"]
QuizKind = Literal["mcq", "short", "cloze", "mixed"]
LEVELS: tuple[str, ...] = typing.get_args(Level)  # remember, understand, apply, analyze
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


def _with_period(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", '"', "\u201d", ")")) else f"{text}."


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
