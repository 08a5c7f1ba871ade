"""The sentence that answers a learner's question, chosen among the candidate lines (`tutor.llms.answer`).

Each candidate is read as a few features (`FEATURES`): how close it is in meaning to the question (MiniLM), whether
it says what the question asks (the reason for why, the consequence for what happens if, the weakness, how it is
done), whether it holds the question's rarer words in its term or anywhere, whether its passage is the one the
search ranked best or second, whether it defines what a "what is" question names, whether it is an example (asked
for or not), a misconception's correction, plain words when simpler words were asked, the companion's, on a
follow-up's topic. The lead is the candidate of highest `WEIGHTS` . features. `python -m benchmarks.fit_lead` fits
them as a conditional logit on the tuning sets' 184 questions (ask_set, ask_set2, the follow-ups' second turns; never
ask_set3): the fit chose the right line less often than the hand weights (five-fold 0.71-0.73 against 0.739, with
three more features tried, the passage's retrieval score, the closest line, the heading's words), so the hand
weights stay: what misses is what these features cannot see (a search that ranks the wrong passage first).
Never an editor's note (a line opening with ">"); on a follow-up, a line on its topic while any is left.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tutor.knowledge.chunking import TERM_LINE
from tutor.knowledge.companion import Companion, names_in
from tutor.llms import asking as ask
from tutor.llms.compose import content_words, mentions

QUESTION_WORDS = frozenset(
    "happen happens happened need needs needed work works mean means meant used using use uses make makes made "
    "help helps exactly really actually anything something thing things way ways kind kinds good bad better "
    "different difference differ same important matter matters example examples time times".split()
)

FEATURES = ("meaning", "asked_intent", "mechanism", "term_words", "any_words", "top_passage", "second_passage",
            "defines_it", "example_asked", "example_not_asked", "correction", "simpler", "companion", "about",
            "judgement_not_asked", "defines_another", "other_direction", "same_direction", "numbers_said")
# the weights chosen by hand on ask_set.jsonl (commits before 2026-12-07 night)
HAND = {"meaning": 1.0, "asked_intent": 0.2, "mechanism": 0.15, "term_words": 0.1, "any_words": 0.1, "top_passage": 0.3,
        "second_passage": 0.2, "defines_it": 0.2, "example_asked": 0.3, "example_not_asked": -0.3, "correction": -0.4,
        "simpler": 0.4, "companion": -0.05, "about": 0.3, "judgement_not_asked": -0.25,
        "defines_another": -0.2, "other_direction": -0.25, "same_direction": 0.2, "numbers_said": 0.2}
WEIGHTS = HAND


def choose_lead(question: str, pool: list[Any], notes: list[Any],
                about_ideas: tuple[str, list, Companion | None] = ("", [], None), weights: dict | None = None) -> Any:
    """The candidate of `pool` that answers `question` (see the module's docstring)."""
    fit, table = lead_features(question, pool, notes, about_ideas)
    w = np.array([(weights or WEIGHTS)[f] for f in FEATURES])
    return fit[int(np.argmax(table @ w))]


def lead_features(question: str, pool: list[Any], notes: list[Any],
                  about_ideas: tuple[str, list, Companion | None] = ("", [], None)) -> tuple[list[Any], np.ndarray]:
    """(the candidates a lead may be, their FEATURES as rows)."""
    about, ideas, companion = about_ideas
    words = [w for w in content_words(question) if w not in QUESTION_WORDS]
    ranks = {id(p): i for i, p in enumerate(notes)}  # the search's order
    n = len(pool)  # a word's weight: its rarity among the candidates, 0 to 1
    weight = {w: float(np.log((n + 1) / (sum(1 for c in pool if mentions(c.read_as, w)) + 1)) / np.log(n + 1))
              for w in words}
    asked = [(ask.WHY, ask.REASON), (ask.EFFECT_Q, ask.EFFECT), (ask.PROBLEM_Q, ask.PROBLEM)]
    intents = [says for q, says in asked if q.search(question)]
    how = bool(ask.HOW.search(question))
    example, yes_no = bool(ask.EXAMPLE.search(question)), bool(ask.YES_NO.search(question))
    simpler = bool(ask.SIMPLER.search(question))
    define = bool(ask.DEFINE.search(question))
    downside, upside = bool(ask.PROBLEM_Q.search(question)), bool(ask.UPSIDE_Q.search(question))

    named_terms = define and any(_term(c) and _term_named(question, _term(c)) for c in pool)

    def row(c: Any) -> list[float]:
        text = c.text
        term = text.split(":", 1)[0] if ":" in text[:70] else ""
        rank = ranks.get(id(c.passage), 9) if not c.companion else 9
        is_example = text.startswith("For example:") or bool(ask.EXAMPLE_LINE.search(text) or ask.NAMES_A_CASE.match(text))
        correction = text.startswith("It is not true that")
        return [
            c.sim,
            float(sum(1 for says in intents if says.search(text))),
            float(how and bool(ask.MECHANISM.search(text))),
            sum(weight[w] for w in words if mentions(f"{c.passage.subsection} {term}", w)),
            sum(weight[w] for w in words if mentions(c.read_as, w)),
            float(rank == 0),
            float(rank == 1),
            float(define and _term_named(question, _term(c))),
            float(example and is_example),
            float(is_example and not example),
            float(correction and not yes_no),
            float(simpler and c.companion and not is_example and not correction),
            float(c.companion),
            float(bool(about) and _on_topic(c, about, ideas, companion)),  # a follow-up is about the previous topic
            float(not c.companion and _judged(text, downside, upside, define)),
            float(named_terms and bool(_term(c)) and not _term_named(question, _term(c))),
            float(ask.directions(question, text) < 0),
            float(ask.directions(question, text) > 0),
            float(ask.numbers_said(question, text)),
        ]

    fit = [c for c in pool if not c.text.lstrip().startswith(">")] or pool
    if about:  # a follow-up is answered about the previous topic while anything new is left to say of it
        fit = [c for c in fit if _on_topic(c, about, ideas, companion)] or fit
    return fit, np.array([row(c) for c in fit], dtype=np.float64).reshape(len(fit), len(FEATURES))


def _judged(text: str, downside: bool, upside: bool, define: bool) -> bool:
    """The line judges the thing the other way than the question asks ("Advantages: No retraining required" for
    "where does in-context learning fall short?"), or judges it at all where the question asks what the thing is
    ("Two-Stage Detectors: Disadvantages: Slower ..." for "what are two-stage detectors?", "BoW — **Limitation**:
    Ignores word order" for "what is bag of words?"). A downside asked in words no pattern lists ("is it slow?") is
    no reason to keep a downside out, so outside "what is" questions only the opposite judgement counts."""
    label = f"{ask.facet(text)}:"
    good, bad = bool(ask.UPSIDE.match(label)), bool(ask.DOWNSIDE.match(label))
    if define:
        return good and not upside or bad and not downside
    return good and downside and not upside or bad and upside and not downside


def _on_topic(c: Any, about: str, ideas: list, companion: Companion | None) -> bool:
    """The line names the topic, or is the companion's explanation of its idea."""
    return names_in(about, c.read_as) or any(companion is not None and companion.for_passage(
        c.passage.source, c.passage.section, c.passage.subsection) is e for e in ideas)


def _term(c: Any) -> str:
    """The term a notes line defines ("Vertical Scaling" of "**Vertical Scaling**: ..."), or ""."""
    m = TERM_LINE.match(c.text)
    return (m["bold"] or m["plain"]).strip() if m and not c.companion else ""


def _term_named(question: str, term: str) -> bool:
    """The question names the term: every word of it, or of its bracketed form ("LSTM (Long Short-Term Memory)")."""
    forms = [f for f in (re.sub(r"\s*\(.*?\)\s*", " ", term).strip(), *re.findall(r"\((.*?)\)", term)) if f]
    asked = {t.lower() for t in _NUMBERED.findall(question)}
    return any(content_words(f) and all(mentions(question, w) for w in content_words(f))
               and {t.lower() for t in _NUMBERED.findall(f)} <= asked for f in forms)


_NUMBERED = re.compile(r"\b\d+[a-z]?\b", re.I)  # "2D" of "2D Convolution": "3d convolutions" does not name it
