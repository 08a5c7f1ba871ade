"""The live status line while a crew runs: fed by CrewAI's events, drawn on a terminal's stderr only."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.crew import progress
from tutor.crew.progress import CrewStatus

REPO = Path(__file__).resolve().parent.parent


def test_the_status_names_agent_step_tool_and_seconds():
    status = CrewStatus(agent="Course Notes Researcher", step="research_topic", tool="search_notes", started=100.0)
    assert status.line(now=112.4) == "Course Notes Researcher · research_topic · tool search_notes · 12 s"
    assert CrewStatus(model_calls=2, started=0.0).line(now=1.0) == "crew · starting · model call 2 · 1 s"


def test_a_crew_run_reports_each_agent_step_and_tool_then_its_end(tutor):
    seen: list[CrewStatus | None] = []
    with progress.watching(seen.append):
        ran = tutor("study", "dropout", "--no-demo", "--json")
    assert ran.exit_code == 0, ran.output
    lines = [s for s in seen if s is not None]
    assert {"research_topic", "explain_topic", "check_understanding"} <= {s.step for s in lines}
    assert any(s.tool == "search_notes" and s.agent for s in lines)
    assert seen[-1] is None  # the line is taken down when the crew ends
    assert ran.stdout.lstrip().startswith("{")  # --json output stays clean


def _run_in_terminal(*args: str, home: Path) -> tuple[int, str]:
    env = dict(os.environ, TUTOR_HOME=str(home), TUTOR_EMBEDDER="hashing", COLUMNS="120",
               CREWAI_DISABLE_TELEMETRY="true", OTEL_SDK_DISABLED="true", LITELLM_LOCAL_MODEL_COST_MAP="True")
    for name in ("TUTOR_MODEL", "TUTOR_BASE_URL"):
        env.pop(name, None)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tutor", *args], stdin=slave, stdout=subprocess.DEVNULL,
                            stderr=slave, env=env, cwd=home.parent)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=120), out.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_the_line_is_drawn_and_quiet_turns_it_off(tmp_path):
    code, err = _run_in_terminal("study", "dropout", "--no-demo", home=tmp_path / "home")
    assert code == 0, err
    # the line is redrawn a few times a second: a step that lasts less may never be drawn, so only that some agent
    # step was drawn is asserted here (every step and tool is reported: test_a_crew_run_reports_...)
    assert re.search(r"(Course Notes Researcher|Deep Learning Explainer|Quiz Master) · \w+", err), err
    code, err = _run_in_terminal("--quiet", "study", "dropout", "--no-demo", home=tmp_path / "home")
    assert code == 0, err
    assert "research_topic" not in err
