"""The `tutor` command: one small typer app per command group, composed here.

Exit codes: 0 ok, 1 the work failed (model unreachable, store broken), 2 bad usage or bad input.
Heavy libraries (torch, crewai, chromadb) are imported inside commands so `--help` stays instant.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer._click import exceptions as click_exceptions
from typer.core import TyperGroup

from tutor import __version__
from tutor.cli import crew, knowledge, learn
from tutor.cli import progress
from tutor.cli import demo
from tutor.cli import converse
from tutor.cli import doctor
from tutor.cli import serve
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
                import traceback

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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live status line while the agents work.")] = False,
) -> None:
    """A multi-agent deep learning tutor that teaches from the course notes, offline by default."""
    from pathlib import Path

    if Path(".env").is_file():  # API keys and TUTOR_* settings may live in ./.env; the environment wins
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)
    ctx.obj = {"verbose": verbose}
    if not (quiet or verbose):  # verbose prints the agents' own trace instead
        from tutor.cli.render import crew_status

        ctx.with_resource(crew_status())


knowledge.register(app)
learn.register(app)
crew.register(app)
progress.register(app)
demo.register(app)
converse.register(app)
doctor.register(app)
serve.register(app)


def _help_renderer_without_markdown() -> None:
    """Import typer's help renderer (typer.rich_utils) without the two modules it imports but never uses
    for help in "rich" markup mode: rich.markdown (markdown-it, pygments) and rich.traceback (attrs).
    They are half the time of `tutor --help`. Stand-ins take their place while rich_utils imports, then
    step aside, so anything that imports them later (a lesson rendered as Markdown) gets the real ones."""
    if "typer.rich_utils" in sys.modules:
        return
    import importlib
    import types

    def deferred(module: str, name: str) -> type:
        def real() -> Any:
            return getattr(importlib.import_module(module), name)

        # A class, not a function: rich_utils writes `Markdown | Text` in annotations it evaluates.
        return type(name, (), {"__new__": lambda cls, *a, **k: real()(*a, **k),
                               "from_exception": classmethod(lambda cls, *a, **k: real().from_exception(*a, **k))})

    stand_ins = {}
    for module, name in (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback")):
        if module not in sys.modules:
            stand_ins[module] = types.ModuleType(module)
            setattr(stand_ins[module], name, deferred(module, name))
    sys.modules.update(stand_ins)
    try:
        import typer.rich_utils  # noqa: F401
    finally:
        rich = sys.modules["rich"]
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]
            if getattr(rich, module.rsplit(".", 1)[1], None) is stand_in:
                delattr(rich, module.rsplit(".", 1)[1])


def main() -> None:
    # numpy's OpenBLAS starts a thread per core even for the small products of embedding one query; on a
    # busy machine those threads wait on each other (ten times slower). One thread serves tutor's sizes;
    # torch, which embeds the large batches, has its own threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if len(sys.argv) < 2 or any(arg in ("--help", "-h") for arg in sys.argv[1:]):
        _help_renderer_without_markdown()
    app(prog_name="tutor")


if __name__ == "__main__":
    sys.exit(main())
