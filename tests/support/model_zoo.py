"""A zoo of model habits for the scripted OpenAI-compatible server, and the four commands to run them through.

Each behaviour is a responder (`ScriptedLLMServer(responder=zoo_responder(name))`) that reads which task
the crew asks for (research, lesson, check questions, quiz, grade, a teacher's YAML-only task) from the
prompt, calls a tool first where the task searches, and answers in its habit: strict JSON, fenced JSON,
a <think> block, plain prose, prose whose check and quiz answers follow their question on the same line
("1. Question? Answer: ..."), ReAct text, never calling tools, calling a tool that does not exist, a reply
cut at max_tokens, too slow, rate-limited once, or citing a section the notes do not have.

`run_zoo(tutor, behaviour, command)` runs one cell and says what the learner got: "used" (the model's
output), "re-asked" (used after the reply was sent back once), "fell back" (the offline model answered,
with the notice) or "failed" (an error line and exit code).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fake_llm import Reply, ScriptedLLMServer, text, tool_call

SECTION = "5. Regularization Techniques to Prevent Overfitting"
SOURCE = "02-training-neural-networks.md"
CITE = f"[{SOURCE} § {SECTION}]"
INVENTED = f"[{SOURCE} § 9. Dropout and the Lottery of Neurons]"

BEHAVIOURS = ("strict", "fenced", "think", "prose", "inline_answers", "react", "never_calls_tools", "unknown_tool",
              "truncated", "slow", "rate_limited", "invents_citation")
MUST_USE = ("strict", "fenced", "think", "prose", "inline_answers", "react")
COMMANDS = ("study", "quiz", "grade", "run")
REASKED = "Answer again with only a JSON object for"

RESEARCH = f"Dropout randomly drops neurons during training so the network cannot rely on specific nodes {CITE}."
LESSON_MD = (f"# Dropout\n\nDropout switches off a random subset of neurons at every training step, so no neuron "
             f"can count on another being there {CITE}. At test time every neuron is used.")
LESSON = {"topic": "dropout", "markdown": LESSON_MD, "citations": [{"source": SOURCE, "section": SECTION}]}
CHECK = {"questions": [
    {"question": "Why does dropout reduce overfitting?", "answer": "It stops neurons relying on specific others.",
     "source": SOURCE, "section": SECTION},
    {"question": "Is dropout used at test time?", "answer": "No, only while training.", "source": SOURCE, "section": SECTION}]}
CHECK_PROSE = ("1. Why does dropout reduce overfitting?\n   Answer: It stops neurons relying on specific others.\n"
               "2. Is dropout used at test time?\n   Answer: No, only while training.\n")
QUIZ = {"items": [
    {"kind": "short", "level": "understand", "question": "Why does dropout reduce overfitting?",
     "answer": "It stops the network relying on specific neurons.", "section": SECTION, "source": SOURCE},
    {"kind": "short", "level": "remember", "question": "When is dropout applied?",
     "answer": "Only during training.", "section": SECTION, "source": SOURCE}]}
QUIZ_PROSE = ("1. Why does dropout reduce overfitting?\n   Answer: It stops the network relying on specific neurons.\n"
              "2. When is dropout applied?\n   Answer: Only during training.\n")
# The same questions as a model with the one-line habit writes them: the first answer after its question on
# one line, the second (of the check questions) on its own line, as a model that mixes both does.
CHECK_INLINE = ("1. Why does dropout reduce overfitting? Answer: It stops neurons relying on specific others.\n"
                "2. Is dropout used at test time?\n   Answer: No, only while training.\n")
QUIZ_INLINE = ("1. Why does dropout reduce overfitting? Answer: It stops the network relying on specific neurons.\n"
               "2. When is dropout applied? **Answer:** Only during training.\n")
GRADE = {"score": 0.9, "verdict": "correct",
         "feedback": "Right: dropout switches off random neurons while training, so none can rely on another."}
GRADE_PROSE = f"Score: 0.9\nVerdict: correct\nFeedback: {GRADE['feedback']}"
GLOSSARY = f"Dropout: switching off random neurons while training, so the network cannot rely on any one {CITE}."

QUESTION = "How does dropout reduce overfitting?"
REFERENCE = "Dropout randomly drops neurons during training, which prevents the network from relying on specific nodes."
ANSWER = "During training it switches off random neurons, so the network cannot depend on any particular one."

# A teacher's own agent and task, in YAML only: no Python of ours knows them.
GLOSSARY_AGENTS = """glossarist:
  role: Glossary Writer
  goal: Write one-line glossary entries from the course notes.
  backstory: You write short, exact definitions for a course glossary.
  tools: [search_notes]
"""
GLOSSARY_TASKS = """glossary:
  description: >
    Write a one-line glossary entry for "{topic}", from the course notes, with its citation.
  expected_output: >
    One line "Term: definition [source § section]".
  agent: glossarist
  skill: research
"""


def which_task(body: dict[str, Any]) -> str:
    user = next((str(m.get("content") or "") for m in body.get("messages", []) if m.get("role") == "user"), "")
    for marker, task in (("Grade the student's answer", "grade"), ("Write a quiz of", "quiz"),
                         ("check-your-understanding", "check"), ("Write a lesson on", "lesson"),
                         ("Research the topic", "research"), ("glossary entry", "glossary")):
        if marker in user:
            return task
    return "other"


def _searched(body: dict[str, Any]) -> bool:
    messages = body.get("messages", [])
    return any(m.get("role") == "tool" for m in messages) or any(
        "Observation:" in str(m.get("content") or "") for m in messages if m.get("role") != "system")


def _answer(task: str) -> tuple[str, Any]:
    """(prose form, structured form) of the answer to `task`."""
    return {
        "research": (RESEARCH, RESEARCH), "glossary": (GLOSSARY, GLOSSARY), "other": (RESEARCH, RESEARCH),
        "lesson": (LESSON_MD, LESSON), "check": (CHECK_PROSE, CHECK), "quiz": (QUIZ_PROSE, QUIZ),
        "grade": (GRADE_PROSE, GRADE),
    }[task]


def _dump(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def zoo_responder(behaviour: str):
    assert behaviour in BEHAVIOURS, behaviour
    state = {"limited": False}

    def respond(body: dict[str, Any], index: int) -> Reply:
        task = which_task(body)
        if _is_manager(body) and behaviour not in ("slow", "rate_limited"):
            return _manage(behaviour, body, task)
        wants_search = task in ("research", "glossary") and not _searched(body)
        if behaviour == "rate_limited" and not state["limited"]:
            state["limited"] = True
            return Reply(status=429, headers={"Retry-After": "0"})
        if behaviour == "slow":
            return Reply(content=_dump(_answer(task)[1]), delay=3.0)
        if wants_search and behaviour not in ("never_calls_tools",):
            if behaviour == "react":
                return text('Thought: I should search the notes.\nAction: search_notes\nAction Input: {"query": "dropout"}')
            if behaviour == "unknown_tool" and not any(m.get("role") == "tool" for m in body.get("messages", [])):
                return tool_call("browse_web", url="https://example.com/dropout")
            return tool_call("search_notes", query="dropout")
        prose, structured = _answer(task)
        if behaviour in ("strict", "never_calls_tools", "unknown_tool", "rate_limited"):
            return text(_dump(structured))
        if behaviour == "fenced":
            return text(f"Here it is:\n```json\n{_dump(structured)}\n```")
        if behaviour == "think":
            return text(f"<think>The notes say dropout drops neurons; I will cite them.</think>\n{_dump(structured)}")
        if behaviour == "prose":
            return text(prose)
        if behaviour == "inline_answers":
            return text({"check": CHECK_INLINE, "quiz": QUIZ_INLINE}.get(task, prose))
        if behaviour == "react":
            return text(f"Thought: I have what I need.\nFinal Answer: {prose}")
        if behaviour == "truncated":
            whole = _dump(structured)
            return Reply(content=whole[: max(8, len(whole) // 2)], finish_reason="length")
        if behaviour == "invents_citation":
            if task in ("lesson", "research", "glossary"):
                return text(prose + f" Dropout also has a lottery effect {INVENTED}.")
            return text(_dump(structured))
        raise AssertionError(behaviour)

    return respond


COWORKER = {"research": "Course Notes Researcher", "lesson": "Deep Learning Explainer", "check": "Quiz Master",
            "quiz": "Quiz Master", "grade": "Fair Grader", "glossary": "Glossary Writer", "other": "Course Notes Researcher"}


def _is_manager(body: dict[str, Any]) -> bool:
    system = next((str(m.get("content") or "") for m in body.get("messages", []) if m.get("role") == "system"), "")
    return "Tutoring Lead" in system


def _manage(behaviour: str, body: dict[str, Any], task: str) -> Reply:
    """The hierarchical manager: delegate the task to the coworker whose role fits, then pass its work on."""
    messages = body.get("messages", [])
    observed = [str(m.get("content") or "") for m in messages if m.get("role") == "tool"]
    if not observed:
        for m in messages:
            content = str(m.get("content") or "")
            if m.get("role") != "system" and "Observation:" in content:
                observed.append(content.rsplit("Observation:", 1)[1].strip())
    if not observed:
        user = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
        current = user.split("Current Task:", 1)[-1].split("This is the expected criteria", 1)[0].strip()
        args = {"task": current, "context": "Use the course notes.", "coworker": COWORKER[task]}
        if behaviour == "react":
            return text(f"Thought: the {COWORKER[task]} should do this.\nAction: delegate_work_to_coworker\n"
                        f"Action Input: {json.dumps(args)}")
        return tool_call("delegate_work_to_coworker", **args)
    work = observed[-1]
    if behaviour == "react":
        return text(f"Thought: my coworker has done it.\nFinal Answer: {work}")
    return text(work)


@dataclass
class Cell:
    behaviour: str
    command: str
    outcome: str  # used, re-asked, fell back, failed
    exit_code: int
    seconds: float
    requests: int
    stdout: str
    stderr: str
    bodies: list = None  # the requests the server received

    @property
    def delegated_to(self) -> list[str]:
        """The coworkers the manager delegated to (native tool calls or ReAct text alike)."""
        found = []
        for body in self.bodies or []:
            for m in body.get("messages", []):
                for call in m.get("tool_calls") or []:
                    if call["function"]["name"] == "delegate_work_to_coworker":
                        found.append(json.loads(call["function"]["arguments"])["coworker"])
                content = str(m.get("content") or "")
                if m.get("role") == "assistant" and "Action: delegate_work_to_coworker" in content:
                    found.append(json.loads(content.split("Action Input:", 1)[1].strip().splitlines()[0])["coworker"])
        return list(dict.fromkeys(found))

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def command_args(command: str, config_dir: Path) -> list[str]:
    return {
        "study": ["study", "dropout", "--no-demo", "--json"],
        "quiz": ["quiz", "--topic", "dropout", "--n", "2", "--kind", "short", "--level", "mixed", "--seed", "3", "--json"],
        "grade": ["grade", ANSWER, "--question", QUESTION, "--reference", REFERENCE, "--json"],
        "run": ["run", "glossary", "--config", str(config_dir), "--var", "topic=dropout", "--json"],
    }[command]


def write_glossary_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agents.yaml").write_text(GLOSSARY_AGENTS, encoding="utf-8")
    (folder / "tasks.yaml").write_text(GLOSSARY_TASKS, encoding="utf-8")
    return folder


def run_zoo(tutor, behaviour: str, command: str, config_dir: Path, process: str = "sequential",
            extra: tuple[str, ...] = ()) -> Cell:
    """One behaviour through one command, as a learner runs it (the in-process CLI, a real HTTP server);
    `extra` options go after the command's own (`--no-fallback`, say)."""
    env = {"TUTOR_MODEL": "openai/zoo", "OPENAI_API_KEY": "sk-zoo-test-key", "TUTOR_TIMEOUT": "1" if behaviour == "slow" else "30",
           "TUTOR_RETRIES": "0" if behaviour == "slow" else "2"}
    if behaviour == "react":
        env["TUTOR_TOOLS"] = "react"
    args = command_args(command, config_dir) + (["--process", process] if process != "sequential" else []) + list(extra)
    with ScriptedLLMServer(responder=zoo_responder(behaviour)) as server:
        env["TUTOR_BASE_URL"] = server.base_url
        started = time.perf_counter()
        ran = tutor(*args, env=env)
        seconds = time.perf_counter() - started
        requests = list(server.requests)
    prompts = json.dumps(requests)
    if ran.exit_code != 0:
        outcome = "failed"
    elif "answering with the built-in offline model instead" in ran.stderr:
        outcome = "fell back"
    elif REASKED in prompts:
        outcome = "re-asked"
    else:
        outcome = "used"
    return Cell(behaviour, command, outcome, ran.exit_code, seconds, len(requests), ran.stdout, ran.stderr, requests)
