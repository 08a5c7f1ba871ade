"""The crew end to end: offline in both processes, a YAML-only agent, and a generative model behind a
real OpenAI-compatible server on 127.0.0.1 (requests go through CrewAI's provider code)."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.support.fake_llm import ScriptedLLMServer, text, tool_call

HISTORIAN_AGENTS = """
historian:
  role: Historian of Deep Learning
  goal: Tell how the ideas of the course came about, from the notes.
  backstory: You love the history of ideas and always cite your sources.
  tools: [search_notes]
"""
HISTORIAN_TASKS = """
history_of:
  description: Tell the short history of {topic}.
  expected_output: A short history with citations.
  agent: historian
"""


@pytest.fixture
def historian_config(tmp_path):
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "agents.yaml").write_text(textwrap.dedent(HISTORIAN_AGENTS))
    (folder / "tasks.yaml").write_text(textwrap.dedent(HISTORIAN_TASKS))
    return folder


@pytest.mark.parametrize("process", ["sequential", "hierarchical"])
def test_yaml_only_agent_runs_offline_in_both_processes(tutor, historian_config, process):
    ran = tutor("run", "history_of", "--var", "topic=ResNet", "--config", str(historian_config),
                "--process", process, "--json")
    assert ran.exit_code == 0, ran.stderr
    result = json.loads(ran.stdout)["results"][-1]
    assert result["task"] == "history_of" and result["agent"] == "historian"
    assert "ResNet" in result["raw"]
    assert "03-cnns.md §" in result["raw"]  # grounded: every line cites the notes
    assert "offline model" in ran.stderr  # said once per run
    assert ran.stderr.count("Using the built-in offline model") == 1
    calls = json.loads(ran.stdout)["tool_calls"]
    assert any(c["tool"] == "search_notes" for c in calls)
    if process == "hierarchical":  # the manager delegated to the agent the teacher added in YAML
        delegation = next(c for c in calls if c["tool"] == "delegate_work_to_coworker")
        assert delegation["agent"] == "Tutoring Lead"
        assert delegation["args"]["coworker"] == "Historian of Deep Learning"


@pytest.mark.parametrize("process", ["sequential", "hierarchical"])
def test_research_topic_cites_the_transformer_notes(tutor, process):
    ran = tutor("run", "research_topic", "--var", "topic=positional encoding", "--process", process, "--json")
    assert ran.exit_code == 0, ran.stderr
    raw = json.loads(ran.stdout)["results"][-1]["raw"]
    assert "07-transformers.md §" in raw


def test_every_task_in_tasks_yaml_runs_offline(tutor):
    from tutor.crew.config import load_config

    variables = {"topic": "gradient descent", "n": "2", "kind": "mcq", "seed": "3", "level": "mixed",
                 "question": "What does an optimizer do?", "reference": "It updates the weights to reduce the loss.",
                 "answer": "It changes the weights so the loss goes down."}
    for name, spec in load_config().tasks.items():
        args = ["run", name, "--json"]
        for placeholder in sorted(spec.placeholders()):
            args += ["--var", f"{placeholder}={variables[placeholder]}"]
        ran = tutor(*args)
        assert ran.exit_code == 0, (name, ran.stderr)
        assert json.loads(ran.stdout)["results"][-1]["task"] == name


def test_offline_manager_delegates_to_the_agent_whose_role_fits():
    from tutor.llms.offline import OfflineLLM, RunContext, TaskInfo

    llm = OfflineLLM(model="offline", run=RunContext(
        tasks={"history_of": TaskInfo(name="history_of", description="Tell the short history of ResNet.",
                                      agent="historian", placeholders=["topic"])},
        inputs={"topic": "ResNet"},
        roles={"Historian of Deep Learning": "historian", "Quiz Master": "quizzer"},
        goals={"historian": "Historian of Deep Learning history", "quizzer": "Quiz Master questions"},
    ))
    system = ("Tool Name: delegate_work_to_coworker\nTool Description: Delegate a specific task to one of the "
              "following coworkers: Quiz Master, Historian of Deep Learning\n")
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": "\nCurrent Task: Tell the short history of ResNet.\n\n"
                                            "This is the expected criteria for your final answer: text\n"}]
    reply = llm.call(messages)
    assert "Action: delegate_work_to_coworker" in reply
    payload = json.loads(reply.split("Action Input:", 1)[1])
    assert payload["coworker"] == "Historian of Deep Learning"
    # Given the coworker's observation, the manager passes it on and stops: no delegation loop.
    messages.append({"role": "assistant", "content": reply + "\nObservation: the history, cited."})
    assert llm.call(messages).endswith("Final Answer: the history, cited.")


def test_generative_model_through_a_real_openai_compatible_server(tutor, monkeypatch):
    script = [
        tool_call("search_notes", query="positional encoding", k=3),
        text("Positional encoding adds sine and cosine signals to the embeddings "
             "[07-transformers.md § Positional Encoding]."),
    ]
    with ScriptedLLMServer(script) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        ran = tutor("run", "research_topic", "--var", "topic=positional encoding",
                    "--model", "openai/scripted-model", "--json",
                    env={"TUTOR_BASE_URL": server.base_url})
        assert ran.exit_code == 0, ran.stderr
        assert "offline model" not in ran.stderr
        assert json.loads(ran.stdout)["results"][-1]["raw"].startswith("Positional encoding adds sine")
        first, second = server.requests[0], server.requests[1]
        assert first["model"] == "scripted-model"
        assert [t["function"]["name"] for t in first["tools"]] == ["search_notes"]
        system = first["messages"][0]["content"]
        assert "Course Notes Researcher" in system and "step by step" in system
        assert 'Research the topic "positional encoding"' in first["messages"][1]["content"]
        tool_message = next(m for m in second["messages"] if m["role"] == "tool")
        assert "07-transformers.md §" in tool_message["content"]  # the real search ran on the notes
        assert server.headers[0]["authorization"] == "Bearer sk-test-key"


def test_keys_and_model_come_from_a_dotenv_file(tutor, tmp_path, monkeypatch):
    with ScriptedLLMServer([text("From .env: positional encoding adds order.")]) as server:
        (tmp_path / ".env").write_text(
            f"OPENAI_API_KEY=sk-from-dotenv-123\nTUTOR_MODEL=openai/dotenv-model\nTUTOR_BASE_URL={server.base_url}\n"
        )
        for name in ("OPENAI_API_KEY", "TUTOR_MODEL", "TUTOR_BASE_URL"):
            monkeypatch.setenv(name, "")  # recorded as absent, so teardown removes what .env sets
            monkeypatch.delenv(name)
        ran = tutor("run", "research_topic", "--var", "topic=positional encoding", "--json")
        assert ran.exit_code == 0, ran.stderr
        assert server.requests[0]["model"] == "dotenv-model"
        assert server.headers[0]["authorization"] == "Bearer sk-from-dotenv-123"
