"""`tutor study`, `tutor quiz`, `tutor grade`: the three learner flows."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tutor.cli.options import ConfigOpt, JsonOpt, ModelOpt, NoFallbackOpt, ProcessOpt, offline_notice, verbose
from tutor.cli.knowledge import ensure_index
from tutor.cli.grades import ask_self_rating, render_grade, say_grade
from tutor.cli.render import console, note, print_json

LearnerOpt = Annotated[str | None, typer.Option("--learner", help="Whose record to use (default: 'default').")]


def _options(ctx: typer.Context, process: str, model: str | None, config: Path | None, no_fallback: bool) -> Any:
    from tutor.errors import UsageError
    from tutor.learning.flows import CrewOptions

    if process not in ("sequential", "hierarchical"):
        raise UsageError(f"--process must be sequential or hierarchical, got '{process}'")
    return CrewOptions(process=process, model=model, config_dir=config, verbose=verbose(ctx), fallback=not no_fallback)


def open_learner(name: str | None) -> Any:
    from tutor.learning.store import LearnerStore

    store = LearnerStore.open(name)
    if store.created and name:
        note(f"new learner '{store.learner}' created")
    return store


def study(
    ctx: typer.Context,
    topic: Annotated[str, typer.Argument(help="What to learn, e.g. \"transformers\".")],
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also save the lesson as Markdown here.")] = None,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not run a demo model in the lesson.")] = False,
    learner: LearnerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A lesson on TOPIC from the notes: overview, key ideas, example, demo, misconceptions, checks."""
    from tutor.errors import UsageError

    if not topic.strip():
        raise UsageError("the topic is empty: say what you want to study, e.g. tutor study \"transformers\"")
    if out is not None and out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name such as lesson.md")
    from tutor.learning.practice import lesson_for

    store = open_learner(learner)
    ensure_index(show_progress=not json_out)
    offline_notice(model)
    lesson = lesson_for(topic, _options(ctx, process, model, config, no_fallback), store, no_demo=no_demo)
    if out is not None:
        try:
            out.write_text(lesson.markdown + "\n", encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write {out}: {e.strerror or e}") from None
    if json_out:
        print_json(lesson.model_dump(mode="json"))
        return
    from rich.markdown import Markdown

    console().print(Markdown(lesson.markdown))
    if out is not None:
        note(f"saved to {out}")


def quiz(
    ctx: typer.Context,
    topic: Annotated[str | None, typer.Option("--topic", help="Limit the quiz to a topic.")] = None,
    n: Annotated[int, typer.Option("--n", help="How many questions.")] = 5,
    kind: Annotated[str, typer.Option("--kind", help="mcq, short, cloze, computed or mixed.")] = "mixed",
    level: Annotated[str, typer.Option(
        "--level", help="remember, understand (why, how), apply (cases, numbers), analyze (compare) or mixed.")] = "mixed",
    seed: Annotated[int | None, typer.Option("--seed", help="Same seed, same quiz (default: a new one).")] = None,
    adaptive: Annotated[bool, typer.Option("--adaptive", help="Weak and due sections first.")] = False,
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    learner: LearnerOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the quiz as JSON without asking.")] = False,
) -> None:
    """A quiz from the notes, one question at a time, graded as you go (answers may be piped, one per line)."""
    from tutor.errors import UsageError
    from tutor.learning import flows

    if topic is not None and not topic.strip():
        raise UsageError("--topic is empty: name a topic or leave the option out")
    if n < 1 or n > flows.MAX_QUIZ_ITEMS:
        raise UsageError(f"--n must be between 1 and {flows.MAX_QUIZ_ITEMS}, got {n}")
    if kind not in flows.QUIZ_KINDS:
        raise UsageError(f"--kind must be one of {', '.join(flows.QUIZ_KINDS)}, got '{kind}'")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed must be zero or positive, got {seed}")
    flows.check_level(kind, level)
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    options = _options(ctx, process, model, config, no_fallback)
    store = open_learner(learner)
    if adaptive and not topic:
        topic = _adaptive_topic(store)
    ensure_index(show_progress=not json_out)
    offline_notice(model)
    items = flows.make_quiz(topic, n, kind, seed, options, level=level)
    if json_out:
        print_json({"seed": seed, "level": level, "items": [i.model_dump(mode="json") for i in items]})
        return
    if not items:
        console().print("The notes gave no questions for that topic.")
        return
    if len(items) < n:
        note(f"the notes gave {len(items)} questions of that kind and level, not {n}")
    run_quiz(items, options, store, topic or "all", kind, seed)


def _adaptive_topic(store: Any) -> str | None:
    try:
        from tutor.learning.prerequisites import adaptive_sections
    except ImportError:
        return None
    sections = adaptive_sections(store)
    if sections:
        first = sections[0]
        return first[1] if isinstance(first, tuple) else getattr(first, "section", str(first))
    return None


_PUSHED_BACK: list[str] = []  # a piped line read as a self-rating that was not one: the next answer


def _read_line(prompt: str) -> str | None:
    """One answer: typed at a prompt in a terminal, or the next line of piped input (None at the end)."""
    if _PUSHED_BACK:
        line = _PUSHED_BACK.pop()
        console().print(f"{prompt}: {line}", highlight=False)
        return line
    if sys.stdin.isatty():
        try:
            return typer.prompt(prompt, default="", show_default=False)
        except (EOFError, typer.Abort):
            return None
    console().print(f"{prompt}: ", end="")
    sys.stdout.flush()  # whoever pipes answers in sees each question before answering it
    line = sys.stdin.readline()
    if not line:
        console().print()
        return None
    console().print(line.rstrip("\n"), highlight=False)
    return line.rstrip("\n")


def _ask_answer() -> str | None:
    """The learner's answer, checked; "" when skipped (blank or unusable), None when input has ended."""
    from rich.markup import escape

    from tutor.errors import UsageError
    from tutor.learning import flows

    answer = _read_line("Your answer")
    if answer is None:
        return None
    if not answer.strip():
        console().print("[yellow]skipped[/]")
        return ""
    try:
        return flows.check_answer_text(answer)
    except UsageError as e:
        console().print(f"[yellow]{escape(str(e))}; skipped[/]")
        return ""


def _self_rate(graded: Any) -> str | None:
    return ask_self_rating(graded, _read_line, _PUSHED_BACK.append)


def run_quiz(items: list[Any], options: Any, store: Any, topic: str, kind: str, seed: int) -> None:
    from rich.markup import escape

    from tutor.learning import flows
    from tutor.learning.practice import answer_item

    quiz_id = store.start_quiz(topic, kind, seed, len(items))
    total, answered = 0.0, 0
    for number, item in enumerate(items, start=1):
        console().print(f"\n[bold]Question {number}/{len(items)}[/] [dim]({item.kind}, {item.level}; {escape(item.section)})[/]")
        console().print(escape(item.question))
        for letter, option in zip("ABCDE", item.options or []):
            console().print(f"  {letter}. {escape(option)}")
        flows.remember_question(item)
        answer = _ask_answer()
        if answer is None:
            break
        if not answer:
            continue
        graded = answer_item(store, quiz_id, item, answer, options, self_rate=_self_rate)
        answered += 1
        total += graded.score
        say_grade(graded)
    store.finish_quiz(quiz_id)
    console().print(
        f"\n[bold]Score: {total:.1f} / {len(items)}[/] ({answered} answered; seed {seed} replays this quiz)"
    )


def review(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="At most this many cards.")] = 20,
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    learner: LearnerOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the due cards as JSON without asking.")] = False,
) -> None:
    """Review the cards that are due (spaced repetition with FSRS), then reschedule them."""
    from rich.markup import escape

    from tutor.errors import UsageError
    from tutor.learning.practice import answer_card

    if limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    options = _options(ctx, process, model, config, no_fallback)
    store = open_learner(learner)
    cards = store.due_cards(limit=limit)
    if json_out:
        print_json([c.model_dump(mode="json") for c in cards])
        return
    if not cards:
        console().print("Nothing is due. Take a quiz (tutor quiz) to add cards.")
        return
    offline_notice(model)
    total = 0.0
    done = 0
    for number, card in enumerate(cards, start=1):
        console().print(f"\n[bold]Card {number}/{len(cards)}[/] [dim]({escape(card.section)})[/]")
        console().print(escape(card.question))
        answer = _ask_answer()
        if answer is None:
            break
        if not answer:
            continue
        graded, after = answer_card(store, card, answer, options, self_rate=_self_rate)
        done += 1
        total += graded.score
        say_grade(graded)
        console().print(f"[dim]next review: {after.due:%Y-%m-%d %H:%M} UTC[/]")
    console().print(f"\n[bold]Reviewed {done} of {len(cards)} cards[/], average score {total / max(done, 1):.2f}")


def grade(
    ctx: typer.Context,
    answer: Annotated[str | None, typer.Argument(help="Your answer: text, '-' for stdin, or @file.")] = None,
    question: Annotated[str | None, typer.Option("--question", help="The question (default: the last quiz question).")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="A teacher's reference answer.")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="Grade a class: a .jsonl or .csv file.")] = None,
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    learner: LearnerOpt = None,
    json_out: JsonOpt = False,
    strict: Annotated[bool, typer.Option("--strict", help="Always give a verdict: never 'not sure' (the best guess instead).")] = False,
) -> None:
    """Grade an answer against a reference answer or the notes: score, verdict, covered and missed points.
    When the grader cannot tell, it says 'not sure' and shows the key point to compare with."""
    from tutor.errors import UsageError
    from tutor.learning import flows

    options = _options(ctx, process, model, config, no_fallback)
    if batch is not None:
        if answer is not None:
            raise UsageError("give either an ANSWER or --batch FILE, not both")
        rows = flows.read_batch(batch)
        ensure_index(show_progress=False)
        offline_notice(model)
        for result in flows.grade_batch(rows, options, strict=strict):
            sys.stdout.write(result.model_dump_json(exclude_none=True) + "\n")
        sys.stdout.flush()
        return
    if answer is None:
        raise UsageError("give the answer to grade (text, '-' for stdin, or @file), or --batch FILE")
    text = flows.read_answer(answer)
    if question is not None and not question.strip():
        raise UsageError("--question is empty")
    item = None
    if question is None:
        item = flows.last_question()
        question = item.question
        if reference is None:
            reference = item.answer
    ensure_index(show_progress=not json_out)
    offline_notice(model)
    if item is not None and item.kind in ("mcq", "cloze", "computed"):
        graded = flows.grade_quiz_answer(item, text, options)
    else:
        graded = flows.grade(text, question, reference or "", options)
    if strict:
        graded = graded.forced()
    store = open_learner(learner)
    store.record_answer(
        None, question=question, answer=text, reference=reference or "", grade_score=graded.score,
        verdict=graded.verdict,
        source=graded.citations[0]["source"] if graded.citations else "",
        section=graded.citations[0]["section"] if graded.citations else "",
    )
    if json_out:
        print_json(graded.model_dump(mode="json"))
        return
    render_grade(graded)


def register(app: typer.Typer) -> None:
    app.command()(study)
    app.command()(quiz)
    app.command()(grade)
    app.command()(review)
