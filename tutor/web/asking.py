"""A class at once: `/ask` for many learners without one learner's question waiting behind another's.

- No global lock on the offline answer: `conversation.answer_without_crew` reads the notes and starts no crew, so
  it runs in several threads at once; only an answer that needs the crew (a configured model, a teacher's YAML that
  changes who answers) still takes `web.crew_lock`, one crew at a time, as CrewAI's process-wide event bus needs.
- The work that costs CPU (embedding the question and the passages it weighs) runs in a bounded pool, one thread
  per core (TUTOR_WEB_CPU_THREADS sets another number): more threads than cores only make every answer slower
  together, and starlette's own threads stay free for searches and pages. The pool's threads run 5 nicer than the
  rest of the server (Linux), so when the CPU is short a search or a page goes first: it is short work.
- An offline answer is kept for its (question, notes) pair: the notes' fingerprint (TUTOR_HOME/index/state.json)
  is part of the key, so re-indexed notes are answered afresh. The same question asked by several learners at once
  is answered once (the others wait for that answer, not in the pool), and a class that asks what its lesson is
  about mostly hits the kept answers. At most `MAX_KEPT` answers are kept (the least recently asked go first), so
  the server's memory stays flat however long it runs.
- The index and the embedding model are loaded once per process (tutor.tools.notes.shared_retriever,
  tutor.knowledge.embedder) and stay loaded: only the first question after start-up pays for loading them.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

MAX_KEPT = 512  # answers kept: a term's questions, a few KB each


def cpu_count() -> int:
    """The cores this process may use (a container's or `taskset`'s limit, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def pool_size() -> int:
    """The pool's threads: TUTOR_WEB_CPU_THREADS where set (a machine shared with other work), else the cores."""
    from tutor.errors import UsageError

    given = os.environ.get("TUTOR_WEB_CPU_THREADS", "").strip()
    if not given:
        return cpu_count()
    if not given.isdigit() or not 1 <= int(given) <= 256:
        raise UsageError(f"TUTOR_WEB_CPU_THREADS must be a whole number from 1 to 256, got '{given}'")
    return int(given)


YIELD_NICE = 5  # the pool's threads run this much nicer than the server's others (Linux: per thread)


def _yield_to_pages() -> None:
    """A pool thread gives way to searches and pages when the CPU is short: a higher nice for this thread only
    (on Linux a thread has its own; elsewhere nothing changes)."""
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + YIELD_NICE)
    except (AttributeError, OSError):
        pass


class Answers:
    """The answers to `/ask`, kept and shared (see the module docstring). Its methods run on the event loop."""

    def __init__(self, web: Any, cpu_workers: int | None = None, max_kept: int = MAX_KEPT) -> None:
        self.web = web
        self.pool = ThreadPoolExecutor(max_workers=cpu_workers or pool_size(), thread_name_prefix="tutor-cpu",
                                       initializer=_yield_to_pages)
        self.kept: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.running: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.max_kept = max_kept
        self.hits = self.misses = 0
        self._notes: tuple[int, str] = (-1, "")

    def notes_version(self) -> str:
        """The fingerprint of the indexed notes: a stat of state.json, which is read again only when it changes."""
        from tutor.settings import get_settings

        path = Path(get_settings().index_dir) / "state.json"
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return ""
        if stamp != self._notes[0]:
            from tutor.knowledge.store import IndexState

            try:
                self._notes = (stamp, IndexState.model_validate_json(path.read_text(encoding="utf-8")).fingerprint)
            except (OSError, ValueError):
                return ""
        return self._notes[1]

    async def run(self, fn: Any, *args: Any) -> Any:
        """`fn(*args)` in the bounded pool."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def answer(self, question: str) -> Any:
        """The answer to `question`: kept, being worked out for another learner, or worked out now."""
        key = (question, self.notes_version())  # a stat, on the loop: a kept answer never waits for the pool
        if key in self.kept:
            self.kept.move_to_end(key)
            self.hits += 1
            return self.kept[key]
        if key in self.running:  # another learner asked it a moment ago: the same answer, computed once
            self.hits += 1
            return await asyncio.shield(self.running[key])
        self.misses += 1
        work = asyncio.ensure_future(self.run(self._offline, question))
        self.running[key] = work
        try:
            answer = await asyncio.shield(work)
        finally:
            self.running.pop(key, None)
        if answer is None:  # the crew must answer: one at a time, never kept (a model may answer differently);
            from starlette.concurrency import run_in_threadpool  # waiting on a model is no work for the pool

            return await run_in_threadpool(self._with_crew, question)
        self.kept[key] = answer
        while len(self.kept) > self.max_kept:
            self.kept.popitem(last=False)
        return answer

    def _offline(self, question: str) -> Any:
        from tutor.learning.conversation import answer_without_crew

        return answer_without_crew(question, self.web.options)

    def _with_crew(self, question: str) -> Any:
        from tutor.learning.conversation import ask

        with self.web.crew_lock:
            return ask(question, self.web.options)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
