"""One decision, readable top to bottom: the evidence and the pair model's calibrated reading become the
verdict, the score and the confidence.

The first case that holds decides:

    nothing written                                  incorrect   (certain)
    nothing said: at most one word beyond the question's, none of the point's, the sentence far from the point;
    or, against the notes, little of the point in words the course never uses or a few said over and over
    ("hospital lawyer banana qwe", "stop stop stop go go go")
                                                     incorrect
    a flipped negation, a substituted term, a wrong number in a near-copy of a short point (about its
    length, mostly its words), a comparison's sides swapped
                                                     incorrect   ("contradicted": the feedback names it; the
                                                                  meaning model, trained on no near-copies,
                                                                  cannot read these, so the words decide)
    (the same in a longer answer may be the learner's own explanation: never "correct" by meaning, at most unsure)
    the point's words without a sentence (a bare list of them, shuffled)
                                                     incorrect   (no credit)
    (a list of names not said back is never "correct" by meaning: at most partly correct, else unsure)
    the point's numbers, all right                   correct
    the point said back (most words, in order, none replaced); in a comparison, each side its own point, the
    sides in whatever order                          correct
    another concept's point said back instead        incorrect   (the feedback names it), unless meaning
                                                                  reads the answer as right: unsure
    a near-copy with one of the point's words replaced by a word that is no term
                                                     unsure      (meaning cannot tell a paraphrase from a swap)
    no word of the point, nothing near its words' meanings, the sentence far from it (cosine below UNRELATED)
                                                     incorrect   ("off_topic": "purple monkey dishwasher")
    the pair model, calibrated: P(correct) >= CONFIDENT, the answer grounded (a third of the point's words
        stated, or the sentences' cosine at least OFF_TOPIC)                 correct
        P(correct or incomplete) >= CONFIDENT, part of the point stated (not most of it read as right)
                                                                            partially correct
            ... where the answer's own words deny the point's ("we never switch neurons off"), or where meaning
            leans to correct and the words find less than most of the point (own words, or half an answer: it
            cannot tell which)                                              unsure (best guess at most DENIED_GUESS)
        P(contradictory or unrelated) >= AT_LEAST_WRONG, most of the point not stated   incorrect
    none of the point stated, another topic (sentence cosine below OFF_TOPIC), meaning leaning wrong
                                                     incorrect   ("off_topic")
    anything else                                    unsure, with a best-guess score (no more than an even
                                                                  guess where no word of the point is stated
                                                                  and the sentence is no paraphrase of it; below
                                                                  partly right where little of it is stated and
                                                                  the sentence reads about something else)

and then a comparison answered for one side only (it names one compared term and never the other, and states
little of the other's point): at most partially correct ("one_side").

Errors are not symmetric: telling a right learner they are wrong is the worst a tutor can do. So a verdict
of "incorrect" from meaning alone needs more confidence than "correct", and needs the answer not to state
most of the point; where the evidence and the pair model disagree, the grade is unsure, never a guess.
The score is the expected credit, P(correct) + PARTIAL_CREDIT x P(incomplete), of the belief (`believed`,
tutor/grading/belief.py: the pair model's reading and the evidence weighed by a fit on questions the pair model
never saw; the evidence alone for answers longer than those it trained on), placed in the verdict's band. The
verdicts read the pair model's calibrated probabilities: the belief moves the score, never the verdict.
`strict` turns unsure into the verdict its best-guess score earns (for whoever needs one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutor.grading.evidence import FRAME_KEPT, Evidence
from tutor.grading.model import CORRECT_AT, PARTIAL_AT, PARTIAL_CREDIT, verdict_for

SAID_BACK = 0.8  # share of the point's words stated (in order, none replaced) from which it is said back
IN_ORDER = 0.7  # ... with at least this share of its word pairs in the point's order
CLAUSES_MOVED = 0.75  # neighbours in order from which words out of order overall are clauses moved, not shuffled
SHUFFLED = 0.6  # word pairs in the point's order below this (about half: random): the words without the sentence
OWN_WORDS_LISTED = 0.9  # a word list is the point's own words when this share of its words states the point
OFF_TOPIC = 0.3  # sentence cosine below which an answer that states none of the point is about something else
OFF_TOPIC_RECALL = 0.2
UNRELATED = 0.2  # no word of the point, its words' meanings and the sentence this far: another subject, whatever meaning reads
STATES_PART = 0.3  # share of the point's words an answer states for meaning to call it partly correct
STATES_MOST = 0.6  # ... and below which it may be partly correct though meaning leans to correct
SIBLING_MARGIN = 0.3  # another point stated by this much more than the one asked, and said back
CONFIDENT = 0.75  # calibrated P of correct or partly correct from which the pair model's reading is a verdict
AT_LEAST_WRONG = 0.9  # calibrated P(contradictory + unrelated) from which meaning alone says wrong
FOUND_SOME = 0.2  # the share of the point found in an answer (by words and their meanings) below which meaning alone never credits it
DENIED_GUESS = 0.69  # the best guess, no higher than partly right, where meaning reads partly right but cannot decide
NOTHING_STATED_GUESS = 0.5  # the best guess, at most, where the answer states no word of the point (meaning alone)
ELSEWHERE_GUESS = 0.35  # ... where it states little of it and its sentence is about something else (below partly right)
PARAPHRASE = 0.4  # sentence cosine from which MiniLM reads two texts as saying the same thing
EVIDENCE = 0.95  # the confidence of a verdict the evidence settles (measured on the tuning split)


@dataclass(frozen=True)
class Decision:
    verdict: str  # correct, partially_correct, incorrect, unsure
    score: float  # 0..1; for unsure, the best guess
    confidence: float
    reason: str  # blank, nothing_said, no_sentence, contradicted, numbers, said_back, sibling, off_topic, meaning,
    # one_side, unsure


def expected_credit(pair: np.ndarray) -> float:
    """P(correct) + PARTIAL_CREDIT x P(incomplete) of the pair model's calibrated (4,) probabilities."""
    return float(np.clip(pair[0] + PARTIAL_CREDIT * pair[1], 0.0, 1.0))


def banded(verdict: str, credit: float) -> float:
    """The score in the verdict's band, placed in it by the expected credit."""
    if verdict == "correct":
        return round(CORRECT_AT + (1 - CORRECT_AT) * credit, 4)
    if verdict == "partially_correct":
        return round(PARTIAL_AT + min(credit, 0.99) * (CORRECT_AT - PARTIAL_AT), 4)
    if verdict == "incorrect":
        return round(min(credit, 0.99) * PARTIAL_AT, 4)
    return round(credit, 4)


def said_back(ev: Evidence) -> bool:
    return (ev.recall >= SAID_BACK and ev.in_order >= IN_ORDER and not ev.replaced and not ev.contradicted
            and not ev.doubts)


def no_sentence(ev: Evidence) -> bool:
    """The point's own words without its sentence: a bare list of them copied as they stand ("dense meaning-encoding
    word vectors" says them in its own forms: a terse answer), or a short point's words copied and shuffled (in a
    long reference, whose words recur across its sentences, a paraphrase's order says nothing), or the point's words
    all but none, every small word too, in no sentence's order (`text.salad`: the words a question leaves to the
    answer are often one or two, and always in order), or a few of its words alone, out of its order
    (`text.bare_words`: "coin, harder, scratch")."""
    out_of_order = ev.in_order < SHUFFLED or (ev.global_order < SHUFFLED and ev.in_order < CLAUSES_MOVED)
    shuffled = len(ev.stated) >= 5 and ev.lexical_recall >= SAID_BACK - 0.2 and out_of_order and ev.near_copy
    return ev.salad or ev.bare or ev.verbatim and ((ev.keyword_list and ev.precision >= OWN_WORDS_LISTED) or shuffled)


def decide(ev: Evidence | None, pair: np.ndarray, sibling: Evidence | None = None, strict: bool = False,
           similarity: float = 1.0, swapped: bool = False, believed: np.ndarray | None = None,
           asked: float = 0.0, babble: bool = False, one_side: bool = False, sides_said_back: float = 0.0) -> Decision:
    """`decided` below; then a comparison answered for one side only (`one_side`: the answer names one of the
    compared terms, never the other, and states little of the other's point) is at most partly correct: "Horizontal
    scaling adds more servers" is right as far as it goes, and the question asked how it differs from vertical."""
    decision = decided(ev, pair, sibling, strict, similarity, swapped, believed, asked, babble, sides_said_back)
    if one_side and decision.verdict == "correct":
        credit = expected_credit(pair if believed is None else believed)
        return Decision("partially_correct", banded("partially_correct", credit), decision.confidence, "one_side")
    return decision


def decided(ev: Evidence | None, pair: np.ndarray, sibling: Evidence | None = None, strict: bool = False,
            similarity: float = 1.0, swapped: bool = False, believed: np.ndarray | None = None,
            asked: float = 0.0, babble: bool = False, sides_said_back: float = 0.0) -> Decision:
    """The verdict for an answer: `ev` its evidence against the point it states best (None: nothing written),
    `pair` the pair model's calibrated P(correct, incomplete, contradictory, unrelated), `sibling` its evidence
    against the other concept's point it states best, `similarity` the cosine of the two texts' sentence
    embeddings (MiniLM puts a paraphrase above 0.4 and another topic below 0.3), `swapped` whether a comparison's
    sides were given each other's definitions, `asked` the cosine of the answer's and the question's sentence
    embeddings (an answer on the question's subject is never "about something else", whatever point was picked),
    `babble` whether the answer's words make no answer (most of them words the course never uses, or a few said
    over and over: `text.babble`), `sides_said_back` the share of a comparison's sides that say back their own
    point (one is enough to make the answer a sentence: CBOW's side alone, in the notes' words, is no shuffle)."""
    credit = expected_credit(pair if believed is None else believed)
    wrong = float(pair[2] + pair[3])
    if ev is None:
        return Decision("incorrect", 0.0, 1.0, "blank")
    if ev.answer_words <= 1 and ev.recall == 0 and similarity < OFF_TOPIC:  # "I do not know", "no idea": nothing
        return Decision("incorrect", banded("incorrect", min(credit, 0.25)), EVIDENCE, "nothing_said")
    if babble and ev.recall < STATES_PART and ev.soft_recall < STATES_PART and not ev.quoted:  # "stop stop stop go go go"
        return Decision("incorrect", banded("incorrect", min(credit, 0.25)), EVIDENCE, "nothing_said")
    if ev.contradicted and (ev.near_copy or swapped or ev.traded):  # a flipped or swapped near-copy: the words decide
        return Decision("incorrect", banded("incorrect", min(credit, 0.5)), EVIDENCE, "contradicted")
    # a "not" or another term in a longer answer, or a denying verb dropped: maybe the opposite, maybe an explanation
    doubted = ev.contradicted or bool(ev.doubts) or bool(ev.denied)
    # where the answer states no word of the point and its sentence is not as close as a paraphrase, meaning alone
    # reads it, and it reads nonsense as right as often as not ("Skipping class helps me sleep more" at 0.87): an
    # unsure grade's best guess is then no more than even (a right answer in other words sits closer: SciEntsBank)
    far = ev.recall == 0 and not ev.quoted and similarity < PARAPHRASE
    guess = min(credit, NOTHING_STATED_GUESS) if far else credit
    # ... and below partly right where little of the point is stated and the sentence reads about something else
    # (another question's answer: "Many tiny bubbles will rise from the calcite" to how a rock and a mineral differ)
    if ev.recall < STATES_PART and not ev.quoted and similarity < OFF_TOPIC:
        guess = min(guess, ELSEWHERE_GUESS)
    if no_sentence(ev) and not sides_said_back:
        return Decision("incorrect", banded("incorrect", min(credit, 0.5)), EVIDENCE, "no_sentence")
    if ev.numbers_right and ev.recall >= FRAME_KEPT:
        return Decision("correct", banded("correct", max(credit, ev.recall)), EVIDENCE, "numbers")
    if said_back(ev) or (sides_said_back == 1.0 and not ev.contradicted and not ev.denied):
        return Decision("correct", banded("correct", max(credit, ev.recall)), EVIDENCE, "said_back")
    if sibling is not None and said_back(sibling) and sibling.recall >= ev.recall + SIBLING_MARGIN:
        if wrong + pair[1] >= 0.5:  # another concept's point said back, and meaning does not read it as right
            return Decision("incorrect", banded("incorrect", min(credit, 0.5)), max(wrong, 0.5), "sibling")
        return _unsure(guess, float(pair[0]), strict)
    if ev.replaced and ev.kept >= FRAME_KEPT and ev.near_copy:  # a near-copy with a word replaced: meaning can't tell
        return _unsure(guess, float(pair[0]), strict)
    elsewhere = max(similarity, asked)
    if ev.quoted:  # a piece of the point as it stands ("z = Wx + b"): never about something else
        elsewhere = 1.0
    if ev.recall == 0 and ev.soft_recall < UNRELATED and elsewhere < UNRELATED:  # nothing of the point, another subject
        return Decision("incorrect", banded("incorrect", min(credit, 0.25)), min(1.0, 1.0 - elsewhere), "off_topic")
    if wrong >= 0.5 and ev.recall < OFF_TOPIC_RECALL and similarity < OFF_TOPIC and not ev.quoted:  # about something else
        return Decision("incorrect", banded("incorrect", credit), min(1.0, max(wrong, 1.0 - similarity)), "off_topic")
    # meaning alone never credits an answer that states none of the point's words and reads far from it
    # ("skip skip hop jump rope" against the skip connection point): the pair model misreads such text
    grounded = ev.recall >= STATES_PART or similarity >= OFF_TOPIC
    # ... nor one in which nothing of the point is found, word by word or by meaning ("Horizontal is flat and vertical
    # goes up and down" read as right at 0.86): the learner compares it with the key point
    found = ev.soft_recall >= FOUND_SOME or ev.quoted
    # ... nor a list of names ("data lake, data warehouse, structured, unstructured, S3" to how the two differ, read as
    # right at 0.86): names say nothing of how they relate; said back, the point's own list was decided above
    if pair[0] >= CONFIDENT and not doubted and grounded and found and not ev.listed:
        return Decision("correct", banded("correct", credit), float(pair[0]), "meaning")
    # partly right: meaning reads it incomplete, and part of the point is stated. Where meaning leans to correct
    # instead with less than most of the point found (a learner's own words as often as half an answer), or where the
    # answer's own words deny the point's ("we never switch neurons off": no "on the right track"), the learner
    # checks, the best guess no higher than partly right
    partly = (pair[1] >= CONFIDENT or pair[0] + pair[1] >= CONFIDENT) and ev.recall >= STATES_PART
    if partly and pair[1] > pair[0] and not (ev.contradicted or ev.denied):
        return Decision("partially_correct", banded("partially_correct", credit), float(pair[0] + pair[1]), "meaning")
    if partly and (pair[1] > pair[0] or ev.recall < STATES_MOST):
        return _unsure(min(guess, DENIED_GUESS), float(pair[0] + pair[1]), strict)
    if wrong >= AT_LEAST_WRONG and ev.recall < FRAME_KEPT:
        return Decision("incorrect", banded("incorrect", credit), wrong, "meaning")
    return _unsure(guess, float(max(pair[0] + pair[1], wrong)), strict)


def _unsure(credit: float, confidence: float, strict: bool) -> Decision:
    if strict:
        verdict = verdict_for(credit)
        return Decision(verdict, banded(verdict, credit), confidence, "strict")
    return Decision("unsure", round(credit, 4), confidence, "unsure")
