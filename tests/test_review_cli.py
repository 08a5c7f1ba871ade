"""The learner's loop through the CLI: a piped quiz is recorded, becomes cards, and `tutor review` reschedules them."""

from __future__ import annotations

import json
import sqlite3
import zipfile


def test_piped_quiz_then_progress_review_and_export(tutor, tutor_home, tmp_path):
    items = json.loads(tutor("quiz", "--json", "--n", "3", "--kind", "mcq", "--seed", "21").stdout)["items"]
    answers = ["ABCDE"[item["options"].index(item["answer"])] for item in items]
    answers[2] = next(l for l, o in zip("ABCDE", items[2]["options"]) if o != items[2]["answer"])
    quiz = tutor("quiz", "--n", "3", "--kind", "mcq", "--seed", "21", input="\n".join(answers) + "\n")
    assert quiz.exit_code == 0, quiz.stderr

    progress = json.loads(tutor("progress", "--json").stdout)
    assert progress["attempts"] == 3 and progress["cards"] == 3
    assert progress["due"] == 0  # answered just now: nothing due yet
    sections = {s["section"] for s in progress["sections"]}
    assert {i["section"] for i in items} <= sections

    # Make every card due (as if days had passed), then review them with piped answers.
    with sqlite3.connect(tutor_home / "learner.db") as con:
        con.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")
    due = json.loads(tutor("review", "--json").stdout)
    assert len(due) == 3
    right = {c["question"]: c["reference"] for c in due}
    ran = tutor("review", input="".join(f"{right[c['question']]}\n" for c in due))
    assert ran.exit_code == 0, ran.stderr
    assert "Reviewed 3 of 3 cards" in ran.stdout and "next review:" in ran.stdout
    after = json.loads(tutor("progress", "--json").stdout)
    assert after["due"] == 0 and after["attempts"] == 6

    deck = tmp_path / "cards.apkg"
    assert tutor("export", "anki", str(deck)).exit_code == 0
    with zipfile.ZipFile(deck) as z:
        assert any(n.startswith("collection.anki2") for n in z.namelist())


def test_review_with_nothing_due_and_bad_limit(tutor):
    ran = tutor("review")
    assert ran.exit_code == 0 and "Nothing is due" in ran.stdout
    ran = tutor("review", "--limit", "0")
    assert ran.exit_code == 2 and "--limit must be at least 1" in ran.stderr


def test_study_names_unmet_prerequisites_and_new_learner_is_announced(tutor):
    ran = tutor("study", "transformers", "--no-demo", "--learner", "ada", "--json")
    assert ran.exit_code == 0, ran.stderr
    assert "new learner 'ada' created" in ran.stderr
    lesson = json.loads(ran.stdout)
    assert "**Before this:**" in lesson["markdown"]  # ada never studied what transformers build on
    again = tutor("study", "transformers", "--no-demo", "--learner", "ada", "--json")
    assert "new learner" not in again.stderr


def test_adaptive_quiz_starts_from_weak_sections(tutor):
    items = json.loads(tutor("quiz", "--json", "--n", "2", "--kind", "mcq", "--seed", "5",
                             "--topic", "object detection").stdout)["items"]
    wrong = [next(l for l, o in zip("ABCDE", i["options"]) if o != i["answer"]) for i in items]
    tutor("quiz", "--n", "2", "--kind", "mcq", "--seed", "5", "--topic", "object detection",
          input="\n".join(wrong) + "\n")
    weak = {i["source"] for i in items}
    adaptive = json.loads(tutor("quiz", "--json", "--adaptive", "--n", "3", "--kind", "short", "--seed", "9").stdout)
    assert adaptive["items"] and adaptive["items"][0]["source"] in weak
