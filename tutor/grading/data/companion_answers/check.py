"""Check a companion-answers file: python tutor/grading/data/companion_answers/check.py FILE.jsonl"""
import json
import sys

LABELS = {"correct", "incomplete", "contradictory", "unrelated"}
KINDS = {"paraphrase", "terse", "informal", "partial", "vague", "swapped", "misconception", "sibling"}


def check(path: str) -> int:
    problems, n_rows, n_answers = [], 0, 0
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {i}: not JSON ({exc})")
            continue
        n_rows += 1
        for key in ("idea", "question", "key_points", "answers"):
            if key not in row:
                problems.append(f"line {i}: missing {key}")
        points = row.get("key_points") or []
        for a in row.get("answers", []):
            n_answers += 1
            if a.get("label") not in LABELS or a.get("kind") not in KINDS or not str(a.get("text", "")).strip():
                problems.append(f"line {i}: bad answer {a}")
            for j in a.get("states", []):
                if not isinstance(j, int) or not 0 <= j < len(points):
                    problems.append(f"line {i}: states index {j} out of range")
        kinds = [a.get("kind") for a in row.get("answers", [])]
        for need in ("paraphrase", "partial", "swapped", "sibling"):
            if need not in kinds:
                problems.append(f"line {i}: no {need} answer")
    for p in problems:
        print(p)
    print(f"{path}: {n_rows} questions, {n_answers} answers, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(max(check(p) for p in sys.argv[1:]))
