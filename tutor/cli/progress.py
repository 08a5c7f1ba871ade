"""`tutor progress` and `tutor export anki|csv`: what the learner has mastered, and the record taken elsewhere."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutor.cli.render import console, note, print_json

if TYPE_CHECKING:
    from tutor.learning.store import LearnerStore, Progress

LearnerOpt = Annotated[
    str | None, typer.Option("--learner", "-l", help="Whose record (default: 'default'); a new name starts a new one.")
]
RECENT_SHOWN = 10  # answers in the "recent" table


def open_store(learner: str | None) -> LearnerStore:
    """The learner's store, saying so when the learner is new."""
    from tutor.learning.store import LearnerStore

    store = LearnerStore.open(learner)
    if store.created:
        note(f"new learner '{store.learner}' created")
    return store


def progress(
    learner: LearnerOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the progress as JSON.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw mastery per section and the score history into FILE.png.",
                     metavar="FILE.png"),
    ] = None,
) -> None:
    """Mastery per module and section, the weakest sections, reviews due, and recent scores."""
    if plot is not None:
        from tutor.learning.export import check_output

        check_output(plot, (".png",))
    with open_store(learner) as store:
        report = store.progress()
    if plot is not None:
        draw(report, plot)
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    show(report)
    if plot is not None:
        note(f"plot written to {plot}")


def _percent(value: float | None) -> str:
    if value is None:
        return "[dim]not quizzed[/]"
    colour = "red" if value < 0.4 else "yellow" if value < 0.7 else "green"
    return f"[{colour}]{value:.0%}[/]"


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _day(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d")


def show(report: Progress) -> None:
    """The terminal view of a learner's progress."""
    from rich.markup import escape
    from rich.table import Table

    out = console()
    out.print(
        f"[bold]{escape(report.learner)}[/]: {report.attempts} answers graded in {report.quizzes} quizzes, "
        f"{report.lessons} lessons studied; reviews due now [bold]{report.due}[/], "
        f"this week [bold]{report.due_week}[/] (of {report.cards} cards)",
        highlight=False,
    )
    if not report.sections:
        out.print("Nothing recorded yet: start with [bold]tutor study TOPIC[/] or [bold]tutor quiz[/].")
        return
    modules = Table(title="Mastery by module", title_justify="left")
    modules.add_column("module")
    modules.add_column("mastery", justify="right")
    modules.add_column("answers", justify="right")
    modules.add_column("sections", justify="right")
    for m in report.modules:
        modules.add_row(escape(m.module), _percent(m.mastery), str(m.attempts), str(m.sections))
    out.print(modules)

    sections = Table(title="Mastery by section", title_justify="left")
    sections.add_column("section")
    sections.add_column("mastery", justify="right")
    sections.add_column("answers", justify="right")
    sections.add_column("last seen")
    module = None
    for s in report.sections:
        if s.module != module:
            module = s.module
            sections.add_row(f"[bold]{escape(module)}[/]", "", "", "")
        sections.add_row(f"  {escape(s.section or '-')}", _percent(s.mastery), str(s.attempts), _day(s.last_seen))
    out.print(sections)

    if report.weakest:
        weakest = Table(title="Weakest sections (review these first)", title_justify="left")
        weakest.add_column("section")
        weakest.add_column("source")
        weakest.add_column("mastery", justify="right")
        for s in report.weakest:
            weakest.add_row(escape(s.section or "-"), escape(s.source), _percent(s.mastery))
        out.print(weakest)

    if report.history:
        recent = Table(title="Recent answers", title_justify="left")
        recent.add_column("when")
        recent.add_column("score", justify="right")
        recent.add_column("section")
        for h in reversed(report.history[-RECENT_SHOWN:]):
            recent.add_row(_when(h.time), _percent(h.score), escape(h.section or "-"))
        out.print(recent)


def draw(report: Progress, path: Path) -> None:
    """Mastery per section (bars) and score history (line) as a PNG, drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tutor.learning.export import replacing

    quizzed = [s for s in report.sections if s.mastery is not None]
    fig, (bars, line) = plt.subplots(2, 1, figsize=(10, 4 + 0.3 * len(quizzed)),
                                     gridspec_kw={"height_ratios": [max(len(quizzed), 2), 3]})
    try:
        if quizzed:
            labels = [(s.section[:50] + "...") if len(s.section) > 53 else (s.section or "-") for s in quizzed]
            values = [s.mastery or 0.0 for s in quizzed]
            colours = ["tab:red" if v < 0.4 else "tab:orange" if v < 0.7 else "tab:green" for v in values]
            bars.barh(range(len(quizzed)), values, color=colours)
            bars.set_yticks(range(len(quizzed)), labels, fontsize=8)
            bars.invert_yaxis()
        else:
            bars.text(0.5, 0.5, "no answers yet", ha="center", va="center", transform=bars.transAxes)
        bars.set_xlim(0, 1)
        bars.set_xlabel("mastery (recency-weighted mean score)")
        bars.set_title(f"{report.learner}: mastery per section")
        if report.history:
            times = [h.time for h in report.history]
            line.plot(times, [h.score for h in report.history], marker="o", markersize=3, linewidth=1)
            line.tick_params(axis="x", labelrotation=30, labelsize=8)  # autofmt_xdate would hide the bars' axis
        else:
            line.text(0.5, 0.5, "no answers yet", ha="center", va="center", transform=line.transAxes)
        line.set_ylim(-0.05, 1.05)
        line.set_ylabel("score")
        line.set_title("score history")
        fig.tight_layout()
        with replacing(path) as temp:
            fig.savefig(temp, format="png", dpi=100)
    finally:
        plt.close(fig)


export_app = typer.Typer(
    help="Take the learner's record elsewhere: review cards to Anki, answers or cards to CSV.",
    no_args_is_help=True,
)


@export_app.command("anki")
def export_anki(
    file: Annotated[Path, typer.Argument(help="The Anki package to write.", metavar="FILE.apkg")],
    learner: LearnerOpt = None,
) -> None:
    """Write the review cards as an Anki deck (one note per question: question, answer, section)."""
    from tutor.learning.export import check_output, export_anki as write

    check_output(file, (".apkg",))
    with open_store(learner) as store:
        done = write(store, file)
    console().print(f"{done.rows} cards written to {file} (deck tutor::{store.learner})", highlight=False)


@export_app.command("csv")
def export_csv(
    file: Annotated[Path, typer.Argument(help="The CSV file to write.", metavar="FILE")],
    learner: LearnerOpt = None,
    cards: Annotated[bool, typer.Option("--cards", help="Export the review cards instead of the answers.")] = False,
) -> None:
    """Write every graded answer (or, with --cards, every review card) as CSV."""
    from tutor.learning.export import check_output, export_csv as write

    check_output(file)
    with open_store(learner) as store:
        done = write(store, file, "cards" if cards else "answers")
    console().print(f"{done.rows} {done.kind} written to {file}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(progress)
    app.add_typer(export_app, name="export")
