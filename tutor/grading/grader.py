"""The offline grader: evidence, the pair model's calibrated reading of meaning, one decision.

For each answer:
1. `features.prepare` cleans it (sentences addressed to the grader and restatements of the question are
   removed: the answer is data, never instructions) and splits the reference into key points;
2. `evidence.gather` aligns the answer to every key point (and to the points of the sibling concepts
   nearby): which words it states and how, in which order, what it flips, substitutes or gets wrong;
3. the pair model (`tutor.grading.pair`, calibrated on held-out questions) reads the answer against the
   point it addresses best: P(correct, incomplete, contradictory, unrelated), meaning and nothing else;
4. `decision.decide` turns both into the verdict, the score and the confidence, or `unsure`;
5. `feedback.compose` writes what the evidence shows.

Against the notes the key points are restatements of one idea (a bullet, its formula): the answer is judged
against the one it states best. When the question names the terms of two or more points ("the difference
between stemming and lemmatization"), against those together, and each side the answer gives the other's
definition counts as a contradiction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tutor.grading import evidence as ev_mod
from tutor.grading import reading
from tutor.grading.belief import FEATURES, shared_belief, signals
from tutor.grading.course import course_terms, course_words
from tutor.grading.decision import STATES_PART, Decision, decide, expected_credit, said_back
from tutor.grading.evidence import LEXICAL, Evidence, gather
from tutor.grading.features import GraderConfig, Prepared, prepare
from tutor.grading.listing import list_grade, with_list_point
from tutor.grading.feedback import Judged, compose, to_check, without_term
from tutor.grading.model import UNSURE, Grade, GradingItem
from tutor.grading.pair import PAIR_LABELS
from tutor.grading.text import babble, content_stems, stem, tokens

SWAPPED_AT = 0.6  # share of another side's point a comparison's side states, from which it is given that definition
SWAPPED_MARGIN = 0.25  # ... and this much more than its own side's


@dataclass
class _Case:
    item: GradingItem
    prepared: Prepared
    points: list[str]
    given: list[str]
    compared: bool = False
    siblings: list[Mapping[str, str]] = field(default_factory=list)  # other concepts nearby, none the question names


class OfflineGrader:
    """Grades answers against a reference (or key points of the notes) with no LLM.

    `embedder` is any callable from a list of texts to unit vectors (Chroma's `EmbeddingFunction`), by
    default the one TUTOR_EMBEDDER names; `pair` a `PairModel` (default: the shipped one); `states` the
    contextual token vectors the evidence aligns (default: the bundled MiniLM's, or exact words only when
    the embedder is not MiniLM, as in the unit tests).
    """

    def __init__(self, embedder: Callable[[list[str]], Sequence[Any]] | None = None, pair: Any = None,
                 config: GraderConfig | None = None, states: Callable[[list[str]], list[tuple]] | None = None,
                 belief: Any = None) -> None:
        if embedder is None:
            from tutor.knowledge.embedder import make_embedder
            from tutor.settings import get_settings

            embedder = make_embedder(get_settings().embedder)
        self.embedder = embedder
        self.config = config or GraderConfig()
        self._pair = pair
        self._belief = belief
        self._states = states
        self._state_cache: dict[str, tuple] = {}
        self._pair_cache: dict[tuple[str, str], np.ndarray] = {}
        self._vector_cache: dict[str, np.ndarray] = {}

    @property
    def pair(self) -> Any:
        if self._pair is None:
            from tutor.grading.pair import shared_pair_model

            self._pair = shared_pair_model()
        return self._pair

    # -- public ---------------------------------------------------------------------------------
    def grade(self, answer: str, reference: str, question: str = "", citations: Iterable[Mapping[str, str]] | None = None,
              points: Sequence[str] | None = None, siblings: Sequence[Mapping[str, str]] | None = None,
              graded_against: str = "reference", concept: str = "", strict: bool = False,
              members: Sequence[str] | None = None) -> Grade:
        item = GradingItem(answer, reference, question, list(citations) if citations else None, points, siblings,
                           graded_against, concept, members)
        return self.grade_many([item], strict=strict)[0]

    def grade_many(self, items: Iterable[GradingItem | Mapping[str, Any] | Sequence[Any]], strict: bool = False) -> list[Grade]:
        """Grade a batch: every new text goes to the encoder once, every pair to the pair model in one call."""
        read = self._read(items)
        if not read:
            return []
        believed = self.belief.probabilities(np.stack([x for *_, x in read]))
        return [self._graded(c, e, pair, x, b, strict) for (c, e, pair, x), b in zip(read, believed)]

    def _graded(self, c: _Case, e: tuple, pair: np.ndarray, signal: np.ndarray, believed: np.ndarray,
                strict: bool) -> Grade:
        """A list question ("What are the 5 V's?") answered by its members' names is read by the members named;
        any other answer as `_grade` reads it, and where unsure, against the list."""
        members = c.item.members
        if not members:
            return self._grade(c, *e, pair, signal, believed, strict)
        listed = list_grade(c.prepared.answer, members, c.item.question, c.prepared.citations, c.item.graded_against)
        if listed is not None:
            return listed
        graded = self._grade(c, *e, pair, signal, believed, strict)
        return with_list_point(graded, c.prepared.answer, members) if graded.verdict == UNSURE else graded

    def signals(self, items: Iterable[GradingItem | Mapping[str, Any] | Sequence[Any]]) -> np.ndarray:
        """The belief's inputs for each item, (N, len(belief.FEATURES)): what `python -m tutor.grading.fit_belief`
        fits on, computed exactly as grading computes them."""
        return np.array([x for *_, x in self._read(items)]).reshape(-1, len(FEATURES))

    @property
    def belief(self) -> Any:
        if self._belief is None:
            self._belief = shared_belief()
        return self._belief

    def _read(self, items: Iterable[Any]) -> list[tuple[_Case, tuple, np.ndarray, np.ndarray]]:
        """Each item's case, evidence, pair model reading and belief signals."""
        cases = [self._case(as_item(i)) for i in items]
        if not cases:
            return []
        self._encode([t for c in cases for t in self._texts(c)])
        evidence = self._read_best_point(cases, [self._evidence(c) for c in cases])
        live = [(c, e) for c, e in zip(cases, evidence) if c.prepared.answer]
        self._sentence_vectors([t for c, e in live for t in (  # one embedder call a batch
            *(c.prepared.answer_clauses if len(c.prepared.answer_clauses) > 1 else []), c.prepared.reference,
            c.prepared.question, c.prepared.answer, e[0].point if e[0] is not None else "") if t])
        full = self._pairs([(self._judged_reference(c, e[0]), c.prepared.answer) for c, e in live])
        core = self._pairs([(self._judged_reference(c, e[0]), self._on_topic(c.prepared)) for c, e in live])
        found = iter(np.where((credit(core) < credit(full))[:, None], core, full))
        out = []
        for c, e in zip(cases, evidence):
            pair = next(found) if c.prepared.answer else np.array([0.0, 0.0, 0.0, 1.0])
            ev = e[0]
            similarity = self._cosine(c.prepared.answer, ev.point) if ev is not None else 1.0
            point = ev.point if ev is not None else c.prepared.reference
            out.append((c, e, pair, signals(ev, pair, similarity, len(point.split()), len(c.prepared.answer.split()))))
        return out

    def _read_best_point(self, cases: list[_Case], evidence: list[tuple]) -> list[tuple]:
        """Against several points of the notes about one concept (restating one idea), the answer is judged on the
        one it states best by its words and by meaning together (the pair model read against each): "generalises
        better" states "prevents overfitting" as well as "cannot lean on any single unit" states "prevents
        reliance on specific nodes". A point whose words the answer flips or replaces stays the one judged."""
        many = [k for k, (c, e) in enumerate(zip(cases, evidence)) if c.prepared.answer and not c.compared
                and c.item.graded_against == "notes" and e[0] is not None and len(e[1]) > 1 and not e[0].contradicted]
        if not many:
            return evidence
        pairs = self._pairs([(p.point, cases[k].prepared.answer) for k in many for p in evidence[k][1]])
        out, at = list(evidence), 0
        for k in many:
            points = evidence[k][1]
            read = [expected_credit(pairs[at + j]) + (p.recall + p.soft_recall) / 2 for j, p in enumerate(points)]
            at += len(points)
            best = points[int(np.argmax(read))]
            if not best.contradicted:
                out[k] = (best, *evidence[k][1:])
        return out

    def _on_topic(self, p: Prepared, floor: float = 0.2) -> str:
        """The answer without its clauses that are off the topic of both the reference and the question (cosine
        below `floor`); the pair model reads both and the less favourable reading stands, so that a sentence
        that says nothing about the question (filler, an order to the grader the filters missed) can never
        raise a grade. The answer itself when every clause is on topic or only one is left."""
        parts = p.answer_clauses
        if len(parts) < 2:
            return p.answer
        anchors = [t for t in (p.reference, p.question) if t]
        vectors = self._sentence_vectors(parts + anchors)
        near = [max(float(vectors[t] @ vectors[a]) for a in anchors) for t in parts]
        kept = [t for t, n in zip(parts, near) if n >= floor] or [parts[int(np.argmax(near))]]
        return p.answer if len(kept) == len(parts) else " ".join(kept)

    def _sentence_vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        new = list(dict.fromkeys(t for t in texts if t not in self._vector_cache))
        if new:
            if len(self._vector_cache) + len(new) > self.config.cache_size:
                self._vector_cache.clear()
            vectors = np.asarray(self.embedder(new), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            self._vector_cache.update(zip(new, vectors / np.where(norms > 0, norms, 1.0)))
        return {t: self._vector_cache[t] for t in texts}

    def pair_probabilities(self, items: Iterable[Any]) -> np.ndarray:
        """The pair model's calibrated P(PAIR_LABELS) for each item's cleaned answer against its reference, (N, 4)."""
        cases = [self._case(as_item(i)) for i in items]
        return self._pairs([(c.prepared.reference, c.prepared.answer) for c in cases])

    def scores(self, items: Iterable[Any], strict: bool = False) -> np.ndarray:
        """The scores `grade_many` gives, (N,): for unsure grades, the best guess."""
        return np.array([g.score for g in self.grade_many(items, strict=strict)], dtype=np.float64)

    # -- steps ----------------------------------------------------------------------------------
    def _case(self, item: GradingItem) -> _Case:
        from tutor.grading.keypoints import asked_term, asks_of_each, compared_points, name_stems, point_term

        p = prepare(item, self.config)
        given = tokens(f"{p.question} {p.concept}")
        siblings = list(item.siblings or [])
        points = list(p.points)
        if item.graded_against == "notes":  # a nearby concept the question names is asked about, not another one
            names = [name_stems(n) for n in map(point_term, points) if n]  # the points' terms, not their section's name
            asked = [sib for sib in siblings if named_in(item.question, str(sib.get("concept", "")))
                     and not any(name_stems(str(sib.get("concept", ""))) < n for n in names)]  # "Precision" in "FP16 Mixed Precision"
            siblings = [sib for sib in siblings if sib not in asked]
            points += [str(sib.get("text", "")) for sib in asked if str(sib.get("text", "")) not in points]
        both = compared_points(item.question, points) if item.graded_against == "notes" and len(points) > 1 else []
        if both and not asks_of_each(item.question, both):  # two terms named, one asked about: its points alone
            asked_about = asked_term(item.question, both).lower()
            points = [t for t in points if t not in both or point_term(t).lower() == asked_about]
            both = []
        return _Case(item, p, both or points, given, bool(both), siblings)

    def _texts(self, c: _Case) -> list[str]:
        if not c.prepared.answer:
            return []
        sides = self._sides(c) if c.compared else []
        return [c.prepared.answer, c.prepared.reference, *c.points, " ".join(c.points), *[s for s in sides if s],
                *[str(s.get("text", "")) for s in c.siblings]]

    def _encode(self, texts: list[str]) -> None:
        new = list(dict.fromkeys(t for t in texts if t and t not in self._state_cache))
        if not new:
            return
        if len(self._state_cache) + len(new) > self.config.cache_size:
            self._state_cache.clear()
        self._state_cache.update(zip(new, self.states(new)))

    @property
    def states(self) -> Callable[[list[str]], list[tuple]]:
        if self._states is None:
            self._states = token_states_for(self.embedder)
        return self._states

    def _terms(self, c: _Case) -> set[str]:
        """What a substitution may put in a point's place: the words of the reference and the other points, the
        names of the sibling concepts and the course's concept names (`course_terms`). Not every word of a sibling's
        text: "step in" for "intervene" is a paraphrase, though "step" is a word of another point."""
        texts = [c.prepared.reference, *c.points] + [str(s.get("concept", "")) for s in c.siblings]
        return set(content_stems(" ".join(texts))) | (course_terms() if c.item.graded_against == "notes" else set())

    def _evidence(self, c: _Case) -> tuple[Evidence | None, list[Evidence | None], list[Evidence], list[tuple[str, str, str]]]:
        """The evidence the decision reads (against the point stated best of the notes' restatements; against
        the whole reference, or a comparison's sides together), each key point's (for covered and missed), the
        sibling concepts', and the sides given the other's definition."""
        answer = c.prepared.answer
        if not answer:
            return None, [None] * len(c.points), [], []
        terms = self._terms(c)
        points = [gather(answer, p, self._state_cache, c.given, terms) for p in c.points]
        swapped = self._swapped(c, terms) if c.compared else []
        siblings = [gather(answer, str(s.get("text", "")), self._state_cache, c.given, terms) for s in c.siblings]
        if c.item.graded_against == "notes" and not c.compared:
            return points[ev_mod.best_point(points)], points, siblings, swapped
        whole = gather(answer, " ".join(c.points) if c.compared else c.prepared.reference, self._state_cache, c.given, terms)
        whole.substituted = whole.substituted + [(theirs, said) for said, theirs, _ in swapped]
        return whole, points, siblings, swapped

    def _sides(self, c: _Case) -> list[str]:
        from tutor.grading.keypoints import answer_sides

        return answer_sides(c.points, c.prepared.answer_clauses or [c.prepared.answer])

    def _one_side(self, c: _Case, points_ev: list) -> bool:
        """A comparison answered for one side only: the answer names one compared term and no other, and states
        little of what the unnamed side's point says that the named side's does not (less than STATES_PART of its
        own words): "Horizontal scaling is when you add more servers" to how horizontal differs from vertical."""
        from tutor.grading.keypoints import asks_of_each, name_stems, point_term

        if not asks_of_each(c.item.question, c.points):
            return False
        sides = self._sides(c)
        named = {point_term(c.points[k]).lower() for k, said in enumerate(sides) if said}
        if len(named) != 1 or len(points_ev) != len(c.points) or any(e is None for e in points_ev):
            return False
        # the unnamed side is stated by the words of its point that the named side's point does not share: CBOW's
        # and skip-gram's points share every word ("predicts ... target word ... context words"), so an answer on
        # CBOW alone finds all of skip-gram's words too, and says nothing of it
        # (its own words said as they stand: a close meaning is too loose here, "single" read in "across")
        theirs = {stem(w.text) for k, e in enumerate(points_ev) if point_term(c.points[k]).lower() in named
                  for w in e.words}
        for k, e in enumerate(points_ev):
            term = point_term(c.points[k])
            if term.lower() in named:
                continue
            own = [w for w in e.words if not w.given and stem(w.text) not in theirs | name_stems(term)]
            if own and sum(1 for w in own if w.how in LEXICAL) / len(own) >= STATES_PART:
                return False
        return True

    def _sides_said_back(self, c: _Case) -> float:
        """The share of a comparison's sides that say back their own point (most of its words, in its order, none
        replaced or denied), in whatever order the answer takes the sides: the joined points' order cannot tell ("a
        data warehouse stores processed, structured data ..., whereas a data lake keeps raw ..." against "Data
        Warehouse: ... Data Lake: ..."), nor the order of two points in mirror words (CBOW's and skip-gram's)."""
        from tutor.grading.keypoints import point_term

        sides = self._sides(c)
        if not sides or not any(sides):
            return 0.0
        names = tokens(" ".join(point_term(p) for p in c.points))
        terms = self._terms(c)
        back = [bool(said) and said_back(gather(said, c.points[k], self._state_cache, c.given + names, terms))
                for k, said in enumerate(sides)]
        return sum(back) / len(back)

    def _swapped(self, c: _Case, terms: set[str]) -> list[tuple[str, str, str]]:
        """(what the answer says of a side, the other side's point, that side's term) where a side states the
        other's point clearly better than its own (the terms of every side given: they say which side is which)."""
        from tutor.grading.keypoints import name_stems, point_term

        names = tokens(" ".join(point_term(p) for p in c.points))
        out = []
        for k, said in enumerate(self._sides(c)):
            if not said:
                continue
            found = [gather(said, p, self._state_cache, c.given + names, terms) for p in c.points]
            recall = [e.recall for e in found]
            # ... and in the point's order at least as well: CBOW's and skip-gram's points hold the same words in mirror
            # order ("predicts the target word from ... context words", "predicts context words from the target word")
            ordered = [e.recall * e.in_order for e in found]
            own = point_term(c.points[k]).lower()  # another point of the same term is the same side
            # a side that names another side in part ("..., L1/L2 adds a penalty" with the data augmentation
            # clause) is not that side alone: no swap is read in it
            said_stems = set(content_stems(said))
            if any((name_stems(point_term(q)) - name_stems(own)) & said_stems for q in c.points
                   if point_term(q).lower() != own):
                continue
            other = max((j for j in range(len(c.points)) if point_term(c.points[j]).lower() != own),
                        key=recall.__getitem__, default=None)
            if other is not None and recall[other] >= SWAPPED_AT and recall[other] >= recall[k] + SWAPPED_MARGIN \
                    and ordered[other] >= ordered[k]:
                out.append((said, c.points[other], point_term(c.points[other])))
        return out

    def _judged_reference(self, c: _Case, decided_on: Evidence | None) -> str:
        """What the pair model reads the answer against: the point the evidence was judged on."""
        return decided_on.point if decided_on is not None else c.prepared.reference

    def _pairs(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """The pair model's calibrated probabilities (N, 4), each distinct pair computed once per grader."""
        new = list(dict.fromkeys(p for p in pairs if p not in self._pair_cache))
        if new:
            if len(self._pair_cache) + len(new) > self.config.cache_size:
                self._pair_cache.clear()
            self._pair_cache.update(zip(new, self.pair.probabilities(new)))
        return np.array([self._pair_cache[p] for p in pairs]).reshape(len(pairs), 4)

    def _cosine(self, a: str, b: str) -> float:
        """The cosine of two texts' sentence embeddings (cached)."""
        vectors = self._sentence_vectors([a, b])
        return float(vectors[a] @ vectors[b])

    def _grade(self, c: _Case, ev: Evidence | None, points_ev: list, siblings_ev: list, swapped: list, pair: np.ndarray,
               signal: np.ndarray, believed: np.ndarray, strict: bool) -> Grade:
        p, item = c.prepared, c.item
        sibling_k = max(range(len(siblings_ev)), key=lambda k: siblings_ev[k].recall) if siblings_ev else None
        similarity = float(signal[FEATURES.index("similarity")]) if ev is not None else 1.0  # as `_read` computed it
        asked = self._cosine(p.answer, p.question) if ev is not None and p.question else 0.0
        # against the notes, an answer that states nothing of the point may be no answer at all: words the course
        # never uses, or a few said over and over (against a teacher's reference the course's words say nothing)
        nonsense = (item.graded_against == "notes" and ev is not None and ev.recall < STATES_PART
                    and babble(p.answer, self._known_words(c)))
        decision: Decision = decide(ev, pair, siblings_ev[sibling_k] if sibling_k is not None else None, strict=strict,
                                    similarity=similarity, swapped=bool(swapped), believed=believed, asked=asked,
                                    babble=nonsense, one_side=c.compared and self._one_side(c, points_ev),
                                    sides_said_back=self._sides_said_back(c) if c.compared and not swapped else 0.0)
        sibling = None
        if sibling_k is not None and c.siblings:
            s = c.siblings[sibling_k]
            sibling = {k: str(s.get(k, "")) for k in ("concept", "source", "section", "text")}
        best = c.points.index(ev.point) if ev is not None and ev.point in c.points else \
            ev_mod.best_point(points_ev) if points_ev and points_ev[0] is not None else 0
        judged = Judged(decision, c.points, points_ev, best, ev, p.answer, p.blank, not p.answer and not p.blank,
                        item.graded_against, item.concept, sibling, swapped)
        written = compose(judged)
        key = ev.point if ev is not None else (p.reference if item.graded_against != "notes" else c.points[0])
        return Grade(
            score=decision.score, verdict=decision.verdict, covered=written.covered, missed=written.missed,
            contradicted=written.contradicted, feedback=written.feedback, citations=p.citations,
            confidence=round(decision.confidence, 4), graded_against=item.graded_against,
            confused_with=written.confused_with, key_point=without_term(key, item.concept),
            stated_words=written.stated_words, missing_words=written.missing_words, reason=decision.reason,
            check=to_check(ev) if decision.verdict == "unsure" else "",
            meaning=dict(zip(PAIR_LABELS, (round(float(x), 3) for x in pair))) if p.answer else None,
        )

    def _known_words(self, c: _Case) -> set[str]:
        """The stems of the course's words (every passage of the notes folder and its companion) and of this
        question's own texts."""
        own = " ".join([c.item.question, c.item.reference, *c.points, *(s.get("text", "") for s in c.siblings)])
        return course_words() | {stem(t) for t in tokens(own)}


def named_in(question: str, concept: str) -> bool:
    """The question names the concept (every word of its name, or its abbreviation)."""
    from tutor.grading.keypoints import concept_named

    return bool(concept) and concept_named(question, concept) == 1.0


def credit(probabilities: np.ndarray) -> np.ndarray:
    """Expected credit (N,) of pair probabilities (N, 4)."""
    return np.array([expected_credit(p) for p in probabilities]).reshape(len(probabilities))


def token_states_for(embedder: Any) -> Callable[[list[str]], list[tuple]]:
    """The bundled MiniLM's contextual token vectors when the embedder is MiniLM; otherwise (the hashing
    embedder of the tests) one vector per word that only the same word matches."""
    model_dir = getattr(embedder, "model_dir", None)
    if model_dir:
        from tutor.knowledge.embedder import load_minilm

        model = load_minilm(model_dir, getattr(embedder, "device", "cpu"))
        return lambda texts: model.token_states(texts)
    return word_states


def word_states(texts: list[str]) -> list[tuple]:
    """Offsets and vectors of each word (a word's own hashed unit vector): same words match, nothing else."""
    import hashlib

    out = []
    for text in texts:
        spans = [m.span() for m in reading.WORD.finditer(text.lower())]
        vectors = np.zeros((len(spans), 64), dtype=np.float32)
        for i, (s, e) in enumerate(spans):
            seed = int.from_bytes(hashlib.blake2b(text[s:e].lower().encode(), digest_size=4).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(64).astype(np.float32)
            vectors[i] = v / np.linalg.norm(v)
        out.append((spans, vectors))
    return out


def as_item(item: GradingItem | Mapping[str, Any] | Sequence[Any]) -> GradingItem:
    if isinstance(item, GradingItem):
        return item
    if isinstance(item, Mapping):
        return GradingItem(
            str(item.get("answer", "") or ""), str(item.get("reference", "") or ""),
            str(item.get("question", "") or ""), item.get("citations"), item.get("points"), item.get("siblings"),
            str(item.get("graded_against") or "reference"), str(item.get("concept") or ""), item.get("members"),
        )
    return GradingItem(*item)
