"""The model zoo as a table: each habit of real models (tests/support/model_zoo.py) through `tutor study`,
`tutor quiz`, `tutor grade` and a YAML-only `tutor run`, with what the learner got and the seconds it took.

    python -m benchmarks.model_zoo [--out benchmarks/out/model_zoo.json]

"used": the model's output is what the learner sees; "re-asked": used after the reply was sent back once;
"fell back": the offline model answered, with the one-line notice; "failed": an error line and exit code.
Each cell is a fresh TUTOR_HOME, the in-process CLI (as the tests run it) and a real HTTP server on
127.0.0.1 (the hashing embedder: this measures how replies are read, not retrieval). Seconds include
indexing the notes in the fresh home (about 2 s on 2 cores); compare cells with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "benchmarks" / "out" / "model_zoo.json"


def cli_runner():
    from typer.testing import CliRunner

    from tutor.cli import app
    from tutor.cli.render import reset_consoles
    from tutor.settings import get_settings

    class Ran:
        def __init__(self, result) -> None:
            self.exit_code, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr

    def run(*args: str, env: dict[str, str] | None = None) -> Ran:
        get_settings.cache_clear()
        reset_consoles()
        return Ran(CliRunner().invoke(app, list(args), env=env, catch_exceptions=False))

    return run


def main(argv: list[str] | None = None) -> int:
    from tests.support.model_zoo import BEHAVIOURS, COMMANDS, MUST_USE, run_zoo, write_glossary_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for key, value in {"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true",
                       "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TUTOR_EMBEDDER": "hashing", "COLUMNS": "120"}.items():
        os.environ[key] = value
    for key in ("TUTOR_MODEL", "TUTOR_BASE_URL", "TUTOR_TOOLS", "OPENAI_API_KEY", "OLLAMA_HOST"):
        os.environ.pop(key, None)
    tutor = cli_runner()
    cells = []
    with tempfile.TemporaryDirectory(prefix="tutor-zoo-") as root:
        config = write_glossary_config(Path(root) / "config")
        for behaviour in BEHAVIOURS:
            for command in COMMANDS:
                os.environ["TUTOR_HOME"] = str(Path(root) / f"{behaviour}-{command}")
                cell = run_zoo(tutor, behaviour, command, config)
                cells.append({"behaviour": behaviour, "command": command, "outcome": cell.outcome,
                              "seconds": round(cell.seconds, 2), "requests": cell.requests, "exit_code": cell.exit_code})
                print(f"{behaviour:18} {command:6} {cell.outcome:10} {cell.seconds:5.1f} s  {cell.requests} requests",
                      file=sys.stderr, flush=True)
    must = all(c["outcome"] == "used" for c in cells if c["behaviour"] in MUST_USE)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cells": cells, "must_use_all_used": must}, indent=1) + "\n", encoding="utf-8")
    by = {(c["behaviour"], c["command"]): c for c in cells}
    print("| behaviour | " + " | ".join(f"`tutor {c}`" for c in COMMANDS) + " |")
    print("|---|" + "---|" * len(COMMANDS))
    for behaviour in BEHAVIOURS:
        row = [f"{by[behaviour, c]['outcome']} ({by[behaviour, c]['seconds']:.1f} s, {by[behaviour, c]['requests']} req)"
               for c in COMMANDS]
        print(f"| {behaviour} | " + " | ".join(row) + " |")
    print(f"\n{', '.join(MUST_USE)} used on all four commands: {'yes' if must else 'NO'}")
    return 0 if must else 1


if __name__ == "__main__":
    sys.exit(main())
