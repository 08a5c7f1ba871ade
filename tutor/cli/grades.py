"""A grade as the learner reads it in the terminal, and the question a tutor asks when it cannot tell.

An `unsure` grade shows the key point beside the answer, its words found in the answer in green and those not
found underlined, and asks "Does your answer say this? yes / partly / no"; the learner's answer becomes the
score (recorded as self-rated).
"""

from __future__ import annotations

import re
from typing import Any

from tutor.cli.render import console

COLOURS = {"correct": "green", "partially_correct": "yellow", "unsure": "cyan"}
SHOWN = {"unsure": "not sure"}


def verdict_text(verdict: str) -> str:
    return SHOWN.get(verdict, verdict.replace("_", " "))


def marked_point(point: str, stated: list[str], missing: list[str]) -> str:
    """Rich markup of the key point: the words the answer states in green, the words it does not underlined."""
    from rich.markup import escape

    found, lacking = {w.lower() for w in stated}, {w.lower() for w in missing}
    out, last = [], 0
    for m in re.finditer(r"\d+(?:\.\d+)?|[A-Za-z][A-Za-z0-9]*(?:'t)?", point):
        out.append(escape(point[last : m.start()]))
        word, low = m.group(), m.group().lower()
        out.append(f"[green]{escape(word)}[/]" if low in found else f"[bold red underline]{escape(word)}[/]" if low in lacking
                   else escape(word))
        last = m.end()
    out.append(escape(point[last:]))
    return "".join(out)


def show_key_point(graded: Any) -> None:
    if graded.key_point:
        console().print("[bold]The key point:[/] " + marked_point(graded.key_point, graded.stated_words, graded.missing_words))
        console().print("[dim](green: found in your answer; underlined: not found)[/]")
    if getattr(graded, "check", ""):  # a negation or another word where the point's words are: it may say the opposite
        from rich.markup import escape

        console().print("[yellow]" + escape(graded.check) + "[/]")


def say_grade(graded: Any) -> None:
    """One grade in a quiz or a review."""
    from rich.markup import escape

    colour = COLOURS.get(graded.verdict, "red")
    score = "" if graded.verdict == "unsure" else f" ({graded.score:.2f})"
    self_rated = " [dim](your own rating)[/]" if graded.self_rated else ""
    console().print(f"[{colour}]{verdict_text(graded.verdict)}[/]{score}{self_rated} {escape(graded.feedback)}")


def ask_self_rating(graded: Any, read: Any, push_back: Any = None) -> str | None:
    """The learner's own judgement of an unsure grade: "yes", "partly" or "no"; None when input ends or, with
    piped input, when the next line is no rating (it is handed back with `push_back`: it is the next answer)."""
    import sys

    from tutor.grading.model import SELF_RATING_WORDS

    console().print("[cyan]not sure[/]: I can't tell whether your answer says what the notes say.")
    show_key_point(graded)
    for _ in range(3 if sys.stdin.isatty() else 1):
        line = read("Does your answer say this? yes / partly / no")
        if line is None:
            return None
        choice = SELF_RATING_WORDS.get(line.strip().lower())
        if choice:
            return choice
        if not sys.stdin.isatty():
            if push_back is not None:
                push_back(line)
            console().print("[dim]not rated: recorded as not sure, with the best guess[/]")
            return None
        console().print("[yellow]Answer y, p or n.[/]")
    return None


def render_grade(graded: Any) -> None:
    """`tutor grade`: the verdict, what was covered, missed, contradicted, the feedback and where to read."""
    from rich.markup import escape

    colour = COLOURS.get(graded.verdict, "red")
    if graded.verdict == "unsure":
        console().print(f"[bold {colour}]not sure[/]  best guess {graded.score:.2f}")  # no confidence: it was too low to decide
    else:
        console().print(f"[bold {colour}]{verdict_text(graded.verdict)}[/]  score {graded.score:.2f}"
                        f"  [dim](confidence {graded.confidence:.2f})[/]")
    if getattr(graded, "graded_against", "") == "notes":
        console().print("[dim]graded against the key points of the notes that answer the question[/]")
    if graded.verdict == "unsure":
        show_key_point(graded)
    else:
        if graded.covered:
            console().print("[green]covered:[/] " + escape("; ".join(graded.covered)))
        if getattr(graded, "contradicted", None):
            console().print("[red]contradicted:[/] " + escape("; ".join(graded.contradicted)))
        if graded.missed:
            console().print("[red]missed:[/] " + escape("; ".join(graded.missed)))
    if graded.verdict == "unsure" and graded.key_point:  # the feedback would only say the key point again
        console().print("I can't tell whether your answer says this: compare it with the key point and judge it "
                        "yourself (yes / partly / no).")
        console().print("[dim]In a quiz or a review you are asked, and your rating schedules the card. "
                        "--strict forces a verdict.[/]")
    else:
        console().print(escape(graded.feedback))
    for c in graded.citations:
        console().print(f"[dim]see {escape(c.get('section', ''))} ({escape(c.get('source', ''))})[/]")
