"""A configured model that fails: each fault sequence of a real OpenAI-compatible server on 127.0.0.1,
through the CLI. By default the run falls back to the offline model with a one-line notice;
with --no-fallback it is one error line and exit 1. Never a hang, never a traceback."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.fake_llm import Reply, ScriptedLLMServer, text, tool_call

GOOD_GRADE = json.dumps({
    "score": 0.9, "verdict": "correct", "covered": ["weights updated"], "missed": [],
    "feedback": "Good.", "citations": [], "confidence": 0.8,
})
GRADE_ARGS = ["grade", "The optimizer changes the weights to lower the loss.",
              "--question", "What does an optimizer do?",
              "--reference", "It updates the weights to reduce the loss.", "--json"]

FAULTS = {
    "always-500": [Reply(status=500)],
    "429-retry-after": [Reply(status=429, headers={"Retry-After": "0"})],
    "slow": [Reply(delay=4.0, content=GOOD_GRADE)],
    "garbage": [Reply(raw_body=b"<html>502 Bad Gateway</html>")],
    "malformed-json": [text('{"score": 0.9, "verdict": "correct", "feedback": ')],
    "out-of-range": [text(json.dumps({**json.loads(GOOD_GRADE), "score": 5}))],
    "tool-loop": [tool_call("search_notes", query="optimizer")],
}


@pytest.fixture
def model_env(monkeypatch):
    def env(server):
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        return {"TUTOR_MODEL": "openai/scripted", "TUTOR_BASE_URL": server.base_url,
                "TUTOR_TIMEOUT": "1.5", "TUTOR_RETRIES": "1"}
    return env


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_falls_back_to_the_offline_model_with_a_notice(tutor, model_env, fault):
    with ScriptedLLMServer(FAULTS[fault]) as server:
        started = time.monotonic()
        ran = tutor(*GRADE_ARGS, env=model_env(server))
        elapsed = time.monotonic() - started
    assert ran.exit_code == 0, ran.output
    assert "answering with the built-in offline model instead" in ran.stderr
    assert "Traceback" not in ran.output
    grade = json.loads(ran.stdout)
    assert 0.0 <= grade["score"] <= 1.0  # the offline grade, never the model's 5
    assert elapsed < 60  # bounded: retries and timeouts, never a hang


@pytest.mark.parametrize("fault", ["always-500", "slow", "malformed-json", "out-of-range"])
def test_no_fallback_makes_the_fault_one_error_line(tutor, model_env, fault):
    with ScriptedLLMServer(FAULTS[fault]) as server:
        ran = tutor(*GRADE_ARGS, "--no-fallback", env=model_env(server))
    assert ran.exit_code == 1, ran.output
    assert ran.stdout == ""
    lines = ran.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and "openai/scripted" in lines[-1]
    assert "Traceback" not in ran.output


def test_two_500s_then_success_is_retried_not_fallen_back(tutor, model_env):
    script = [Reply(status=500), Reply(status=500), text(GOOD_GRADE)]
    with ScriptedLLMServer(script) as server:
        env = {**model_env(server), "TUTOR_RETRIES": "2"}
        ran = tutor(*GRADE_ARGS, "--no-fallback", env=env)
        assert len(server.requests) == 3
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["score"] == 0.9


def test_connection_refused_falls_back(tutor, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    env = {"TUTOR_MODEL": "openai/scripted", "TUTOR_BASE_URL": "http://127.0.0.1:9/v1", "TUTOR_RETRIES": "0"}
    ran = tutor(*GRADE_ARGS, env=env)
    assert ran.exit_code == 0 and "answering with the built-in offline model" in ran.stderr
    ran = tutor(*GRADE_ARGS, "--no-fallback", env=env)
    assert ran.exit_code == 1 and "Traceback" not in ran.output
