"""Self-attention on a toy sequence: scaled dot-product, multi-head attention and sinusoidal positions.

A one-layer multi-head self-attention model learns to reverse a sequence of tokens. Reversing needs
to know *where* a token is, which only the positional encoding tells it; the learned attention map
becomes the anti-diagonal: output position t attends to input position T-1-t.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "attention"
TITLE = "Self-attention and positional encoding"
SECTIONS = [
    {"source": "07-transformers.md", "section": "3. Transformer Architecture"},
    {"source": "07-transformers.md", "section": "1. Seq2Seq Modeling in NLP: RNN vs. Transformer"},
]
KEYWORDS = ["attention", "self-attention", "transformer", "multi-head", "positional encoding",
            "query", "key", "value", "scaled dot-product", "attention heatmap"]
LIMITS = {"seq_len": (2, 32), "vocab": (2, 64), "d_model": (4, 128), "n_heads": (1, 8), "steps": (0, 1000),
          "batch": (1, 256), "lr": (1e-5, 0.1), "seed": (0, 2**31 - 1)}


@dataclass
class Config:
    seq_len: int = 8  # tokens per toy sequence (T)
    vocab: int = 10  # distinct token ids
    d_model: int = 32  # embedding width (C); split across the heads
    n_heads: int = 2  # attention heads; d_model must be a multiple of it
    steps: int = 250  # Adam steps on the reversal task
    batch: int = 64  # sequences per step
    lr: float = 0.01  # Adam learning rate
    seed: int = 0  # makes data and initial weights repeatable

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.d_model % 2:
            raise ValueError(f"d_model {self.d_model} must be even for sin/cos positional encoding")


def sinusoidal_positions(seq_len: int, d_model: int) -> torch.Tensor:
    """(T, C): PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(pos / 10000^(2i/C))."""
    pos = torch.arange(seq_len, dtype=torch.float32)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (C/2,)
    angle = pos / 10000 ** (two_i / d_model)  # (T, C/2)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d)) v for (..., T, d) inputs; returns the output (..., T, d) and weights (..., T, T)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T, T)
    weights = torch.softmax(scores, dim=-1)  # each row sums to 1
    return weights @ v, weights


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))  # (B, h, T, d)
        out, weights = scaled_dot_product_attention(q, k, v)  # (B, h, T, d), (B, h, T, T)
        out = out.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side
        return self.proj(out), weights


class Reverser(nn.Module):
    """Token embedding + sinusoidal positions -> one self-attention layer -> next-token logits."""

    def __init__(self, config: Config):
        super().__init__()
        self.embed = nn.Embedding(config.vocab, config.d_model)
        self.register_buffer("pe", sinusoidal_positions(config.seq_len, config.d_model))  # (T, C)
        self.attn = MultiHeadSelfAttention(config.d_model, config.n_heads)
        self.head = nn.Linear(config.d_model, config.vocab)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(tokens) + self.pe  # (B, T, C)
        # No residual path: whatever reaches the output must come through attention, so the map tells all.
        y, weights = self.attn(x)  # (B, T, C), (B, h, T, T)
        return self.head(y), weights  # (B, T, V) logits


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    T = config.seq_len
    with seeded(config.seed):
        generator = torch.Generator().manual_seed(config.seed)
        model = Reverser(config).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        losses = []
        for step in range(config.steps):
            tokens = torch.randint(config.vocab, (config.batch, T), generator=generator).to(device)  # (B, T)
            logits, _ = model(tokens)
            loss = F.cross_entropy(logits.reshape(-1, config.vocab), tokens.flip(1).reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step % 25 == 0 or step == config.steps - 1:
                tick(progress, "training", step + 1, config.steps)
        metrics = evaluate(model, config, generator, device)
    metrics["loss_first"] = losses[0] if losses else None
    metrics["loss_last"] = losses[-1] if losses else None
    figure = draw(model, metrics, config, losses, out_dir) if out_dir is not None else None
    metrics.pop("_mean_weights")
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics, config), figure=figure, sections=SECTIONS)


@torch.no_grad()
def evaluate(model: Reverser, config: Config, generator: torch.Generator, device: str) -> dict:
    T = config.seq_len
    tokens = torch.randint(config.vocab, (512, T), generator=generator).to(device)  # (B, T)
    logits, weights = model(tokens)  # (B, T, V), (B, h, T, T)
    accuracy = (logits.argmax(-1) == tokens.flip(1)).float().mean().item()
    mean_weights = weights.mean(0)  # (h, T, T)
    mirror = torch.arange(T - 1, -1, -1, device=device)  # for each query t, the key T-1-t
    on_mirror = mean_weights[:, torch.arange(T, device=device), mirror].mean(-1)  # (h,)
    pe = sinusoidal_positions(T, config.d_model)  # (T, C)
    dots = pe @ pe.T  # (T, T): depends only on |i - j|
    distance = (torch.arange(T)[None, :] - torch.arange(T)[:, None]).abs()  # (T, T): |i - j|
    by_distance = dots[0][distance]  # (T, T): PE_0 . PE_|i-j|
    return {
        "accuracy": accuracy,
        "chance_accuracy": 1 / config.vocab,
        "attention_on_mirror_position": on_mirror.tolist(),  # per head: weight on key T-1-t, averaged
        "max_row_sum_error": (weights.sum(-1) - 1).abs().max().item(),
        "positional_dot_by_distance": dots[0].tolist(),  # PE_0 . PE_k for k = 0..T-1
        "positional_dot_depends_only_on_distance": (dots - by_distance).abs().max().item() < 1e-4,
        "_mean_weights": mean_weights.cpu(),  # for the figure only
    }


def summarize(m: dict, config: Config) -> str:
    best = max(m["attention_on_mirror_position"])
    learned = m["accuracy"] > 0.9
    return (
        f"After {config.steps} steps the {config.n_heads}-head self-attention layer reverses {config.seq_len}-token "
        f"sequences with accuracy {m['accuracy']:.2f} (chance {m['chance_accuracy']:.2f}); "
        f"its best head puts {best:.2f} of each row's attention on the mirrored position T-1-t"
        + (", the anti-diagonal in the heatmap. " if learned else ", so it has not learned the pattern yet. ")
        + f"Every attention row sums to 1 (largest error {m['max_row_sum_error']:.1e}), and the sinusoidal encodings' "
        f"dot product falls from {m['positional_dot_by_distance'][0]:.1f} at distance 0 to "
        f"{m['positional_dot_by_distance'][-1]:.1f} at distance {config.seq_len - 1}, depending only on the distance."
    )


def draw(model: Reverser, m: dict, config: Config, losses: list[float], out_dir: Path) -> str | None:
    heads = m["_mean_weights"]
    fig, axes = new_figure(1, heads.shape[0] + 2, (3.6 * (heads.shape[0] + 2), 3.6))
    for h in range(heads.shape[0]):
        ax = axes[0, h]
        ax.imshow(heads[h], cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"head {h + 1}: attention")
        ax.set_xlabel("key position")
        ax.set_ylabel("query position")
    ax = axes[0, heads.shape[0]]
    ax.imshow(model.pe.cpu(), cmap="RdBu_r", aspect="auto")
    ax.set_title("sinusoidal positions")
    ax.set_xlabel("dimension")
    ax.set_ylabel("position")
    ax = axes[0, heads.shape[0] + 1]
    ax.plot(losses)
    ax.set_title(f"training loss (accuracy {m['accuracy']:.2f})")
    ax.set_xlabel("step")
    return save_figure(fig, out_dir, NAME)
