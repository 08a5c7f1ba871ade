"""The three learner flows as library calls: study a topic, take a quiz, grade an answer.

Each runs its crew (built from the YAML), takes the validated output, and leaves the rendering to
the CLI. The offline model is the floor; a configured model lifts the ceiling.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tutor.crew.outputs import CheckQuestions, Lesson
from tutor.errors import UsageError, WorkFailed

MAX_ANSWER_CHARS = 20_000  # longer answers are rejected: no exam answer is a book


class CrewOptions(BaseModel):
    process: str = "sequential"
    model: str | None = None
    config_dir: Path | None = None
    verbose: bool = False
    fallback: bool = True  # a failing model hands over to the offline model, with a notice

    def crew_kwargs(self) -> dict[str, Any]:
        return {"process": self.process, "model": self.model, "config_dir": self.config_dir,
                "verbose": self.verbose, "fallback": self.fallback}


# ---- study ---------------------------------------------------------------------------------------
def study(topic: str, options: CrewOptions, no_demo: bool = False) -> Lesson:
    from tutor.crew.run import build_and_run

    topic = " ".join(topic.split())
    if not topic:
        raise UsageError("the topic is empty: say what you want to study, e.g. tutor study \"transformers\"")
    run = build_and_run(
        "check_understanding", {"topic": topic}, no_demo=no_demo, **options.crew_kwargs()
    )
    lesson = verify_citations(_as(Lesson, run.result("explain_topic"), topic=topic), "markdown")
    checks = _as(CheckQuestions, run.result("check_understanding"))
    if lesson.covered and checks.questions:
        lesson.check_questions = checks.questions[:3]
        block = ["## Check your understanding"]
        for i, q in enumerate(lesson.check_questions, start=1):
            block.append(f"{i}. {q.question}" + (f"  \n   *(tests: {q.section})*" if q.section else ""))
        lesson.markdown = f"{lesson.markdown.rstrip()}\n\n" + "\n".join(block)
    return lesson


def verify_citations(output: Any, field: str) -> Any:
    """A lesson's or an answer's citations checked against the index (tutor.crew.citations)."""
    from tutor.crew.citations import check_citations, indexed_sections

    text, kept, verified, unverified = check_citations(getattr(output, field), output.citations, indexed_sections())
    setattr(output, field, text)
    output.citations, output.citations_verified, output.citations_unverified = kept, verified, unverified
    return output


def _as(model: type[BaseModel], result: Any, **defaults: Any) -> Any:
    """A task's validated output; a model that answered in prose is wrapped, not dropped."""
    if isinstance(result.output, model):
        return result.output
    try:
        return model.model_validate_json(result.raw)
    except ValidationError:
        if model is Lesson:
            return Lesson(markdown=result.raw or "(no answer)", **defaults)
        if model is CheckQuestions:
            return CheckQuestions(questions=[])
        raise WorkFailed(f"the {result.agent} returned no valid {model.__name__}") from None


# ---- grading ----------------------------------------------------------------------------------
def offline_grader() -> Any:
    """One offline grader per process (tutor.grading.service keeps it)."""
    from tutor.grading.service import shared_grader

    return shared_grader()


def read_answer(value: str, stdin: Callable[[], str] | None = None) -> str:
    """ANSWER as text, '-' for stdin, or '@path'; empty, huge or non-UTF-8 answers are bad input."""
    import sys

    if value == "-":
        data = (stdin or sys.stdin.buffer.read)()
        text = _decode(data, "standard input")
    elif value.startswith("@"):
        path = Path(value[1:])
        if not value[1:]:
            raise UsageError("'@' must be followed by a file path, e.g. @answer.txt")
        if path.is_dir():
            raise UsageError(f"{path} is a directory; give the file that holds the answer")
        try:
            text = _decode(path.read_bytes(), str(path))
        except FileNotFoundError:
            raise UsageError(f"answer file not found: {path}") from None
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    else:
        text = value
    return check_answer_text(text)


def _decode(data: str | bytes, where: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"the answer from {where} is not UTF-8 text (byte {e.start})") from None


def check_answer_text(text: str) -> str:
    if not text.strip():
        raise UsageError("the answer is empty: write what you think, or '-' to read it from standard input")
    if len(text) > MAX_ANSWER_CHARS:
        raise UsageError(f"the answer is {len(text):,} characters; the limit is {MAX_ANSWER_CHARS:,}")
    if "\x00" in text:
        raise UsageError("the answer contains NUL bytes; is it a binary file?")
    return text.strip()


def grade(answer: str, question: str, reference: str, options: CrewOptions) -> Any:
    """One answer graded by the crew's grader. The model's reply must validate into Grade (score in
    [0, 1], a known verdict); a malformed or out-of-range reply is rejected and asked for once more,
    then the offline grader answers (or, with --no-fallback, the failure is the error)."""
    from tutor.crew.run import build_and_run, resolve_model, skips_the_crew
    from tutor.grading.model import Grade
    from tutor.llms import direct

    inputs = {"question": question, "reference": reference, "answer": answer}
    if skips_the_crew("grade_answer", "grade", options):  # the same grade, without starting a crew
        passages = direct.search_as_the_agent(question or answer, direct.GRADE_PASSAGES)
        return Grade.model_validate_json(direct.grade(question, reference, answer, passages)[0])
    if resolve_model(options.model) != "offline":  # a configured model grades only what the offline grader cannot tell
        offline = _offline_grade(answer, question, reference)
        if offline is not None and offline.verdict != "unsure":
            return offline
    kwargs = options.crew_kwargs()
    attempts = 1 if resolve_model(options.model) == "offline" else 2
    failure: WorkFailed | None = None
    for _ in range(attempts):
        try:
            run = build_and_run("grade_answer", inputs, **{**kwargs, "fallback": False})
        except WorkFailed as e:
            failure = e
            continue
        result = run.result("grade_answer")
        try:
            graded = result.output if isinstance(result.output, Grade) else Grade.model_validate_json(_json_block(result.raw))
        except ValidationError as e:
            failure = WorkFailed(f"the grader's reply is not a valid grade ({str(e).splitlines()[0]})")
            continue
        if resolve_model(options.model) == "offline":
            return graded
        return _checked(graded, answer, question, reference)
    assert failure is not None
    if not options.fallback or resolve_model(options.model) == "offline":
        raise failure
    from tutor.cli.render import warn

    warn(f"{failure}; answering with the built-in offline model instead (--no-fallback makes this an error)")
    run = build_and_run("grade_answer", inputs, **{**kwargs, "model": "offline"})
    return run.result("grade_answer").output


def _offline_grade(answer: str, question: str, reference: str) -> Any:
    """The offline grade (against the reference, or the notes that answer the question); None when the
    notes hold nothing to grade against."""
    from tutor.grading.model import Grade
    from tutor.llms import direct

    passages = direct.search_as_the_agent(question or answer, direct.GRADE_PASSAGES)
    text, against = direct.grade(question, reference, answer, passages)
    return None if against == "nothing" else Grade.model_validate_json(text)


def _checked(graded: Any, answer: str, question: str, reference: str) -> Any:
    """A configured model's grade, checked by the offline grader (tutor.grading.service.check_model_grade)."""
    from tutor.grading.service import check_model_grade

    passages = []
    if not reference.strip():
        from tutor.tools.notes import shared_retriever

        passages = shared_retriever().search(question or answer, k=5, kinds=("notes",))
    return check_model_grade(graded, answer, question, reference, passages)


def _json_block(text: str) -> str:
    m = re.search(r"\{.*\}", text, re.S)
    return m.group(0) if m else text


class BatchRow(BaseModel):
    id: str
    question: str
    answer: str
    reference: str = ""


class BatchResult(BaseModel):
    id: str
    grade: dict[str, Any] | None = None
    error: str | None = None
    needs_review: bool = False  # the grader was unsure: a teacher should read this answer


def _result(row_id: str, graded: Any, strict: bool) -> BatchResult:
    graded = graded.forced() if strict else graded
    return BatchResult(id=row_id, grade=graded.model_dump(mode="json"), needs_review=graded.verdict == "unsure")


def read_batch(path: Path) -> list[BatchRow]:
    """JSONL or CSV rows with question, answer, optional reference and id (ids default to the row number)."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give a .jsonl or .csv file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"batch file not found: {path}") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    text = _decode(raw, str(path))
    records: list[tuple[int, dict[str, Any]]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"question", "answer"} <= {f.strip() for f in reader.fieldnames}:
            raise UsageError(f"{path}: the CSV header must name at least 'question' and 'answer'")
        for number, row in enumerate(reader, start=2):
            records.append((number, {k.strip(): v for k, v in row.items() if k}))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{number}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{path}:{number}: each line must be a JSON object")
            records.append((number, obj))
    rows = []
    for i, (number, obj) in enumerate(records, start=1):
        question, answer = str(obj.get("question") or "").strip(), str(obj.get("answer") or "")
        if not question:
            raise UsageError(f"{path}:{number}: 'question' is missing or empty")
        rows.append(BatchRow(id=str(obj.get("id") or i), question=question, answer=answer,
                             reference=str(obj.get("reference") or "")))
    if not rows:
        raise UsageError(f"{path}: no rows to grade")
    return rows


def grade_batch(rows: list[BatchRow], options: CrewOptions, strict: bool = False) -> Iterator[BatchResult]:
    """Grades in input order. Offline, every answer goes through one grader in one process, batched; an
    answer the grader is unsure of is marked `needs_review` (with `strict`, given its best-guess verdict)."""
    from tutor.crew.run import resolve_model

    if resolve_model(options.model) == "offline":
        yield from _grade_batch_offline(rows, strict)
        return
    for row in rows:
        if not row.answer.strip():  # a blank answer earns nothing: no model is asked
            yield from _grade_batch_offline([row], strict)
            continue
        try:
            answer = check_answer_text(row.answer)
            yield _result(row.id, grade(answer, row.question, row.reference, options), strict)
        except UsageError as e:
            yield BatchResult(id=row.id, error=str(e))


def _grade_batch_offline(rows: list[BatchRow], strict: bool = False) -> Iterator[BatchResult]:
    """A blank answer is graded 0 ("no answer"), not an error; a row with no reference is graded against
    the key points of the notes that answer its question (picked once per question)."""
    from tutor.grading.service import against_notes
    from tutor.tools.notes import shared_retriever

    valid: list[tuple[BatchRow, str, dict[str, Any]]] = []
    errors: dict[str, str] = {}  # by row id; a row that failed is reported by its id
    targets: dict[str, dict[str, Any]] = {}
    for row in rows:
        answer = row.answer.strip()
        if len(answer) > MAX_ANSWER_CHARS or "\x00" in answer:
            try:
                check_answer_text(answer)
            except UsageError as e:
                errors[row.id] = str(e)
                continue
        reference = row.reference.strip()
        if reference:
            target = {"reference": reference, "graded_against": "reference"}
        else:
            if row.question not in targets:
                targets[row.question] = against_notes(row.question, shared_retriever().search(row.question, k=5, kinds=("notes",)))
            target = targets[row.question]
            if not target["reference"]:
                errors[row.id] = "the notes hold nothing to grade this answer against; add a reference"
                continue
        valid.append((row, answer, target))
    grades = offline_grader().grade_many(
        [{"answer": a, "question": row.question, **target} for row, a, target in valid]
    )
    graded = {id(row): g for (row, *_), g in zip(valid, grades)}
    for row in rows:
        if id(row) in graded:
            yield _result(row.id, graded[id(row)], strict)
        else:
            yield BatchResult(id=row.id, error=errors[row.id])


# ---- quiz ----------------------------------------------------------------------------------------
QUIZ_KINDS = ("mcq", "short", "cloze", "computed", "mixed")
MAX_QUIZ_ITEMS = 50


def check_level(kind: str, level: str) -> None:
    from tutor.learning.quiz import LEVEL_CHOICES

    if level not in LEVEL_CHOICES:
        raise UsageError(f"--level must be one of {', '.join(LEVEL_CHOICES)}, got '{level}'")
    if kind == "cloze" and level not in ("remember", "mixed"):
        raise UsageError("cloze questions ask for recall: use --level remember, or --kind short/mcq for "
                         f"'{level}' questions")
    if kind == "computed" and level not in ("apply", "mixed"):
        raise UsageError(f"computed questions apply a formula: use --level apply, not '{level}'")


def make_quiz(topic: str | None, n: int, kind: str, seed: int, options: CrewOptions, level: str = "mixed") -> list[Any]:
    """A grounded quiz from the quizzer; the same seed gives the same quiz; `level` as in check_level."""
    from tutor.crew.run import build_and_run
    from tutor.learning.quiz import QuizItem

    if n < 1 or n > MAX_QUIZ_ITEMS:
        raise UsageError(f"--n must be between 1 and {MAX_QUIZ_ITEMS}, got {n}")
    if kind not in QUIZ_KINDS:
        raise UsageError(f"--kind must be one of {', '.join(QUIZ_KINDS)}, got '{kind}'")
    if seed < 0:
        raise UsageError(f"--seed must be zero or positive, got {seed}")
    check_level(kind, level)
    topic = " ".join((topic or "").split()) or "all"
    inputs = {"topic": topic, "n": n, "kind": kind, "seed": seed, "level": level}
    run = build_and_run("make_quiz", inputs, **options.crew_kwargs())
    result = run.result("make_quiz")
    items = getattr(result.output, "items", None)
    if items is None:
        try:
            items = [QuizItem.model_validate(i) for i in json.loads(_json_block(result.raw)).get("items", [])]
        except (ValidationError, json.JSONDecodeError, AttributeError) as e:
            raise WorkFailed(f"the quizzer returned no valid quiz ({str(e).splitlines()[0]})") from None
    unique, seen = [], set()
    for item in items:  # a model may repeat itself; a quiz never does
        key = " ".join(item.question.lower().split())
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique[:n]


class LastQuestion(BaseModel):
    """The last quiz question asked, so `tutor grade ANSWER` can grade against it."""

    question: str
    answer: str
    kind: str = "short"
    options: list[str] | None = None
    source: str = ""
    section: str = ""
    check: dict[str, Any] | None = None


def last_question_path() -> Path:
    from tutor.settings import get_settings

    return get_settings().home / "last_question.json"


def remember_question(item: Any) -> None:
    path = last_question_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = LastQuestion(
        question=item.question, answer=item.answer, kind=item.kind, options=item.options,
        source=item.source, section=item.section, check=getattr(item, "check", None),
    )
    # A temporary file of this process's own: many quizzes at once each replace the file whole, none fails.
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".last_question.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data.model_dump_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def last_question() -> LastQuestion:
    try:
        return LastQuestion.model_validate_json(last_question_path().read_text())
    except FileNotFoundError:
        raise UsageError("no quiz question has been asked yet: pass --question, or take a quiz first (tutor quiz)") from None
    except (OSError, ValidationError) as e:
        raise UsageError(f"the last quiz question could not be read ({e.__class__.__name__}); pass --question") from None


def mcq_choice(item: Any, answer: str) -> str | None:
    """The option a learner chose: a letter (A-E), a number (1-5) or the option's text."""
    options = item.options or []
    text = answer.strip()
    letter = re.fullmatch(r"\(?([A-Ea-e])[).:]?", text)
    if letter:
        index = ord(letter.group(1).upper()) - ord("A")
        return options[index] if index < len(options) else None
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    folded = " ".join(text.lower().split())
    for option in options:
        if " ".join(option.lower().split()) == folded:
            return option
    return None


def grade_quiz_answer(item: Any, answer: str, options: CrewOptions) -> Any:
    """Multiple choice and cloze are checked exactly, computed questions by running the computation,
    short answers by the grader."""
    from tutor.grading.model import Grade

    cite = [{"source": item.source, "section": item.section}]
    if item.kind == "mcq":
        chosen = mcq_choice(item, answer)
        ok = chosen is not None and chosen == item.answer
        feedback = (
            "Correct." if ok else
            f"Not quite: the answer is \"{item.answer}\"." + ("" if chosen else " (Answer with the option's letter.)")
        )
        return Grade(score=1.0 if ok else 0.0, verdict="correct" if ok else "incorrect",
                     covered=[item.answer] if ok else [], missed=[] if ok else [item.answer],
                     feedback=f"{feedback} See {item.section} ({item.source}).", citations=cite, confidence=1.0)
    if item.kind == "cloze":
        ok = _same_term(answer, item.answer)
        return Grade(score=1.0 if ok else 0.0, verdict="correct" if ok else "incorrect",
                     covered=[item.answer] if ok else [], missed=[] if ok else [item.answer],
                     feedback=("Correct." if ok else f"The missing term is \"{item.answer}\".")
                     + f" See {item.section} ({item.source}).", citations=cite, confidence=0.95)
    if item.kind == "computed" and getattr(item, "check", None):
        from tutor.demos.checks import ComputedQuestion, check_answer

        question = ComputedQuestion.model_validate(item.check)
        ok, parsed, feedback = check_answer(question, answer)
        return Grade(score=1.0 if ok else 0.0, verdict="correct" if ok else "incorrect",
                     covered=[f"{question.answer:g}"] if ok else [], missed=[] if ok else [f"{question.answer:g}"],
                     feedback=feedback, citations=cite, confidence=1.0 if parsed is not None else 0.6)
    grade_result = grade(answer, item.question, item.answer, options)
    if not grade_result.citations:
        grade_result.citations = cite
    return grade_result


def grade_review_answer(question: str, reference: str, answer: str, options: CrewOptions) -> Any:
    """A review card keeps the question and its reference; a one-term reference is checked as a term."""
    from tutor.grading.model import Grade

    if len(reference.split()) <= 4:
        ok = _same_term(answer, reference)
        return Grade(score=1.0 if ok else 0.0, verdict="correct" if ok else "incorrect",
                     covered=[reference] if ok else [], missed=[] if ok else [reference],
                     feedback="Correct." if ok else f"The answer is \"{reference}\".", citations=[], confidence=0.9)
    return grade(answer, question, reference, options)


def _same_term(answer: str, term: str) -> bool:
    """A term answer matches the notes' term, its bare form or the part in brackets ("LSTM" for
    "LSTM (Long Short-Term Memory)"), ignoring case, punctuation, a plural s and small typos."""
    import difflib

    def norm(s: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()

    a = norm(answer)
    if not a:
        return False
    forms = {norm(term)}
    bracket = re.match(r"^(.*?)\s*\((.*?)\)\s*$", term)
    if bracket:
        forms |= {norm(bracket.group(1)), norm(bracket.group(2))}
    for t in forms - {""}:
        if a == t or a.rstrip("s") == t.rstrip("s"):
            return True
        if len(t) > 5 and difflib.SequenceMatcher(None, a, t).ratio() >= 0.85:
            return True
    return False
