"""The companion to the notes: complete for every concept, consistent with the notes, indexed as its own kind."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tutor.knowledge.chunking import chunk_file
from tutor.knowledge.companion import check, load_companion, names_in
from tutor.settings import bundled_path

KNOWLEDGE = bundled_path("knowledge")


def _concepts() -> dict:
    raw = yaml.safe_load((KNOWLEDGE / "prerequisites.yaml").read_text())["concepts"]
    return {cid: [(s["source"], s["section"]) for s in c["sections"]] for cid, c in raw.items()}


def test_every_concept_has_an_entry_with_every_part_and_no_entry_cites_a_missing_section():
    assert check(KNOWLEDGE, _concepts()) == []
    companion = load_companion(KNOWLEDGE)
    covered = {e.concept for e in companion.entries}
    assert covered == set(_concepts())
    for entry in companion.entries:
        assert entry.intuition.strip() and entry.example.strip()
        assert 1 <= len(entry.misconceptions) <= 4 and len(entry.questions) >= 2
        assert any(q.level != "remember" for q in entry.questions), entry.idea
        assert all(q.key_points for q in entry.questions), entry.idea


def test_every_notes_section_is_explained_and_each_entry_belongs_to_its_concept():
    companion = load_companion(KNOWLEDGE)
    concepts = _concepts()
    explained = {(e.notes, e.explains) for e in companion.entries}
    for path in sorted(KNOWLEDGE.glob("*.md")):
        for section in {c.section for c in chunk_file(path, path.name)}:
            assert (path.name, section) in explained, f"{path.name} § {section} has no companion entry"
    for e in companion.entries:
        assert (e.notes, e.explains) in concepts[e.concept], f"'{e.idea}': {e.concept} is not taught in {e.explains}"


def test_the_check_names_each_problem_in_one_line(tmp_path):
    folder = tmp_path / "knowledge"
    (folder / "companion").mkdir(parents=True)
    (folder / "01-a.md").write_text("# A\n\n## 1. Dropout\n\n- **Dropout**: drops neurons.\n")
    good = {"concept": "reg", "idea": "Dropout", "explains": "1. Dropout", "intuition": "Switches neurons off at random.",
            "example": "With p = 0.5, half of 100 neurons are off.",
            "misconceptions": [{"wrong": "Dropout runs at test time.", "right": "Only during training."}],
            "questions": [{"level": "understand", "question": "Why does it help?", "key_points": ["no reliance"]},
                          {"level": "remember", "question": "What is dropout?", "key_points": ["drops neurons"]}]}
    bad_section = {**good, "idea": "Other", "explains": "9. Nowhere"}
    (folder / "companion" / "01-a.yaml").write_text(yaml.safe_dump({"notes": "01-a.md", "entries": [good, bad_section]}))
    (folder / "companion" / "02-b.yaml").write_text("notes: [unclosed")
    problems = check(folder, {"reg": [], "missing": []})
    assert any("'Other'" in p and "9. Nowhere" in p for p in problems)
    assert any(p.startswith("companion/02-b.yaml:") for p in problems)
    assert "concept 'missing' has no companion entry" in problems
    assert all("\n" not in p for p in problems)


def test_names_match_whole_words_and_plurals():
    assert names_in("dropout", "What is Dropout?")
    assert names_in("CNN", "how do cnns work")
    assert not names_in("map", "what is a feature mapping")
    assert names_in("precision and recall", "Precision and Recall")


def test_a_name_said_inside_a_longer_one_is_not_what_the_text_names():
    """"data lake" inside "data lake house" is not the topic of "what is a data lake house?" (a chat's follow-up was
    answered about data lakes); said on its own, it is."""
    from tutor.knowledge.companion import load_companion
    from tutor.settings import bundled_path

    companion = load_companion(bundled_path("knowledge"))
    assert [e.idea for e in companion.match("what is a data lake house?")][:1] == ["Data lakehouse"]
    assert "Data lake" not in [e.idea for e in companion.match("what is a data lake house?")]
    assert [e.idea for e in companion.match("what is a data lake?")][:1] == ["Data lake"]
    both = [e.idea for e in companion.match("how does a data lake differ from a data warehouse?")]
    assert "Data lake" in both and "Data warehouse" in both


def test_companion_passages_are_indexed_as_their_own_kind_and_labelled(tutor):
    ran = tutor("search", "dropout at test time", "--k", "8", "--json")
    assert ran.exit_code == 0, ran.stderr
    hits = json.loads(ran.stdout)
    kinds = {h["kind"] for h in hits}
    assert kinds == {"notes", "companion"}
    for h in hits:
        if h["kind"] == "companion":
            assert h["subsection"].startswith("Tutor's explanation: ")
            assert (KNOWLEDGE / h["source"]).exists()  # it explains a real notes file
    only_notes = json.loads(tutor("search", "dropout at test time", "--kind", "notes", "--json").stdout)
    assert only_notes and {h["kind"] for h in only_notes} == {"notes"}
    terminal = tutor("search", "dropout at test time", "--k", "8").stdout
    assert "tutor's explanation" in terminal


def test_the_search_tool_labels_companion_passages_and_the_offline_model_reads_them_back():
    from tutor.knowledge.retrieval import Passage
    from tutor.llms.protocol import parse_passages
    from tutor.tools.notes import format_passages

    notes = Passage(text="- **Dropout**: drops neurons.", source="02.md", section="5. Reg", module="M", anchor="a",
                    line_start=3, line_end=4, score=1.0, similarity=0.8, id="x")
    mine = notes.model_copy(update={"text": "Dropout. Switches neurons off.", "subsection": "Tutor's explanation: Dropout",
                                    "kind": "companion", "id": "y"})
    observation = format_passages([notes, mine])
    assert "tutor's explanation, not the notes' words" in observation
    back = parse_passages(observation)
    assert [p.kind for p in back] == ["notes", "companion"]
    assert back[0].line_start == 3 and back[1].subsection == "Tutor's explanation: Dropout"


def test_a_broken_companion_file_is_skipped_with_one_line_and_the_notes_still_index(tutor, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, folder)
    (folder / "companion" / "99-broken.yaml").write_text("entries: {{{")
    monkeypatch.setenv("TUTOR_KNOWLEDGE_DIR", str(folder))
    ran = tutor("index")
    assert ran.exit_code == 0, ran.output
    assert "99-broken.yaml" in ran.output
    assert "Traceback" not in ran.output
    assert Path(folder / "companion" / "99-broken.yaml").exists()


def test_the_graders_training_answers_cover_every_companion_question_and_are_well_formed():
    """tutor/grading/data/companion_answers: eight learner answers per rubric question (the pair model's
    deep-learning training data), each file passing its own check, every question of the companion there."""
    import json
    import subprocess
    import sys

    from tutor.grading.train_data import COMPANION_ANSWERS
    from tutor.knowledge.companion import course_companion

    files = sorted(COMPANION_ANSWERS.glob("*.jsonl"))
    checked = subprocess.run([sys.executable, str(COMPANION_ANSWERS / "check.py"), *map(str, files)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    rows = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    answered = {" ".join(r["question"].split()) for r in rows}
    asked = {q.text for entry in course_companion().entries for q in entry.questions}
    assert asked <= answered, sorted(asked - answered)[:5]
    assert all(len(r["answers"]) == 8 for r in rows)
