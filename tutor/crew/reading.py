"""Reading a task's answer into its pydantic model, whatever the model's habit.

Every task with an `output:` goes through `read_output` (as a CrewAI guardrail, see `reader_guardrail`):
strict JSON; JSON in a fence or with prose around it; `<think>...</think>` or "Thinking:" preambles; a
Python-style dict; trailing commentary; and plain prose where prose can carry the meaning: a Markdown lesson
becomes the Lesson's markdown (its citations read from its `[source § section]` markers), a prose answer an
Answer, a numbered list of questions with answers CheckQuestions or a Quiz, "Score: 0.8 ... Verdict: ..." a
Grade. What cannot be read raises `Unreadable` with the reason; the guardrail hands it back to the model
once, and then the run fails (and falls back to the offline model with its one-line notice).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_THINK = re.compile(r"<think>.*?</think>|<thinking>.*?</thinking>", re.S | re.I)
_PREAMBLE = re.compile(r"^\s*(?:Thinking|Thought|Reasoning):.*?(?:\n\s*\n|(?=^\s*Final Answer:))", re.S | re.I | re.M)
_FINAL = re.compile(r"^\s*Final Answer:\s*", re.I | re.M)
_FENCE = re.compile(r"```[\w-]*\s*\n(.*?)```", re.S)
_CITATION = re.compile(r"\[([^\[\]§]+?\.(?:md|markdown|txt|pdf))\s*§\s*([^\[\]]+?)\]")
_NUMBERED = re.compile(r"^\s*(?:\d+[.)]|Q\d*[.:)])\s+(.*)$", re.M)
_ANSWER = re.compile(r"^\s*(?:\*\*)?(?:answer|reference(?: answer)?|a)(?:\*\*)?\s*[:\-]\s*(.*)$", re.I)
# The answer on the question's own line: "1. Why ...? Answer: ...", "... **Answer:** ...", "... (Answer: ...)",
# "... ? A: ...": after the question's end (? . ! ) or bold), "Answer" with its colon, a bare "A:" only after a "?".
_INLINE_ANSWER = re.compile(
    r"^(?P<question>.*?[?.!)*])\s*(?:[-\u2013\u2014|]\s*)?(?P<paren>\()?(?:\*\*|__)?"
    r"(?:(?:reference\s+|correct\s+)?answer|(?<=\?\s)a)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<answer>\S.*)$", re.I)
_ACTION = re.compile(r"^\s*Action:\s*\S.*\n\s*Action Input:", re.M)
_OPTION = re.compile(r"^\s*\(?([A-Ea-e])[).:]\s+(.*)$")


class Unreadable(ValueError):
    """The reply holds no readable value of the model; the message says why, for the model to fix it."""


def clean(raw: str) -> str:
    """The reply without think blocks, reasoning preambles and a leading "Final Answer:"."""
    text = _THINK.sub("", raw or "")
    if "Final Answer:" in text:
        text = text.split("Final Answer:", 1)[1]
    text = _PREAMBLE.sub("", text, count=1)
    return _FINAL.sub("", text).strip()


def _balanced(text: str) -> list[str]:
    """Every top-level {...} or [...] span, first first (strings and escapes respected)."""
    spans, depth, start, quote, escape = [], 0, -1, "", False
    for i, ch in enumerate(text):
        if quote:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'" and depth:
            quote = ch
        elif ch in "{[":
            if depth == 0:
                start = i
            depth += 1
        elif ch in "}]" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


def structured(text: str) -> list[Any]:
    """The JSON (or Python-literal) values in a reply: fenced blocks first, then balanced spans."""
    found: list[Any] = []
    for chunk in [*_FENCE.findall(text), text, *_balanced(text)]:
        chunk = chunk.strip()
        if not chunk or chunk[0] not in "{[":
            continue
        for parse in (json.loads, ast.literal_eval):
            try:
                found.append(parse(chunk))
                break
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
    return found


def citations_in(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for source, section in _CITATION.findall(text):
        cite = {"source": source.strip(), "section": section.split(" > ")[0].strip()}
        if cite not in out:
            out.append(cite)
    return out


def read_output(model: type[BaseModel], raw: str, defaults: dict[str, Any] | None = None) -> BaseModel:
    """`raw` read into `model` (see the module's docstring); `defaults` fill fields a reply may leave out
    (a lesson's topic, an answer's question)."""
    defaults = {k: v for k, v in (defaults or {}).items() if v not in (None, "")}
    if _ACTION.search(raw or "") and "Final Answer:" not in (raw or ""):
        raise Unreadable("the reply is a tool call written as text (Action: / Action Input:), not an answer")
    text = clean(raw)
    if not text:
        raise Unreadable("the reply is empty")
    errors: list[str] = []
    for value in structured(text):
        for candidate in _shapes(model, value):
            try:
                return model.model_validate({**defaults, **candidate})
            except ValidationError as e:
                errors.append(_first_error(e))
    # JSON that does not parse (cut off, say) is a broken reply, never prose to be read loosely
    prose = None if text.lstrip().startswith(("{", "[")) else _from_prose(model, text, defaults)
    if prose is not None:
        return prose
    reason = errors[0] if errors else f"no JSON object and no {model.__name__} in plain text"
    raise Unreadable(f"could not read a {model.__name__} from the reply: {reason}")


def _shapes(model: type[BaseModel], value: Any) -> list[dict[str, Any]]:
    """A value as the model's fields: itself, or a bare list as the model's one list field."""
    if isinstance(value, dict):
        inner = [v for v in value.values() if isinstance(v, dict)]
        return [value, *inner[:1]] if len(value) == 1 and inner else [value]
    if isinstance(value, list):
        lists = [name for name, f in model.model_fields.items() if "list" in str(f.annotation).lower()]
        return [{lists[0]: value}] if lists else []
    return []


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "value"
    return f"{where}: {first.get('msg', 'invalid')}"


def _from_prose(model: type[BaseModel], text: str, defaults: dict[str, Any]) -> BaseModel | None:
    name = model.__name__
    try:
        if name == "Lesson" and len(text) >= 40:
            return model.model_validate({**defaults, "markdown": text, "citations": citations_in(text)})
        if name == "Answer" and len(text) >= 10:
            return model.model_validate({**defaults, "answer": text, "citations": citations_in(text)})
        if name == "Grade":
            return _grade(model, text)
        if name in ("CheckQuestions", "Quiz"):
            items = _questions(text)
            if items:
                field = "questions" if name == "CheckQuestions" else "items"
                return model.model_validate({field: items})
    except ValidationError:
        return None
    return None


def _grade(model: type[BaseModel], text: str) -> BaseModel | None:
    score = re.search(r"\bscore\b\W{0,3}\s*([01](?:\.\d+)?|\.\d+)(\s*/\s*(?:1|10|100)\b)?", text, re.I)
    if not score:
        return None
    value = float(score.group(1))
    verdict = re.search(r"\bverdict\b\W{0,3}\s*(partially[ _]correct|correct|incorrect)", text, re.I)
    feedback = re.search(r"\bfeedback\b\W{0,3}\s*(.+)", text, re.I | re.S)
    data: dict[str, Any] = {"score": value, "feedback": (feedback.group(1) if feedback else text).strip()[:1000]}
    if verdict:
        data["verdict"] = verdict.group(1).lower().replace(" ", "_")
    return model.model_validate(data)


def _questions(text: str) -> list[dict[str, Any]]:
    """A numbered list of questions, each followed by its answer (and options A-E for a multiple choice)."""
    items: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        numbered = _NUMBERED.match(line)
        answer = _ANSWER.match(line)
        option = _OPTION.match(line)
        if numbered and not answer:
            question, inline = _split_inline(numbered.group(1))
            current = {"question": question, "options": []}
            if inline:
                current["answer"] = inline
            items.append(current)
        elif current is not None and answer:
            current["answer"] = answer.group(1).strip().strip("*").strip()
        elif current is not None and option and "answer" not in current:
            current["options"].append(option.group(2).strip())
    out = []
    for item in items:
        if not item.get("answer") or not item["question"]:
            continue
        options = item.pop("options")
        letter = re.fullmatch(r"\(?([A-Ea-e])\)?[.)]?(?:\s.*)?", item["answer"])
        index = ord(letter.group(1).upper()) - ord("A") if letter else -1
        if len(options) >= 3 and 0 <= index < len(options):
            item.update(kind="mcq", options=options, answer=options[index])
        else:
            item["kind"] = "short"
        out.append(item)
    return out


def _split_inline(line: str) -> tuple[str, str]:
    """(question, answer) of a numbered line; the answer is "" when it is not on this line."""
    found = _INLINE_ANSWER.match(line)
    if not found:
        return line.strip().strip("*").strip(), ""
    answer = found.group("answer").strip()
    if found.group("paren") and answer.endswith(")"):
        answer = answer[:-1]
    return found.group("question").strip().strip("*").strip(), answer.strip().strip("*_").strip()


def reader_guardrail(model: type[BaseModel], defaults: dict[str, Any]) -> Any:
    """A CrewAI guardrail: the task's reply read into `model` and handed on as its JSON, or the reason it
    could not be read, which CrewAI gives the model to answer again."""

    def guard(output):  # CrewAI checks a guardrail's annotation against typing.Tuple: none is accepted
        try:
            return True, read_output(model, getattr(output, "raw", str(output)), defaults).model_dump_json()
        except Unreadable as e:
            fields = [n for n in model.model_fields if not n.startswith("citations_")]
            return False, f"{e}. Answer again with only a JSON object for {model.__name__} (fields: {', '.join(fields)})."

    return guard
