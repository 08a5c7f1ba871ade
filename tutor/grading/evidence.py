"""Evidence that explains itself: an answer aligned, word by word, to one key point.

For each content word of the point, how the answer states it (Sultan, Salazar and Sumner 2016; BERTScore):

    same      the same word                       "neurons" / "neurons"
    stem      the same stem                       "drops" / "dropping"
    number    the same number (within 1%)         "0.35" / "0.350"
    spelling  a misspelling of it                 "regularisation" / "regulariztion"
    meaning   a close meaning: the bundled MiniLM's contextual token vectors, cosine >= MEANING_AT
    ""        not stated

and, over the alignment: whether the stated words keep the point's order, whether a negation or an opposite
is flipped, whether one of the point's terms is missing with another term standing in its place (a
substitution: "learning rate" where the point says "neurons"), and whether a number is wrong. Words the
question already gives (the concept's name) are aligned, for order, but earn nothing: naming the concept
is not stating what it is. Everything here is data a test or the feedback can print; `decision` turns it
into a verdict. How the words themselves are read (their vectors, negations and their scopes, numbers,
spellings, opposite words) is tutor.grading.reading.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tutor.grading.reading import (
    SOFT_NEGATORS, WORD, Text, content_words, is_number, misspelt, opposed, opposite_pairs, read, same_number,
)
from tutor.grading.text import NEGATIONS, STOPWORDS, bare_words, salad, stem, traded

MEANING_AT = 0.5  # contextual cosine from which a word states a point's word (fitted on the tuning split)
FRAME_KEPT = 0.5  # share of the point's words an answer states for a flip or a substitution in it to count
SAME_SLOT_AT = 0.8  # another term in a point word's slot reads close in context; from this close it is a synonym
_LEAD_TERM = re.compile(r"^[^:.!?]{1,60}:(?=\s)")  # "Dropout:" / "Horizontal Scaling:" / "GAP (Global Average Pooling):"
NEAR_COPY_POINT = 24  # a point of at most this many words (a bullet, a quiz answer, a comparison's two bullets)
NEAR_COPY_LENGTH = 1.5  # ... and an answer of at most this many times its words (+ 4) is read as a near-copy of it
NEAR_COPY_PRECISION = 0.5  # ... made mostly of the point's words
LOCAL_WINDOW = 4  # answer words between two stated neighbours of the point for them to still read in order
FIRST_POINT = 0.2  # the lead the first key point (the best answer to the question) has over the others
_SEPARATORS = re.compile(r"[,;/\n]|\band\b")

LEXICAL = ("same", "stem", "number", "spelling")
States = Callable[[list[str]], list[tuple[list[tuple[int, int]], np.ndarray]]]


@dataclass
class Word:
    """One content word of a key point and how the answer states it."""

    text: str
    given: bool = False  # the question holds it: aligned, but no credit
    how: str = ""  # same / stem / number / spelling / meaning / "" (not stated)
    said: str = ""  # the answer's word that states it
    at: int = -1  # that word's index among the answer's words
    similarity: float = 0.0


@dataclass
class Evidence:
    """An answer against one key point."""

    point: str
    words: list[Word]
    recall: float  # share of the point's words (not given by the question) the answer states
    soft_recall: float  # the same with each word's best cosine instead of 0/1 (BERTScore's recall)
    precision: float  # share of the answer's words (not given) that state a word of the point
    in_order: float  # share of neighbouring stated words that follow each other in the answer (1: too few to tell)
    global_order: float = 1.0  # share of every two stated words in the point's order (about half when shuffled)
    flipped: list[tuple[str, str]] = field(default_factory=list)  # (point's word, answer's word): negation or opposite
    substituted: list[tuple[str, str]] = field(default_factory=list)  # (point's term, the answer's term in its place)
    replaced: list[tuple[str, str]] = field(default_factory=list)  # substitutions, and words replaced by non-terms
    wrong_numbers: list[tuple[str, str]] = field(default_factory=list)  # (point's number, the answer's)
    doubts: list[tuple[str, str]] = field(default_factory=list)  # a denying verb dropped ("lack" -> "always have")
    denied: list[tuple[str, str]] = field(default_factory=list)  # a negation on the point's words, however little is stated
    quoted: bool = False  # the answer, spaces aside, stands in the point as it is ("z = Wx + b")
    numbers: int = 0  # numbers in the point
    right_numbers: int = 0  # of them, stated
    keyword_list: bool = False  # the answer is a bare list of words, no sentence
    listed: bool = False  # the answer is a list of short names between commas ("data lake, data warehouse, S3, ...")
    salad: bool = False  # the point's own words, about all of them, in no sentence's order (`text.salad`)
    traded: list[tuple[str, str]] = field(default_factory=list)  # the point word for word, two words trading places
    bare: bool = False  # the point's own words and nothing else, out of its order (`text.bare_words`)
    answer_words: int = 0  # the answer's own content words (not the question's)

    @property
    def stated(self) -> list[str]:
        return [w.text for w in self.words if w.how and not w.given]

    @property
    def missing(self) -> list[str]:
        return [w.text for w in self.words if not w.how and not w.given]

    @property
    def lexical_recall(self) -> float:
        """The share of the point's words stated in its own words (same word, stem, number, spelling)."""
        credited = [w for w in self.words if not w.given]
        return sum(1 for w in credited if w.how in LEXICAL) / len(credited) if credited else 0.0

    @property
    def contradicted(self) -> bool:
        return bool(self.flipped or self.substituted or self.wrong_numbers or self.traded)

    @property
    def verbatim(self) -> bool:
        """Every point word the answer states, it states in the point's own form: the words copied, not said."""
        stated = [w for w in self.words if w.how and not w.given]
        return bool(stated) and all(w.how == "same" for w in stated)

    @property
    def kept(self) -> float:
        """The share of the point's words the answer states, the question's words too: the frame it keeps."""
        return sum(1 for w in self.words if w.how) / len(self.words) if self.words else 0.0

    @property
    def near_copy(self) -> bool:
        """The answer is about as long as a short point and mostly states its words: where a flipped or replaced
        word says the opposite. In a longer answer, or against a long reference, a "not" or another term near the
        point's words is most often the learner's own explanation ("if there is no error, no update is made")."""
        own = sum(1 for w in self.words if not w.given)
        return (own <= NEAR_COPY_POINT and self.answer_words <= NEAR_COPY_LENGTH * own + 4
                and self.precision >= NEAR_COPY_PRECISION)

    @property
    def numbers_right(self) -> bool:
        """The point holds numbers and the answer states every one, and no other in their place."""
        return self.numbers > 0 and self.right_numbers == self.numbers and not self.wrong_numbers


def align(answer: Text, point: Text, given: set[str], terms: set[str] = frozenset()) -> tuple[list[Word], dict]:
    """Each content word of the point with the answer's word that states it, best match first (same word,
    then stem, number, spelling, meaning), each answer word stating at most one point word while another is
    free."""
    a_idx = content_words(answer.words)
    a_stems = {i: stem(answer.words[i]) for i in a_idx}
    sims = point.vectors @ answer.vectors.T if len(point.words) and len(answer.words) else np.zeros((len(point.words), len(answer.words)))
    opposites = opposite_pairs()
    p_stems = {stem(w) for w in point.words}  # a point holding both poles ("stops ... when it starts") flips neither
    used: set[int] = set()
    last = -1
    words, at_point, flips = [], [], []
    for i in content_words(point.words):
        p = point.words[i]
        ps = stem(p)
        best: tuple[float, str, int] = (0.0, "", -1)
        expected = last + 1
        said_itself = any(a_stems[j].replace("-", "") == ps.replace("-", "") for j in a_idx)
        opposite = next((j for j in a_idx if opposed(a_stems[j], ps, opposites, answer.words[j], p)
                         and a_stems[j] not in p_stems), None)
        if opposite is not None and not said_itself and point.negated[i] != answer.negated[opposite]:
            # the opposite denied, or denying the opposite: "ungoverned" says "lack of governance"
            words.append(Word(p, given=ps in given, how="meaning", said=answer.words[opposite], at=opposite,
                              similarity=max(float(sims[i, opposite]), MEANING_AT)))
            used.add(opposite)
            at_point.append(i)
            continue
        if opposite is not None and not said_itself:  # "increases" where the point says "reduces": no meaning match
            flips.append((p, answer.words[opposite]))
            words.append(Word(p, given=ps in given))
            at_point.append(i)
            continue
        for j in a_idx:
            a = answer.words[j]
            if is_number(p) or is_number(a):
                how, score = ("number", 1.0) if is_number(p) and is_number(a) and same_number(p, a) else ("", 0.0)
            elif a == p:
                how, score = "same", 1.0
            elif a_stems[j] == ps:
                how, score = "stem", 0.98
            elif misspelt(a, p):
                how, score = "spelling", 0.9
            elif sims[i, j] >= MEANING_AT and not opposed(a_stems[j], ps, opposites, a, p):
                how, score = "meaning", float(sims[i, j]) * 0.9
            else:
                continue
            score -= 0.05 * (j in used)  # a free answer word first
            # of equal matches (a word the answer repeats), the one that follows the last word matched: "data" of
            # "data lake" is the one in "a data lake", not the one of the other clause
            if score > best[0] or (score == best[0] and abs(j - expected) < abs(best[2] - expected)):
                best = (score, how, j)
        score, how, j = best
        word = Word(p, given=ps in given, how=how, said=answer.words[j] if j >= 0 else "", at=j,
                    similarity=float(sims[i, j]) if j >= 0 else 0.0)
        if j >= 0:
            used.add(j)
            last = j
        words.append(word)
        at_point.append(i)
    flips += _negation_flips(point, answer, words, at_point)
    denied = _negation_flips(point, answer, words, at_point, sides=("answer",))  # the answer's own "not" on them
    return words, {"flips": flips, "denied": denied, "used": used, "a_idx": a_idx, "sims": sims, "at_point": at_point,
                   "doubts": _denial_dropped(point, answer, words, at_point)}


def _negation_flips(point: Text, answer: Text, words: list[Word], at_point: list[int],
                    sides: tuple[str, ...] = ("answer", "point")) -> list[tuple[str, str]]:
    """A plain negation ("not", "doesn't", "without") on one side over words both state, none of whose
    counterparts on the other side a negation covers, plain or a verb that denies ("prevents", "lacks",
    "ignores"): "does
    not drop neurons" for "drops neurons". So "cannot rely on particular nodes" agrees with "prevents the
    network from relying on specific nodes", and a negation about words of the answer's own ("..., not at
    test time") is no flip."""
    pairs = [(i, w.at) for i, w in zip(at_point, words) if w.at >= 0]
    to_answer, to_point = dict(pairs), {j: i for i, j in pairs}
    for text, other, across, side in ((answer, point, to_point, "answer"), (point, answer, to_answer, "point")):
        if side not in sides:
            continue
        for scope, soft in zip(text.scopes, text.soft):
            if soft:
                continue
            shared = [k for k in scope if k in across]
            if shared and not any(other.negated[across[k]] for k in shared):  # none of its words denied there
                k = shared[0]
                i, j = (across[k], k) if side == "answer" else (k, across[k])
                return [(_with_negation(point, i), _with_negation(answer, j))]
    return []


_DIMINISHERS = frozenset({
    "less", "fewer", "reduce", "reduces", "reduced", "reducing", "minimise", "minimize", "minimises", "minimizes",
    "limit", "limits", "limited", "without", "outdated", "old", "stale", "missing", "miss", "misses", "absent",
    "instead", "rather",
    "lost", "lose", "loses", "losing", "discard", "discards", "discarded", "away",  # "throws away the order": ignores it
})


def _denial_dropped(point: Text, answer: Text, words: list[Word], at_point: list[int]) -> list[tuple[str, str]]:
    """A verb that denies ("may lack current information", "prevents reliance") over words the other side states in
    their own form, with nothing there to deny or lessen them ("always have current information"): maybe the
    opposite, maybe the learner's own way round ("relies on no single node"). It never decides a grade by itself;
    it keeps the answer from reading as the point said back."""
    lexical = {i: w.at for i, w in zip(at_point, words) if w.how in LEXICAL}
    back = {j: i for i, j in lexical.items()}
    for text, other, across, side in ((point, answer, lexical, "point"), (answer, point, back, "answer")):
        other_stems = {stem(w) for w in other.words}
        if any(w in NEGATIONS or w in SOFT_NEGATORS or w in _DIMINISHERS or w.endswith("'t") for w in other.words):
            continue  # the other side denies or lessens something: read it by meaning
        for scope, soft in zip(text.scopes, text.soft):
            if not soft or not scope:
                continue
            verb = text.words[scope[0] - 1]
            shared = [k for k in scope if k in across]
            if len(shared) >= 2 and stem(verb) not in other_stems:
                k = shared[0]
                i, j = (k, across[k]) if side == "point" else (across[k], k)
                return [(_with_negation(point, i), _with_negation(answer, j))]
    return []


def _with_negation(text: Text, i: int) -> str:
    """The word with the negation before it, as written ("not drop")."""
    for j in range(max(0, i - 4), i):
        w = text.words[j]
        if w in NEGATIONS or w in SOFT_NEGATORS or w.endswith("'t"):
            return " ".join(text.words[j : i + 1])
    return text.words[i]


def gather(answer: str, point: str, pieces: dict[str, tuple], given: Iterable[str] = (), terms: Iterable[str] = ()) -> Evidence:
    """The evidence of `answer` against `point`; `pieces` maps each text to its `token_states`, `given` are the
    question's words (no credit), `terms` the stems of the notes' or reference's terms (what a substitution
    may put in a point's place)."""
    a, p = read(answer, pieces[answer]), read(point, pieces[point])
    given_stems = {stem(w) for w in given}
    term_stems = set(terms)
    words, info = align(a, p, given_stems, term_stems)
    credited = [w for w in words if not w.given]
    recall = sum(1 for w in credited if w.how) / len(credited) if credited else (1.0 if words and all(w.how for w in words) else 0.0)
    soft = float(np.mean([1.0 if w.how in ("same", "stem", "number", "spelling") else max(w.similarity, 0.0)
                          for w in credited])) if credited else recall
    lead = _LEAD_TERM.match(point)
    named = sum(1 for i in content_words(p.words) if lead and p.spans[i][1] <= lead.end())  # the point's name's words
    a_new = [j for j in info["a_idx"] if stem(a.words[j]) not in given_stems]
    precision = sum(1 for j in a_new if j in info["used"]) / len(a_new) if a_new else 0.0
    # two words trading places are read only in an answer made mostly of the point's words (a near copy): in the
    # learner's own sentence the point's words come in any order ("keep the heat ... and release it slower")
    swaps = _transposed(words, p, a, info["at_point"], skip=named) if precision >= NEAR_COPY_PRECISION else []
    replaced = _replacements(words, a, info, term_stems, skip=named) + swaps
    results = _result_numbers(point, p)
    return Evidence(
        point=point, words=words, recall=recall, soft_recall=soft, precision=precision,
        in_order=_in_order(words), global_order=_global_order(words), flipped=info["flips"] if recall >= FRAME_KEPT else [],
        substituted=[(x, y) for x, y, term in replaced if term], replaced=[(x, y) for x, y, _ in replaced],
        wrong_numbers=_wrong_numbers([w for w in words if not is_number(w.text) or w.text in results], a, given_stems),
        numbers=sum(1 for w in words if is_number(w.text) and w.text in results and not w.given),
        right_numbers=sum(1 for w in words if is_number(w.text) and w.text in results and not w.given and w.how),
        keyword_list=_keyword_list(answer), listed=_listed(answer), salad=salad(answer, point), answer_words=len(a_new),
        traded=traded(answer, point), bare=bare_words(answer, point),
        doubts=info["doubts"] if recall >= FRAME_KEPT else [],
        denied=info["denied"],  # "LSTMs don't use any gates": never credited by meaning alone
        quoted=_quoted(answer, point),
    )


def _quoted(answer: str, point: str) -> bool:
    """The answer, spaces and case aside, is a piece of the point: a formula or a phrase copied from it."""
    a, p = (re.sub(r"\s+", "", t.lower()).rstrip(".") for t in (answer, point))
    return len(a) >= 5 and a in p


def _global_order(words: list[Word]) -> float:
    """Of every two of the point's words stated in its own words, the share the answer states in the point's
    order (1: fewer than three). Random shuffles keep about half; so does a moved clause, which `_in_order` keeps."""
    at = [w.at for w in words if w.how in LEXICAL and not w.given]
    if len(at) < 3:
        return 1.0
    pairs = [(x, y) for k, x in enumerate(at) for y in at[k + 1 :] if x != y]
    return sum(1 for x, y in pairs if x < y) / len(pairs) if pairs else 1.0


def _in_order(words: list[Word]) -> float:
    """Of the point's words stated in its own words (the same word, stem, number or spelling), taken in the
    answer's order, the share of neighbours that follow each other in the point's order too (1: fewer than three
    to tell). A clause moved ("... (it is a theoretical property)" at the end) or a comparison's sides answered
    the other way round break one neighbourhood and keep the rest; shuffled words keep about half. Close
    meanings are left out: in other words a sentence has its own order."""
    at = sorted((w.at, k) for k, w in enumerate(words) if w.how in LEXICAL and not w.given)  # the question's words stand anywhere
    if len(at) < 3:
        return 1.0
    steps = [(k1, k2) for (a1, k1), (a2, k2) in zip(at, at[1:]) if a1 != a2]
    return sum(1 for k1, k2 in steps if k2 > k1) / len(steps) if steps else 1.0


def _replacements(words: list[Word], answer: Text, info: dict, terms: set[str], skip: int = 0) -> list[tuple[str, str, bool]]:
    """A point's word not stated, in a frame the answer keeps (its neighbours on both sides stated, a few words
    apart), with another word standing between them, one far in meaning: (point's word, answer's word, whether
    that word is a term of the notes or the reference). A term in its place is a substitution ("drops the
    learning rate during training" for "drops neurons during training"); another word may be a paraphrase the
    aligner missed, and keeps the answer from reading as the point said back. Only where the answer states
    most of the point: in other words there is no frame to read a replacement in. The point's name before its
    colon (its first `skip` words: "Dropout:") is never replaced: "it" says it as well."""
    # the frame is every word the answer keeps, the question's too ("... healthcare and law, where speed and
    # scalability are essential" keeps the point's sentence around its two replaced words)
    if not words or sum(1 for w in words if w.how) / len(words) < FRAME_KEPT:
        return []
    out, taken = [], set()
    for k, w in enumerate(words):
        if k < skip or w.how or is_number(w.text):  # a word the question gives can be replaced too ("of the servers")
            continue
        # the frame is read from words stated in their own form: a close meaning may be matched anywhere
        # ("words" read in "semantic" would put the frame of "of words or tokens" at the sentence's end)
        # and never from the point's name: the name is said anywhere or as "it" ("word" in "word order" is not the
        # "Words" of "BoW (Bag of Words):")
        kb = next((i for i in range(k - 1, skip - 1, -1) if words[i].how in LEXICAL), None)
        ka = next((i for i in range(k + 1, len(words)) if words[i].how in LEXICAL), None)
        if kb is None and ka is None:
            continue
        before = words[kb].at if kb is not None else None
        after = words[ka].at if ka is not None else None
        two_sided = kb is not None and ka is not None
        if not two_sided:  # the point's first or last word: the two answer words next to the frame (replaced only)
            lo, hi = (before + 1, before + 4) if before is not None else (after - 3, after)  # "of the servers"
            before, after = max(lo, 0) - 1, min(hi, len(answer.words))
        elif not 0 < after - before <= _frame_width(words, info["at_point"], kb, ka):
            continue
        for j in range(before + 1, after):
            a = answer.words[j]
            if j in info["used"] or j in taken or j not in info["a_idx"] or is_number(a):
                continue
            s, similarity = stem(a), info["sims"][info["at_point"][k], j]
            term = two_sided and s in terms and similarity < SAME_SLOT_AT
            if term or similarity < MEANING_AT:
                out.append((w.text, a, term))
                taken.add(j)
                break
    return out


def _transposed(words: list[Word], point: Text, answer: Text, at_point: list[int], skip: int = 0) -> list[tuple[str, str, bool]]:
    """Two of the point's words that trade places in the answer while the words between them stay ("The squares
    crystals are salt" for "The salt crystals are squares", "improves recall but reduces precision" for "improves
    precision but reduces recall"): the same words, the roles reversed. Read on the words the point and the answer
    each hold once, in their own form (the question's words too: they carry the roles), never the point's name
    before its colon, and only where putting the two back puts every one of them in the point's order, with at
    least one between them (so "processed and structured" for "structured and processed" is no swap, nor clauses
    in another order, nor "the structure of a warehouse with the flexibility of a data lake" for "a data lake's
    flexibility with a warehouse's structure": "data lake" moved with its word). (point's word, the answer's word in
    its place, True): a substitution. Each word must stand in the other's slot: a neighbour of it in the point (any
    word) is its neighbour in the answer too."""
    if not words or sum(1 for w in words if w.how) / len(words) < FRAME_KEPT:  # no frame to read roles in
        return []
    p_count = Counter(stem(w.text) for w in words[skip:])  # the body's words: "Data Lake House: ... a data lake's ..."
    a_count = Counter(stem(w) for w in answer.words)
    seq = [(k, w.at) for k, w in enumerate(words) if k >= skip and w.how in ("same", "stem") and w.at >= 0
           and p_count[stem(w.text)] == 1 and a_count[stem(answer.words[w.at])] == 1]
    at = [j for _, j in seq]
    if len(at) < 3 or all(x < y for x, y in zip(at, at[1:])):
        return []
    def framed(i_point: int, j_answer: int) -> bool:  # the slot has a neighbour of the point's word, as written
        before = i_point > 0 and j_answer > 0 and point.words[i_point - 1] == answer.words[j_answer - 1]
        after = (i_point + 1 < len(point.words) and j_answer + 1 < len(answer.words)
                 and point.words[i_point + 1] == answer.words[j_answer + 1])
        return before or after

    for i in range(len(at)):
        for j in range(i + 2, len(at)):
            back = at[:i] + [at[j]] + at[i + 1:j] + [at[i]] + at[j + 1:]
            if all(x < y for x, y in zip(back, back[1:])):
                first, second = words[seq[i][0]].text, words[seq[j][0]].text
                # each word stands in the other's slot: a neighbour of the point's word is the same there
                if stem(first) != stem(second) and framed(at_point[seq[i][0]], at[j]) and framed(at_point[seq[j][0]], at[i]):
                    return [(first, answer.words[at[j]], True)]
                return []
    return []


def _frame_width(words: list[Word], at_point: list[int], kb: int, ka: int) -> int:
    """How many answer words apart a replaced word's two neighbours (point words kb and ka) may be: a few, two
    more for each further point word missing between them ("trust and accountability" replaced by "speed and
    scalability" between "law" and "essential"), or as far apart as the point has them, and two more ("the
    bounding box moves" for "the kernel moves")."""
    missing = sum(1 for x in words[kb + 1 : ka] if not x.how)
    return max(LOCAL_WINDOW + 1 + 2 * max(0, missing - 1), at_point[ka] - at_point[kb] + 2)


def _result_numbers(point: str, text: Text) -> set[str]:
    """The numbers a point gives as results: those after "=" that end a formula ("L1 = 0.1 x (2 + 1 + 0.5) =
    0.35": 0.35, not 0.1), else every
    number in it. A learner's working may show other numbers; the results are what must be right."""
    after = set(re.findall(r"=\s*-?(\d+(?:\.\d+)?)(?!\s*[x×*/+\-^(]|\d|\.\d)", point.lower()))
    return after or {w for w in text.words if is_number(w)}


def _wrong_numbers(words: list[Word], answer: Text, given: set[str]) -> list[tuple[str, str]]:
    """The point's numbers the answer does not state, against the answer's numbers that state none of the
    point's (and are not the question's): "0.3" where the point says "0.35"."""
    missing = [w.text for w in words if is_number(w.text) and not w.how and not w.given]
    stated = {w.said for w in words if is_number(w.text) and w.how}
    extra = [a for a in answer.words if is_number(a) and a not in stated and a not in given]
    return [(m, e) for m, e in zip(missing, extra)] if missing and extra else []


def _keyword_list(answer: str) -> bool:
    """Words with nothing to join them into a sentence: four or more single words between commas
    ("dropout, neurons, training, overfit"), or five or more words with no word that joins ("neurons dropout
    training nodes reliance"). "regression: box coordinates; classification: class label" is terse, not a list.
    A telegraphic answer ("small sliding filter extracting features") reads the same; the decision tells them
    apart by `Evidence.verbatim`: a list copies the point's words, a terse answer says them in its own forms."""
    words = WORD.findall(answer.lower())
    if len(words) < 4 or ":" in answer:
        return False
    items = [i for i in _SEPARATORS.split(answer.lower()) if i.strip()]
    if len(items) >= 4 and all(len(WORD.findall(i)) == 1 for i in items):
        return True
    # a verb that denies joins them too: "gradient shortcuts prevent vanishing gradients" is a sentence
    return len(words) >= 5 and not any(w in STOPWORDS or w in NEGATIONS or w in SOFT_NEGATORS for w in words) and len(items) == 1


def _listed(answer: str) -> bool:
    """Four or more short names between commas, none with a word that joins ("data lake, data warehouse,
    structured, unstructured, analytics, Snowflake, S3"): the names of a subject, saying nothing of it."""
    items = [i for i in _SEPARATORS.split(answer.lower()) if i.strip()]
    return len(items) >= 4 and all(1 <= len(WORD.findall(i)) <= 2 and not any(w in STOPWORDS for w in WORD.findall(i))
                                   for i in items)


def best_point(evidence: Sequence[Evidence]) -> int:
    """The point the answer states best: most words stated, then the closest meaning; the first (the one that
    answers the question best) unless another is stated clearly better."""
    return max(range(len(evidence)), key=lambda k: (evidence[k].recall + evidence[k].soft_recall + FIRST_POINT * (k == 0),
                                                    evidence[k].precision))


def texts_to_embed(answer: str, points: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([answer, *points]))
