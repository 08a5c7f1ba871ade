"""The learner's store: migrations, answers and progress, and that nothing is lost to a kill, a crowd or damage."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tutor.errors import UsageError, WorkFailed
from tutor.learning import store as store_module
from tutor.learning.store import HALF_LIFE_DAYS, SCHEMA_VERSION, LearnerStore, db_path

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NN = "02-training-neural-networks.md"
MLP = "1. Multilayer Perceptron as a Universal Approximator"
BACKPROP = "2. How Neural Networks Learn from Labeled Data"
REPO = Path(__file__).resolve().parents[1]


def _answer(store: LearnerStore, question: str, score: float, when: datetime, section: str = MLP,
            quiz_id: int | None = None) -> int:
    return store.record_answer(quiz_id, question, "my answer", "the reference", score, "verdict", NN, section, now=when)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _user_version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


# -- opening and migrations ---------------------------------------------------------------------


def test_migrates_an_empty_file_and_reopening_changes_nothing(tutor_home):
    tutor_home.mkdir(parents=True)
    db_path().write_bytes(b"")  # an empty file is an empty database
    with LearnerStore.open() as store:
        assert store.learner == "default" and not store.created  # the default learner comes with the schema
        assert store.path == tutor_home / "learner.db"
    assert _user_version(db_path()) == SCHEMA_VERSION
    assert {"learners", "lessons", "lesson_sections", "quizzes", "answers", "cards"} <= _tables(db_path())
    with LearnerStore.open() as again:
        assert not again.created
    assert _user_version(db_path()) == SCHEMA_VERSION
    with sqlite3.connect(db_path()) as con:
        assert con.execute("SELECT name FROM learners").fetchall() == [("default",)]


def test_a_new_step_is_applied_once_in_order(monkeypatch):
    with LearnerStore.open() as store:
        _answer(store, "q", 0.5, T0)
    step = ("ALTER TABLE answers ADD COLUMN hint TEXT", "CREATE TABLE notes_seen (id INTEGER PRIMARY KEY)")
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, step])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with LearnerStore.open() as store:
        assert len(store.answers()) == 1  # the record survives the upgrade
    assert _user_version(db_path()) == SCHEMA_VERSION + 1
    assert "notes_seen" in _tables(db_path())
    with LearnerStore.open():  # nothing re-applied: ALTER TABLE twice would fail
        pass


def test_a_store_from_a_newer_tutor_is_refused_and_left_alone():
    with LearnerStore.open():
        pass
    con = sqlite3.connect(db_path())
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    con.close()
    before = db_path().read_bytes()
    with pytest.raises(WorkFailed, match="newer"):
        LearnerStore.open()
    assert db_path().read_bytes() == before


def test_wal_mode_and_busy_timeout_are_on():
    with LearnerStore.open() as store:
        assert store._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._con.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    con = sqlite3.connect(db_path())
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent, seen by every process
    finally:
        con.close()


def test_learners_are_created_on_first_use_and_kept_apart():
    with LearnerStore.open("ada") as ada:
        assert ada.created
        _answer(ada, "q1", 0.2, T0)
    with LearnerStore.open("  ada ") as ada:
        assert not ada.created and ada.learner == "ada"
        assert ada.progress(T0).attempts == 1
    with LearnerStore.open() as default:
        assert default.progress(T0).attempts == 0
        assert default.due_cards(T0 + timedelta(days=365)) == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "tab\there"])
def test_bad_learner_names_are_usage_errors(name):
    with pytest.raises(UsageError):
        LearnerStore.open(name)


# -- recording and progress ---------------------------------------------------------------------


def test_progress_counts_and_recency_weighted_mastery():
    with LearnerStore.open() as store:
        quiz = store.start_quiz("mlp", "open", 7, 3, now=T0)
        _answer(store, "What is an MLP?", 1.0, T0, quiz_id=quiz)
        _answer(store, "Why non-linear activations?", 0.0, T0 + timedelta(days=HALF_LIFE_DAYS), quiz_id=quiz)
        _answer(store, "What does backpropagation compute?", 0.9, T0 + timedelta(days=HALF_LIFE_DAYS),
                section=BACKPROP, quiz_id=quiz)
        store.finish_quiz(quiz, now=T0 + timedelta(days=HALF_LIFE_DAYS))
        store.record_lesson("transfer learning", [("03-cnns.md", "4. Transfer Learning in Computer Vision")],
                            now=T0)
        report = store.progress(now=T0 + timedelta(days=HALF_LIFE_DAYS))

    assert (report.attempts, report.quizzes, report.lessons, report.cards) == (3, 1, 1, 3)
    by_section = {s.section: s for s in report.sections}
    # the 1.0 is one half-life old (weight 0.5), the 0.0 is fresh (weight 1)
    assert by_section[MLP].mastery == pytest.approx(0.5 / 1.5)
    assert by_section[MLP].attempts == 2
    assert by_section[MLP].module == "Training Neural Networks"
    assert by_section[MLP].last_seen == T0 + timedelta(days=HALF_LIFE_DAYS)
    assert by_section[BACKPROP].mastery == pytest.approx(0.9)
    lesson = by_section["4. Transfer Learning in Computer Vision"]
    assert lesson.mastery is None and lesson.attempts == 0  # studied, never quizzed
    modules = {m.module: m for m in report.modules}
    assert modules["Training Neural Networks"].mastery == pytest.approx((0.5 * 1.0 + 0.0 + 0.9) / 2.5)
    assert modules["Training Neural Networks"].attempts == 3
    assert modules["Training Neural Networks"].sections == 2
    assert [w.section for w in report.weakest] == [MLP]
    assert [h.score for h in report.history] == [1.0, 0.0, 0.9]


def test_due_now_and_this_week_follow_the_cards():
    with LearnerStore.open() as store:
        _answer(store, "missed", 0.1, T0)  # Again: due in a day
        _answer(store, "easy", 1.0, T0)  # Easy: due in about a week or more
        missed = store.card_for("missed")
        easy = store.card_for("easy")
        assert missed is not None and easy is not None
        assert missed.due == T0 + timedelta(days=1)
        assert store.progress(T0).due == 0
        at = T0 + timedelta(days=1)
        report = store.progress(at)
        assert report.due == 1
        assert report.due_week == 1 + (easy.due <= at + timedelta(days=7))
        assert [c.question for c in store.due_cards(at)] == ["missed"]
        assert [c.question for c in store.due_cards(easy.due)] == ["missed", "easy"]  # most overdue first
        assert len(store.due_cards(easy.due, limit=1)) == 1


def test_review_records_an_answer_and_reschedules():
    with LearnerStore.open() as store:
        _answer(store, "What is dropout?", 0.2, T0, section="5. Regularization Techniques to Prevent Overfitting")
        card = store.due_cards(T0 + timedelta(days=1))[0]
        after = store.review(card.id, 0.95, answer="randomly drops units", now=T0 + timedelta(days=1))
        assert after.reviews == 2 and after.last_score == 0.95
        assert after.due > T0 + timedelta(days=3)
        answers = store.answers()
        assert [a.score for a in answers] == [0.2, 0.95]
        assert answers[1].quiz_id is None and answers[1].card_id == card.id
        assert answers[1].section == card.section
        with pytest.raises(UsageError):
            store.review(9999, 0.5)


def test_the_same_question_updates_one_card():
    with LearnerStore.open() as store:
        _answer(store, "What is  an MLP?", 0.5, T0)
        _answer(store, "what is an mlp?", 0.8, T0 + timedelta(days=2))
        assert len(store.cards()) == 1
        assert store.cards()[0].reviews == 2


def test_bad_scores_and_quiz_ids_are_refused_and_nothing_is_written():
    with LearnerStore.open() as store:
        for score in (-0.1, 1.5, float("nan"), "high"):
            with pytest.raises(UsageError):
                _answer(store, "q", score, T0)  # type: ignore[arg-type]
        with pytest.raises(UsageError, match="no quiz"):
            _answer(store, "q", 0.5, T0, quiz_id=42)
        with pytest.raises(UsageError):
            store.finish_quiz(42)
        assert store.answers() == [] and store.cards() == []


def test_studied_sections_and_history_order():
    with LearnerStore.open() as store:
        store.record_lesson("mlp", [{"source": NN, "section": MLP}], now=T0)
        _answer(store, "q", 0.4, T0 + timedelta(hours=1), section=BACKPROP)
        _answer(store, "q2", 0.6, T0 + timedelta(hours=2), section=BACKPROP)
        assert [(s.source, s.section) for s in store.studied_sections()] == [(NN, MLP), (NN, BACKPROP)]
        assert [h.score for h in store.history()] == [0.4, 0.6]
        assert [h.score for h in store.history(limit=1)] == [0.6]


# -- never lose the record ----------------------------------------------------------------------


def _damage(kind: str) -> bytes:
    """Fill a store with some answers, then damage its file as `kind` says; its bytes after."""
    with LearnerStore.open() as store:
        for i in range(150):
            _answer(store, f"question {i} " * 8, 0.5, T0 + timedelta(minutes=i))
    data = db_path().read_bytes()
    assert len(data) > 8 * 4096
    damaged = {
        "random bytes": os.urandom(len(data)),
        "truncated": data[: len(data) // 2],
        "a page overwritten": data[:8192] + os.urandom(4096) + data[12288:],
    }[kind]
    db_path().write_bytes(damaged)
    return damaged


@pytest.mark.parametrize("kind", ["random bytes", "truncated", "a page overwritten"])
def test_a_damaged_file_is_refused_and_left_byte_for_byte(kind):
    damaged = _damage(kind)
    with pytest.raises(WorkFailed) as failure:
        LearnerStore.open()
    message = str(failure.value)
    assert "\n" not in message
    assert str(db_path()) in message and "left untouched" in message
    assert db_path().read_bytes() == damaged
    assert sorted(p.name for p in db_path().parent.iterdir()) == ["learner.db"]  # no stray WAL files either


def test_a_folder_where_the_store_should_be_is_refused(tutor_home):
    db_path().mkdir(parents=True)
    with pytest.raises(WorkFailed, match="not a file"):
        LearnerStore.open()


_CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from tutor.learning.store import LearnerStore
    store = LearnerStore.open()
    quiz = store.start_quiz("mlp", "open", 1, 10_000)
    print("ready", flush=True)
    for i in range(10_000):
        store.record_answer(quiz, f"question {i}", f"answer {i}", "reference", (i % 10) / 10, "", "{source}",
                            "{section}")
        print(i, flush=True)  # only after the commit returned
        time.sleep(0.002)
    """
)


def test_answers_committed_before_a_sigkill_are_all_kept(tutor_home):
    env = {**os.environ, "TUTOR_HOME": str(tutor_home)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.replace("{source}", NN).replace("{section}", MLP)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    printed = []
    for line in child.stdout:
        printed.append(int(line))
        if len(printed) == 40:
            child.send_signal(signal.SIGKILL)  # mid-quiz, mid-answer perhaps
            break
    child.wait(timeout=30)
    printed += [int(line) for line in child.stdout.read().split()]  # lines already in the pipe
    assert child.returncode == -signal.SIGKILL

    with LearnerStore.open() as store:
        kept = {a.question for a in store.answers()}
        assert {f"question {i}" for i in printed} <= kept
        assert len(kept) in (len(printed), len(printed) + 1)  # at most one committed but not yet printed
        assert len(store.cards()) == len(kept)
    con = sqlite3.connect(db_path())
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


_WORKER = textwrap.dedent(
    """
    import sys
    from tutor.learning.store import LearnerStore
    worker = int(sys.argv[1])
    store = LearnerStore.open()  # on a fresh file: the workers race to migrate
    print("ready", flush=True)
    sys.stdin.readline()  # everyone starts writing at once
    for i in range(50):
        store.record_answer(None, f"shared question {i}", f"worker {worker}", "reference", 0.5, "", "{source}",
                            "{section}")
    store.close()
    print("done", flush=True)
    """
)


def test_eight_processes_writing_at_once_lose_nothing(tutor_home):
    env = {**os.environ, "TUTOR_HOME": str(tutor_home)}
    script = _WORKER.replace("{source}", NN).replace("{section}", MLP)
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(w)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env, cwd=REPO)
        for w in range(8)
    ]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        started = time.monotonic()
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        for w in workers:
            out, _ = w.communicate(timeout=60)
            assert w.returncode == 0 and out.strip() == "done"
        assert time.monotonic() - started < 30
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()

    con = sqlite3.connect(db_path())
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 400
        assert con.execute("SELECT COUNT(*) FROM learners").fetchone()[0] == 1
        per_worker = con.execute("SELECT answer, COUNT(*) FROM answers GROUP BY answer").fetchall()
        assert sorted(per_worker) == [(f"worker {w}", 50) for w in range(8)]
        # 50 shared questions, each answered by every worker: one card each, no review lost to a race
        assert con.execute("SELECT COUNT(*), SUM(reviews) FROM cards").fetchone() == (50, 400)
    finally:
        con.close()


def test_a_write_lock_held_too_long_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    with LearnerStore.open() as store:
        other = sqlite3.connect(db_path(), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
            with pytest.raises(WorkFailed, match="locked"):
                _answer(store, "q", 0.5, T0)
            other.execute("ROLLBACK")
        finally:
            other.close()
        _answer(store, "q", 0.5, T0)  # the store is usable once the lock is gone
        assert len(store.answers()) == 1
