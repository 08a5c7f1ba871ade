"""Reading a model's reply into the task's model, whatever its habit (tutor.crew.reading), and end to end."""

from __future__ import annotations

import json

import pytest

from tests.support.fake_llm import ScriptedLLMServer, text
from tutor.crew.outputs import Answer, CheckQuestions, Lesson
from tutor.crew.reading import Unreadable, citations_in, read_output
from tutor.grading.model import Grade
from tutor.learning.quiz import Quiz

GRADE = {"score": 0.8, "verdict": "correct", "feedback": "Good: you said why."}
LESSON_MD = ("# Dropout\n\nDropout switches off random neurons while training, so none can rely on another "
             "[02-training-neural-networks.md § 5. Regularization Techniques to Prevent Overfitting].")


@pytest.mark.parametrize("reply", [
    json.dumps(GRADE),
    f"```json\n{json.dumps(GRADE)}\n```",
    f"<think>The answer names the reason, so it is correct.</think>\n{json.dumps(GRADE)}",
    f"Thinking: the answer is fine.\n\n{json.dumps(GRADE)}",
    f"Here is my grade:\n{json.dumps(GRADE)}\nLet me know if you need more.",
    "{'score': 0.8, 'verdict': 'correct', 'feedback': 'Good: you said why.'}",  # a Python dict
    "Final Answer: " + json.dumps(GRADE),
    "Score: 0.8\nVerdict: correct\nFeedback: Good: you said why.",  # prose
])
def test_every_habit_reads_into_the_same_grade(reply):
    grade = read_output(Grade, reply)
    assert (grade.score, grade.verdict) == (0.8, "correct")
    assert grade.feedback.startswith("Good: you said why")


@pytest.mark.parametrize("reply, reason", [
    ('{"score": 0.9, "verdict": "correct", "feedback": ', "no JSON object"),  # cut off: never read loosely
    ('{"score": 5, "verdict": "correct"}', "score"),  # out of range: the validation error is the reason
    ("", "empty"),
    ("I think the student did well overall.", "no JSON object"),  # prose without a score is not a grade
])
def test_what_cannot_be_read_says_why(reply, reason):
    with pytest.raises(Unreadable) as caught:
        read_output(Grade, reply)
    assert reason in str(caught.value)


def test_a_markdown_lesson_in_prose_becomes_the_lessons_markdown_with_its_citations():
    lesson = read_output(Lesson, f"<think>plan</think>\n{LESSON_MD}", {"topic": "dropout"})
    assert lesson.topic == "dropout" and lesson.markdown == LESSON_MD
    assert [c.section for c in lesson.citations] == ["5. Regularization Techniques to Prevent Overfitting"]


def test_a_lesson_in_json_without_its_topic_gets_the_topic_asked():
    lesson = read_output(Lesson, json.dumps({"markdown": LESSON_MD}), {"topic": "dropout"})
    assert lesson.topic == "dropout"


def test_a_numbered_list_becomes_questions_and_a_quiz():
    reply = ("Here are your questions:\n\n1. Why does dropout reduce overfitting?\n   Answer: No neuron can rely on another.\n"
             "2. Which one is a regularizer?\n   A) Adam\n   B) Dropout\n   C) ReLU\n   Answer: B\n")
    checks = read_output(CheckQuestions, reply)
    assert [q.question for q in checks.questions] == ["Why does dropout reduce overfitting?", "Which one is a regularizer?"]
    quiz = read_output(Quiz, reply)
    assert quiz.items[0].kind == "short" and quiz.items[0].answer == "No neuron can rely on another."
    assert quiz.items[1].kind == "mcq" and quiz.items[1].answer == "Dropout" and len(quiz.items[1].options) == 3


def test_an_answer_on_the_questions_own_line_is_read():
    reply = ("1. Why does dropout reduce overfitting? Answer: No neuron can rely on another.\n"
             "2. **When is dropout applied?** **Answer:** Only while training.\n"
             "3. What does IoU measure? (Answer: overlap divided by union)\n"
             "4. Which loss suits classification? A: Cross-entropy.\n"
             "5. Name a regularizer.\n   Answer: Weight decay.\n"
             "6. Which answer: the encoder or the decoder?\n   Answer: The decoder.\n")
    expected = [("Why does dropout reduce overfitting?", "No neuron can rely on another."),
                ("When is dropout applied?", "Only while training."),
                ("What does IoU measure?", "overlap divided by union"),
                ("Which loss suits classification?", "Cross-entropy."),
                ("Name a regularizer.", "Weight decay."),
                ("Which answer: the encoder or the decoder?", "The decoder.")]
    checks = read_output(CheckQuestions, reply)
    assert [(q.question, q.answer) for q in checks.questions] == expected
    quiz = read_output(Quiz, reply)
    assert [(i.question, i.answer, i.kind) for i in quiz.items] == [(q, a, "short") for q, a in expected]


def test_a_bare_list_is_the_models_list():
    quiz = read_output(Quiz, json.dumps([{"kind": "short", "question": "Why dropout?", "answer": "Less reliance."}]))
    assert len(quiz.items) == 1


def test_an_answer_in_prose_keeps_its_citations():
    answer = read_output(Answer, "Order is added as positional encodings [07-transformers.md § 3. Transformer Architecture "
                                 "> Positional Encoding].", {"question": "why positions?"})
    assert answer.question == "why positions?"
    assert citations_in(answer.answer) == [{"source": "07-transformers.md", "section": "3. Transformer Architecture"}]


def test_study_with_a_model_that_writes_prose_shows_its_lesson(tutor, monkeypatch):
    script = [text("Research: dropout drops neurons in training [02-training-neural-networks.md § 5. Regularization "
                   "Techniques to Prevent Overfitting]."),
              text(LESSON_MD),
              text("1. Why does dropout help?\n   Answer: It stops neurons relying on each other.\n"
                   "2. Is dropout used at test time?\n   Answer: No, only while training.\n")]
    with ScriptedLLMServer(script) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        ran = tutor("study", "dropout", "--model", "openai/m", "--no-fallback", "--no-demo", "--json",
                    env={"TUTOR_BASE_URL": server.base_url})
    assert ran.exit_code == 0, ran.stderr
    lesson = json.loads(ran.stdout)
    assert LESSON_MD.split("\n\n", 1)[1] in lesson["markdown"]  # the model's lesson, not the offline extract
    assert lesson["citations"] == [{"source": "02-training-neural-networks.md",
                                    "section": "5. Regularization Techniques to Prevent Overfitting", "kind": "notes"}]
    assert [q["question"] for q in lesson["check_questions"]] == ["Why does dropout help?", "Is dropout used at test time?"]
    assert "offline model" not in ran.stderr


def test_an_unreadable_lesson_is_asked_for_once_more_then_falls_back_with_one_line(tutor, monkeypatch):
    script = [text("Research done."), text("ok"), text("still ok")]  # too short to be a lesson, twice
    with ScriptedLLMServer(script, responder=None) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        ran = tutor("study", "dropout", "--model", "openai/m", "--no-demo", "--json",
                    env={"TUTOR_BASE_URL": server.base_url})
        asked = len(server.requests)
    assert ran.exit_code == 0, ran.stderr
    assert asked == 3  # research, the lesson, the lesson asked once more with the reason
    assert "answering with the built-in offline model instead" in ran.stderr
    assert json.loads(ran.stdout)["markdown"].startswith("# dropout")


def test_an_invented_citation_is_marked_unverified_and_never_shown_as_a_source(tutor, monkeypatch):
    invented = ("# Dropout\n\nDropout switches neurons off while training [02-training-neural-networks.md § 5. "
                "Regularization Techniques to Prevent Overfitting]. It was invented in 1887 [history.md § 3. Victorian "
                "Neural Nets].")
    script = [text("Research done."), text(invented), text("1. Why dropout?\n   Answer: Less reliance.\n")]
    with ScriptedLLMServer(script) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        ran = tutor("study", "dropout", "--model", "openai/m", "--no-fallback", "--no-demo", "--json",
                    env={"TUTOR_BASE_URL": server.base_url})
    lesson = json.loads(ran.stdout)
    assert (lesson["citations_verified"], lesson["citations_unverified"]) == (1, 1)
    assert "[unverified citation: history.md § 3. Victorian Neural Nets]" in lesson["markdown"]
    assert all(c["source"] != "history.md" for c in lesson["citations"])
    assert "none of the citations" not in lesson["markdown"]


def test_a_lesson_with_no_real_citation_says_so_at_the_top():
    from tutor.crew.citations import NONE_VERIFIED, check_citations
    from tutor.crew.outputs import Citation

    text, kept, verified, unverified = check_citations(
        "Dropout is old [made-up.md § 1. Nothing].", [Citation(source="made-up.md", section="1. Nothing")],
        {("02-training-neural-networks.md", "5. Regularization Techniques to Prevent Overfitting")})
    assert text.startswith(NONE_VERIFIED) and kept == [] and (verified, unverified) == (0, 1)


def test_offline_lessons_and_answers_cite_only_real_sections(tutor):
    lesson = json.loads(tutor("study", "dropout", "--no-demo", "--json").stdout)
    assert lesson["citations_unverified"] == 0 and lesson["citations_verified"] >= 1
    answer = json.loads(tutor("ask", "why does dropout help?", "--json").stdout)
    assert answer["citations_unverified"] == 0 and answer["citations_verified"] >= 1


def test_a_tool_call_written_as_text_is_never_read_as_a_lesson():
    with pytest.raises(Unreadable, match="tool call written as text"):
        read_output(Lesson, 'Thought: I should search.\nAction: search_notes\nAction Input: {"query": "dropout"}',
                    {"topic": "dropout"})
    lesson = read_output(Lesson, f"Thought: done.\nFinal Answer: {LESSON_MD}", {"topic": "dropout"})
    assert lesson.markdown == LESSON_MD


def test_a_model_that_speaks_react_text_calls_the_real_tools_with_tutor_tools_react(tutor, monkeypatch):
    search = 'Thought: I should search.\nAction: search_notes\nAction Input: {"query": "dropout"}'
    script = [text(search), text("Thought: I have it.\nFinal Answer: Dropout drops neurons in training."),
              text(search), text(f"Thought: done.\nFinal Answer: {LESSON_MD}"),
              text("Thought: easy.\nFinal Answer: 1. Why dropout?\n   Answer: Less reliance.\n")]
    with ScriptedLLMServer(script) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        ran = tutor("study", "dropout", "--model", "openai/m", "--no-fallback", "--no-demo", "--json",
                    env={"TUTOR_BASE_URL": server.base_url, "TUTOR_TOOLS": "react"})
        requests = list(server.requests)
    assert ran.exit_code == 0, ran.stderr
    assert LESSON_MD.split("\n\n", 1)[1] in json.loads(ran.stdout)["markdown"]
    assert len(requests) == 5 and all("tools" not in r for r in requests)  # no API tool calling is offered
    observation = "\n".join(m.get("content") or "" for m in requests[1]["messages"][2:])
    assert "02-training-neural-networks.md §" in observation  # the real search ran on the notes


def test_a_prefix_makes_a_new_word_not_a_misspelling():
    """"training" read as a misspelling of "retraining" said back the point "No retraining required." in an answer
    about self-supervision ("no human annotation is needed"): a right answer was told it described another concept."""
    from tutor.grading.reading import misspelt

    assert misspelt("regularisation", "regulariztion") and misspelt("randomley", "randomly")
    assert not misspelt("training", "retraining") and not misspelt("supervised", "unsupervised")
    assert not misspelt("process", "preprocess")
