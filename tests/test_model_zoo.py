"""The model zoo (tests/support/model_zoo.py): every habit through study, quiz, grade and a YAML-only run,
asserting what the learner sees. The same cells make the table in benchmarks/RESULTS.md (benchmarks/model_zoo.py)."""

from __future__ import annotations

import json

import pytest

from tests.support.model_zoo import (
    BEHAVIOURS, CHECK, COMMANDS, GRADE, INVENTED, MUST_USE, QUIZ, run_zoo, write_glossary_config,
)


def model_output_shown(cell) -> bool:
    """Does the learner see the model's own words (not the offline model's)?"""
    data = cell.json
    if cell.command == "study":
        return "switches off a random subset of neurons" in data["markdown"]
    if cell.command == "quiz":
        return [i["question"] for i in data["items"]] == ["Why does dropout reduce overfitting?", "When is dropout applied?"]
    if cell.command == "grade":
        return data["feedback"] == GRADE["feedback"] and data["score"] == pytest.approx(0.9)
    return data["model"] == "openai/zoo" and "Dropout: switching off random neurons" in data["results"][-1]["raw"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("behaviour", MUST_USE)
def test_every_common_habit_is_used_on_every_command(tutor, tmp_path, behaviour, command):
    cell = run_zoo(tutor, behaviour, command, write_glossary_config(tmp_path / "config"))
    assert cell.outcome == "used", (cell.outcome, cell.stderr)
    assert model_output_shown(cell), cell.stdout[:800]
    if command == "study":
        assert cell.json["citations_verified"] >= 1 and cell.json["citations_unverified"] == 0


@pytest.mark.parametrize("command", ["study", "quiz"])
def test_answers_on_the_questions_own_line_are_read_without_a_fallback(tutor, tmp_path, command):
    """"1. Question? Answer: ..." on one line (and "Answer:" on its own line): CheckQuestions and Quiz read from
    it, with --no-fallback, so a reply that could not be read would be an error, not the offline model's."""
    cell = run_zoo(tutor, "inline_answers", command, write_glossary_config(tmp_path / "config"), extra=("--no-fallback",))
    assert cell.exit_code == 0 and cell.outcome == "used", (cell.outcome, cell.stderr)
    if command == "study":
        got = [(q["question"], q["answer"]) for q in cell.json["check_questions"]]
        assert got == [(q["question"], q["answer"]) for q in CHECK["questions"]]
    else:
        got = [(i["question"], i["answer"]) for i in cell.json["items"]]
        assert got == [(i["question"], i["answer"]) for i in QUIZ["items"]]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("behaviour", ["never_calls_tools", "unknown_tool", "rate_limited"])
def test_a_model_that_skips_or_misnames_tools_or_is_rate_limited_is_still_used(tutor, tmp_path, behaviour, command):
    cell = run_zoo(tutor, behaviour, command, write_glossary_config(tmp_path / "config"))
    assert cell.outcome == "used", (cell.outcome, cell.stderr)
    assert model_output_shown(cell)


@pytest.mark.parametrize("command", ["study", "quiz", "grade"])
def test_a_reply_cut_at_max_tokens_is_sent_back_once_then_the_offline_model_answers(tutor, tmp_path, command):
    cell = run_zoo(tutor, "truncated", command, write_glossary_config(tmp_path / "config"))
    assert cell.outcome == "fell back" and cell.exit_code == 0
    assert "could not read" in cell.stderr and "Traceback" not in cell.stderr
    assert not model_output_shown(cell)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_model_slower_than_the_timeout_falls_back_with_one_line(tutor, tmp_path, command):
    cell = run_zoo(tutor, "slow", command, write_glossary_config(tmp_path / "config"))
    assert cell.outcome == "fell back" and cell.exit_code == 0
    notice = [line for line in cell.stderr.splitlines() if "offline model instead" in line]
    assert len(notice) == 1 and "timed out" in notice[0]


def test_an_invented_citation_is_counted_and_never_listed_as_a_source(tutor, tmp_path):
    cell = run_zoo(tutor, "invents_citation", "study", write_glossary_config(tmp_path / "config"))
    assert cell.outcome == "used"
    lesson = cell.json
    assert lesson["citations_unverified"] >= 1 and lesson["citations_verified"] >= 1
    invented = INVENTED.strip("[]").split(" § ")[1]
    assert all(c["section"] != invented for c in lesson["citations"])
    assert json.dumps(lesson).count(invented) >= 1  # still in the text, marked as unverified


EXPECTED_COWORKERS = {"study": {"Course Notes Researcher", "Deep Learning Explainer", "Quiz Master"},
                      "quiz": {"Quiz Master"}, "grade": {"Fair Grader"}, "run": {"Glossary Writer"}}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("behaviour", ["strict", "react"])  # native tool calls, and ReAct text
def test_hierarchical_the_manager_delegates_and_the_models_work_is_used(tutor, tmp_path, behaviour, command):
    cell = run_zoo(tutor, behaviour, command, write_glossary_config(tmp_path / "config"), process="hierarchical")
    assert cell.outcome == "used", (cell.outcome, cell.stderr)
    assert model_output_shown(cell), cell.stdout[:800]
    assert set(cell.delegated_to) == EXPECTED_COWORKERS[command]


def test_the_zoo_names_every_behaviour_once():
    assert len(set(BEHAVIOURS)) == len(BEHAVIOURS) == 12 and set(MUST_USE) <= set(BEHAVIOURS)
