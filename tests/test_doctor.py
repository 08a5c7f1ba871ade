"""`tutor doctor` against the built-in model and real HTTP servers on 127.0.0.1 (OpenAI-compatible, and
posing as Ollama): each row ok or a problem with what to do; exit 0 / 1; never a traceback, never a key."""

from __future__ import annotations

import json
import socket

import pytest

from tests.support.fake_llm import Reply, ScriptedLLMServer, text, tool_call

KEY = "sk-doctor-secret-123456"
LESSON = json.dumps({"topic": "dropout", "markdown": "Dropout switches off random neurons while training "
                     "[02-training-neural-networks.md § 5. Regularization Techniques to Prevent Overfitting].",
                     "citations": [{"source": "02-training-neural-networks.md",
                                    "section": "5. Regularization Techniques to Prevent Overfitting"}]})
REACT = 'Thought: I should search.\nAction: search_notes\nAction Input: {"query": "dropout"}'


def rows(ran) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads(ran.stdout)["checks"]}


def doctor(tutor, monkeypatch, server, *extra, env=None):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return tutor("doctor", "--json", *extra,
                 env={"TUTOR_MODEL": "openai/local", "TUTOR_BASE_URL": server.base_url, **(env or {})})


def test_offline_installation_is_ready_before_anything_was_built(tutor):
    ran = tutor("doctor", "--json")
    assert ran.exit_code == 0, ran.output
    got = rows(ran)
    assert got["model"]["status"] == "ok" and "offline" in got["model"]["detail"]
    assert got["index"]["status"] == "note" and "tutor index" in got["index"]["fix"]
    assert got["learner record"]["status"] == "note"


def test_after_use_it_counts_passages_and_answers(tutor):
    assert tutor("grade", "It drops neurons.", "--question", "What is dropout?").exit_code == 0
    ran = tutor("doctor", "--json")
    got = rows(ran)
    assert got["index"]["status"] == "ok" and "passages" in got["index"]["detail"] and "tutor-hashing" in got["index"]["detail"]
    assert got["learner record"]["status"] == "ok" and "integrity ok" in got["learner record"]["detail"]
    table = tutor("doctor")
    assert table.exit_code == 0 and "learner record" in table.stdout and "problem" not in table.stdout


def test_a_model_that_calls_tools_and_answers_in_json_is_ready(tutor, monkeypatch):
    with ScriptedLLMServer([text("ready"), tool_call("search_notes", query="dropout"), text(LESSON)]) as server:
        ran = doctor(tutor, monkeypatch, server)
        sent = list(server.headers)
    assert ran.exit_code == 0, ran.output
    got = rows(ran)
    assert got["model"]["status"] == "ok" and server.base_url in got["model"]["detail"]
    assert got["tools"]["detail"].startswith("calls tools natively")
    assert "strict JSON" in got["lesson"]["detail"] and "1 citation" in got["lesson"]["detail"]
    assert sent[0]["authorization"] == f"Bearer {KEY}"  # the key reached the server ...
    assert KEY not in ran.output  # ... and never the screen


def test_a_model_that_writes_prose_and_react_text_is_told_to_set_tutor_tools(tutor, monkeypatch):
    lesson = "# Dropout\n\nDropout drops neurons [02-training-neural-networks.md § 5. Regularization Techniques to Prevent Overfitting]."
    with ScriptedLLMServer([text("ready"), text(REACT), text(lesson)]) as server:
        ran = doctor(tutor, monkeypatch, server)
    assert ran.exit_code == 1
    got = rows(ran)
    assert got["tools"]["status"] == "problem" and got["tools"]["fix"] == "set TUTOR_TOOLS=react"
    assert got["lesson"]["status"] == "ok" and "read from its text" in got["lesson"]["detail"]
    with ScriptedLLMServer([text("ready"), text(REACT), text(lesson)]) as server:
        ran = doctor(tutor, monkeypatch, server, env={"TUTOR_TOOLS": "react"})
    assert ran.exit_code == 0 and rows(ran)["tools"]["status"] == "ok"


def test_a_model_that_never_calls_tools_or_writes_no_lesson_is_a_problem(tutor, monkeypatch):
    with ScriptedLLMServer([text("ready"), text("Dropout is a regularizer."), text("Thought: hmm\nAction: search_notes")]) as server:
        ran = doctor(tutor, monkeypatch, server)
    assert ran.exit_code == 1
    got = rows(ran)
    assert got["tools"]["status"] == "problem" and "did not call the tool" in got["tools"]["detail"]
    assert got["lesson"]["status"] == "problem"


@pytest.mark.parametrize("reply, reason", [
    (Reply(status=401), "not authenticated"),
    (Reply(status=404), "does not know this model"),
    (Reply(status=500), "InternalServerError"),
])
def test_a_model_that_cannot_be_used_is_one_line_with_the_url_and_exit_1(tutor, monkeypatch, reply, reason):
    with ScriptedLLMServer([reply]) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        ran = tutor("doctor", env={"TUTOR_MODEL": "openai/local", "TUTOR_BASE_URL": server.base_url})
    assert ran.exit_code == 1
    error = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and server.base_url in error[0] and reason in error[0], ran.stderr
    assert "Traceback" not in ran.output and KEY not in ran.output


def test_a_server_that_is_not_there_cannot_be_connected_to(tutor):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    ran = tutor("doctor", env={"TUTOR_MODEL": "openai/local", "TUTOR_BASE_URL": f"http://127.0.0.1:{port}/v1"})
    assert ran.exit_code == 1
    assert f"127.0.0.1:{port}" in ran.stderr and "cannot connect" in ran.stderr and "Traceback" not in ran.output


def test_a_damaged_learner_record_is_a_problem(tutor, tutor_home):
    tutor_home.mkdir(parents=True, exist_ok=True)
    (tutor_home / "learner.db").write_bytes(b"this is not sqlite" * 100)
    ran = tutor("doctor", "--json")
    assert ran.exit_code == 1
    assert rows(ran)["learner record"]["status"] == "problem"


def test_ollama_as_users_run_it_reaches_ollama_host(tutor):
    with ScriptedLLMServer([text("ready"), tool_call("search_notes", query="dropout"), text(LESSON)]) as server:
        ran = tutor("doctor", "--json", env={"TUTOR_MODEL": "ollama/llama3.1", "OLLAMA_HOST": server.host})
        paths = list(server.paths)
    assert ran.exit_code == 0, ran.output
    assert paths == ["/v1/chat/completions"] * 3  # Ollama's OpenAI-compatible API, as the crew reaches it
    assert f"http://{server.host}/v1" in rows(ran)["model"]["detail"]


def test_study_with_ollama_uses_the_models_lesson(tutor):
    lesson_md = ("# Dropout\n\nDropout switches off random neurons while training, so none can rely on another "
                 "[02-training-neural-networks.md § 5. Regularization Techniques to Prevent Overfitting].")
    script = [tool_call("search_notes", query="dropout"),
              text("Dropout drops neurons in training [02-training-neural-networks.md § 5. Regularization "
                   "Techniques to Prevent Overfitting]."),
              text(lesson_md),
              text("1. Why does dropout help?\n   Answer: It stops neurons relying on each other.\n")]
    with ScriptedLLMServer(script) as server:
        ran = tutor("study", "dropout", "--no-fallback", "--no-demo", "--json",
                    env={"TUTOR_MODEL": "ollama/llama3.1", "OLLAMA_HOST": server.host})
        paths = list(server.paths)
    assert ran.exit_code == 0, ran.output
    assert set(paths) == {"/v1/chat/completions"}
    assert "switches off random neurons" in json.loads(ran.stdout)["markdown"]
