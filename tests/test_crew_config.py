"""agents.yaml / tasks.yaml: the shipped files load, overrides merge, and every error is one clear line."""

from __future__ import annotations

import json
import textwrap

import pytest

from tutor.crew.config import load_config
from tutor.crew.run import tool_names
from tutor.errors import UsageError


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_shipped_config_has_the_four_agents_the_manager_and_the_flow_tasks():
    config = load_config(None, tool_names())
    assert {"explainer", "quizzer", "grader", "researcher", "manager"} <= set(config.agents)
    assert {"research_topic", "explain_topic", "check_understanding", "make_quiz", "grade_answer"} <= set(config.tasks)
    assert config.closure("check_understanding") == ["research_topic", "explain_topic", "check_understanding"]
    for spec in config.agents.values():
        assert "step by step" in spec.reasoning  # every agent carries the chain-of-thought instruction
    assert config.tasks["grade_answer"].output == "Grade"


def test_override_replaces_same_key_and_adds_new_keys(tmp_path):
    folder = write(tmp_path / "cfg", "agents.yaml", """
        grader:
          role: Lenient Grader
          goal: Grade kindly.
          backstory: A kind teacher.
          tools: [search_notes]
        historian:
          role: Historian
          goal: Tell history.
          backstory: Loves history.
          tools: [search_notes]
    """)
    config = load_config(folder, tool_names())
    assert config.agents["grader"].role == "Lenient Grader"
    assert config.agents["historian"].tools == ["search_notes"]
    assert config.agents["explainer"].role == "Deep Learning Explainer"  # untouched default
    assert config.where("agents", "historian").endswith("agents.yaml")


@pytest.mark.parametrize(
    "agents, tasks, expected",
    [
        ("a1:\n  role: R\n  goal: G\n  backstory: B\n  tools: [serch_notes]\n", "",
         "a1.tools: unknown tool 'serch_notes' (did you mean 'search_notes'?)"),
        ("", "t1:\n  description: d\n  expected_output: e\n  agent: nobody\n", "t1.agent: unknown agent 'nobody'"),
        ("a1:\n  role: R\n  goal: G\n  backstory: B\n  tols: []\n", "", "a1: unknown field 'tols' (did you mean 'tools'?)"),
        ("", "t1:\n  description: d\n  expected_output: e\n  agent: explainer\n  context: [t2]\n"
             "t2:\n  description: d\n  expected_output: e\n  agent: explainer\n  context: [t1]\n", "cycle t1 -> t2 -> t1"),
        ("", "t1:\n  description: d\n  expected_output: e\n  agent: explainer\n  context: [nope]\n",
         "t1.context: unknown task 'nope'"),
        ("a1: [not, a, mapping]\n", "", "a1: expected a mapping of fields"),
        ("a1:\n  role: R\n  goal: [unclosed\n", "", "malformed YAML at line"),
        ("", "t1:\n  description: d\n  expected_output: e\n  agent: explainer\n  output: Essay\n",
         "t1.output: unknown output model 'Essay'"),
        ("Bad-Name:\n  role: R\n  goal: G\n  backstory: B\n", "", "names must be lower_snake_case"),
        ("a1:\n  role: R\n  goal: G\n  backstory: B\n  max_iter: 0\n", "", "a1.max_iter"),
    ],
    ids=["unknown-tool", "unknown-agent", "typo-field", "cycle", "unknown-context", "not-mapping",
         "malformed-yaml", "unknown-output", "bad-name", "bad-max-iter"],
)
def test_each_error_is_one_line_naming_file_key_and_problem(tmp_path, tutor, agents, tasks, expected):
    folder = tmp_path / "cfg"
    if agents:
        write(folder, "agents.yaml", agents)
    if tasks:
        write(folder, "tasks.yaml", tasks)
    folder.mkdir(exist_ok=True)
    ran = tutor("agents", "--config", str(folder))
    assert ran.exit_code == 2
    assert expected in ran.stderr
    assert str(folder) in ran.stderr  # the line names the file
    assert "Traceback" not in ran.output
    assert len(ran.stderr.strip().splitlines()) == 1


def test_placeholder_never_supplied_names_the_task_and_the_flag(tmp_path, tutor):
    folder = write(tmp_path / "cfg", "tasks.yaml", """
        history_of:
          description: Tell the short history of {topic} in {era}.
          expected_output: A short history.
          agent: researcher
    """)
    ran = tutor("run", "history_of", "--var", "topic=ResNet", "--config", str(folder))
    assert ran.exit_code == 2
    assert "task 'history_of' needs {era}" in ran.stderr and "--var era=..." in ran.stderr
    assert "tasks.yaml" in ran.stderr


def test_unknown_task_and_bad_var_and_bad_process(tutor):
    ran = tutor("run", "explain_topc", "--var", "topic=x")
    assert ran.exit_code == 2 and "unknown task 'explain_topc' (did you mean 'explain_topic'?)" in ran.stderr
    ran = tutor("run", "explain_topic", "--var", "topic")
    assert ran.exit_code == 2 and "--var takes key=value" in ran.stderr
    ran = tutor("run", "research_topic", "--var", "topic=x", "--process", "parallel")
    assert ran.exit_code == 2 and "--process must be sequential or hierarchical" in ran.stderr


def test_missing_config_dir_is_bad_usage(tmp_path, tutor):
    ran = tutor("agents", "--config", str(tmp_path / "nope"))
    assert ran.exit_code == 2 and "config directory not found" in ran.stderr


def test_agents_lists_merged_agents_with_tools_and_llm(tmp_path, tutor):
    folder = write(tmp_path / "cfg", "agents.yaml", """
        historian:
          role: Historian
          goal: Tell history.
          backstory: Loves history.
          tools: [search_notes]
          llm: ollama/llama3.1
    """)
    ran = tutor("agents", "--json", "--config", str(folder))
    assert ran.exit_code == 0, ran.stderr
    rows = {r["name"]: r for r in json.loads(ran.stdout)}
    assert {"explainer", "quizzer", "grader", "researcher", "manager", "historian"} <= set(rows)
    assert rows["historian"]["llm"] == "ollama/llama3.1"
    assert rows["explainer"]["llm"] == "offline"
    assert "search_notes" in rows["researcher"]["tools"]


def test_tools_lists_builtins_through_the_entry_point_door(tutor):
    ran = tutor("tools", "--json")
    rows = {r["name"]: r for r in json.loads(ran.stdout)}
    assert rows["search_notes"]["origin"] == "tutor" and rows["search_notes"]["available"]
    assert any(name.startswith("demo_") for name in rows)
    assert rows["web_search"]["available"] is False and rows["web_search"]["needs"] == ["SERPER_API_KEY"]


def test_registry_takes_a_third_party_tool(monkeypatch):
    from tutor.tools import registry as reg

    class FakeEntryPoint:
        name, value, dist = "fake", "fake_pkg:register", None

        def load(self):
            return lambda r: r.register("fake_tool", lambda: "a tool", summary="fake")

    monkeypatch.setattr(reg, "entry_points", lambda group: [FakeEntryPoint()])
    reg.reset_registry()
    try:
        loaded = reg.load_registry()
        assert loaded.names() == ["fake_tool"] and loaded.create("fake_tool") == "a tool"
        with pytest.raises(UsageError, match="unknown tool 'nope'"):
            loaded.create("nope")
    finally:
        reg.reset_registry()
