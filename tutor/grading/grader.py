"""The offline grader: the pair model reads answer and reference together; the features add what it lacks.

For each answer:
1. `features.prepare` cleans it (sentences addressed to the grader and restatements of the question are
   removed: the answer is data, never instructions) and splits the reference into key points;
2. the pair model (`tutor.grading.pair`) gives P(correct, incomplete, contradictory, unrelated) for the
   whole reference against the answer, and the same for every key point alone, which says which points
   the answer states, which it leaves out and which it contradicts;
3. the features (`tutor.grading.features`) give `support`, the share of what the answer says that the
   reference backs, and a fitted stacker (`stacker.json`, when shipped) combines both;
4. the verdict is the label the probabilities decide (SciEntsBank's 3-way arg-max, with decision offsets
   fitted on train for macro-F1: correct, incorrect = incomplete + unrelated, contradictory; an incorrect
   answer whose supported partial credit outweighs P(unrelated) is incomplete), and the score sits in that
   verdict's spaced-repetition band, placed by the expected credit

       credit = P(correct) + PARTIAL_CREDIT * P(incomplete) * support   (contradictory, unrelated: 0)

   so that a learner never sees "correct" on an answer the grader thinks more likely wrong;
5. the feedback (`tutor.grading.feedback`) is written from the same per-point judgements, so it never
   contradicts the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tutor.grading.features import FEATURES, GraderConfig, Prepared, item_details, prepare
from tutor.grading.feedback import Judgement, compose, confused_with, swapped_sides, word_share
from tutor.grading.keypoints import unnamed
from tutor.grading.model import CORRECT_AT, LABELS, PARTIAL_AT, PARTIAL_CREDIT, Grade, GradingItem, verdict_for
from tutor.grading.pair import PAIR_LABELS
from tutor.grading.rules import (
    comparison, credit, decide, guard_near_copies, keep_pair_doubt, stack_inputs, to_three_way,
)

STACKER_PATH = Path(__file__).with_name("stacker.json")


class OfflineGrader:
    """Grades answers against a reference (or key points of the notes) with no LLM.

    `embedder` is any callable from a list of texts to unit vectors (Chroma's `EmbeddingFunction`), by
    default the one TUTOR_EMBEDDER names; `pair` a `PairModel` (default: the shipped one).
    """

    def __init__(
        self,
        embedder: Callable[[list[str]], Sequence[Any]] | None = None,
        pair: Any = None,
        stacker: str | Path | Mapping[str, Any] | bool | None = None,
        config: GraderConfig | None = None,
    ) -> None:
        if embedder is None:
            from tutor.knowledge.embedder import make_embedder
            from tutor.settings import get_settings

            embedder = make_embedder(get_settings().embedder)
        self.embedder = embedder
        self.config = config or GraderConfig()
        self._pair = pair
        self._stacker_source = stacker
        self._stacker: dict[str, np.ndarray] | None = None
        self._stacker_embedder = ""
        self._cache: dict[str, np.ndarray] = {}
        self._pair_cache: dict[tuple[str, str], np.ndarray] = {}

    @property
    def pair(self) -> Any:
        if self._pair is None:
            from tutor.grading.pair import shared_pair_model

            self._pair = shared_pair_model()
        return self._pair

    # -- public ---------------------------------------------------------------------------------
    def grade(
        self,
        answer: str,
        reference: str,
        question: str = "",
        citations: Iterable[Mapping[str, str]] | None = None,
        points: Sequence[str] | None = None,
        siblings: Sequence[Mapping[str, str]] | None = None,
        graded_against: str = "reference",
        concept: str = "",
    ) -> Grade:
        item = GradingItem(answer, reference, question, list(citations) if citations else None, points, siblings,
                           graded_against, concept)
        return self.grade_many([item])[0]

    def grade_many(self, items: Iterable[GradingItem | Mapping[str, Any] | Sequence[Any]]) -> list[Grade]:
        """Grade a batch: all new texts go to the embedder in one call, all pairs to the pair model in one."""
        items = [as_item(i) for i in items]
        prepared = [prepare(i, self.config) for i in items]
        if not prepared:
            return []
        items, prepared, compared = self._best_note_points(items, prepared)
        details = self._details(prepared)
        probabilities = self._probabilities(prepared, details, items, skip_doubt=compared)
        judgements = self._judge_points(items, prepared)
        for k in compared:
            judgements[k]["swapped"] = self._judge_sides(items[k], prepared[k], probabilities, judgements[k], k)
        return [self._grade(i, p, d, pr, j) for i, p, d, pr, j in zip(items, prepared, details, probabilities, judgements)]

    def features(self, items: Iterable[Any]) -> np.ndarray:
        """The feature matrix (N, len(FEATURES)) the stacker reads."""
        prepared = [prepare(as_item(i), self.config) for i in items]
        return np.array([d["features"] for d in self._details(prepared)], dtype=np.float64).reshape(-1, len(FEATURES))

    def pair_probabilities(self, items: Iterable[Any]) -> np.ndarray:
        """The pair model's P(PAIR_LABELS) for each item's cleaned answer against its reference, (N, 4)."""
        prepared = [prepare(as_item(i), self.config) for i in items]
        return self._pair_probs(prepared)

    def label_probabilities(self, items: Iterable[Any]) -> np.ndarray:
        """P over PAIR_LABELS after stacking, (N, 4)."""
        items = [as_item(i) for i in items]
        prepared = [prepare(i, self.config) for i in items]
        return self._probabilities(prepared, self._details(prepared), items)

    def predict_labels(self, items: Iterable[Any]) -> list[str]:
        """The SciEntsBank label each item most likely has (for macro-F1)."""
        return self.labels_from_probabilities(self.label_probabilities(items))

    def labels_from_probabilities(self, probabilities: np.ndarray) -> list[str]:
        three = np.log(np.clip(to_three_way(probabilities), 1e-12, 1.0)) + self.decision_bias
        return [LABELS[i] for i in three.argmax(axis=1)]

    @property
    def decision_bias(self) -> np.ndarray:
        """Offsets added to log P(correct, incorrect, contradictory) before the arg-max, fitted for macro-F1."""
        if not self._calibrated():
            return np.zeros(3)
        data = self._load_stacker()
        if "coef" in data and not self._has_stacker():
            return data.get("pair_decision_bias", np.zeros(3))
        return data.get("decision_bias", np.zeros(3))

    @staticmethod
    def score_from_probabilities(probabilities: np.ndarray, support: np.ndarray,
                                 bias: np.ndarray | None = None) -> np.ndarray:
        """Scores (N,) in the band of the label the probabilities decide, placed in it by the expected credit.

        expected credit = P(correct) + PARTIAL_CREDIT x P(incomplete) x support (contradictory, unrelated: 0);
        decided correct -> [0.7, 1], incomplete -> [0.4, 0.7), contradictory or unrelated -> [0, 0.4).
        So the verdict a learner sees is the label the grader finds most likely (with the decision offsets
        fitted for macro-F1), and within a verdict a fuller answer scores higher."""
        credit = np.clip(probabilities[:, 0] + PARTIAL_CREDIT * probabilities[:, 1] * support, 0.0, 1.0)
        decided = decide(probabilities, support, np.zeros(3) if bias is None else bias)
        return np.where(decided == 0, CORRECT_AT + (1 - CORRECT_AT) * credit,
                        np.where(decided == 1, PARTIAL_AT + np.minimum(credit, 0.99) * (CORRECT_AT - PARTIAL_AT),
                                 np.minimum(credit, 0.99) * PARTIAL_AT))

    def scores(self, items: Iterable[Any]) -> np.ndarray:
        """The scores `grade_many` gives, (N,)."""
        return np.array([g.score for g in self.grade_many(items)], dtype=np.float64)

    # -- steps ----------------------------------------------------------------------------------
    def _embed(self, prepared: list[Prepared]) -> None:
        self._embed_texts([t for p in prepared for t in p.texts])

    def _embed_texts(self, texts: list[str]) -> None:
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if not new:
            return
        vectors = np.asarray(self.embedder(new), dtype=np.float32)  # (N, D)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)
        if len(self._cache) + len(new) > self.config.cache_size:
            self._cache.clear()  # simplest bound; a batch is always served whole
        self._cache.update(zip(new, vectors))

    def _details(self, prepared: list[Prepared]) -> list[dict[str, Any]]:
        self._embed(prepared)
        return [item_details(p, self._cache.__getitem__, self.config) for p in prepared]

    def _pair_probs(self, prepared: list[Prepared]) -> np.ndarray:
        """The pair model on each answer; where some sentences of it are off the reference's topic, also on the
        answer without them, and the less favourable of the two: a sentence that says nothing about the
        question (an order to the grader the filters missed, filler) can never raise a grade."""
        out = np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (len(prepared), 1))  # nothing written: unrelated
        live = [k for k, p in enumerate(prepared) if p.answer]
        if live:
            concepts = [prepared[k].concept for k in live]
            full = self._named_pairs([(prepared[k].reference, prepared[k].answer) for k in live], concepts)
            cores = [self._on_topic(prepared[k]) for k in live]
            core = self._named_pairs([(prepared[k].reference, c) for k, c in zip(live, cores)], concepts)
            out[live] = np.where((credit(core) < credit(full))[:, None], core, full)
        return out

    def _named_pairs(self, pairs: list[tuple[str, str]], concepts: Sequence[str]) -> np.ndarray:
        """The pair model on (reference, answer) pairs, where the concept asked about is known and named in
        them: the less favourable of the pair as written and the pair with the name taken out of both. An
        answer earns credit for what it says about the concept, not for naming it: "Dropout makes the network
        bigger by duplicating layers" shares its best cue with "Dropout: randomly drops neurons ..." only in
        the word "dropout"."""
        probs = self._pairs(pairs)
        plain = [unnamed(r, a, c) if c else (r, a) for (r, a), c in zip(pairs, concepts)]
        changed = [k for k, (q, p) in enumerate(zip(plain, pairs)) if q != p]
        if changed:
            alt = self._pairs([plain[k] for k in changed])
            probs[changed] = np.where((credit(alt) < credit(probs[changed]))[:, None], alt, probs[changed])
        return probs

    def _on_topic(self, p: Prepared, floor: float = 0.2) -> str:
        """The answer without its clauses that are off the topic of the reference and the question (cosine
        below `floor` to both); the answer itself when every clause is on topic or only one is left. The
        clauses are the ones the features embed already, so this costs a second pair pass only when a clause
        is dropped."""
        parts = p.answer_clauses
        if len(parts) < 2:
            return p.answer
        anchors = [t for t in (p.reference, p.question) if t]
        self._embed_texts(parts + anchors)
        a = np.stack([self._cache[t] for t in anchors])
        near = [max(float(self._cache[t] @ v) for v in a) for t in parts]
        kept = [t for t, n in zip(parts, near) if n >= floor] or [parts[int(np.argmax(near))]]
        return p.answer if len(kept) == len(parts) else " ".join(kept)

    def _pairs(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """The pair model's probabilities (N, 4), each distinct pair computed once per grader."""
        new = list(dict.fromkeys(p for p in pairs if p not in self._pair_cache))
        if new:
            if len(self._pair_cache) + len(new) > self.config.cache_size:
                self._pair_cache.clear()
            self._pair_cache.update(zip(new, self.pair.probabilities(new)))
        return np.array([self._pair_cache[p] for p in pairs]).reshape(len(pairs), 4)

    def _calibrated(self) -> bool:
        source = self._stacker_source
        if source is False:
            return False
        return not isinstance(source, (str, Path)) and source is not None or Path(source or STACKER_PATH).exists()

    def _has_stacker(self) -> bool:
        """False: the pair model alone; a mapping or a path: that stacker; None: the shipped one, if shipped.
        A stacker file with "stack": false holds only the decision offsets for the pair model alone. The
        features are on the scale of the embedder the stacker was fitted with: with another one (the hashing
        embedder of the tests) the pair model answers alone."""
        if not (self._calibrated() and "coef" in self._load_stacker()):
            return False
        fitted = self._stacker_embedder
        name = getattr(self.embedder, "name", None)
        return not fitted or (callable(name) and name() == fitted)

    def _load_stacker(self) -> dict[str, np.ndarray]:
        if self._stacker is None:
            source = self._stacker_source
            data = json.loads(Path(source or STACKER_PATH).read_text()) if source is None or isinstance(source, (str, Path)) \
                else dict(source)
            if data.get("stack", True) and (list(data["features"]) != list(FEATURES) or list(data["labels"]) != list(PAIR_LABELS)):
                raise ValueError("the stacker was fitted on other features or labels; refit with benchmarks/fit_grader.py")
            keys = (("mean", "scale", "coef", "intercept", "decision_bias", "pair_decision_bias") if data.get("stack", True)
                    else ("decision_bias",))
            self._stacker = {k: np.asarray(data[k], dtype=np.float64) for k in keys if k in data}
            self._stacker_embedder = str(data.get("embedder", ""))
        return self._stacker

    def _probabilities(self, prepared: list[Prepared], details: list[dict[str, Any]],
                       items: Sequence[GradingItem] = (), skip_doubt: Sequence[int] = ()) -> np.ndarray:
        """P(PAIR_LABELS) (N, 4): the stacker over the pair model and the features, with the rules of
        `tutor.grading.rules`; `keep_pair_doubt` holds against the notes except for the items in `skip_doubt`
        (a comparison judged against both sides at once, a reference the pair model did not learn to read)."""
        pair = self._pair_probs(prepared)
        if not self._has_stacker():
            return pair
        model = self._load_stacker()
        features = self._unnamed_features(items, details) if items else np.array([d["features"] for d in details])
        x = stack_inputs(pair, features)
        x = (x - model["mean"]) / model["scale"]
        logits = x @ model["coef"].T + model["intercept"]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        stacked = guard_near_copies(e / e.sum(axis=1, keepdims=True), pair, features)
        notes = np.array([i.graded_against == "notes" and k not in skip_doubt for k, i in enumerate(items)], dtype=bool)
        return keep_pair_doubt(stacked, pair, notes) if items else stacked

    def _unnamed_features(self, items: Sequence[GradingItem], details: list[dict[str, Any]]) -> np.ndarray:
        """The stacker's features; where the concept asked about is known, computed with its name taken out
        of answer, reference and key points, as for the pair model (`_named_pairs`): "dropout" in both texts lifts
        their similarity however wrong the rest of the answer is."""
        from dataclasses import replace

        rows = [d["features"] for d in details]
        plain = {}
        for k, i in enumerate(items):
            if i.concept and not details[k]["empty"]:
                reference, answer = unnamed(i.reference, i.answer, i.concept)
                points = [unnamed(t, "", i.concept)[0] for t in i.points] if i.points else None
                plain[k] = replace(i, answer=answer, reference=reference, points=points)
        plain = {k: i for k, i in plain.items() if (i.answer, i.reference) != (items[k].answer, items[k].reference)}
        if plain:
            redone = self._details([prepare(i, self.config) for i in plain.values()])
            for k, d in zip(plain, redone):
                rows[k] = d["features"] if not d["empty"] else rows[k]
        return np.array(rows)

    def _best_note_points(self, items: list[GradingItem], prepared: list[Prepared]) -> tuple[list, list, list[int]]:
        """Against the notes, the key points are restatements of one idea (the same bullet in two modules, a
        definition and its formula): an answer is judged against the one it addresses best, not all at once.
        Unless the question names the terms of two or more of them ("the difference between stemming and
        lemmatization"): then against those together, so that an answer giving each side the other's
        definition is judged on both. Returns the items, their preparations and which were compared."""
        from dataclasses import replace

        from tutor.grading.keypoints import compared_points

        out_items, out_prepared, compared = list(items), list(prepared), []
        for k, (item, p) in enumerate(zip(items, prepared)):
            if item.graded_against != "notes" or len(p.points) < 2 or not p.answer:
                continue
            both = compared_points(item.question, p.points)
            if both:
                out_items[k] = replace(item, reference=" ".join(t.rstrip(".") + "." for t in both), points=both)
                compared.append(k)
            else:
                probs = self._named_pairs([(point, p.answer) for point in p.points], [p.concept] * len(p.points))
                out_items[k] = replace(item, reference=p.points[int(np.argmax(credit(probs)))])
            out_prepared[k] = prepare(out_items[k], self.config)
        return out_items, out_prepared, compared

    def _judge_sides(self, item: GradingItem, p: Prepared, probabilities: np.ndarray, judged: dict[str, Any],
                     k: int) -> list[tuple[str, str]]:
        """A comparison whose answer names some of the compared terms and not others ("Lemmatization converts
        words to their dictionary form" asked how stemming and lemmatization differ) is judged side by side:
        what it says of each term against that term's point, both without the term's name (which side a
        clause is on gives it), a term it does not name missed, a side in the other's words contradicted.
        Where it names all of them (none in the other's words), or none, the judgement against the points
        together stands: it is the reading that sees each side given the other's
        definition (the pair model on one side at a time does not: "it predicts the target word from the
        context" reads as correct against "Predicts context words from the target word")."""
        from tutor.grading.keypoints import answer_sides

        said = answer_sides(p.points, p.answer_clauses or [p.answer])
        swapped = swapped_sides(item, p.points, said)
        if not any(said) or (all(said) and not swapped):
            return swapped
        pairs = [unnamed(t, s, "", own_term=True) for t, s in zip(p.points, said) if s]
        found = iter(self._pairs(pairs))
        sides = np.array([next(found) if s else [0.0, 0.0, 0.0, 1.0] for s in said])
        for text, *_ in swapped:  # the other side's definition given to this one: contradicted, however it reads
            sides[said.index(text)] = [0.0, 0.0, 1.0, 0.0]
        judged["point"] = sides
        probabilities[k] = comparison(sides, [bool(s) for s in said])
        return swapped

    def _judge_points(self, items: list[GradingItem], prepared: list[Prepared]) -> list[dict[str, Any]]:
        """Each key point (and each sibling concept) judged alone against the answer, in one pair-model call."""
        pairs, where, concepts = [], [], []
        for k, (item, p) in enumerate(zip(items, prepared)):
            if not p.answer:
                continue
            for j, point in enumerate(p.points):
                pairs.append((point, p.answer))
                where.append((k, "point", j))
                concepts.append(p.concept)
            for j, sibling in enumerate(item.siblings or []):
                pairs.append((str(sibling.get("text", "")), p.answer))
                where.append((k, "sibling", j))
                concepts.append("")  # another concept's point: the answer naming the asked one is no match
        out = [{"point": np.zeros((len(p.points), 4)), "sibling": np.zeros((len(i.siblings or []), 4))}
               for i, p in zip(items, prepared)]
        if pairs:
            probs = self._named_pairs(pairs, concepts)
            for (k, kind, j), row in zip(where, probs):
                out[k][kind][j] = row
        return out

    def _grade(self, item: GradingItem, p: Prepared, details: dict[str, Any], probs: np.ndarray,
               judged: dict[str, Any]) -> Grade:
        opposites = {j: c for j, cs in enumerate(details.get("conflicts", [])) for c in cs if c[0] == "opposite"}
        point_words = [word_share(p.answer, t, item) for t in p.points]
        sibling_words = [word_share(p.answer, str(sib.get("text", "")), item) for sib in item.siblings or []]
        confusion = confused_with(judged["point"], judged["sibling"], point_words, sibling_words)
        if details["empty"]:
            score, verdict = 0.0, "incorrect"
        else:
            score = round(float(self.score_from_probabilities(probs[None, :], np.array([details["support"]]),
                                                              self.decision_bias)[0]), 4)
            # A careful teacher gives no credit to an answer that states the opposite of a key point ("adds"
            # where the point says "drops"), or that describes another concept of the notes better than the
            # one asked: both cap the score in the no-credit band, and the feedback names which.
            if score >= PARTIAL_AT and (opposites or confusion is not None):
                score = round(min(PARTIAL_AT * score, PARTIAL_AT - 0.01), 4)
            verdict = verdict_for(score)
        judgement = Judgement(
            verdict=verdict, points=p.points, point_probs=judged["point"], whole=probs,
            answer=p.answer, blank=p.blank, removed=details["empty"] and not p.blank,
            siblings=list(item.siblings or []), sibling_probs=judged["sibling"], graded_against=item.graded_against,
            concept=item.concept, reused_words=float(details["features"][FEATURES.index("lex_recall")]),
            opposites={j: tuple(details["surface"].get(w, w) for w in c[1:]) for j, c in opposites.items()},
            point_words=point_words, sibling_words=sibling_words, swapped=judged.get("swapped", []),
        )
        result = compose(judgement)
        return Grade(
            score=score, verdict=verdict, covered=result.covered, missed=result.missed, contradicted=result.contradicted,
            feedback=result.feedback, citations=p.citations, confidence=round(float(probs.max()), 4),
            graded_against=item.graded_against, confused_with=result.confused_with,
        )


def as_item(item: GradingItem | Mapping[str, Any] | Sequence[Any]) -> GradingItem:
    if isinstance(item, GradingItem):
        return item
    if isinstance(item, Mapping):
        return GradingItem(
            str(item.get("answer", "") or ""), str(item.get("reference", "") or ""),
            str(item.get("question", "") or ""), item.get("citations"), item.get("points"), item.get("siblings"),
            str(item.get("graded_against") or "reference"), str(item.get("concept") or ""),
        )
    return GradingItem(*item)
