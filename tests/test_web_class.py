"""A class at once (issue 25): `/ask` answers without the crew lock where no crew runs, keeps an answer per
(question, notes), answers a question asked by several learners at once once, stays within its bound, and still
runs a crew one at a time. The real app (Starlette's TestClient) with the offline answer recorded by a fake."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest
from starlette.testclient import TestClient

from tutor.crew.outputs import Answer
from tutor.learning import conversation
from tutor.settings import get_settings
from tutor.web.app import create_app


@pytest.fixture
def asked(monkeypatch):
    """The offline answer, faked: each call recorded (question, thread), a little slow like the real one."""
    calls: list[str] = []

    def answer_without_crew(question, options):
        calls.append(question)
        time.sleep(0.2)
        return Answer(question=question, answer=f"The notes on {question}", covered=True)

    monkeypatch.setattr(conversation, "answer_without_crew", answer_without_crew)
    return calls


@pytest.fixture
def client():
    get_settings.cache_clear()
    with TestClient(create_app(cpu_workers=2)) as c:
        yield c


def test_an_offline_answer_waits_for_no_crew(client, asked):
    web = client.app.state.web
    with web.crew_lock:  # a crew is running for someone else: the offline answer does not wait for it
        page = client.get("/ask", params={"q": "what is dropout?"}, timeout=5).text
    assert "The notes on what is dropout?" in page and asked == ["what is dropout?"]


def test_a_question_asked_again_is_answered_from_what_was_kept(client, asked):
    for _ in range(3):
        assert "The notes on what is attention?" in client.get("/ask", params={"q": "what is  attention?"}).text
    assert asked == ["what is attention?"]  # worked out once
    answers = client.app.state.web.answers
    assert answers.hits == 2 and answers.misses == 1


def test_learners_asking_the_same_question_at_once_get_one_answer_worked_out_once(client, asked):
    pages: list[str] = []

    def learner():
        pages.append(client.get("/ask", params={"q": "why batch normalization?"}).text)

    threads = [threading.Thread(target=learner) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pages) == 6 and all("The notes on why batch normalization?" in p for p in pages)
    assert asked == ["why batch normalization?"]


def test_new_notes_are_answered_afresh(client, asked, monkeypatch):
    answers = client.app.state.web.answers
    client.get("/ask", params={"q": "what is dropout?"})
    monkeypatch.setattr(answers, "notes_version", lambda: "re-indexed")
    client.get("/ask", params={"q": "what is dropout?"})
    assert asked == ["what is dropout?", "what is dropout?"]


def test_the_kept_answers_stay_within_their_bound(client, asked):
    answers = client.app.state.web.answers
    answers.max_kept = 3
    for k in range(6):
        client.get("/ask", params={"q": f"question {k}?"})
    assert len(answers.kept) == 3 and [q for q, _ in answers.kept] == ["question 3?", "question 4?", "question 5?"]


def test_an_answer_that_needs_the_crew_takes_the_lock_and_is_not_kept(client, monkeypatch):
    web = client.app.state.web
    held: list[bool] = []

    def ask(question, options, said=(), about=""):
        held.append(web.crew_lock.locked())
        return Answer(question=question, answer="A model's answer.", covered=True)

    monkeypatch.setattr(conversation, "answer_without_crew", lambda q, o: None)  # a configured model answers
    monkeypatch.setattr(conversation, "ask", ask)
    for _ in range(2):
        assert "A model's answer." in client.get("/ask", params={"q": "what is dropout?"}).text
    assert held == [True, True] and not web.answers.kept


def test_a_question_the_library_refuses_is_one_line_and_nothing_is_kept(client):
    page = client.get("/ask", params={"q": "what is \x00 dropout?"})  # refused before any work (the real call)
    assert page.status_code == 400 and "NUL" in page.text and "Traceback" not in page.text
    assert not client.app.state.web.answers.kept and not client.app.state.web.answers.running


def test_kept_sessions_stay_within_their_bound(client):
    web = client.app.state.web
    for k in range(5):
        web.keep("quiz:", str(k), {"at": k}, limit=3)
    web.keep("class:", "a", [], limit=3)
    assert sorted(web.sessions) == ["class:a", "quiz:2", "quiz:3", "quiz:4"]  # each kind within its own bound


def test_the_pool_has_one_thread_per_core_unless_told(monkeypatch):
    from tutor.errors import UsageError
    from tutor.web.asking import cpu_count, pool_size

    monkeypatch.delenv("TUTOR_WEB_CPU_THREADS", raising=False)
    assert pool_size() == cpu_count() >= 1
    monkeypatch.setenv("TUTOR_WEB_CPU_THREADS", "3")
    assert pool_size() == 3
    monkeypatch.setenv("TUTOR_WEB_CPU_THREADS", "many")
    with pytest.raises(UsageError, match="TUTOR_WEB_CPU_THREADS must be a whole number"):
        pool_size()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is Linux's")
def test_the_pool_gives_way_to_searches_and_pages(client):
    from tutor.web.asking import YIELD_NICE

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    pooled = client.app.state.web.answers.pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
    assert pooled == min(19, mine + YIELD_NICE) and os.getpriority(os.PRIO_PROCESS, 0) == mine  # that thread only
