"""The pairs the pair model learns from (`python -m tutor.grading.train`): train splits and our own data only.

- SciEntsBank train and Beetle train: each answer paired with its reference; Beetle answers with several
  references are paired with the one they match best (any one is right). Labels: correct -> correct,
  incorrect -> incomplete, contradictory -> contradictory.
- Peers: two references of one question, or two answers people marked correct, one as the other's reference.
- Our answers to the notes' points (data/notes_pairs.jsonl, `--notes-pairs`): a paraphrase, a wrong claim
  in the notes' words, another concept's paraphrase. No synthetic near-copies (shuffled, negated, swapped
  words) any more: the evidence owns those (tutor.grading.evidence).
- The companion's rubric questions (data/companion_answers/*.jsonl): for every question of
  knowledge/companion/, eight answers we wrote as learners do: three correct in other words (a paraphrase,
  a terse one, an informal one), two incomplete (part of the key points; vague), two contradictory that
  reuse the key points' words (roles swapped, a misconception) and one about a sibling concept. Each is
  paired with the whole rubric, and with each key point alone (what the grader's per-point judgements read).
- With `--graded` (the shipped model is trained without them), our graded answers to the notes' own lines (`GRADED_SETS`: benchmarks/grading_heldout.jsonl,
  grading_heldout2.jsonl and grading_tuning.jsonl, 908 answers of eleven kinds written by helpers who never read
  the grader), each paired with the notes' line it answers: the very pairs the grader reads at run time
  (a notes point and a learner's answer). Kept out: grading_tuning2.jsonl (tuning) and grading_heldout3/4.jsonl
  (the held-out test, never read), and every SciEntsBank, Beetle and DigiKlausur test file.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tutor.grading import attacks
from tutor.grading.keypoints import point_term
from tutor.grading.text import content_stems

NOTES_PAIRS = Path(__file__).with_name("data") / "notes_pairs.jsonl"
REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "datasets"
TRAIN_FILES = ("scientsbank/sciEntsBank_3way_train.jsonl", "beetle/beetle_3way_train.jsonl")
LABEL_MAP = {"correct": "correct", "incorrect": "incomplete", "contradictory": "contradictory"}


@dataclass(frozen=True)
class Example:
    reference: str
    answer: str
    label: str
    group: str  # the question (or note section) it belongs to: folds never split a group
    origin: str  # "scientsbank", "beetle", an attack kind, "notes", ...
    question: str = ""  # the question asked, where known; the pair model reads no question


def _jaccard(a: str, b: str) -> float:
    x, y = set(content_stems(a)), set(content_stems(b))
    return len(x & y) / len(x | y) if x | y else 0.0


def load_answers(data: Path) -> tuple[list[Example], list[dict]]:
    examples, questions = [], {}
    for name in TRAIN_FILES:
        path = data / name
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            refs = [r for r in row.get("all_reference_answers") or [row["reference_answer"]] if r.strip()]
            reference = max(refs, key=lambda r: _jaccard(r, row["student_answer"])) if len(refs) > 1 else refs[0]
            origin = "beetle" if "beetle" in name else "scientsbank"
            group = f"{origin}:{row['qid']}"
            examples.append(Example(reference, row["student_answer"], LABEL_MAP[row["label"]], group, origin))
            q = questions.setdefault(group, {"group": group, "question": row["question"], "module": f"{origin}:{row['module']}",
                                             "references": refs, "correct": []})
            if row["label"] == "correct":
                q["correct"].append(row["student_answer"])
    return examples, list(questions.values())


def peer_pairs(q: dict, rng: random.Random, n: int = 8) -> list[Example]:
    """Correct answers in other words: two references of one question (Beetle has several), and two answers
    people marked correct, one standing as the reference of the other. Without them the only low-overlap
    pairs the model sees are hard cases, and it learns that other words mean another answer."""
    out = []
    refs = list(dict.fromkeys(q["references"]))
    for i, a in enumerate(refs):
        for b in refs[i + 1:]:
            out.append(Example(a, b, "correct", q["group"], "peer"))
            out.append(Example(b, a, "correct", q["group"], "peer"))
    correct = list(dict.fromkeys(q["correct"]))
    pairs = [(a, b) for a in correct for b in correct if a != b and _jaccard(a, b) < 0.5]
    for a, b in rng.sample(pairs, min(n, len(pairs))):
        out.append(Example(a, b, "correct", q["group"], "peer"))
    return out


def recited(text: str) -> list[str]:
    """The text said back as a learner who learnt it would, meaning unchanged: "Skip-gram: Predicts context
    words ..." -> "Predicts context words ...", "Skip-gram predicts context words ..." and "It predicts
    context words ..." ("Learning Rate: The step size ..." -> "Learning Rate is the step size ..."); a sentence without a term: lower-cased without its full stop, and without a
    bracketed aside. The attacks are near-copies that change the meaning (a word negated, two swapped, the
    order shuffled); these are near-copies that do not. Not trained on yet: with them (`notes` points and
    the train references) the pair model read recited points as correct (0.60 of the DL set's, from 0.02)
    but lost the swapped-words attack (0.94 -> 0.50 below 0.4); `benchmarks/adversarial.py` measures them."""
    import re

    from tutor.knowledge.chunking import TERM_LINE

    text = " ".join(text.split())
    out = []
    m = TERM_LINE.match(text)
    if m:
        term = point_term(text)
        rest = text[m.end():].strip().strip('"')
        if term and len(rest.split()) >= 3:
            lower = rest[:1].lower() + rest[1:]
            words = [w.strip('"') for w in lower.split()]
            verb = (words[0].endswith("s") or words[0].endswith("ly") and len(words) > 1 and words[1].endswith("s")) \
                and words[0] not in ("this", "its", "is", "was", "has")
            out.append(rest)
            if not lower.lower().startswith(term.lower()):
                out += [f"{term} {lower}", f"It {lower}"] if verb else [f"{term} is {lower}"]
    else:
        out.append(text[:1].lower() + text[1:].rstrip("."))
        bare = re.sub(r"\s*\([^)]*\)", "", text)
        if bare != text:
            out.append(bare)
    return [o for o in dict.fromkeys(out) if o and o != text]


def authored_cases(path: Path, rng: random.Random) -> list[Example]:
    """Our own answers to the notes' points (tutor/grading/data/notes_pairs.jsonl): a paraphrase in a
    student's words (correct), a fluent wrong claim in the notes' words (contradictory), and another
    concept's paraphrase from the same section (unrelated)."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_section = defaultdict(list)
    for row in rows:
        by_section[(row["source"], row["section"])].append(row)
    out = []
    for (source, section), group_rows in sorted(by_section.items()):
        group = f"notes:{source}:{section}"
        for row in group_rows:
            out.append(Example(row["point"], row["paraphrase"], "correct", group, "notes_paraphrase"))
            out.append(Example(row["point"], attacks.with_filler(row["paraphrase"], rng), "correct", group, "filler"))
            out.append(Example(row["point"], row["wrong"], "contradictory", group, "notes_wrong"))
            others = [r["paraphrase"] for r in group_rows if r["concept"] != row["concept"]]
            if others:
                out.append(Example(row["point"], rng.choice(others), "unrelated", group, "sibling"))
    return out


def split_groups(examples: list[Example], holdout: float, rng: random.Random) -> tuple[list[Example], list[Example]]:
    if holdout <= 0:
        return examples, []
    groups = sorted({e.group for e in examples if not e.group.startswith("notes:")})
    rng.shuffle(groups)
    held = set(groups[: int(len(groups) * holdout)])
    return [e for e in examples if e.group not in held], [e for e in examples if e.group in held]


GRADED_SETS = tuple(REPO / "benchmarks" / name for name in
                    ("grading_heldout.jsonl", "grading_heldout2.jsonl", "grading_tuning.jsonl"))
# a teacher's verdict and the kind of answer -> the pair model's class (as the companion's answers are labelled:
# a vague answer is right as far as it goes, SciEntsBank's "incorrect"; a wrong claim contradicts; another
# concept's answer or nonsense is unrelated)
GRADED_LABELS = {"vague": "incomplete", "negated": "contradictory", "swapped_term": "contradictory",
                 "misconception": "contradictory", "sibling": "unrelated", "nonsense": "unrelated"}


def graded_cases(paths: tuple[Path, ...] | list[Path], rng: random.Random) -> list[Example]:
    """Our graded answers to the notes' lines (`GRADED_SETS`), each against the line it answers."""
    out = []
    for path in paths:
        if not Path(path).exists():
            continue
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            reference = " ".join(str(row.get("notes_text") or "").split())
            answer = " ".join(str(row.get("answer") or "").split())
            if not reference or not answer:
                continue
            expected = row["expected"]
            label = {"correct": "correct", "partially_correct": "incomplete"}.get(expected) or \
                GRADED_LABELS.get(row.get("kind", ""), "contradictory")
            group, question = f"graded:{Path(path).stem}:{row['qid']}", row.get("question", "")
            out.append(Example(reference, answer, label, group, f"graded_{row.get('kind', expected)}", question))
            if label == "correct":  # the same answer with a learner's filler around it is as right
                out.append(Example(reference, attacks.with_filler(answer, rng), "correct", group, "filler", question))
    return out


COMPANION_ANSWERS = Path(__file__).with_name("data") / "companion_answers"
COMPANION_LABELS = ("correct", "incomplete", "contradictory", "unrelated")


def _sentence(point: str) -> str:
    point = point.strip()
    point = point[:1].upper() + point[1:]
    return point if point.endswith((".", "!", "?")) else f"{point}."


def companion_cases(folder: Path, rng: random.Random) -> list[Example]:
    """Our learners' answers to the companion's rubric questions, against the rubric and its key points."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            points = [p for p in row["key_points"] if p.strip()]
            if not points:
                continue
            reference = " ".join(_sentence(p) for p in points)
            group = f"companion:{row.get('file', path.stem)}:{row['idea']}"
            question = " ".join(row["question"].split())
            for answer in row["answers"]:
                label, text = answer["label"], " ".join(str(answer["text"]).split())
                if label not in COMPANION_LABELS or not text:
                    continue
                origin = f"companion_{answer['kind']}"
                out.append(Example(reference, text, label, group, origin, question))
                if label == "correct":
                    out.append(Example(reference, attacks.with_filler(text, rng), "correct", group, "filler", question))
                if len(points) < 2:
                    continue
                stated = set(answer.get("states") or [])
                for k, point in enumerate(points):
                    if label in ("correct", "incomplete") and k in stated:
                        out.append(Example(_sentence(point), text, "correct", group, "companion_point", question))
                    elif label == "incomplete" and answer["kind"] == "partial":
                        out.append(Example(_sentence(point), text, "incomplete", group, "companion_point_missed", question))
                    elif label == "unrelated":
                        out.append(Example(_sentence(point), text, "unrelated", group, "companion_point_sibling", question))
    return out


