"""Quiz items from the notes: grounded, deterministic per seed, one correct option, no giveaways."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from tutor.knowledge.chunking import chunk_file
from tutor.learning.quiz import (
    BLANK,
    GIVEAWAY_RATIO,
    QuizItem,
    extract_facts,
    generate_quiz,
    mentions,
    near_duplicate,
    normalize_space,
    note_text,
    pick_distractors,
    question_key,
    same_concept,
    section_texts,
)

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
SEEDS = range(20)
MARKUP = ("**", "`", "\\", "](", "<br")


def chunks_of(folder: Path):
    chunks = []
    for path in sorted(folder.glob("*.md")):
        chunks += chunk_file(path, path.name)
    return chunks


@pytest.fixture(scope="module")
def notes():
    if not any(KNOWLEDGE.glob("*.md")):
        pytest.skip(f"no course notes in {KNOWLEDGE} (knowledge/*.md) to make quizzes from")
    return chunks_of(KNOWLEDGE)


@pytest.fixture(scope="module")
def facts(notes):
    return extract_facts(notes)


@pytest.fixture(scope="module")
def quizzes(notes):
    """Every kind over many seeds, generated once for the module."""
    return {(kind, seed): generate_quiz(notes, 10, kind, seed) for kind in ("mcq", "short", "cloze", "mixed")
            for seed in SEEDS}


def all_items(quizzes):
    return [item for quiz in quizzes.values() for item in quiz]


# ---- the real notes -------------------------------------------------------------------------------
def test_the_notes_yield_many_facts_of_every_shape(facts):
    notes = {f.note for f in facts}
    assert {"glossary", "heading", "list"} <= notes
    assert len([f for f in facts if not f.is_list]) >= 100
    by_term = {f.term: f for f in facts if not f.is_list}
    assert by_term["Velocity"].definition == "The speed at which data is generated and processed."
    assert by_term["Velocity"].example.startswith("Real-time data from IoT devices")
    assert by_term["Consistency"].context == "CAP Theorem"
    assert by_term["Temperature"].definition == "Controls the randomness of the output."  # `### Temperature` + bullet
    assert by_term["XAI"].definition.startswith("Techniques ensuring")  # "XAI Definition" names XAI
    assert ["Volume", "Velocity", "Variety", "Veracity", "Value"] in [f.members for f in facts]
    assert ["ReLU", "sigmoid", "tanh"] in [f.members for f in facts]  # "Common activations include ..."
    # role labels are never asked about as terms
    assert not {"Example", "Process", "Advantages", "Limitations", "Formula", "Task", "Trade-offs"} & set(by_term)


def test_every_mcq_has_exactly_one_correct_and_distinct_options(quizzes):
    for seed in SEEDS:
        items = quizzes[("mcq", seed)]
        assert len(items) == 10
        for item in items:
            assert item.kind == "mcq" and 3 <= len(item.options) <= 5
            assert item.options.count(item.answer) == 1
            assert len({o.lower() for o in item.options}) == len(item.options)
            assert not any(near_duplicate(a, b) for i, a in enumerate(item.options) for b in item.options[i + 1 :])


def test_no_option_is_also_correct(quizzes, facts):
    definitions = [f for f in facts if not f.is_list]
    for item in all_items(quizzes):
        if item.kind != "mcq" or not item.question.startswith(("What do", "Which term", "In the notes on")):
            continue
        if item.question.startswith("What do"):  # options are definitions: none may define the asked term
            term = item.question.removeprefix("What does ").removeprefix("What do ").split(" refer to")[0]
            for option in item.options:
                if option == item.answer:
                    continue
                owners = [f for f in definitions if near_duplicate(option, f.definition.rstrip("."))]
                assert owners and not any(same_concept(f.term, term) for f in owners), (item.question, option)
                assert not mentions(option, term), (item.question, option)
        else:  # options are terms: none may be defined by the quoted definition, nor be the answer again
            quoted = item.question.split("\u201c", 1)[1].rsplit("\u201d", 1)[0]
            for option in item.options:
                if option == item.answer:
                    continue
                assert not same_concept(option, item.answer), (item.question, option)
                assert not any(f.term == option and normalize_space(f.definition.rstrip(".")) == quoted
                               for f in definitions), (item.question, option)


def test_list_questions_offer_one_member_of_the_list(quizzes, facts):
    lists = [f for f in facts if f.is_list]
    asked = [i for i in all_items(quizzes) if i.kind == "mcq" and i.question.startswith("Which of these is listed")]
    assert asked
    for item in asked:
        name = item.question.split("\u201c", 1)[1].split("\u201d", 1)[0]
        (group,) = [f for f in lists if f.term == name and (f.source, f.section) == (item.source, item.section)]
        assert item.answer in group.members
        assert not any(same_concept(o, m) for o in item.options if o != item.answer for m in group.members)


def test_the_correct_option_is_not_given_away_by_its_length(quizzes):
    for item in all_items(quizzes):
        if item.kind == "mcq" and item.question.startswith("What do"):
            longest = max(len(o) for o in item.options if o != item.answer)
            assert len(item.answer) <= GIVEAWAY_RATIO * longest + 10, item


def test_no_repeated_question_nor_fact_within_a_quiz(notes, quizzes):
    long_quizzes = [generate_quiz(notes, 40, kind, 3) for kind in ("mcq", "short", "cloze", "mixed")]
    for items in [*quizzes.values(), *long_quizzes]:
        questions = [" ".join(i.question.lower().split()) for i in items]
        assert len(set(questions)) == len(questions)
        explanations = [i.explanation for i in items]
        assert len(set(explanations)) == len(explanations)  # one fact, one item
    assert all(len(q) == 40 for q in long_quizzes)


def test_same_seed_same_quiz_and_other_seeds_other_quizzes(notes, quizzes):
    for kind in ("mcq", "short", "cloze", "mixed"):
        assert generate_quiz(notes, 10, kind, 5) == quizzes[(kind, 5)]
        assert [i.id for i in quizzes[(kind, 5)]] == [i.id for i in generate_quiz(notes, 10, kind, 5)]
        distinct = {tuple(i.id for i in quizzes[(kind, seed)]) for seed in SEEDS}
        assert len(distinct) == len(SEEDS)


def test_the_global_random_state_is_neither_used_nor_changed(notes):
    random.seed(1)
    before = random.getstate()
    first = generate_quiz(notes, 8, "mixed", 9)
    assert random.getstate() == before
    random.seed(2)
    assert generate_quiz(notes, 8, "mixed", 9) == first


def test_mixed_rotates_through_the_kinds(quizzes):
    for seed in SEEDS:
        assert [i.kind for i in quizzes[("mixed", seed)][:6]] == ["mcq", "short", "cloze"] * 2


def test_questions_stay_in_the_sections_asked_for(notes):
    wanted = [("03-cnns.md", "2. Convolutional Operation Concepts"), ("07-transformers.md", "3. Transformer Architecture")]
    for seed in range(5):
        for kind in ("mcq", "short", "cloze", "mixed"):
            items = generate_quiz(notes, 5, kind, seed, topic_sections=wanted)
            assert len(items) == 5
            assert all((i.source, i.section) in wanted for i in items), [(i.source, i.section) for i in items]


def test_too_few_facts_in_the_sections_falls_back_to_their_module(notes):
    wanted = [("02-training-neural-networks.md", "7. Precision-Recall Curve vs. ROC Curve")]
    for kind in ("mcq", "short", "cloze", "mixed"):
        items = generate_quiz(notes, 12, kind, 4, topic_sections=wanted)
        assert len(items) == 12
        assert all(i.source == "02-training-neural-networks.md" for i in items)
        in_section = [(i.source, i.section) in wanted for i in items]
        assert in_section[0] and in_section == sorted(in_section, reverse=True), kind  # the asked section first


def test_unknown_sections_give_no_items_and_bad_kinds_fail(notes):
    assert generate_quiz(notes, 5, "mcq", 1, topic_sections=[("nowhere.md", "Nothing")]) == []
    assert generate_quiz(notes, 0, "mcq", 1) == []
    with pytest.raises(ValueError, match="kind"):
        generate_quiz(notes, 5, "essay", 1)


def test_cloze_items_blank_the_term_and_do_not_leak_it(quizzes):
    cloze = [i for i in all_items(quizzes) if i.kind == "cloze"]
    assert len(cloze) >= 200
    for item in cloze:
        assert item.question.count(BLANK) == 1
        assert not mentions(item.question.replace(BLANK, " "), item.answer), item.question
        assert item.answer.lower() not in item.question.lower()
        assert item.options is None


def test_every_explanation_is_quoted_from_its_section(notes, quizzes):
    sections = {key: normalize_space(note_text(text)) for key, text in section_texts(notes).items()}
    for item in all_items(quizzes):
        assert item.explanation, item
        assert normalize_space(item.explanation) in sections[(item.source, item.section)], item


def test_no_markup_is_left_in_what_the_learner_reads(quizzes):
    for item in all_items(quizzes):
        for text in [item.question, item.answer, item.explanation, *(item.options or [])]:
            assert not any(m in text for m in MARKUP), text
            assert "  " not in text and text == text.strip()


def test_question_keys_are_stable_and_ignore_option_order(quizzes, notes):
    for seed in range(3):
        first = [question_key(i) for i in quizzes[("mixed", seed)]]
        assert first == [question_key(i) for i in generate_quiz(notes, 10, "mixed", seed)]
        assert len(set(first)) == len(first)
    item = quizzes[("mcq", 0)][0]
    reordered = QuizItem(**{**item.model_dump(exclude={"options"}), "options": list(reversed(item.options))})
    assert question_key(reordered) == question_key(item) and reordered.id == item.id


# ---- validators -----------------------------------------------------------------------------------
def mcq(**changes):
    fields = dict(kind="mcq", question="Which term is described as: the speed of data?",
                  options=["Velocity", "Volume", "Variety", "Veracity"], answer="Velocity",
                  explanation="Velocity: The speed at which data is generated and processed.")
    fields.update(changes)
    return QuizItem(**fields)


def test_a_valid_item_gets_a_stable_id():
    assert mcq().id == mcq().id and len(mcq().id) == 16
    assert mcq(question="Another question?").id != mcq().id
    assert mcq(id="made-up-by-a-model").id == mcq().id  # the id is always derived from the content
    assert QuizItem.model_validate_json(mcq().model_dump_json()) == mcq()


@pytest.mark.parametrize("changes, message", [
    ({"options": ["Velocity", "Volume"]}, "3-5 options"),
    ({"options": ["Velocity", "Volume", "Variety", "Veracity", "Value", "Vision"]}, "3-5 options"),
    ({"options": ["Volume", "Variety", "Veracity"]}, "exactly one option"),
    ({"options": ["Velocity", "Velocity", "Variety"]}, "exactly one option"),
    ({"options": ["Velocity", "velocity.", "Variety"]}, "nearly the same"),
    ({"options": ["Velocity", "Data Lake", "Data Lake House"]}, "nearly the same"),  # one inside the other
    ({"options": ["Velocity", "the speed of data in motion", "speed of data in motion"]}, "nearly the same"),
    ({"options": ["Velocity", "Local Receptive Field", "Local Receptive Fields"]}, "nearly the same"),  # plural
    ({"options": None}, "3-5 options"),
])
def test_bad_multiple_choice_items_are_rejected(changes, message):
    with pytest.raises(ValidationError, match=message):
        mcq(**changes)


@pytest.mark.parametrize("fields, message", [
    (dict(kind="short", question="Explain Velocity.", answer="The speed of data.", options=["a", "b", "c"]), "no options"),
    (dict(kind="cloze", question="Fill in the blank: the speed of data.", answer="Velocity"), "blank"),
    (dict(kind="cloze", question="Fill in the blank: _____ (Velocity) is the speed of data.", answer="Velocity"),
     "must not contain its answer"),
    (dict(kind="cloze", question="Velocity is _____ speed of data.", answer="the"), "stopword"),
    (dict(kind="computed", question="What is 2 + 2?", answer="4", options=["4", "5", "6"]), "no options"),
])
def test_bad_items_of_other_kinds_are_rejected(fields, message):
    with pytest.raises(ValidationError, match=message):
        QuizItem(**fields)


# ---- a small note written here, so the suite does not rest on the real notes alone ----------------
SYNTHETIC = """\
# Optimisation Basics

## 1. Descent Methods

- **Gradient Descent**: Moves the weights against the gradient to reduce the loss.
  - *Example*: Training a linear regression with a fixed step.
- **Momentum**: Accumulates past gradients so updates keep their direction.
- **Nesterov Momentum**: Looks ahead before computing the gradient of the loss.
- **Adagrad**: Scales each step by the history of squared gradients.
- **Example**: Any of these can train a small network.
- **Loss Formula**: `L = 1/n * sum((y - y_hat)^2) = {mse}`

## 2. Batch vs. Online Learning

### Batch Learning

- Updates the model once per pass over the whole training set.
- **Advantages**:
  - Stable gradient estimates.

### Online Learning

- Updates the model after every single example as it arrives.

## 3. Schedules and Tricks

A warm-up schedule is a gradual increase of the learning rate at the start of training.
Common schedules include step decay, cosine annealing, and linear warm-up.

- **Weight Decay**: Shrinks weights toward zero on every update to curb overfitting.
- **Gradient Clipping**: Caps the gradient norm so one bad batch cannot blow up training.
- **Early Stopping**: Halts training once the validation loss stops improving.
- **Label Smoothing**: Softens one-hot targets; Momentum is not involved.

## 4. Loss Landscapes

**Landscape Features:**

- **Saddle Point**: A point where the gradient is zero but which is neither a minimum nor a maximum.
- **Plateau**: A flat region where gradients stay close to zero for many steps.
- **Sharp Minimum**: A narrow valley that tends to generalise worse than a flat one.
"""


@pytest.fixture
def synthetic(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "optim.md").write_text(SYNTHETIC)
    return chunks_of(folder)


def test_facts_from_a_small_note(synthetic):
    facts = extract_facts(synthetic)
    by_term = {f.term: f for f in facts if not f.is_list}
    assert by_term["Gradient Descent"].definition == "Moves the weights against the gradient to reduce the loss."
    assert by_term["Gradient Descent"].example == "Training a linear regression with a fixed step."
    assert by_term["Batch Learning"].definition == "Updates the model once per pass over the whole training set."
    assert by_term["Warm-up schedule"].definition.startswith("A gradual increase")  # "A warm-up schedule is a ..."
    assert "Example" not in by_term and "Advantages" not in by_term
    assert "Loss Formula" not in by_term  # formula garbage is not a definition
    lists = {f.term: f.members for f in facts if f.is_list}
    assert lists["Common schedules"] == ["step decay", "cosine annealing", "linear warm-up"]
    assert lists["Descent Methods"] == ["Gradient Descent", "Momentum", "Nesterov Momentum", "Adagrad"]
    assert lists["Landscape Features"] == ["Saddle Point", "Plateau", "Sharp Minimum"]  # under a bold line
    assert by_term["Plateau"].context == "Landscape Features"


def test_distractors_never_name_the_answer(synthetic):
    facts = extract_facts(synthetic)
    momentum = next(f for f in facts if f.term == "Momentum")
    for seed in range(20):
        options = pick_distractors(momentum, facts, random.Random(seed), "definition", count=5)
        assert options and not any("momentum" in o.lower() for o in options)  # not Label Smoothing's
        terms = pick_distractors(momentum, facts, random.Random(seed), "term", count=5)
        assert "Nesterov Momentum" not in terms  # a variant of the answer is not a fair wrong answer
        assert not any(same_concept(t, "Momentum") for t in terms)


def test_quizzes_from_a_small_note(synthetic):
    sections = {key: normalize_space(note_text(text)) for key, text in section_texts(synthetic).items()}
    for kind in ("mcq", "short", "cloze", "mixed"):
        quizzes = [generate_quiz(synthetic, 6, kind, seed) for seed in range(10)]
        assert all(len(q) == 6 for q in quizzes), kind
        assert len({tuple(i.question for i in q) for q in quizzes}) > 1
        for item in (i for q in quizzes for i in q):
            assert normalize_space(item.explanation) in sections[(item.source, item.section)]
            assert (item.kind == kind) or kind == "mixed"
    shorts = [i for seed in range(10) for i in generate_quiz(synthetic, 8, "short", seed)]
    pair = next(i for i in shorts if i.question.startswith("What is the difference"))
    assert pair.question == "What is the difference between Batch Learning and Online Learning?"
    assert "once per pass" in pair.answer and "every single example" in pair.answer


def test_a_quiz_larger_than_the_notes_returns_what_there_is(synthetic):
    items = generate_quiz(synthetic, 200, "mixed", 0)
    assert 10 <= len(items) < 200
    assert len({i.question for i in items}) == len(items)
