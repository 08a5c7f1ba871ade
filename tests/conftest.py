"""Every test gets its own TUTOR_HOME, the instant hashing embedder and no configured model."""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from tutor.cli import app  # noqa: E402
from tutor.cli.render import reset_consoles  # noqa: E402
from tutor.settings import get_settings  # noqa: E402

_MODEL_ENV = ("TUTOR_MODEL", "TUTOR_BASE_URL", "TUTOR_CHROMA_URL", "TUTOR_CONFIG_DIR", "TUTOR_KNOWLEDGE_DIR",
              "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SERPER_API_KEY", "OLLAMA_HOST", "TUTOR_TOOLS")


@pytest.fixture(autouse=True)
def tutor_home(tmp_path, monkeypatch):
    home = tmp_path / "tutor-home"
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.setenv("TUTOR_EMBEDDER", "hashing")
    monkeypatch.setenv("COLUMNS", "120")
    for name in _MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    get_settings.cache_clear()
    reset_consoles()
    yield home
    get_settings.cache_clear()
    reset_consoles()


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def tutor():
    """Run the CLI in-process: `tutor("search", "x", "--json")` -> Ran(exit_code, stdout, stderr)."""

    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Ran:
        get_settings.cache_clear()
        reset_consoles()
        result = CliRunner().invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run
