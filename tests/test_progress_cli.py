"""`tutor progress` and `tutor export` through the CLI, and the exports opened the way Anki or a spreadsheet would."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tutor.learning.export import ANKI_MODEL_ID, anki_deck_id, export_anki
from tutor.learning.store import LearnerStore, db_path

NN = "02-training-neural-networks.md"
SECTIONS = ["1. Multilayer Perceptron as a Universal Approximator", "2. How Neural Networks Learn from Labeled Data"]


@pytest.fixture
def record():
    """A learner with five answers on four questions, two sections, yesterday and before."""
    start = datetime.now(timezone.utc) - timedelta(days=3)
    with LearnerStore.open() as store:
        quiz = store.start_quiz("mlp", "open", 3, 5, now=start)
        for i, score in enumerate([0.9, 0.2, 0.6, 1.0, 0.3]):
            store.record_answer(quiz, f"Question {i % 4} <about> \"things\"", f"answer {i}", f"reference {i % 4}",
                                score, "ok", NN, SECTIONS[i % 2], now=start + timedelta(hours=12 * i))
        store.finish_quiz(quiz)
        return store.progress()


def test_progress_json_is_the_store_progress(tutor, record):
    ran = tutor("progress", "--json")
    assert ran.exit_code == 0, ran.output
    data = json.loads(ran.stdout)
    assert data["learner"] == "default"
    assert data["attempts"] == 5 and data["quizzes"] == 1 and data["cards"] == 4
    assert data["due"] == record.due and data["due_week"] == record.due_week
    sections = {s["section"]: s for s in data["sections"]}
    assert set(sections) == set(SECTIONS)
    assert sections[SECTIONS[0]]["attempts"] == 3
    assert sections[SECTIONS[0]]["module"] == "Training Neural Networks"
    expected = {s.section: s.mastery for s in record.sections}
    assert sections[SECTIONS[1]]["mastery"] == pytest.approx(expected[SECTIONS[1]], abs=1e-4)
    assert [h["score"] for h in data["history"]] == [0.9, 0.2, 0.6, 1.0, 0.3]
    assert data["weakest"][0]["section"] == min(record.sections, key=lambda s: s.mastery or 0).section


def test_progress_tables(tutor, record):
    ran = tutor("progress")
    assert ran.exit_code == 0, ran.output
    for text in ("default", "5 answers graded", "Mastery by module", "Training Neural Networks",
                 "Mastery by section", "Weakest sections", "Recent answers", "due now"):
        assert text in ran.stdout


def test_progress_of_a_new_learner_says_it_was_created(tutor):
    ran = tutor("progress", "--learner", "ada")
    assert ran.exit_code == 0
    assert "new learner 'ada' created" in ran.stderr
    assert "Nothing recorded yet" in ran.stdout
    again = tutor("progress", "--learner", "ada", "--json")
    assert "created" not in again.stderr and json.loads(again.stdout)["attempts"] == 0


def test_progress_plot_writes_a_png(tutor, record, tmp_path):
    out = tmp_path / "progress.png"
    ran = tutor("progress", "--json", "--plot", str(out))
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["attempts"] == 5  # --json stays pure JSON with --plot
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = tmp_path / "empty.png"
    assert tutor("progress", "--learner", "nobody", "--plot", str(empty)).exit_code == 0
    assert empty.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["progress", "--plot", "{tmp}/plot.jpg"], "should end in .png"),
        (["progress", "--plot", "{tmp}/a-folder.png"], "is a folder"),
        (["progress", "--plot", "{tmp}/missing/plot.png"], "does not exist"),
        (["export", "anki", "{tmp}/a-folder.png"], "is a folder"),
        (["export", "anki", "{tmp}/deck.zip"], "should end in .apkg"),
        (["export", "csv", "{tmp}/missing/out.csv"], "does not exist"),
        (["export", "csv", "{tmp}/a-file.txt/out.csv"], "does not exist"),
        (["progress", "--learner", " "], "learner name is empty"),
    ],
)
def test_bad_paths_are_one_line_and_exit_2(tutor, tmp_path, args, expected):
    (tmp_path / "a-folder.png").mkdir()
    (tmp_path / "a-file.txt").write_text("x")
    ran = tutor(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert ran.exit_code == 2, ran.output
    assert expected in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert "Traceback" not in ran.output


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs a folder nobody can write in")
def test_an_unwritable_folder_is_exit_2(tutor):
    ran = tutor("export", "csv", "/proc/answers.csv")
    assert ran.exit_code == 2 and "cannot write in /proc" in ran.stderr


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_file_is_exit_2(tutor, tmp_path):
    target = tmp_path / "locked.csv"
    target.write_text("")
    target.chmod(0o444)
    ran = tutor("export", "csv", str(target))
    assert ran.exit_code == 2 and "not writable" in ran.stderr


def test_a_damaged_store_is_exit_1_and_left_byte_for_byte(tutor, tutor_home):
    tutor_home.mkdir(parents=True)
    garbage = os.urandom(64 * 1024)
    db_path().write_bytes(garbage)
    for args in (["progress"], ["progress", "--json"], ["export", "csv", str(tutor_home / "x.csv")]):
        ran = tutor(*args)
        assert ran.exit_code == 1
        assert "damaged" in ran.stderr and "left untouched" in ran.stderr and str(db_path()) in ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1
        assert db_path().read_bytes() == garbage
    assert not (tutor_home / "x.csv").exists()


def test_anki_export_is_a_package_anki_can_open(tutor, record, tmp_path):
    out = tmp_path / "deck.apkg"
    ran = tutor("export", "anki", str(out))
    assert ran.exit_code == 0, ran.output
    assert "4 cards written" in ran.stdout
    with zipfile.ZipFile(out) as package:
        assert "collection.anki2" in package.namelist()
        package.extract("collection.anki2", tmp_path)
    con = sqlite3.connect(tmp_path / "collection.anki2")
    try:
        notes = con.execute("SELECT guid, mid, flds FROM notes ORDER BY id").fetchall()
        assert con.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 4
        models, decks = (json.loads(v) for v in con.execute("SELECT models, decks FROM col").fetchone())
    finally:
        con.close()
    assert len(notes) == 4
    assert {mid for _, mid, _ in notes} == {ANKI_MODEL_ID}
    assert str(ANKI_MODEL_ID) in models
    assert str(anki_deck_id("default")) in decks and decks[str(anki_deck_id("default"))]["name"] == "tutor::default"
    question, answer, section, source = notes[0][2].split("\x1f")
    assert question == "Question 0 &lt;about&gt; &quot;things&quot;"  # escaped: Anki fields are HTML
    assert answer == "reference 0" and section == SECTIONS[0] and source == NN
    # a second export of the same record keeps the same note ids, so Anki updates instead of duplicating
    with LearnerStore.open() as store:
        export_anki(store, tmp_path / "again.apkg")
    with zipfile.ZipFile(tmp_path / "again.apkg") as package:
        (tmp_path / "again").mkdir()
        package.extract("collection.anki2", tmp_path / "again")
    con = sqlite3.connect(tmp_path / "again" / "collection.anki2")
    try:
        assert sorted(g for g, _, _ in notes) == sorted(r[0] for r in con.execute("SELECT guid FROM notes"))
    finally:
        con.close()


def test_csv_export_of_answers_and_cards(tutor, record, tmp_path):
    out = tmp_path / "answers.csv"
    ran = tutor("export", "csv", str(out))
    assert ran.exit_code == 0, ran.output
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    assert [float(r["score"]) for r in rows] == [0.9, 0.2, 0.6, 1.0, 0.3]
    assert rows[0]["question"] == 'Question 0 <about> "things"' and rows[0]["section"] == SECTIONS[0]
    assert rows[0]["module"] == "Training Neural Networks" and rows[0]["quiz_id"] == "1"

    cards = tmp_path / "cards.csv"
    assert tutor("export", "csv", str(cards), "--cards").exit_code == 0
    with cards.open(newline="", encoding="utf-8") as f:
        card_rows = list(csv.DictReader(f))
    assert len(card_rows) == 4
    assert sorted(int(r["reviews"]) for r in card_rows) == [1, 1, 1, 2]
    assert all(r["state"] in ("Learning", "Review", "Relearning") for r in card_rows)


def test_export_of_another_learner_is_theirs_only(tutor, record, tmp_path):
    out = tmp_path / "ada.csv"
    ran = tutor("export", "csv", str(out), "--learner", "ada")
    assert ran.exit_code == 0
    assert "new learner 'ada' created" in ran.stderr
    assert out.read_text(encoding="utf-8").count("\n") == 1  # the header only
