"""The learner's record: lessons studied, quizzes, every graded answer and the review cards, in SQLite.

One file, `TUTOR_HOME/learner.db`, shared by every tutor process of every learner on the machine:

- WAL mode and a busy timeout, so many processes can read and write at once;
- every answer is committed in its own short transaction the moment it is recorded, so a process
  killed mid-quiz (even with SIGKILL) keeps every answer given before;
- the schema is versioned (`PRAGMA user_version`) and upgraded by the steps in `MIGRATIONS`, applied
  in order, one transaction each;
- a damaged file is never repaired, replaced or written to: opening it raises `WorkFailed` naming
  the file, which is left byte for byte as it was for recovery.

Mastery of a section is the recency-weighted mean of its scores: an answer given `d` days ago
weighs `0.5 ** (d / HALF_LIFE_DAYS)`, so a score from two weeks ago counts half as much as one
given today. A section is weak below `WEAK_BELOW`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tutor.errors import UsageError, WorkFailed
from tutor.learning import srs

DB_NAME = "learner.db"
DEFAULT_LEARNER = "default"
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's transaction before giving up
HALF_LIFE_DAYS = 14.0  # an answer's weight in mastery halves every two weeks
WEAK_BELOW = 0.7  # a section mastered below this is weak (the grader's Hard/Good boundary)
WEAKEST_SHOWN = 5  # how many weak sections `Progress.weakest` lists
HISTORY_SHOWN = 500  # how many recent answers `Progress.history` carries
MAX_LEARNER_NAME = 64

_SQLITE_MAGIC = b"SQLite format 3\x00"

# Each step upgrades the schema by one version, in one transaction; never edit a released step, add one.
MIGRATIONS: list[tuple[str, ...]] = [
    (  # 1: learners, lessons, quizzes, answers, review cards
        """CREATE TABLE learners (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE lessons (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            topic TEXT NOT NULL,
            studied_at TEXT NOT NULL)""",
        """CREATE TABLE lesson_sections (
            lesson_id INTEGER NOT NULL REFERENCES lessons(id),
            source TEXT NOT NULL,
            section TEXT NOT NULL)""",
        """CREATE TABLE quizzes (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            topic TEXT,
            kind TEXT NOT NULL,
            seed INTEGER,
            size INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT)""",
        """CREATE TABLE cards (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            question_key TEXT NOT NULL,
            question TEXT NOT NULL,
            reference TEXT NOT NULL,
            source TEXT NOT NULL,
            section TEXT NOT NULL,
            fsrs TEXT NOT NULL,
            due TEXT NOT NULL,
            reviews INTEGER NOT NULL,
            last_score REAL NOT NULL,
            last_review TEXT NOT NULL,
            UNIQUE (learner_id, question_key))""",
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            quiz_id INTEGER REFERENCES quizzes(id),
            card_id INTEGER REFERENCES cards(id),
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            reference TEXT NOT NULL,
            score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
            verdict TEXT NOT NULL,
            source TEXT NOT NULL,
            section TEXT NOT NULL,
            answered_at TEXT NOT NULL)""",
        "CREATE INDEX answers_by_learner ON answers (learner_id, answered_at)",
        "CREATE INDEX cards_by_due ON cards (learner_id, due)",
        "CREATE INDEX lesson_sections_by_lesson ON lesson_sections (lesson_id)",
        "CREATE INDEX lessons_by_learner ON lessons (learner_id)",
        "INSERT INTO learners (name, created_at) VALUES ('default', strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'))",
    ),
    (  # 2: an answer the grader was unsure of, rated by the learner against the key point
        "ALTER TABLE answers ADD COLUMN self_rated INTEGER NOT NULL DEFAULT 0",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


# ---------------------------------------------------------------------------------------------
# What the store hands out


class SectionRef(BaseModel):
    """A `##` section of the notes: the file it is in and its heading."""

    source: str = ""
    section: str = ""


class Answer(BaseModel):
    id: int
    quiz_id: int | None
    card_id: int | None
    question: str
    answer: str
    reference: str
    score: float
    verdict: str
    source: str
    section: str
    time: datetime
    self_rated: bool = False  # the grader was unsure; the learner compared with the key point and rated it


class ReviewCard(BaseModel):
    """One question the learner has answered, with its FSRS schedule."""

    id: int
    question_key: str
    question: str
    reference: str
    source: str
    section: str
    due: datetime
    state: str  # FSRS: Learning, Review or Relearning
    stability: float | None
    difficulty: float | None
    reviews: int
    last_score: float
    last_review: datetime


class SectionMastery(BaseModel):
    source: str
    module: str
    section: str
    mastery: float | None  # None: studied, never answered on
    attempts: int
    last_seen: datetime


class ModuleMastery(BaseModel):
    module: str
    mastery: float | None
    attempts: int
    sections: int


class HistoryEntry(BaseModel):
    time: datetime
    score: float
    section: str
    source: str


class Progress(BaseModel):
    """Everything `tutor progress` shows, and its `--json`."""

    learner: str
    generated_at: datetime
    attempts: int  # graded answers
    quizzes: int
    lessons: int
    cards: int
    due: int  # cards due now
    due_week: int  # cards due within seven days, those due now included
    sections: list[SectionMastery] = Field(default_factory=list)
    modules: list[ModuleMastery] = Field(default_factory=list)
    weakest: list[SectionMastery] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)  # oldest first, the last HISTORY_SHOWN


# ---------------------------------------------------------------------------------------------
# Helpers


def db_path() -> Path:
    from tutor.settings import get_settings

    return get_settings().home / DB_NAME


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    """One fixed-width UTC format, so stored times sort as text."""
    return srs.utc(moment).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def make_question_key(question: str) -> str:
    """The stable key of a question: its text, case and spacing aside."""
    normal = " ".join(question.lower().split())
    return hashlib.sha1(normal.encode()).hexdigest()[:20]


def check_learner_name(name: str | None) -> str:
    if name is None:
        return DEFAULT_LEARNER
    clean = name.strip()
    if not clean:
        raise UsageError("the learner name is empty")
    if len(clean) > MAX_LEARNER_NAME:
        raise UsageError(f"a learner name has at most {MAX_LEARNER_NAME} characters, got {len(clean)}")
    if any(ord(c) < 32 for c in clean):
        raise UsageError("a learner name cannot contain control characters")
    return clean


def check_score(score: float) -> float:
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise UsageError(f"a score is a number in [0, 1], got {score!r}") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise UsageError(f"a score is a number in [0, 1], got {score!r}")
    return value


def section_refs(sections: Iterable[Any]) -> list[SectionRef]:
    """Sections given as SectionRef, citations (anything with .source/.section), dicts or (source, section)."""
    refs: list[SectionRef] = []
    for item in sections:
        if isinstance(item, SectionRef):
            ref = item
        elif isinstance(item, dict):
            ref = SectionRef(source=str(item.get("source", "")), section=str(item.get("section", "")))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            ref = SectionRef(source=str(item[0]), section=str(item[1]))
        elif hasattr(item, "section"):
            ref = SectionRef(source=str(getattr(item, "source", "")), section=str(item.section))
        else:
            raise UsageError(f"not a section: {item!r}")
        if ref.section and ref not in refs:
            refs.append(ref)
    return refs


def decay_weight(age: timedelta) -> float:
    """The weight of an answer given `age` ago in mastery (future answers count as now)."""
    days = max(age.total_seconds(), 0.0) / 86400.0
    return 0.5 ** (days / HALF_LIFE_DAYS)


def module_title(source: str) -> str:
    """The module a notes file teaches: its `# ` title, else a name made from the file name."""
    from tutor.settings import get_settings

    return _module_title(str(get_settings().knowledge_dir), source)


@lru_cache(maxsize=512)
def _module_title(knowledge_dir: str, source: str) -> str:
    if not source:
        return "(no module)"
    path = Path(source) if Path(source).is_absolute() else Path(knowledge_dir) / source
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for _, line in zip(range(200), f):
                match = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
                if match:
                    return match.group(1)
    except OSError:
        pass
    stem = re.sub(r"^[\d\s._-]+", "", Path(source).stem) or Path(source).stem
    return stem.replace("-", " ").replace("_", " ").capitalize()


class StoreDamaged(WorkFailed):
    """The learner store's file is not a sound database; it is left as it was."""


def _damaged(path: Path, reason: str) -> StoreDamaged:
    reason = " ".join(reason.replace("*** in database main ***", "").split())
    return StoreDamaged(
        f"the learner store {path} is damaged ({reason}); it was left untouched for recovery: "
        f"restore a backup, or move it aside and tutor starts a new one"
    )


def _is_busy(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _check_readable(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database, reading it only (never a byte written)."""
    if not path.exists():
        return
    if not path.is_file():
        raise WorkFailed(f"the learner store {path} is not a file; move it aside")
    try:
        size = path.stat().st_size
        if size == 0:
            return  # an empty file is an empty database: the migrations fill it
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise WorkFailed(f"cannot read the learner store {path}: {e.strerror or e}") from e
    if head != _SQLITE_MAGIC:
        raise _damaged(path, "not an SQLite database")
    sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    existed = {p for p in sidecars if p.exists()}
    try:
        _quick_check(path)
    except StoreDamaged:
        for p in sidecars:  # the check's own WAL files, so the damaged file is found as it was left
            if p not in existed:
                p.unlink(missing_ok=True)
        raise


def _quick_check(path: Path) -> None:
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            rows = con.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        if _is_busy(e):
            raise WorkFailed(f"the learner store {path} stayed locked by another process; try again") from e
        raise _damaged(path, str(e)) from e
    if rows != [("ok",)]:
        raise _damaged(path, str(rows[0][0]) if rows else "integrity check failed")


# ---------------------------------------------------------------------------------------------
# The store


class LearnerStore:
    """One learner's view of the shared store; open it with `LearnerStore.open(name)`."""

    def __init__(self, con: sqlite3.Connection, path: Path, learner: str, learner_id: int, created: bool):
        self._con = con
        self.path = path
        self.learner = learner
        self.learner_id = learner_id
        self.created = created  # True when this open created the learner

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, learner: str | None = None, path: Path | None = None) -> LearnerStore:
        """Open (creating and migrating as needed) the store and the learner; `.created` says if it was new."""
        name = check_learner_name(learner)
        path = path or db_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WorkFailed(f"cannot create {path.parent} for the learner store: {e.strerror or e}") from e
        _check_readable(path)
        try:
            con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise WorkFailed(f"cannot open the learner store {path}: {e}") from e
        try:
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")  # the record survives a power cut, not just a kill
            con.execute("PRAGMA foreign_keys = ON")
            _migrate(con, path)
            learner_id, created = _ensure_learner(con, name)
        except sqlite3.Error as e:
            con.close()
            if _is_busy(e):
                raise WorkFailed(f"the learner store {path} stayed locked by another process; try again") from e
            if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, sqlite3.OperationalError):
                raise _damaged(path, str(e)) from e
            raise WorkFailed(f"cannot open the learner store {path}: {e}") from e
        except BaseException:
            con.close()
            raise
        return cls(con, path, name, learner_id, created)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> LearnerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _failed(self, error: sqlite3.Error) -> WorkFailed:
        if _is_busy(error):
            return WorkFailed(f"the learner store {self.path} stayed locked by another process; try again")
        return WorkFailed(f"the learner store {self.path} failed: {error}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taking the write lock up front so read-then-write is safe."""
        con = self._con
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise self._failed(e) from e
        try:
            yield con
        except sqlite3.Error as e:
            con.execute("ROLLBACK")
            raise self._failed(e) from e
        except BaseException:
            con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.Error as e:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise self._failed(e) from e

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._con.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise self._failed(e) from e

    # -- recording -----------------------------------------------------------------------------

    def record_lesson(self, topic: str, sections: Iterable[Any], now: datetime | None = None) -> int:
        """A lesson studied on `topic` covering `sections` (SectionRef, citations, dicts or pairs)."""
        refs = section_refs(sections)
        with self._write() as con:
            lesson_id = con.execute(
                "INSERT INTO lessons (learner_id, topic, studied_at) VALUES (?, ?, ?)",
                (self.learner_id, topic, _iso(now or _now())),
            ).lastrowid
            con.executemany(
                "INSERT INTO lesson_sections (lesson_id, source, section) VALUES (?, ?, ?)",
                [(lesson_id, r.source, r.section) for r in refs],
            )
        return int(lesson_id or 0)

    def start_quiz(self, topic: str | None, kind: str, seed: int | None, n: int, now: datetime | None = None) -> int:
        """A quiz begins; its id ties the answers to it."""
        with self._write() as con:
            quiz_id = con.execute(
                "INSERT INTO quizzes (learner_id, topic, kind, seed, size, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.learner_id, topic, kind, seed, n, _iso(now or _now())),
            ).lastrowid
        return int(quiz_id or 0)

    def finish_quiz(self, quiz_id: int, now: datetime | None = None) -> None:
        with self._write() as con:
            cur = con.execute(
                "UPDATE quizzes SET finished_at = ? WHERE id = ? AND learner_id = ?",
                (_iso(now or _now()), quiz_id, self.learner_id),
            )
            if cur.rowcount != 1:
                raise UsageError(f"no quiz {quiz_id} for learner '{self.learner}'")

    def record_answer(
        self,
        quiz_id: int | None,
        question: str,
        answer: str,
        reference: str,
        grade_score: float,
        verdict: str,
        source: str,
        section: str,
        question_key: str | None = None,
        now: datetime | None = None,
        self_rated: bool = False,
    ) -> int:
        """A graded answer, committed at once, and its review card created or rescheduled; the answer's id.
        `self_rated`: the score is the learner's own rating against the key point (the grader was unsure)."""
        score = check_score(grade_score)
        if not question.strip():
            raise UsageError("an answer needs the question it answers")
        key = question_key or make_question_key(question)
        moment = srs.utc(now or _now())
        with self._write() as con:
            if quiz_id is not None:
                found = con.execute(
                    "SELECT 1 FROM quizzes WHERE id = ? AND learner_id = ?", (quiz_id, self.learner_id)
                ).fetchone()
                if not found:
                    raise UsageError(f"no quiz {quiz_id} for learner '{self.learner}'")
            card_id = self._reschedule(con, key, question, reference, source, section, score, moment)
            answer_id = con.execute(
                "INSERT INTO answers (learner_id, quiz_id, card_id, question, answer, reference, score, verdict,"
                " source, section, answered_at, self_rated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.learner_id, quiz_id, card_id, question, answer, reference, score, verdict or "",
                 source or "", section or "", _iso(moment), int(self_rated)),
            ).lastrowid
        return int(answer_id or 0)

    def _reschedule(
        self, con: sqlite3.Connection, key: str, question: str, reference: str, source: str, section: str,
        score: float, moment: datetime,
    ) -> int:
        row = con.execute(
            "SELECT id, fsrs, reviews FROM cards WHERE learner_id = ? AND question_key = ?", (self.learner_id, key)
        ).fetchone()
        card, _rating = srs.schedule(row[1] if row else None, score, moment, key)
        if row:
            con.execute(
                "UPDATE cards SET question = ?, reference = ?, source = ?, section = ?, fsrs = ?, due = ?,"
                " reviews = ?, last_score = ?, last_review = ? WHERE id = ?",
                (question, reference, source or "", section or "", card.to_json(), _iso(card.due), row[2] + 1,
                 score, _iso(moment), row[0]),
            )
            return int(row[0])
        cur = con.execute(
            "INSERT INTO cards (learner_id, question_key, question, reference, source, section, fsrs, due, reviews,"
            " last_score, last_review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (self.learner_id, key, question, reference, source or "", section or "", card.to_json(),
             _iso(card.due), score, _iso(moment)),
        )
        return int(cur.lastrowid or 0)

    def review(
        self, card_id: int, score: float, answer: str = "", verdict: str = "", now: datetime | None = None,
        self_rated: bool = False,
    ) -> ReviewCard:
        """A due card answered again: recorded as an answer (no quiz) and rescheduled; the card after it."""
        card = self.card(card_id)
        self.record_answer(None, card.question, answer, card.reference, score, verdict, card.source, card.section,
                           question_key=card.question_key, now=now, self_rated=self_rated)
        return self.card(card_id)

    def next_due(self, card_id: int, score: float, now: datetime | None = None) -> datetime:
        """When the card would be due next were it answered now with `score` (nothing is recorded): what a
        self-rating button shows before it is pressed."""
        rows = self._read("SELECT question_key, fsrs FROM cards WHERE id = ? AND learner_id = ?", (card_id, self.learner_id))
        if not rows:
            raise UsageError(f"no review card {card_id} for learner '{self.learner}'")
        card, _rating = srs.schedule(rows[0][1], check_score(score), srs.utc(now or _now()), rows[0][0])
        return card.due

    # -- reading -------------------------------------------------------------------------------

    def activity_times(self) -> list[datetime]:
        """When the learner answered or studied anything, oldest first (for days studied and streaks)."""
        rows = self._read(
            "SELECT answered_at FROM answers WHERE learner_id = ? UNION ALL"
            " SELECT studied_at FROM lessons WHERE learner_id = ? ORDER BY 1",
            (self.learner_id, self.learner_id),
        )
        return [_time(r[0]) for r in rows]

    _CARD_COLUMNS = "id, question_key, question, reference, source, section, fsrs, due, reviews, last_score, last_review"

    @staticmethod
    def _card(row: tuple[Any, ...]) -> ReviewCard:
        state = json.loads(row[6])
        from fsrs import State

        return ReviewCard(
            id=row[0], question_key=row[1], question=row[2], reference=row[3], source=row[4], section=row[5],
            due=_time(row[7]), state=State(int(state["state"])).name, stability=state.get("stability"),
            difficulty=state.get("difficulty"), reviews=row[8], last_score=row[9], last_review=_time(row[10]),
        )

    def card(self, card_id: int) -> ReviewCard:
        rows = self._read(
            f"SELECT {self._CARD_COLUMNS} FROM cards WHERE id = ? AND learner_id = ?", (card_id, self.learner_id)
        )
        if not rows:
            raise UsageError(f"no review card {card_id} for learner '{self.learner}'")
        return self._card(rows[0])

    def card_for(self, question: str | None = None, key: str | None = None) -> ReviewCard | None:
        """The card of a question (by text or key), if it was ever answered."""
        key = key or make_question_key(question or "")
        rows = self._read(
            f"SELECT {self._CARD_COLUMNS} FROM cards WHERE learner_id = ? AND question_key = ?",
            (self.learner_id, key),
        )
        return self._card(rows[0]) if rows else None

    def cards(self) -> list[ReviewCard]:
        rows = self._read(f"SELECT {self._CARD_COLUMNS} FROM cards WHERE learner_id = ? ORDER BY id", (self.learner_id,))
        return [self._card(r) for r in rows]

    def due_cards(self, now: datetime | None = None, limit: int | None = None) -> list[ReviewCard]:
        """Cards due at `now`, most overdue first."""
        rows = self._read(
            f"SELECT {self._CARD_COLUMNS} FROM cards WHERE learner_id = ? AND due <= ? ORDER BY due, id LIMIT ?",
            (self.learner_id, _iso(now or _now()), -1 if limit is None else limit),
        )
        return [self._card(r) for r in rows]

    def count_due(self, until: datetime) -> int:
        return int(self._read("SELECT COUNT(*) FROM cards WHERE learner_id = ? AND due <= ?",
                              (self.learner_id, _iso(until)))[0][0])

    def answers(self, quiz_id: int | None = None) -> list[Answer]:
        """Every graded answer (of one quiz, if given), oldest first."""
        sql = ("SELECT id, quiz_id, card_id, question, answer, reference, score, verdict, source, section, answered_at,"
               " self_rated"
               " FROM answers WHERE learner_id = ?")
        params: list[Any] = [self.learner_id]
        if quiz_id is not None:
            sql += " AND quiz_id = ?"
            params.append(quiz_id)
        rows = self._read(sql + " ORDER BY answered_at, id", params)
        return [
            Answer(id=r[0], quiz_id=r[1], card_id=r[2], question=r[3], answer=r[4], reference=r[5], score=r[6],
                   verdict=r[7], source=r[8], section=r[9], time=_time(r[10]), self_rated=bool(r[11]))
            for r in rows
        ]

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Scores over time, oldest first (the most recent `limit` when given)."""
        rows = self._read(
            "SELECT answered_at, score, section, source FROM answers WHERE learner_id = ?"
            " ORDER BY answered_at DESC, id DESC LIMIT ?",
            (self.learner_id, -1 if limit is None else limit),
        )
        return [HistoryEntry(time=_time(r[0]), score=r[1], section=r[2], source=r[3]) for r in reversed(rows)]

    def studied_sections(self) -> list[SectionRef]:
        """Sections met in a lesson or answered on, in the order first met."""
        rows = self._read(
            "SELECT source, section, MIN(t) FROM ("
            " SELECT ls.source AS source, ls.section AS section, l.studied_at AS t FROM lesson_sections ls"
            " JOIN lessons l ON l.id = ls.lesson_id WHERE l.learner_id = ?"
            " UNION ALL SELECT source, section, answered_at FROM answers WHERE learner_id = ? AND section != ''"
            ") GROUP BY source, section ORDER BY MIN(t), source, section",
            (self.learner_id, self.learner_id),
        )
        return [SectionRef(source=r[0], section=r[1]) for r in rows]

    def section_mastery(self, now: datetime | None = None) -> list[SectionMastery]:
        """Recency-weighted mastery of every section answered on or studied, in the notes' order."""
        moment = srs.utc(now or _now())
        stats: dict[tuple[str, str], list[Any]] = {}  # (source, section) -> [weighted sum, weight, n, last]
        for source, section, score, at in self._read(
            "SELECT source, section, score, answered_at FROM answers WHERE learner_id = ?", (self.learner_id,)
        ):
            when = _time(at)
            weight = decay_weight(moment - when)
            entry = stats.setdefault((source, section), [0.0, 0.0, 0, when])
            entry[0] += weight * score
            entry[1] += weight
            entry[2] += 1
            entry[3] = max(entry[3], when)
        for source, section, at in self._read(
            "SELECT ls.source, ls.section, MAX(l.studied_at) FROM lesson_sections ls JOIN lessons l"
            " ON l.id = ls.lesson_id WHERE l.learner_id = ? GROUP BY ls.source, ls.section",
            (self.learner_id,),
        ):
            entry = stats.setdefault((source, section), [0.0, 0.0, 0, _time(at)])
            entry[3] = max(entry[3], _time(at))
        out = [
            SectionMastery(
                source=source, module=module_title(source), section=section,
                mastery=(s / w if w > 0 else None) if n else None, attempts=n, last_seen=last,
            )
            for (source, section), (s, w, n, last) in stats.items()
        ]
        return sorted(out, key=lambda m: (m.source, _section_order(m.section), m.section))

    def progress(self, now: datetime | None = None) -> Progress:
        """Mastery per section and module, the weakest sections, what is due, and the score history."""
        moment = srs.utc(now or _now())
        sections = self.section_mastery(moment)
        modules: dict[str, list[Any]] = {}  # module -> [weighted sum, weight, attempts, sections]
        for source, score, at in self._read(
            "SELECT source, score, answered_at FROM answers WHERE learner_id = ?", (self.learner_id,)
        ):
            weight = decay_weight(moment - _time(at))
            entry = modules.setdefault(module_title(source), [0.0, 0.0, 0, 0])
            entry[0] += weight * score
            entry[1] += weight
            entry[2] += 1
        for s in sections:
            modules.setdefault(s.module, [0.0, 0.0, 0, 0])[3] += 1
        module_list = [
            ModuleMastery(module=name, mastery=(ws / w if n and w > 0 else None), attempts=n, sections=k)
            for name, (ws, w, n, k) in modules.items()
        ]
        order = {s.module: i for i, s in enumerate(sections)}
        module_list.sort(key=lambda m: order.get(m.module, len(order)))
        weakest = sorted(
            (s for s in sections if s.mastery is not None and s.mastery < WEAK_BELOW),
            key=lambda s: (s.mastery, s.last_seen),
        )[:WEAKEST_SHOWN]
        counts = self._read(
            "SELECT (SELECT COUNT(*) FROM answers WHERE learner_id = :me),"
            " (SELECT COUNT(*) FROM quizzes WHERE learner_id = :me),"
            " (SELECT COUNT(*) FROM lessons WHERE learner_id = :me),"
            " (SELECT COUNT(*) FROM cards WHERE learner_id = :me)",
            {"me": self.learner_id},  # type: ignore[arg-type]
        )[0]
        return Progress(
            learner=self.learner,
            generated_at=moment,
            attempts=counts[0],
            quizzes=counts[1],
            lessons=counts[2],
            cards=counts[3],
            due=self.count_due(moment),
            due_week=self.count_due(moment + timedelta(days=7)),
            sections=sections,
            modules=module_list,
            weakest=weakest,
            history=self.history(HISTORY_SHOWN),
        )


def _section_order(section: str) -> int:
    """Sections are numbered in the notes ("3. Data Lake ..."): sort 10 after 9."""
    match = re.match(r"^\s*(\d+)", section)
    return int(match.group(1)) if match else 10**6


def _migrate(con: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, one step per transaction; safe when processes race to do it."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise WorkFailed(
            f"the learner store {path} has schema version {version}, newer than this tutor knows "
            f"({SCHEMA_VERSION}); upgrade tutor (the file was left untouched)"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while this one waited for the lock
            if con.execute("PRAGMA user_version").fetchone()[0] < target:
                for statement in MIGRATIONS[target - 1]:
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {target}")
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise


def _ensure_learner(con: sqlite3.Connection, name: str) -> tuple[int, bool]:
    row = con.execute("SELECT id FROM learners WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0]), False
    con.execute("BEGIN IMMEDIATE")
    try:
        cur = con.execute("INSERT OR IGNORE INTO learners (name, created_at) VALUES (?, ?)", (name, _iso(_now())))
        created = cur.rowcount == 1
        learner_id = con.execute("SELECT id FROM learners WHERE name = ?", (name,)).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    return int(learner_id), created
