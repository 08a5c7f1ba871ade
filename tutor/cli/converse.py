"""`tutor ask` (a learner's own question) and `tutor chat` (a session that keeps context)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tutor.cli.knowledge import ensure_index
from tutor.cli.learn import LearnerOpt, _options, open_learner
from tutor.cli.options import ConfigOpt, JsonOpt, ModelOpt, NoFallbackOpt, ProcessOpt, offline_notice
from tutor.cli.render import console, err_console, note, print_json


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question, in your own words ('-' reads it from stdin).")],
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Answer your own question from the notes: the few sentences that answer it, cited, and what to ask next."""
    from tutor.learning.conversation import ask as ask_flow, check_question, render_answer

    if question == "-":
        question = sys.stdin.read()
    question = check_question(question)
    options = _options(ctx, process, model, config, no_fallback)
    ensure_index(show_progress=not json_out)
    if not json_out:
        offline_notice(model)
    answer = ask_flow(question, options)
    if json_out:
        print_json(answer.model_dump(mode="json"))
        return
    from rich.markdown import Markdown

    console().print(Markdown(render_answer(answer)))


def chat(
    ctx: typer.Context,
    process: ProcessOpt = "sequential",
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_fallback: NoFallbackOpt = False,
    learner: LearnerOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the questions /quiz asks.")] = 0,
) -> None:
    """A tutoring session: ask questions and follow-ups; /quiz, /explain, /example, /simpler, /grade, /progress,
    /quit. Piped input is read one line per turn."""
    from rich.markdown import Markdown
    from rich.markup import escape

    from tutor.errors import TutorError
    from tutor.learning.conversation import HELP, ChatSession

    options = _options(ctx, process, model, config, no_fallback)
    store = open_learner(learner)
    ensure_index()
    offline_notice(model)
    session = ChatSession(options=options, store=store, seed=seed)
    interactive = sys.stdin.isatty()
    if interactive:
        console().print(HELP, highlight=False)
    try:
        while True:
            line = _read(interactive)
            if line is None:
                break
            try:
                turn = session.handle(line)
            except TutorError as e:  # one bad turn is one line; the session goes on
                err_console().print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
                continue
            for text in turn.notes:
                note(text)
            if turn.markdown:
                console().print(Markdown(turn.markdown))
            if turn.end:
                break
    except KeyboardInterrupt:
        console().print()
    finally:
        session.close()
    console().print("Session ended; your answers are saved.")


def _read(interactive: bool) -> str | None:
    """The next turn: typed at a prompt, or the next piped line (echoed, so a transcript reads as a dialogue)."""
    if interactive:
        try:
            return input("you> ")
        except EOFError:
            return None
    line = sys.stdin.readline()
    if not line:
        return None
    console().print(f"you> {line.rstrip()}", highlight=False, markup=False)
    return line.rstrip("\n")


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(chat)
