"""Hard cases made from reference answers: answers that reuse the reference's words but deserve no credit,
and good answers padded with filler that must keep theirs.

Used twice, on disjoint references: `tutor.grading.train` makes them from the *train* references (and
from the course notes) to teach the pair model, and `benchmarks/grading.py` makes them from the *test*
references to measure it. Every maker is deterministic given its `random.Random`.

Kinds, and the label a careful teacher gives each:

| kind | example for "To simulate the behaviour of portions of the desired software product." | label |
|---|---|---|
| shuffled | "product the simulate of portions desired behaviour software to the of" | unrelated |
| keywords | "behaviour desired portions product simulate software" | unrelated |
| negated | "It does not simulate the behaviour of portions of the desired software product." | contradictory |
| swapped | two of its concept words trade places ("the salt was evaporated, leaving the water") | contradictory |
| other_reference | the reference of another question on the same topic | unrelated |
| restated_question | the question itself, as a statement | unrelated |
| filler | a correct answer with "That is what I remember from class." around it | correct |
| flipped (training only) | a word replaced by its opposite ("increases" -> "decreases") | contradictory |
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tutor.grading.text import ANTONYMS, STOPWORDS, tokens

ATTACK_KINDS = ("shuffled", "keywords", "negated", "swapped", "other_reference", "restated_question")
TRAIN_KINDS = (*ATTACK_KINDS, "flipped")  # training also sees a word replaced by its opposite
LABEL_OF = {
    "shuffled": "unrelated", "keywords": "unrelated", "negated": "contradictory", "swapped": "contradictory",
    "other_reference": "unrelated", "restated_question": "unrelated", "sibling": "unrelated", "filler": "correct",
    "flipped": "contradictory",
}

_AUX = re.compile(
    r"\b(is|are|was|were|can|will|would|should|could|does|do|did|has|have|had|must|may|might)\b(?!\s+not\b)", re.I
)
_NEGATION = re.compile(r"\b(?:does not|do not|did not|is not|are not|was not|were not|cannot|can not|will not|"
                       r"not|never|doesn't|don't|didn't|isn't|aren't|can't|won't)\s+", re.I)
_FILLER = (
    "That is what I remember from class.",
    "I think this is the main idea.",
    "Hope this answers the question.",
    "This is my answer to the question.",
    "We talked about this in the lesson last week.",
    "I am fairly sure about this.",
    "In my own words, that is how I understand it.",
)


@dataclass(frozen=True)
class Attack:
    kind: str
    answer: str
    label: str  # what a careful teacher says: correct, contradictory or unrelated (no credit)


def shuffled(reference: str, rng: random.Random) -> str:
    words = reference.rstrip(".").split()
    if len(words) < 3:
        return ""
    for _ in range(10):
        order = words[:]
        rng.shuffle(order)
        if order != words:
            return " ".join(order).lower() + "."
    return ""


def keywords(reference: str, rng: random.Random) -> str:
    seen = list(dict.fromkeys(w for w in tokens(reference) if w not in STOPWORDS and len(w) > 1))
    if len(seen) < 2:
        return ""
    if rng.random() < 0.5:
        return " ".join(sorted(seen))
    rng.shuffle(seen)
    return ", ".join(seen)


def _base_verb(word: str) -> str:
    """'simulates' -> 'simulate', 'applies' -> 'apply', 'passes' -> 'pass': enough for "does not VERB"."""
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if re.search(r"(ss|sh|ch|x|z)es$", w):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


_DENIAL = {
    "does not": "", "do not": "", "did not": "", "doesn't": "", "don't": "", "didn't": "", "not": "", "never": "",
    "is not": "is", "are not": "are", "was not": "was", "were not": "were", "isn't": "is", "aren't": "are",
    "cannot": "can", "can not": "can", "can't": "can", "will not": "will", "won't": "will",
}


def negated(reference: str, rng: random.Random) -> str:
    """The reference's claim turned into its denial (or a denial into the plain claim), keeping its words."""
    text = reference.strip()
    denial = _NEGATION.search(text)
    if denial:
        plain = _DENIAL.get(" ".join(denial.group(0).lower().split()), "")
        return text[: denial.start()] + (plain + " " if plain else "") + text[denial.end():]
    to = re.match(r"^(?:to|To)\s+(\w+)(.*)$", text)
    if to:
        return f"It does not {to.group(1).lower()}{to.group(2)}"
    aux = _AUX.search(text)
    if aux:
        word = aux.group(1)
        replacement = "cannot" if word.lower() == "can" else f"{word} not"
        return text[: aux.start()] + replacement + text[aux.end():]
    words = text.split()
    for i, word in enumerate(words[1:5], start=1):  # "Dropout drops neurons" -> "Dropout does not drop neurons"
        if re.fullmatch(r"[a-z]+s", word) and word.lower() not in STOPWORDS and not word.endswith("ss"):
            return " ".join(words[:i] + ["does not", _base_verb(word)] + words[i + 1:])
    flipped = antonym_flip(text)
    return flipped or ("It is not the case that " + text[:1].lower() + text[1:])


def antonym_flip(text: str) -> str:
    """The first word with a known opposite replaced by it ("increases" -> "decreases"), or ''."""
    pairs = {a: b for a, b in ANTONYMS} | {b: a for a, b in ANTONYMS}
    words = text.split()
    for i, word in enumerate(words):
        core = re.sub(r"\W", "", word.lower())
        for ending in ("", "s", "es", "ed", "d", "ing"):
            base = core[: len(core) - len(ending)] if ending else core
            if core.endswith(ending) and len(base) > 2 and base in pairs:
                words[i] = word.lower().replace(core, pairs[base] + ending)
                return " ".join(words)
    return ""


def swapped(reference: str, rng: random.Random) -> str:
    """Two different concept words trade places: the same words, the roles reversed."""
    words = reference.split()
    spots = [i for i, w in enumerate(words) if re.sub(r"\W", "", w.lower()) not in STOPWORDS and len(w) > 3]
    cores = {i: re.sub(r"\W", "", words[i].lower()) for i in spots}
    pairs = [(i, j) for i in spots for j in spots if i < j - 1 and cores[i] != cores[j]]
    if not pairs:
        return ""
    i, j = rng.choice(pairs)
    a, b = words[i], words[j]
    words[i] = re.sub(r"\w+", re.sub(r"\W", "", b), a, count=1)
    words[j] = re.sub(r"\w+", re.sub(r"\W", "", a), b, count=1)
    return " ".join(words)


def restated(question: str) -> str:
    q = " ".join(question.split()).rstrip("?").strip()
    return f"{q}." if q else ""


def with_filler(answer: str, rng: random.Random) -> str:
    filler = rng.choice(_FILLER)
    return f"{filler} {answer}" if rng.random() < 0.3 else f"{answer} {filler}"


def attacks_for(
    reference: str, question: str, others: Sequence[str], rng: random.Random, kinds: Iterable[str] = ATTACK_KINDS
) -> list[Attack]:
    """One attack of each kind on one reference; `others` are references of other questions on the topic."""
    made = []
    for kind in kinds:
        if kind == "other_reference":
            pool = [o for o in others if o.strip() and o.strip() != reference.strip()]
            answer = rng.choice(pool) if pool else ""
        elif kind == "restated_question":
            answer = restated(question)
        else:
            answer = {"shuffled": shuffled, "keywords": keywords, "negated": negated, "swapped": swapped,
                      "flipped": lambda text, _: antonym_flip(text)}[kind](reference, rng)
        if answer and answer.strip().lower() != reference.strip().lower():
            made.append(Attack(kind, answer, LABEL_OF[kind]))
    return made
