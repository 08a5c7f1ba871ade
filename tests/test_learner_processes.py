"""Real `tutor` processes: a quiz killed mid-way keeps its answers; eight quizzes at once lose nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


def tutor_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tutor", *args]


@pytest.fixture
def env(tutor_home):
    environment = {**os.environ, "TUTOR_HOME": str(tutor_home), "TUTOR_EMBEDDER": "hashing", "COLUMNS": "200"}
    built = subprocess.run(tutor_cmd("index"), env=environment, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    return environment


def progress(env) -> dict:
    ran = subprocess.run(tutor_cmd("progress", "--json"), env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_sigkill_mid_quiz_keeps_every_answer_given(env):
    proc = subprocess.Popen(tutor_cmd("quiz", "--n", "5", "--kind", "cloze", "--seed", "3"), env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    graded = 0
    deadline = time.monotonic() + 240
    try:
        proc.stdin.write("first guess\n")
        proc.stdin.flush()
        while graded < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(("correct", "incorrect", "partially")):
                graded += 1
                if graded == 1:
                    proc.stdin.write("second guess\n")
                    proc.stdin.flush()
        assert graded == 2
        proc.send_signal(signal.SIGKILL)  # mid-quiz: three questions never answered
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert progress(env)["attempts"] == 2


def test_eight_quizzes_at_once_lose_nothing(env, tutor_home):
    procs = [
        subprocess.Popen(tutor_cmd("quiz", "--n", "3", "--kind", "mcq", "--seed", str(seed)), env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in range(8)
    ]
    outputs = [proc.communicate("A\nB\nC\n", timeout=600) for proc in procs]
    codes = [proc.returncode for proc in procs]
    assert codes == [0] * 8, [err[-1500:] for (_, err), c in zip(outputs, codes) if c]
    # each process was asked three questions and graded three answers (its output says which one did not)
    graded = [sum(line.startswith(("correct", "incorrect", "partially")) for line in out.splitlines())
              for out, _ in outputs]
    assert graded == [3] * 8, [(seed, out[-2000:], err[-1000:]) for seed, ((out, err), g) in enumerate(zip(outputs, graded)) if g != 3]
    assert progress(env)["attempts"] == 24
    with sqlite3.connect(tutor_home / "learner.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 24
