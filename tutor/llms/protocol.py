"""Reading CrewAI's ReAct conversation: the offered tools, the current task, past actions and observations.

The offline model is stateless: everything it knows about where it is in a task it reads back from
the messages CrewAI sends, exactly as a generative model would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tutor.knowledge.companion import explanation_of

_TOOL_NAME = re.compile(r"^Tool Name: (.+)$", re.M)
_ACTION = re.compile(r"^Action: *(.+?)\s*$", re.M)
_ACTION_INPUT = re.compile(r"^Action Input: *(.*?)\s*(?=^Observation:|\Z)", re.M | re.S)
_PASSAGE = re.compile(
    r"^\[(\d+)\] (?P<source>.+?) § (?P<section>.+?) "
    r"\((?:lines (?P<a>\d+)-(?P<b>\d+)|(?P<companion>tutor's explanation[^;]*)); similarity (?P<sim>-?[0-9.]+)\)\n"
    r"(?P<text>.*?)(?=\n\n\[\d+\] |\Z)",
    re.M | re.S,
)


class Retrieved(BaseModel):
    """A passage the model read in a search_notes observation."""

    source: str
    section: str  # the `##` heading
    subsection: str = ""  # the `###` heading inside it, when the passage sits under one
    line_start: int
    line_end: int
    similarity: float
    text: str
    kind: str = "notes"  # "companion": the tutor's explanation of the section, not a quote of the notes

    @property
    def heading(self) -> str:
        return f"{self.section} > {self.subsection}" if self.subsection else self.section

    @property
    def cite(self) -> str:
        """The notes' words cite their heading; the companion's say whose words they are."""
        if self.kind == "companion":
            return f"*({explanation_of(self.source, self.section)})*"
        return f"[{self.source} § {self.heading}]"


@dataclass
class Step:
    tool: str
    tool_input: dict[str, Any]
    observation: str


@dataclass
class Conversation:
    system: str
    task_text: str  # what follows "Current Task:" in the first user message
    expected: str
    tools: list[str]
    steps: list[Step] = field(default_factory=list)

    def passages(self) -> list[Retrieved]:
        """Every passage read so far, first reading wins, in reading order."""
        seen: set[tuple[str, str, int, str]] = set()
        found: list[Retrieved] = []
        for step in self.steps:
            if step.tool != "search_notes":
                continue
            for p in parse_passages(step.observation):
                key = (p.source, p.heading, p.line_start, p.text if p.kind == "companion" else "")
                if key not in seen:
                    seen.add(key)
                    found.append(p)
        return found

    def called(self, tool: str) -> bool:
        return any(s.tool == tool for s in self.steps)

    def observation_of(self, tool: str) -> str | None:
        for step in reversed(self.steps):
            if step.tool == tool:
                return step.observation
        return None


def parse_passages(observation: str) -> list[Retrieved]:
    return [
        Retrieved(
            source=m["source"],
            section=m["section"].split(" > ", 1)[0],
            subsection=m["section"].split(" > ", 1)[1] if " > " in m["section"] else "",
            line_start=int(m["a"] or 0),
            line_end=int(m["b"] or 0),
            kind="companion" if m["companion"] else "notes",
            similarity=float(m["sim"]),
            text=m["text"].strip(),
        )
        for m in _PASSAGE.finditer(observation)
    ]


def _content(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else str(message)
    if isinstance(content, list):  # multimodal parts
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def read_conversation(messages: str | list[Any]) -> Conversation:
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    system = next((_content(m) for m in messages if m.get("role") == "system"), "")
    users = [_content(m) for m in messages if m.get("role") == "user"]
    first_user = users[0] if users else ""
    task_text, expected = "", ""
    if "Current Task:" in first_user:
        after = first_user.split("Current Task:", 1)[1]
        task_text = re.split(r"\n\s*This is the expected criteria for your final answer:", after)[0].strip()
        m = re.search(r"This is the expected criteria for your final answer:(.*?)(?:\n\s*you MUST|\Z)", after, re.S)
        expected = m.group(1).strip() if m else ""
    tools = [t.strip() for t in _TOOL_NAME.findall(system)]
    steps: list[Step] = []
    for m in messages:
        if m.get("role") != "assistant":
            continue
        text = _content(m)
        if "Observation:" not in text:
            continue
        head, observation = text.split("Observation:", 1)
        action = _ACTION.search(head)
        if not action:
            continue
        raw_input = _ACTION_INPUT.search(head)
        try:
            tool_input = json.loads(raw_input.group(1)) if raw_input else {}
        except json.JSONDecodeError:
            tool_input = {}
        steps.append(Step(action.group(1).strip(), tool_input if isinstance(tool_input, dict) else {}, observation.strip()))
    return Conversation(system=system, task_text=task_text, expected=expected, tools=tools, steps=steps)


def action(thought: str, tool: str, tool_input: dict[str, Any]) -> str:
    return f"Thought: {thought}\nAction: {tool}\nAction Input: {json.dumps(tool_input, ensure_ascii=False)}"


def final(thought: str, answer: str) -> str:
    return f"Thought: {thought}\nFinal Answer: {answer}"
