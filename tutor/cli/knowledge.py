"""`tutor index` and `tutor search`: build the knowledge base and search it with citations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tutor.cli.render import console, note, print_json, progress_bar, warn


def index(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Your own .md, .txt or .pdf files or folders to add to the course notes.", show_default=False),
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything from scratch.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Index the course notes (and your own files) for search. Runs by itself on first use."""
    from tutor.knowledge.store import NoteStore
    from tutor.settings import get_settings

    store = NoteStore(get_settings())
    if paths:
        store.add_sources(paths)
    with progress_bar("indexing", enabled=not json_out) as update:
        report = store.sync(rebuild=rebuild, on_progress=update)
    from tutor.tools.notes import reset_shared_retriever

    reset_shared_retriever()  # a retriever opened earlier in this process would not see the new passages
    if json_out:
        print_json(report.model_dump())
        return
    for notice in report.notices:
        note(notice)
    for skipped in report.skipped:
        warn(f"skipped {skipped}")
    console().print(
        f"Indexed [bold]{report.files}[/] files into [bold]{report.chunks}[/] passages "
        f"({report.embedded} embedded, {report.deleted} removed"
        + (f", {report.inserted} from the shipped embeddings" if report.inserted else "")
        + f") in {report.seconds:.1f}s"
    )


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many passages to show.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, dense or bm25.")] = "hybrid",
    kind: Annotated[str, typer.Option(
        "--kind", help="all (the notes and, a third of the hits, the tutor's explanations of them), notes or companion.")] = "all",
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list, best first.")] = False,
) -> None:
    """Search the notes: each hit shows its section, source, score and a snippet."""
    from tutor.errors import UsageError

    if not query.strip():
        raise UsageError("the query is empty: say what to search for")
    if k < 1:
        raise UsageError(f"--k must be at least 1, got {k}")
    if mode not in ("hybrid", "dense", "bm25"):
        raise UsageError(f"--mode must be hybrid, dense or bm25, got '{mode}'")
    if kind not in ("all", "notes", "companion"):
        raise UsageError(f"--kind must be all, notes or companion, got '{kind}'")
    retriever = ensure_index(show_progress=not json_out)
    if kind == "all":
        passages = retriever.search_with_companion(query, k=k, mode=mode, within_k=True)  # type: ignore[arg-type]
    else:
        passages = retriever.search(query, k=k, mode=mode, kinds=(kind,))  # type: ignore[arg-type]
    if json_out:
        print_json([p.model_dump() for p in passages])
        return
    if not passages:
        console().print("No passage matches that query.")
        return
    from rich.markup import escape

    for rank, p in enumerate(passages, start=1):
        snippet = " ".join(p.text.split())
        if len(snippet) > 320:
            snippet = snippet[:317].rsplit(" ", 1)[0] + "..."
        title = p.section + (f" > {p.subsection}" if p.subsection else "")
        where = f"tutor's explanation of {p.source}" if p.kind == "companion" else f"{p.source}:{p.line_start}-{p.line_end}"
        console().print(
            f"[bold cyan]{rank}. {escape(title)}[/]  [dim]{escape(where)}  score {p.score:.2f}[/]"
        )
        console().print(f"   {escape(snippet)}\n", highlight=False)


def ensure_index(show_progress: bool = True) -> Any:
    """The notes' index, built on first use with a progress bar and a one-line summary."""
    from tutor.tools.notes import shared_retriever

    with progress_bar("indexing the notes", enabled=show_progress) as update:
        return shared_retriever(on_progress=update, echo=note)


def register(app: typer.Typer) -> None:
    app.command()(index)
    app.command()(search)
