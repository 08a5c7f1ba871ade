"""How an answer's words are read for the evidence (tutor.grading.evidence): each word with its contextual
vector, the negations and their scopes ("not", "doesn't", a verb that denies: "prevents"), numbers, spellings
and opposite words ("increase" / "reduce", "linear" / "non-linear")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tutor.grading.text import NEGATIONS, STOPWORDS, antonym_stems

# Verbs that deny what follows as "not" does: "prevents reliance" agrees with "cannot rely".
SOFT_NEGATORS = frozenset({
    "prevent", "prevents", "prevented", "preventing", "avoid", "avoids", "avoiding", "lack", "lacks", "lacking",
    "fail", "fails", "unable", "ignore", "ignores", "ignoring", "stop", "stops", "stopping", "lose", "loses",
    "replace", "replaces", "replaced", "replacing",  # "Replaces recurrence with self-attention": no recurrence
})

WORD = re.compile(r"\d+(?:\.\d+)?(?![a-z0-9])|[a-z0-9]+(?:'t)?")  # "0.35" a number; "l1", "fp16", "3x3" words
NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class Text:
    words: list[str]
    spans: list[tuple[int, int]]
    vectors: np.ndarray  # (N, C) contextual word vectors, unit length
    negated: list[bool]
    scopes: list[list[int]]  # each negation's scope: the indices of the words it denies
    soft: list[bool]  # per scope: a verb that denies ("prevents"), not a plain negation ("not")


def is_number(word: str) -> bool:
    return NUMBER.fullmatch(word) is not None


NUMBER_TOLERANCE = 0.01  # relative: 0.35 states 0.350 and 0.3499, not 0.3


def same_number(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    return abs(x - y) <= NUMBER_TOLERANCE * max(abs(x), abs(y)) + 1e-9


def _trigrams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


# a word with one of these before another word is a new word, not a misspelling of it ("retraining" / "training",
# "unsupervised" / "supervised", "preprocess" / "process")
_PREFIXES = ("re", "un", "pre", "de", "dis", "non", "non-", "in", "im", "mis", "over", "under", "sub", "anti")


def misspelt(a: str, b: str) -> bool:
    if min(len(a), len(b)) < 5 or is_number(a) or is_number(b):
        return False
    short, long = sorted((a, b), key=len)
    if any(long == prefix + short for prefix in _PREFIXES):
        return False
    x, y = _trigrams(a), _trigrams(b)
    return len(x & y) / len(x | y) >= 0.5


_CLAUSE_JOINS = frozenset({"but", "while", "whereas", "yet", "although", "though"})


def _negations(words: list[str], text: str, spans: list[tuple[int, int]]) -> list[tuple[list[int], bool]]:
    """Each negation ("not", "doesn't", "prevents") with its scope: the four words after it, inside its clause, up to
    a clause of its own ("but", "while") or a second coordinated phrase ("prevent vanishing gradients and enhance
    training stability": "enhance" is not prevented; "not lions and tigers" keeps both)."""
    out = []
    for i, word in enumerate(words):
        if word in NEGATIONS or word in SOFT_NEGATORS or word.endswith("'t"):
            if i == 0 and word == "no" and re.match(r"\s*(?:[,.!:;]|$)", text[spans[i][1]:]):
                continue  # "No, because ...": a reply, not a negation ("No neuron can rely on ..." is one)
            scope = []
            for j in range(i + 1, min(i + 5, len(words))):
                if re.search(r"[.;:!?\n]", text[spans[i][1] : spans[j][0]]):
                    break
                if words[j] in _CLAUSE_JOINS or (words[j] in ("and", "or") and len(scope) >= 2):
                    break
                scope.append(j)
            out.append((scope, word in SOFT_NEGATORS))
    return out


def read(text: str, pieces: tuple[list[tuple[int, int]], np.ndarray]) -> Text:
    """The text's words with their contextual vectors: the mean of the word pieces inside each word."""
    lower = text.lower().replace("\u2019", "'")  # "doesn’t" as typed on a phone is "doesn't" (same length: spans hold)
    words, spans = [], []
    for m in WORD.finditer(lower):
        if words and words[-1] == "non" and lower[spans[-1][1] : m.start()] in ("-", " "):  # "non-linearity": one word
            words[-1], spans[-1] = "non-" + m.group(), (spans[-1][0], m.end())
            continue
        words.append(m.group())
        spans.append(m.span())
    offsets, states = pieces
    vectors = np.zeros((len(words), states.shape[1] if states.ndim == 2 else 384), dtype=np.float32)
    k = 0
    for i, (s, e) in enumerate(spans):
        rows = []
        while k < len(offsets) and offsets[k][1] <= s:
            k += 1
        j = k
        while j < len(offsets) and offsets[j][0] < e:
            rows.append(j)
            j += 1
        if rows:
            v = states[rows].mean(axis=0)
            vectors[i] = v / max(float(np.linalg.norm(v)), 1e-12)
    found = _negations(words, lower, spans)
    negated = [False] * len(words)
    for scope, _ in found:
        for j in scope:
            negated[j] = True
    return Text(words, spans, vectors, negated, [s for s, _ in found], [soft for _, soft in found])


def content_words(words: list[str]) -> list[int]:
    return [i for i, w in enumerate(words) if (len(w) > 1 and w not in STOPWORDS or is_number(w)) and w not in NEGATIONS
            and w not in SOFT_NEGATORS and not w.endswith("'t")]


def opposite_pairs() -> set[tuple[str, str]]:
    pairs = antonym_stems()
    return {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}


_NEGATING_PREFIXES = ("non", "un", "in", "im", "ir", "il", "dis")


def opposed(a: str, p: str, opposites: set[tuple[str, str]], a_word: str = "", p_word: str = "") -> bool:
    """Two stems that say opposite things: a known pair ("increase" / "reduce"), or one the other with a negating
    prefix ("linear" / "non-linear", "supervised" / "unsupervised")."""
    a, p = a.replace("-", ""), p.replace("-", "")
    if (a, p) in opposites:
        return True
    if a_word and p_word and opposed(a_word, p_word, set()):  # "unusable" stems to "unus", "usable" to "usabl"
        return True
    short, long = sorted((a, p), key=len)
    # "de" undoes only a long word ("centralized" / "decentralized", "compress" / "decompress"): "define" is no "fine"
    return len(short) >= 4 and any(long == pre + short for pre in _NEGATING_PREFIXES) or (
        len(short) >= 6 and long == "de" + short)
