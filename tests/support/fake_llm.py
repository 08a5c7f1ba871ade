"""A real OpenAI-compatible HTTP server on 127.0.0.1 that replays scripted replies and records requests.

Each scripted step is a `Reply`: a chat message (text and/or tool calls), or a fault (an HTTP status
with optional headers, a delay beyond the client's timeout, a body that is not JSON). When the script
runs out, the last step repeats, so an agent stuck in a loop keeps getting the same answer.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # [{"name": ..., "arguments": {...}}]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw_body: bytes | None = None  # sent as-is (garbage, malformed JSON)
    finish_reason: str | None = None  # e.g. "length" for a reply cut at max_tokens


def text(content: str) -> Reply:
    return Reply(content=content)


def tool_call(name: str, **arguments: Any) -> Reply:
    return Reply(tool_calls=[{"name": name, "arguments": arguments}])


class ScriptedLLMServer:
    """`with ScriptedLLMServer([...]) as server:` -> server.base_url, server.requests."""

    def __init__(self, script: list[Reply] | None = None, responder: Any = None) -> None:
        self.script = list(script or [])
        self.responder = responder  # optional callable(request_json, index) -> Reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []  # the path of every POST: /v1/chat/completions, or Ollama's /api/chat
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """host:port, as OLLAMA_HOST is written."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            index = len(self.requests)
            self.requests.append(body)
        if self.responder is not None:
            return self.responder(body, index)
        if not self.script:
            return text("Thought: I have nothing scripted.\nFinal Answer: (empty script)")
        return self.script[min(index, len(self.script) - 1)]

    def __enter__(self) -> "ScriptedLLMServer":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/api/tags":  # Ollama's model list
                    self._send(200, json.dumps({"models": [{"name": "llama3.1:latest", "model": "llama3.1:latest"}]}).encode())
                elif self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsable": raw.decode("utf-8", "replace")}
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = outer._next(body)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body, reply.headers)
                    return
                if reply.status != 200:
                    error = {"error": {"message": f"scripted failure {reply.status}", "type": "server_error", "code": reply.status}}
                    self._send(reply.status, json.dumps(error).encode(), reply.headers)
                    return
                outer.paths.append(self.path)
                if self.path.rstrip("/") in ("/api/chat", "/api/generate"):
                    self._send(200, json.dumps(_ollama_payload(self.path, body, reply)).encode(), reply.headers)
                    return
                message: dict[str, Any] = {"role": "assistant", "content": reply.content}
                finish = "stop"
                if reply.tool_calls:
                    message["tool_calls"] = [
                        {"id": f"call_{i}", "type": "function",
                         "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                        for i, c in enumerate(reply.tool_calls)
                    ]
                    finish = "tool_calls"
                finish = reply.finish_reason or finish
                payload = {
                    "id": f"chatcmpl-{len(outer.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "scripted"),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                self._send(200, json.dumps(payload).encode(), reply.headers)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def _ollama_payload(path: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """The reply as Ollama's own API sends it (stream false): /api/chat a message, /api/generate a response."""
    common = {"model": body.get("model", "llama3.1"), "created_at": "2026-12-01T00:00:00Z", "done": True,
              "done_reason": "stop", "prompt_eval_count": 10, "eval_count": 10}
    if path.rstrip("/") == "/api/generate":
        return {**common, "response": reply.content or ""}
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or ""}
    if reply.tool_calls:
        message["tool_calls"] = [{"function": {"name": c["name"], "arguments": c["arguments"]}} for c in reply.tool_calls]
    return {**common, "message": message}
