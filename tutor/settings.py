"""Every setting in one place, read from the environment (and `.env`) when first needed.

TUTOR_HOME        where the index, the learner store and caches live (default: the user data dir)
TUTOR_CHROMA_URL  http://host:port of a Chroma server; unset means an embedded store under TUTOR_HOME
TUTOR_KNOWLEDGE_DIR  the course notes (default: the notes shipped with tutor)
TUTOR_MODEL       a CrewAI/LiteLLM model string, or "offline" (default) for the built-in model
TUTOR_BASE_URL    an OpenAI-compatible server for TUTOR_MODEL
TUTOR_CONFIG_DIR  a directory whose agents.yaml / tasks.yaml are merged over the defaults
TUTOR_DEVICE      auto | cpu | cuda for the demo models
TUTOR_TIMEOUT     seconds per model call
TUTOR_TOOLS       native (default: the model calls tools through the API) or react (it writes
                  "Action: / Action Input:" text, which the crew parses; for models without tool calling)
OLLAMA_HOST       where an ollama/... model is served (Ollama's own variable; default localhost:11434)
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def bundled_path(name: str) -> Path:
    """A file shipped with tutor: inside the wheel (`tutor/_data`) or, in a checkout, at the repo root."""
    inside = PACKAGE_DIR / "_data" / name
    return inside if inside.exists() else REPO_DIR / name


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tutor", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTOR_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    chroma_url: str | None = None
    knowledge_dir: Path = Field(default_factory=lambda: bundled_path("knowledge"))
    model: str = "offline"
    base_url: str | None = None
    config_dir: Path | None = None
    device: str = "auto"
    timeout: float = 60.0  # seconds per model call
    retries: int = 2  # retries per model call on 429 / 5xx / timeouts, with exponential backoff
    collection: str = "notes"
    embedder: str = "minilm"  # "hashing" is the instant, model-free embedder the unit tests use
    tools: Literal["native", "react"] = "native"  # how a configured model calls tools

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def chroma_dir(self) -> Path:
        return self.index_dir / "chroma"


OLLAMA_DEFAULT = "http://localhost:11434"


def model_base_url(model: str, settings: Settings) -> tuple[str | None, str]:
    """(the URL a model is reached at, or None for its provider's default; which setting said so).

    TUTOR_BASE_URL wins. An ollama/... model is reached through the OpenAI-compatible API Ollama serves
    under /v1, where OLLAMA_HOST says, as Ollama's own tools read it ("127.0.0.1:11434", "http://host:port")."""
    if settings.base_url:
        return settings.base_url, "TUTOR_BASE_URL"
    if is_ollama(model):
        host = os.environ.get("OLLAMA_HOST", "").strip() or OLLAMA_DEFAULT
        host = (host if "://" in host else f"http://{host}").rstrip("/")
        return (host if host.endswith("/v1") else f"{host}/v1"), "OLLAMA_HOST" if os.environ.get("OLLAMA_HOST") else "the Ollama default"
    return None, "the provider's default"


def is_ollama(model: str) -> bool:
    return model.split("/", 1)[0] in ("ollama", "ollama_chat")


def probe_model(model: str) -> str:
    """The LiteLLM model string that reaches `model` the way the crew does (tutor doctor's probes): CrewAI
    speaks to Ollama through its OpenAI-compatible API, so the probe does too."""
    return "openai/" + model.split("/", 1)[1] if is_ollama(model) else model


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def quiet_libraries() -> None:
    """Keep CrewAI, LiteLLM, Chroma and Hugging Face offline and silent (call before importing them)."""
    for key, value in {
        "CREWAI_DISABLE_TELEMETRY": "true",
        "OTEL_SDK_DISABLED": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CREWAI_TRACING_ENABLED": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    }.items():
        os.environ.setdefault(key, value)
