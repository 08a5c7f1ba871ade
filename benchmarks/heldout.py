"""The held-out obvious cases, graded against the notes as `tutor grade ANSWER --question Q` grades them.

    python -m benchmarks.heldout [--set heldout|heldout2|heldout3|heldout4|tuning|tuning2] [--limit N] [--home DIR] [--cases-shown N]

benchmarks/grading_heldout.jsonl (40 questions about our notes, never tuned on), with `--set heldout2`
benchmarks/grading_heldout2.jsonl (44 other questions, 440 answers, written later by another helper), or, with `--set tuning`,
benchmarks/grading_tuning.jsonl (the tuning split; `--set tuning2`: a second one, 11 kinds, read while tuning).
heldout3 and heldout4 (11 kinds: also answers by example and misconceptions) were written by helpers who never read
the grader, and are never read: measure on them with `--cases-shown 0`. Answers of ten kinds (the notes' words, a small change, the
learner's own words, terse, negated, a swapped term, a sibling concept's definition, vague, nonsense, partial),
each with the verdict a careful teacher gives it.

Each answer is graded with no reference, as the command line does (tutor.learning.flows.grade ->
tutor.llms.direct): the notes are searched for the question as the agent searches them
(`direct.search_as_the_agent`, `GRADE_PASSAGES` passages), `tutor.grading.service.against_notes` picks the key
points, the sibling concepts and the citations from the notes' passages, and the process's shared grader grades
the answer against them. The index is built once, in a temporary TUTOR_HOME (or `--home`); the key points are
picked once per question and every answer is graded in one `grade_many` batch. A question the notes hold nothing
for gets the command line's "nothing to grade" reply.

Per kind and overall:
  - harsh: expected correct, a verdict (not unsure) and a score below 0.4, of the expected-correct answers
    (target <= 2%);
  - lenient: expected incorrect and a score of 0.7 or more, of the expected-incorrect answers (target <= 5%):
    over all grades (an unsure grade by its best-guess score) and over the decided grades only;
  - confident right: of the decided grades (not unsure), the share whose verdict is the expected one
    (partially_correct is right only where partially_correct is expected) (target >= 95%);
  - unsure: the share graded unsure (target <= 20%).
Then every harsh and lenient case, to read. JSON goes to benchmarks/out/heldout.json (heldout-tuning.json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/heldout.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.grading_data import HELDOUT, HELDOUT2, HELDOUT3, HELDOUT4, REPO, TUNING, TUNING2, load_rows  # noqa: E402

SETS = {"heldout": HELDOUT, "heldout2": HELDOUT2, "heldout3": HELDOUT3, "heldout4": HELDOUT4, "tuning": TUNING,
        "tuning2": TUNING2}
OUTS = {"heldout": REPO / "benchmarks" / "out" / "heldout.json",
        "tuning": REPO / "benchmarks" / "out" / "heldout-tuning.json",
        "heldout2": REPO / "benchmarks" / "out" / "heldout2.json",
        "heldout3": REPO / "benchmarks" / "out" / "heldout3.json",
        "heldout4": REPO / "benchmarks" / "out" / "heldout4.json",
        "tuning2": REPO / "benchmarks" / "out" / "heldout-tuning2.json"}
HARSH_BELOW, LENIENT_FROM = 0.4, 0.7
TARGETS = {"harsh": ("<=", 0.02), "lenient": ("<=", 0.05), "lenient_confident": ("<=", 0.05),
           "confident_right": (">=", 0.95), "unsure": ("<=", 0.20)}


def targets_for_notes(questions: list[str]) -> dict[str, dict[str, Any]]:
    """What each question's answers are graded against, as `tutor grade ANSWER --question Q` picks it."""
    from tutor.grading.service import against_notes, notes_only
    from tutor.llms import direct

    out = {}
    for question in questions:
        passages = direct.search_as_the_agent(question, direct.GRADE_PASSAGES)
        out[question] = against_notes(question, notes_only(passages))
    return out


def grade_rows(rows: list[dict], targets: dict[str, dict[str, Any]]) -> list[Any]:
    """Every answer graded in one batch by the process's shared grader; "nothing to grade" where the notes
    hold no point for the question (as `tutor.llms.direct.grade` answers)."""
    from tutor.grading.model import Grade
    from tutor.grading.service import shared_grader
    from tutor.llms.direct import NOTHING_TO_GRADE

    live = [i for i, r in enumerate(rows) if targets[r["question"]]["reference"]]
    graded = shared_grader().grade_many([{"answer": rows[i]["answer"], "question": rows[i]["question"],
                                          **targets[rows[i]["question"]]} for i in live])
    grades: list[Any] = [Grade.model_validate_json(NOTHING_TO_GRADE)] * len(rows)
    for i, g in zip(live, graded):
        grades[i] = g
    return grades


def _share(count: int, of: int) -> float | None:
    return round(count / of, 4) if of else None


def figures(rows: list[dict], grades: list[Any]) -> dict[str, Any]:
    """n, harsh, lenient (all, decided), confident right, unsure for a set of answers."""
    expected_correct = [g for r, g in zip(rows, grades) if r["expected"] == "correct"]
    expected_incorrect = [g for r, g in zip(rows, grades) if r["expected"] == "incorrect"]
    decided = [(r, g) for r, g in zip(rows, grades) if g.verdict != "unsure"]
    harsh = sum(g.verdict != "unsure" and g.score < HARSH_BELOW for g in expected_correct)
    lenient = sum(g.score >= LENIENT_FROM for g in expected_incorrect)
    lenient_confident = sum(g.verdict != "unsure" and g.score >= LENIENT_FROM for g in expected_incorrect)
    right = sum(g.verdict == r["expected"] for r, g in decided)
    unsure = sum(g.verdict == "unsure" for g in grades)
    return {
        "n": len(rows), "expected": dict(Counter(r["expected"] for r in rows)),
        "harsh": _share(harsh, len(expected_correct)), "harsh_count": harsh,
        "lenient": _share(lenient, len(expected_incorrect)), "lenient_count": lenient,
        "lenient_confident": _share(lenient_confident, len(expected_incorrect)), "lenient_confident_count": lenient_confident,
        "confident_right": _share(right, len(decided)), "decided": len(decided),
        "unsure": _share(unsure, len(rows)), "unsure_count": unsure,
        "verdicts": dict(Counter(g.verdict for g in grades)), "reasons": dict(Counter(g.reason for g in grades)),
        "mean_score": round(sum(g.score for g in grades) / len(grades), 4) if grades else None,
    }


def holds(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    op, target = TARGETS[name]
    return value <= target if op == "<=" else value >= target


def case(row: dict, grade: Any, target: dict[str, Any]) -> dict[str, Any]:
    return {"qid": row["qid"], "kind": row["kind"], "expected": row["expected"], "question": row["question"],
            "answer": row["answer"], "verdict": grade.verdict, "score": grade.score, "confidence": grade.confidence,
            "reason": grade.reason, "feedback": grade.feedback, "key_point": grade.key_point,
            "notes_text": row.get("notes_text", ""), "key_points_picked": target.get("points") or [],
            "confused_with": (grade.confused_with or {}).get("concept")}


def point_found(row: dict, target: dict[str, Any]) -> bool:
    """Whether the key points picked from the notes hold the line of the notes the answers were written from (half
    of its content words or more): a miss there is retrieval's or the key-point picker's, not the grader's."""
    from tutor.grading.text import content_stems

    lines = [set(content_stems(line)) for line in str(row.get("notes_text", "")).splitlines() if line.strip()]
    picked = [set(content_stems(p)) for p in target.get("points") or [target.get("reference", "")]]
    return any(line and len(line & p) / len(line) >= 0.5 for line in lines for p in picked)


def run(rows: list[dict], home: Path | None = None) -> dict[str, Any]:
    """Build the index (in `home`, or a fresh temporary TUTOR_HOME) and grade `rows` against the notes."""
    from benchmarks.common import in_process_settings, new_root

    root = home or new_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        in_process_settings(root)
        from tutor.tools.notes import shared_retriever

        started = time.perf_counter()
        shared_retriever()  # builds the index on first use, as `tutor grade` does
        index_s = time.perf_counter() - started
        questions = list(dict.fromkeys(r["question"] for r in rows))
        started = time.perf_counter()
        targets = targets_for_notes(questions)
        pick_s = time.perf_counter() - started
        started = time.perf_counter()
        grades = grade_rows(rows, targets)
        grade_s = time.perf_counter() - started
    finally:
        if home is None:
            shutil.rmtree(root, ignore_errors=True)
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    per_kind = {k: figures([r for r in rows if r["kind"] == k], [g for r, g in zip(rows, grades) if r["kind"] == k])
                for k in kinds}
    overall = figures(rows, grades)
    harsh = [case(r, g, targets[r["question"]]) for r, g in zip(rows, grades)
             if r["expected"] == "correct" and g.verdict != "unsure" and g.score < HARSH_BELOW]
    lenient = [case(r, g, targets[r["question"]]) for r, g in zip(rows, grades)
               if r["expected"] == "incorrect" and g.score >= LENIENT_FROM]
    found = {q: point_found(next(r for r in rows if r["question"] == q), targets[q]) for q in questions}
    return {
        "answers": len(rows), "questions": len(questions),
        "targets": {name: f"{op} {value}" for name, (op, value) in TARGETS.items()},
        "overall": overall, "holds": {name: holds(name, overall[name]) for name in TARGETS}, "per_kind": per_kind,
        "harsh_cases": harsh, "lenient_cases": lenient,
        "questions_with_nothing_to_grade": sum(not targets[q]["reference"] for q in questions),
        "questions_whose_notes_line_was_picked": sum(found.values()),
        "key_points": {q: {"points": targets[q].get("points"), "concept": targets[q].get("concept"),
                           "citations": targets[q].get("citations"), "notes_line_picked": found[q]} for q in questions},
        "seconds": {"index": round(index_s, 2), "key_points": round(pick_s, 2), "grading": round(grade_s, 2),
                    "answers_per_second": round(len(rows) / grade_s, 1) if grade_s else None},
    }


def _p(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown(report: dict[str, Any], name: str, shown: int = 50) -> list[str]:
    t = report["targets"]
    lines = [f"{name}: {report['answers']} answers to {report['questions']} questions, graded against the notes "
             f"(no reference) as `tutor grade ANSWER --question Q`; the notes' line the answers were written from is "
             f"among the key points picked for {report['questions_whose_notes_line_was_picked']} of "
             f"{report['questions']} questions.", "",
             f"| kind | n | harsh ({t['harsh']}) | lenient, all ({t['lenient']}) | lenient, decided ({t['lenient_confident']}) "
             f"| confident right ({t['confident_right']}) | unsure ({t['unsure']}) |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def row(label: str, f: dict[str, Any]) -> str:
        return (f"| {label} | {f['n']} | {_p(f['harsh'])} | {_p(f['lenient'])} | {_p(f['lenient_confident'])} | "
                f"{_p(f['confident_right'])} ({f['decided']}) | {_p(f['unsure'])} |")

    for kind, f in report["per_kind"].items():
        lines.append(row(f"{kind} (expected {'/'.join(f['expected'])})", f))
    lines.append(row("**all**", report["overall"]))
    lines += ["", "Targets overall: " + ", ".join(
        f"{k} {t[k]}: {'holds' if v else 'misses' if v is False else 'n/a'}" for k, v in report["holds"].items()) + "."]
    for title, key in (("Harsh", "harsh_cases"), ("Lenient", "lenient_cases")):
        cases = report[key]
        lines += ["", f"{title} cases ({len(cases)}" + (f", first {shown} shown" if len(cases) > shown else "") + "):"]
        for c in cases[:shown]:
            lines.append(f"- [{c['qid']} {c['kind']}] Q: {c['question']} | A: {c['answer']} | {c['verdict']} "
                         f"{c['score']:.2f} ({c['reason']}, confidence {c['confidence']:.2f}) | key point: "
                         f"{c['key_point']} | feedback: {c['feedback']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=list(SETS), default="heldout", help="heldout (default) or the tuning split")
    parser.add_argument("--file", type=Path, default=None, help="another file of the same format")
    parser.add_argument("--out", type=Path, default=None, help="default benchmarks/out/heldout.json (heldout-tuning.json)")
    parser.add_argument("--limit", type=int, default=None, help="the first N answers (a smoke run)")
    parser.add_argument("--home", type=Path, default=None, help="a TUTOR_HOME to build the index in and keep (reused)")
    parser.add_argument("--cases-shown", type=int, default=50, help="how many harsh and lenient cases to print")
    args = parser.parse_args(argv)

    path = args.file or SETS[args.set]
    rows = load_rows(path, args.limit)
    report = {"set": args.set if args.file is None else str(args.file), "file": str(path), "limit": args.limit,
              **run(rows, args.home)}
    out = args.out or OUTS[args.set]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("\n".join(markdown(report, Path(path).name, args.cases_shown)))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
