"""Softmax with temperature over next-token logits: how T sharpens or flattens what a language model samples.

p_i = exp(z_i / T) / sum_j exp(z_j / T). Low T concentrates the probability on the top token (greedy as
T -> 0); high T spreads it towards uniform. Entropy measures the spread; samples show the effect.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "temperature"
TITLE = "Softmax temperature and sampling"
SECTIONS = [
    {"source": "05-llms-and-agents.md", "section": "2. Key Parameters in LLMs"},
]
KEYWORDS = ["temperature", "softmax", "sampling", "decoding", "next token", "logits", "entropy",
            "language model", "generation", "top-k"]
LIMITS = {"temperatures": (0.01, 100.0), "samples": (1, 200), "seed": (0, 2**31 - 1)}

PROMPT = "the network was trained on the"
TOKENS = ["data", "gpu", "dataset", "images", "weekend", "moon", "banana", "piano"]
LOGITS = [3.2, 2.1, 2.9, 1.8, 0.4, -0.8, -1.5, -2.0]  # what a model might score after PROMPT


@dataclass
class Config:
    temperatures: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)  # each T to compare, all > 0
    samples: int = 24  # tokens drawn at each temperature
    seed: int = 0  # makes the draws repeatable

    def __post_init__(self) -> None:
        if not self.temperatures or min(self.temperatures) <= 0:
            raise ValueError("temperatures must be above 0")  # T = 0 would divide by zero


def softmax_with_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """(..., V) logits -> (..., V) probabilities of softmax(z / T)."""
    return torch.softmax(logits / temperature, dim=-1)


def entropy_bits(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in bits over the last axis; 0 log 0 counts as 0."""
    logs = torch.where(probs > 0, probs.log2(), torch.zeros_like(probs))
    return -(probs * logs).sum(-1)


@torch.no_grad()
def sample(probs: torch.Tensor, n: int, generator: torch.Generator) -> list[int]:
    return torch.multinomial(probs.cpu(), n, replacement=True, generator=generator).tolist()


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    logits = torch.tensor(LOGITS, device=device)  # (V,)
    rows = []
    with seeded(config.seed):
        generator = torch.Generator().manual_seed(config.seed)
        for i, t in enumerate(config.temperatures):
            probs = softmax_with_temperature(logits, t)  # (V,)
            drawn = sample(probs, config.samples, generator)
            rows.append({
                "temperature": t,
                "probabilities": dict(zip(TOKENS, probs.tolist())),
                "top_token_probability": probs.max().item(),
                "entropy_bits": entropy_bits(probs).item(),
                "distinct_tokens_sampled": len(set(drawn)),
                "samples": " ".join(TOKENS[j] for j in drawn),
            })
            tick(progress, "sampling", i + 1, len(config.temperatures))
    metrics = {
        "prompt": PROMPT,
        "tokens": TOKENS,
        "logits": LOGITS,
        "max_entropy_bits": math.log2(len(TOKENS)),
        "by_temperature": rows,
    }
    figure = draw(metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    rows = sorted(m["by_temperature"], key=lambda r: r["temperature"])
    cold, hot = rows[0], rows[-1]
    top = m["tokens"][max(range(len(m["logits"])), key=lambda i: m["logits"][i])]
    return (
        f"After \"{m['prompt']}\", at T={cold['temperature']} the top token '{top}' gets probability "
        f"{cold['top_token_probability']:.2f} and the entropy is {cold['entropy_bits']:.2f} bits; "
        f"at T={hot['temperature']} it gets {hot['top_token_probability']:.2f} and the entropy rises to "
        f"{hot['entropy_bits']:.2f} of at most {m['max_entropy_bits']:.2f} bits. "
        f"So {len(cold['samples'].split())} samples hold {cold['distinct_tokens_sampled']} distinct tokens when cold and "
        f"{hot['distinct_tokens_sampled']} when hot: low T is safe and repetitive, high T varied and more often wrong."
    )


def draw(m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 2, (12, 4))
    ax = axes[0, 0]
    rows = m["by_temperature"]
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        xs = [j + i * width for j in range(len(m["tokens"]))]
        ax.bar(xs, list(row["probabilities"].values()), width=width, label=f"T={row['temperature']}")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(m["tokens"]))])
    ax.set_xticklabels(m["tokens"], rotation=30)
    ax.set_ylabel("probability")
    ax.set_title(f"next token after \"{m['prompt']}\"")
    ax.legend()
    ax = axes[0, 1]
    ax.plot([r["temperature"] for r in rows], [r["entropy_bits"] for r in rows], "o-")
    ax.axhline(m["max_entropy_bits"], ls="--", color="gray", label="uniform")
    ax.set_xscale("log")
    ax.set_xticks([r["temperature"] for r in rows], [str(r["temperature"]) for r in rows])
    ax.minorticks_off()
    ax.set_xlabel("temperature T")
    ax.set_ylabel("entropy (bits)")
    ax.legend()
    ax.set_title("entropy rises with T")
    return save_figure(fig, out_dir, NAME)
