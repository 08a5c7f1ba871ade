"""The `tutor` command: one small typer app per command group, composed here.

Exit codes: 0 ok, 1 the work failed (model unreachable, store broken), 2 bad usage or bad input.
Heavy libraries (torch, crewai, chromadb) are imported inside commands so `--help` stays instant.
"""

from __future__ import annotations

import sys
import traceback
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer._click import exceptions as click_exceptions
from typer.core import TyperGroup

from tutor import __version__
from tutor.cli import crew, knowledge, learn
from tutor.cli import progress
from tutor.cli import demo
from tutor.cli.render import err_console
from tutor.errors import TutorError
from tutor.security import redact


class TutorGroup(TyperGroup):
    """Turns expected failures into one readable line and a documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TutorError as e:
            err_console().print(f"[bold red]error:[/] {escape(redact(str(e)))}", highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except click_exceptions.NoArgsIsHelpError:
            raise
        except click_exceptions.UsageError as e:  # a typo'd command or option: one line, exit 2
            where = e.ctx.command_path if e.ctx else "tutor"
            err_console().print(
                f"[bold red]error:[/] {escape(redact(e.format_message()))} (see: {where} --help)",
                highlight=False, soft_wrap=True,
            )
            raise typer.Exit(2) from None
        except (click_exceptions.ClickException, typer.Abort, typer.Exit):
            raise
        except KeyboardInterrupt:
            err_console().print("interrupted")
            raise typer.Exit(130) from None
        except Exception as e:  # the last line of defence: never a bare traceback unless asked
            if ctx.obj and ctx.obj.get("verbose"):
                sys.stderr.write(redact(traceback.format_exc()))
            err_console().print(
                f"[bold red]error:[/] unexpected {e.__class__.__name__}: {escape(redact(str(e)))} "
                "(run with --verbose for the traceback)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=TutorGroup,
    name="tutor",
    help="A multi-agent deep learning tutor that teaches from the course notes, offline by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tutor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show agents' thoughts, tool calls and tracebacks.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """A multi-agent deep learning tutor that teaches from the course notes, offline by default."""
    from pathlib import Path

    if Path(".env").is_file():  # API keys and TUTOR_* settings may live in ./.env; the environment wins
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)
    ctx.obj = {"verbose": verbose}


knowledge.register(app)
learn.register(app)
crew.register(app)
progress.register(app)
demo.register(app)


def main() -> None:
    app(prog_name="tutor")


if __name__ == "__main__":
    sys.exit(main())
