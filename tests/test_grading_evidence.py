"""The grader's evidence (tutor.grading.evidence) and its one decision (tutor.grading.decision), each on its
own: the alignment on exact words (the hashing word vectors) and on the real MiniLM, and the decision as a
pure function of evidence and probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.grading.decision import AT_LEAST_WRONG, CONFIDENT, banded, decide, expected_credit
from tutor.grading.evidence import Evidence, Word, gather
from tutor.grading.grader import word_states

DROPOUT = "Randomly drops neurons during training to prevent reliance on specific nodes."


def evidence(answer: str, point: str, given=(), terms=(), states=word_states) -> Evidence:
    texts = [answer, point]
    return gather(answer, point, dict(zip(texts, states(texts))), given, terms)


# --- Evidence ------------------------------------------------------------------------------------------------


def test_the_point_said_back_states_every_word_in_order():
    ev = evidence("It randomly drops neurons during training to prevent reliance on specific nodes.", DROPOUT)
    assert ev.recall == 1.0 and ev.in_order == 1.0 and ev.precision == 1.0
    assert not (ev.flipped or ev.substituted or ev.replaced or ev.wrong_numbers or ev.keyword_list)
    assert [w.how for w in ev.words] == ["same"] * len(ev.words)


def test_words_match_by_stem_and_by_misspelling():
    ev = evidence("Dropping neurons randomley while training", "Randomly drops neurons during training")
    how = {w.text: w.how for w in ev.words}
    assert how == {"randomly": "spelling", "drops": "stem", "neurons": "same", "during": "", "training": "same"}


def test_the_questions_words_are_aligned_but_earn_nothing():
    ev = evidence("Dropout is used in training.", "Dropout randomly drops neurons during training.", given=["dropout"])
    assert [w.text for w in ev.words if w.given] == ["dropout"]
    assert ev.recall == pytest.approx(1 / 5)  # "training" of randomly, drops, neurons, during, training


def test_a_flipped_negation_is_found_and_an_agreeing_one_is_not():
    flipped = evidence("It does not drop neurons during training.", "It drops neurons during training.")
    assert flipped.flipped == [("drops", "not drop")]
    same = evidence("The network cannot rely on particular nodes.", "It prevents the network from relying on particular nodes.")
    assert same.flipped == []
    aside = evidence("It drops neurons during training, not at test time.", "It drops neurons during training.")
    assert aside.flipped == []  # the negation is about words of the answer's own


def test_an_opposite_word_is_a_flip_and_both_poles_in_the_point_are_none():
    assert evidence("NMS keeps the box with the lowest score.", "NMS keeps the box with the highest score.").flipped \
        == [("highest", "lowest")]
    both = evidence("A big step overshoots the minimum and a small one makes training slow.",
                    "Too large a step can overshoot, too small a step makes training slow.")
    assert both.flipped == []


def test_a_term_in_a_points_words_place_is_a_substitution():
    ev = evidence("Dropout randomly drops the learning rate during training.", "Dropout randomly drops neurons during training.",
                  terms=["learn", "rate"])
    assert ev.substituted == [("neurons", "learning")] and ev.contradicted
    plain = evidence("Dropout randomly drops the learning rate during training.", "Dropout randomly drops neurons during training.")
    assert plain.substituted == [] and plain.replaced == [("neurons", "learning")]  # not a term: only replaced


def test_two_words_trading_places_are_a_substitution_and_clauses_reordered_are_not():
    point = "The salt crystals are squares with Xs on top."
    swapped = evidence("The squares crystals are salt with Xs on top.", point, given=["salt", "crystals"])
    assert swapped.substituted == [("salt", "squares")] and swapped.contradicted
    roles = evidence("Adds token information to position embeddings since transformers lack sequence order.",
                     "Adds position information to token embeddings since transformers lack sequence order.")
    assert roles.substituted == [("position", "token")]
    # neighbours trading places ("structured and processed") and clauses in another order are the same claim
    assert not evidence("Processed and structured data optimized for analytics.",
                        "Structured and processed data optimized for analytics.").substituted
    assert not evidence("Reduces recall but improves precision when the threshold increases.",
                        "Increasing the threshold improves precision but reduces recall.").substituted
    # a phrase moved with its word ("of a data lake" for "a data lake's") is no swap
    assert not evidence("It combines the structure of a warehouse with the flexibility of a data lake.",
                        "Data Lake House: Combines a data lake's flexibility with a warehouse's structure.",
                        given=["data", "lake", "house"]).substituted
    # in the learner's own sentence, the point's words come in any order
    assert not evidence("The advantage of a heat sink in our solar houses is that it would keep the heat in one place "
                        "and release it slower.", "A heat sink would absorb heat during the daytime and release the "
                        "heat during the nighttime to keep the house warmer longer.",
                        given=["advantage", "heat", "sink", "solar", "houses"]).substituted


def test_a_negations_scope_ends_at_a_second_coordinated_phrase():
    """"prevent vanishing gradients and enhance training stability": "enhance" is not prevented, so "make training
    less stable" says its opposite (it was read as "prevented enhance" = "less", the same claim)."""
    point = "Shortcut paths between layers to prevent vanishing gradients and enhance training stability."
    worse = evidence("Shortcut paths between layers that cause vanishing gradients and make training less stable.", point)
    assert ("enhance", "less") in worse.flipped, worse.flipped
    same = evidence("Shortcut paths between layers that prevent vanishing gradients and enhance training stability.", point)
    assert not same.flipped and not same.denied
    both = evidence("It does not drop neurons or weights.", "It drops neurons or weights.")
    assert both.flipped  # a short "not X or Y" still denies


def test_numbers_right_wrong_and_extra():
    right = evidence("L1 is 0.1 x 3.5 = 0.35 and L2 is 0.1 x 5.25 = 0.525.", "The L1 penalty is 0.35 and the L2 penalty is 0.525.")
    assert right.numbers == 2 and right.numbers_right and right.wrong_numbers == []
    wrong = evidence("The L1 penalty is 0.3 and the L2 penalty is 0.525.", "The L1 penalty is 0.35 and the L2 penalty is 0.525.")
    assert wrong.wrong_numbers == [("0.35", "0.3")] and not wrong.numbers_right
    close = evidence("The penalty is 0.3500.", "The penalty is 0.35.")
    assert close.numbers_right


def test_shuffled_words_lose_their_order_and_a_bare_list_is_no_sentence():
    shuffled = evidence("nodes specific on reliance prevent to training during neurons drops randomly", DROPOUT)
    assert shuffled.recall == 1.0 and shuffled.in_order < 0.35
    assert evidence("neurons, training, reliance, nodes", DROPOUT).keyword_list
    assert not evidence("regression: box coordinates; classification: class label", DROPOUT).keyword_list
    assert not evidence("drops random neurons in training", DROPOUT).keyword_list


@pytest.mark.slow
def test_close_meanings_match_on_the_real_model_and_opposites_do_not():
    from tutor.grading.grader import token_states_for
    from tutor.knowledge.embedder import MiniLMEmbedder

    states = token_states_for(MiniLMEmbedder())
    ev = evidence("It stops the run once validation performance begins to worsen.",
                  "Stops training when performance on the validation set starts to degrade.", states=states)
    assert {w.text: w.how for w in ev.words}["degrade"] == "meaning"
    flipped = evidence("It increases memory usage and slows down training.", "Reduces memory usage and speeds up training.",
                       states=states)
    assert ("reduces", "increases") in flipped.flipped


def test_a_negating_prefix_says_the_opposite_unless_a_negation_says_it_back():
    point = "A large network with non-linear activations can approximate any continuous function."
    linear = evidence("A large network with linear activations can approximate any continuous function.", point)
    assert linear.flipped == [("non-linear", "linear")]
    spaced = evidence("a large network with non linear activations can approximate any continuous function", point)
    assert spaced.flipped == [] and spaced.recall == 1.0  # "non linear" is "non-linear"
    swamp = "A poorly managed data lake where data becomes unusable due to lack of governance."
    ungoverned = evidence("an ungoverned data lake whose data is unusable", swamp)
    assert ungoverned.flipped == [] and {w.text: w.how for w in ungoverned.words}["governance"] == "meaning"


@pytest.mark.slow
def test_a_word_in_a_stated_frame_is_replaced_even_when_a_close_meaning_is_matched_elsewhere():
    from tutor.grading.grader import token_states_for
    from tutor.knowledge.embedder import MiniLMEmbedder

    point = "Dense vector representations of words or tokens that encode their semantic meanings."
    ev = evidence("Dense vector representations of images that encode their semantic meanings.", point, given=["words"],
                  states=token_states_for(MiniLMEmbedder()))
    assert ("tokens", "images") in ev.replaced  # "words" read in "semantic" must not move the frame


def test_a_denying_verb_dropped_is_a_doubt_never_a_contradiction():
    point = "LLMs trained on static data may lack current information."
    dropped = evidence("LLMs trained on static data always have current information.", point)
    assert dropped.doubts and not dropped.contradicted
    kept = evidence("LLMs trained on static data may not have current information.", point)
    assert not kept.doubts
    lessened = evidence("Trained on static data, LLMs have less current information.", point)
    assert not lessened.doubts


# --- The decision ----------------------------------------------------------------------------------------------


def made(recall=0.0, in_order=1.0, **kw) -> Evidence:
    words = [Word(f"w{k}", how="same" if k < round(recall * 10) else "", at=k) for k in range(10)]
    return Evidence("a point", words, recall, recall, kw.pop("precision", 1.0), in_order,
                    answer_words=kw.pop("answer_words", 10), **kw)


UNSURE = np.array([0.4, 0.2, 0.2, 0.2])


def test_nothing_written_is_incorrect_with_certainty():
    assert decide(None, UNSURE).verdict == "incorrect" and decide(None, UNSURE).confidence == 1.0


def test_the_point_said_back_is_correct_whatever_the_pair_model_reads():
    d = decide(made(recall=0.9), np.array([0.05, 0.05, 0.8, 0.1]))
    assert (d.verdict, d.reason) == ("correct", "said_back") and d.score >= 0.7


def test_a_contradiction_is_incorrect_whatever_meaning_reads():
    """The meaning model never saw a flipped near-copy: the words decide."""
    ev = made(recall=0.9, flipped=[("drops", "not drop")])
    assert (decide(ev, UNSURE).verdict, decide(ev, UNSURE).reason) == ("incorrect", "contradicted")
    assert decide(ev, np.array([0.9, 0.05, 0.03, 0.02])).verdict == "incorrect"


def test_another_topic_is_incorrect_but_other_words_on_the_topic_are_not():
    leaning_wrong = np.array([0.2, 0.2, 0.3, 0.3])
    assert decide(made(recall=0.0), leaning_wrong, similarity=0.1).reason == "off_topic"
    assert decide(made(recall=0.0), leaning_wrong, similarity=0.6).verdict == "unsure"  # own words on the topic


def test_right_numbers_are_correct():
    ev = made(recall=0.6, numbers=2, right_numbers=2)
    assert decide(ev, np.array([0.05, 0.05, 0.8, 0.1])).reason == "numbers"


def test_shuffled_or_a_bare_list_of_the_points_words_get_no_credit():
    assert decide(made(recall=1.0, in_order=0.1), UNSURE).reason == "no_sentence"
    assert decide(made(recall=0.6, keyword_list=True, precision=0.9), UNSURE).reason == "no_sentence"
    assert decide(made(recall=0.2, keyword_list=True, precision=0.2), UNSURE).reason != "no_sentence"  # own words


def test_another_concepts_point_said_back_is_that_concept_unless_meaning_reads_it_right():
    d = decide(made(recall=0.2), UNSURE, sibling=made(recall=0.9))
    assert (d.verdict, d.reason) == ("incorrect", "sibling")
    assert decide(made(recall=0.2), np.array([0.8, 0.1, 0.05, 0.05]), sibling=made(recall=0.9)).verdict == "unsure"


def test_meaning_decides_only_when_confident_and_wrong_needs_more_than_right():
    assert decide(made(recall=0.3), np.array([CONFIDENT, 0.1, 0.1, 0.05])).verdict == "correct"
    assert decide(made(recall=0.1), np.array([0.02, 0.03, 0.05, 0.9])).verdict == "incorrect"
    almost = AT_LEAST_WRONG - 0.05
    assert decide(made(recall=0.1), np.array([0.05, 1 - almost - 0.05, almost / 2, almost / 2])).verdict == "unsure"
    # A wrong reading of an answer that states most of the point is never "incorrect" from meaning alone.
    assert decide(made(recall=0.6, in_order=0.9), np.array([0.02, 0.03, 0.05, 0.9])).verdict != "incorrect"


def test_unsure_keeps_a_best_guess_and_strict_turns_it_into_a_verdict():
    d = decide(made(recall=0.3), UNSURE)
    assert d.verdict == "unsure" and d.score == pytest.approx(expected_credit(UNSURE))
    forced = decide(made(recall=0.3), UNSURE, strict=True)
    assert forced.verdict == "partially_correct" and forced.reason == "strict"


def test_scores_sit_in_the_verdicts_band():
    assert banded("correct", 0.0) == 0.7 and banded("correct", 1.0) == 1.0
    assert 0.4 <= banded("partially_correct", 0.5) < 0.7 and banded("incorrect", 1.0) < 0.4


def test_a_flip_decides_only_in_a_near_copy_of_a_short_point():
    """"does not drop neurons" said back is a contradiction; "if there is no error no update is made" in a longer
    explanation of a long reference is the learner's own reasoning: never a sure "incorrect" on those words."""
    point = "Dropout randomly drops neurons during training to prevent reliance on specific nodes."
    flipped = evidence("Dropout does not drop neurons during training to prevent reliance on specific nodes.", point)
    assert flipped.flipped and flipped.near_copy
    assert decide(flipped, np.array([0.9, 0.05, 0.03, 0.02])).reason == "contradicted"
    reference = ("The perceptron changes its weights only when it misclassifies an example: the change is proportional to "
                 "the error times the input, scaled by the learning rate. When the error is zero, the weights do not "
                 "change, and after enough epochs on separable data the updates stop. A bias input of one lets the "
                 "boundary move away from the origin.")
    answer = ("Each weight moves in proportion to the error times its input, scaled by the learning rate; if there is "
              "no error then no change is made, so the weights stay as they are for examples it already gets right, "
              "and with separable data it eventually stops updating.")
    long = evidence(answer, reference)
    assert not long.near_copy
    long.flipped = [("change", "no change")]  # what the aligner may read in "no change is made"
    decided = decide(long, np.array([0.8, 0.1, 0.05, 0.05]))
    assert decided.reason != "contradicted" and decided.verdict != "incorrect", decided


def test_the_belief_moves_the_score_never_the_verdict_and_ignores_the_pair_beyond_its_lengths():
    from tutor.grading.belief import FEATURES, Blend, shared_belief

    belief = shared_belief()
    assert isinstance(belief, Blend), "tutor/grading/belief.json is shipped: python -m tutor.grading.fit_belief"
    row = np.zeros(len(FEATURES))
    row[:4] = np.log([0.9, 0.05, 0.03, 0.02])
    row[4:10] = [0.2, 0.3, 0.2, 0.2, 0.3, 0.0]
    other = row.copy()
    other[:4] = np.log([0.02, 0.03, 0.05, 0.9])
    row[10] = other[10] = belief.hi + 10  # longer than any answer the pair model trained on: its reading is not weighed
    assert np.allclose(belief.probabilities(row), belief.probabilities(other))
    row[10] = other[10] = 10  # a short answer: it is
    assert not np.allclose(belief.probabilities(row), belief.probabilities(other))
    ev = evidence("Dropout randomly drops neurons during training to prevent reliance on specific nodes.",
                  "Dropout randomly drops neurons during training to prevent reliance on specific nodes.")
    pair = np.array([0.9, 0.05, 0.03, 0.02])
    low, high = (decide(ev, pair, believed=np.array(b)) for b in ([0.1, 0.1, 0.4, 0.4], [0.95, 0.03, 0.01, 0.01]))
    assert low.verdict == high.verdict == "correct" and low.score <= high.score


def test_a_terse_answer_in_its_own_forms_is_no_keyword_list_but_the_points_words_copied_are():
    point = "Dense vector representations of words or tokens that encode their semantic meanings."
    terse = evidence("Dense meaning-encoding word vectors", point)
    dump = evidence("dense vector representations words tokens encode semantic meanings", point)
    assert terse.keyword_list and not terse.verbatim
    assert dump.keyword_list and dump.verbatim
    pair = np.array([0.8, 0.1, 0.05, 0.05])
    assert decide(dump, pair).reason == "no_sentence"
    assert decide(terse, pair).reason != "no_sentence"


def test_meaning_alone_never_credits_an_answer_with_nothing_of_the_point_and_far_from_it():
    """The pair model misreads junk that repeats a term ("skip skip hop jump rope"): with no word of the point
    stated and the sentences far apart, its confident "correct" is not a verdict."""
    ev = evidence("skip skip hop jump rope", "Allows gradients to flow through shortcuts, solving vanishing gradient problems.")
    decided = decide(ev, np.array([0.9, 0.05, 0.03, 0.02]), similarity=0.1)
    assert decided.verdict != "correct", decided
    own = evidence("the error signal passes straight back through the identity path",
                   "Allows gradients to flow through shortcuts, solving vanishing gradient problems.")
    # nothing of the point found word by word or by meaning: the learner compares (never told it is wrong)
    assert decide(own, np.array([0.9, 0.05, 0.03, 0.02]), similarity=0.55).verdict == "unsure"
    said = evidence("the gradients pass straight back through the shortcut path",
                    "Allows gradients to flow through shortcuts, solving vanishing gradient problems.")
    assert decide(said, np.array([0.9, 0.05, 0.03, 0.02]), similarity=0.55).verdict == "correct"


def test_babble_is_words_the_course_never_uses_or_a_few_said_over_and_over():
    from tutor.grading.course import course_words
    from tutor.grading.text import babble

    known = course_words()
    assert babble("hamster trampoline waffle glitter", known)
    assert babble("relu relu relu ok ok", known)
    # a learner's own plain words are the course's words: never babble
    for answer in ("Too many weights, and it forgets where the pixels were.",
                   "It keeps pushing the updates the way they were already going, like a ball rolling downhill.",
                   "organise the data of an organisation so people can find it", "L1 L2", "z = Wx + b",
                   "CBOW context to target, skip-gram target to context", "it is trained layer by layer"):
        assert not babble(answer, known), answer


def test_a_point_opening_with_no_denies_and_a_reply_no_does_not():
    """"No neuron can rely on ..." denies, as "none can rely" does: no flip between them (the tutor told a learner
    to check "none can rely" against "no neuron can rely"); "No, because ..." is a reply, not a negation."""
    point = "No neuron can rely on specific other neurons being present."
    ev = evidence("it drops random neurons during training so none can rely on another", point)
    assert not ev.flipped and not ev.denied, ev
    assert evidence("Neurons rely on specific other neurons being present.", point).flipped
    assert not evidence("No, because dropout adds noise to the weights.", "Dropout adds noise to the weights.").flipped


def test_word_salad_is_the_points_words_in_no_sentences_order():
    from tutor.grading.text import salad

    point = "The salt crystals are squares with Xs on top."
    assert salad("crystals squares the xs with are salt on top.", point)
    assert not salad("The salt crystals are squares with Xs on top.", point)
    assert not salad("Xs on top of the salt crystals are squares", point)  # clauses moved
    assert not salad("squares with Xs", point)  # terse
    # a telegraphic answer in part its own words is no salad
    assert not salad("extra border pixels to control output size",
                     "Padding: Adding pixels around the image border to control the output size.")


def test_two_words_trading_places_in_a_word_for_word_copy_are_read():
    from tutor.grading.text import traded

    point = "Many tiny bubbles will rise from the calcite when the calcite contacts the cold acid."
    assert traded("Many tiny bubbles will rise from the cold when the calcite contacts the calcite acid.", point) == [
        ("calcite", "cold"), ("cold", "calcite")]
    assert traded(point, point) == []
    assert traded("CNNs and RNNs read sequences.", "RNNs and CNNs read sequences.") == []  # said the other way round
    assert traded("The crystals are a the same shape.", "The crystals are the a same shape.") == []  # small words


def test_a_few_of_the_points_words_alone_out_of_order_are_no_answer():
    from tutor.grading.text import bare_words

    point = "The crystals were square with Xs on the surface."
    assert bare_words("xs crystals surface square", point)  # no two of them neighbours in the point
    assert not bare_words("surface crystals square xs", point)  # keeps a phrase of the point: terse, read as any
    assert bare_words("coin, harder, scratch", "The harder coin will scratch the other.")
    assert not bare_words("crystals square xs surface", point)  # in the point's order: terse
    assert not bare_words("maximum output length", "Sets the maximum length of the output sequence.")
    assert not bare_words("regression: box coordinates; classification: class label",
                          "Classification Head: Assigns a class label; Regression Head: Predicts box coordinates.")
