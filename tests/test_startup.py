"""What keeps start-up short: `tutor --help` renders without markdown-it, pygments or attrs, and says the same."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys
sys.argv = ['tutor', *{argv!r}]
from tutor.cli import main
try:
    main()
except SystemExit as e:
    code = e.code
print('LOADED:', sorted(m for m in ('rich.markdown', 'rich.traceback', 'markdown_it', 'pygments', 'attr')
                        if m in sys.modules), 'CODE:', code, file=sys.stderr)
from rich.markdown import Markdown
from rich.traceback import Traceback
print('REAL:', Markdown.__module__, Traceback.__module__, hasattr(Markdown, '__rich_console__') and hasattr(Traceback, '__rich_console__'), file=sys.stderr)
"""


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("argv", [["--help"], ["grade", "--help"], [], ["study", "-h"]])
def test_help_needs_neither_markdown_nor_tracebacks_and_leaves_the_real_modules_importable(argv):
    done = _run(argv)

    assert "Usage" in done.stdout
    lines = done.stderr.strip().splitlines()
    assert lines[-2] == "LOADED: [] CODE: 0" if argv else lines[-2].startswith("LOADED: [] CODE:"), done.stderr
    assert lines[-1] == "REAL: rich.markdown rich.traceback True", done.stderr


def test_help_reads_the_same_with_the_stand_ins_as_with_the_real_modules():
    real = subprocess.run(
        [sys.executable, "-c", "import sys, rich.markdown, rich.traceback; sys.argv = ['tutor', 'study', '--help'];"
         "from tutor.cli import main; main()"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"}, timeout=120,
    )
    light = _run(["study", "--help"])

    assert real.stdout == light.stdout and "--no-demo" in light.stdout
