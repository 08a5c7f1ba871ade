"""Overfitting and three cures: an MLP far larger than its 16 noisy points, with no regularization,
dropout, an L2 penalty or early stopping; training and validation loss curves for each.
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

NAME = "regularization"
TITLE = "Regularization: dropout, L2 and early stopping against overfitting"
SECTIONS = [
    {"source": "02-training-neural-networks.md", "section": "5. Regularization Techniques to Prevent Overfitting"},
]
KEYWORDS = ["regularization", "regularisation", "overfitting", "dropout", "l2", "weight decay", "early stopping",
            "validation loss", "generalization", "underfitting"]
LIMITS = {"train_points": (4, 256), "hidden": (8, 256), "steps": (10, 3000), "lr": (1e-5, 0.1),
          "dropout": (0.0, 0.9), "l2": (0.0, 1.0), "patience": (1, 5000), "noise": (0.0, 2.0), "seed": (0, 2**31 - 1)}

EVAL_EVERY = 20  # steps between two validation measurements


@dataclass
class Config:
    train_points: int = 16  # noisy training examples: few, so a big net can memorise them
    hidden: int = 64  # units in each of the two hidden layers
    steps: int = 600  # full-batch Adam steps per run
    lr: float = 0.01  # Adam learning rate
    dropout: float = 0.1  # probability of zeroing a hidden unit, in the "dropout" run
    l2: float = 0.003  # weight of the penalty l2 * sum(w^2), in the "L2" run
    patience: int = 60  # early stopping waits this many steps for a better validation loss
    noise: float = 0.3  # standard deviation of the label noise
    seed: int = 0  # makes data and weights repeatable


class MLP(nn.Module):
    """x -> [Linear -> tanh -> Dropout] x 2 -> Linear: 1 -> hidden -> hidden -> 1."""

    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1, hidden), nn.Tanh(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.Tanh(), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, 1) -> (N, 1)


def truth(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(math.pi * x)


def make_data(config: Config, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Training (n, 1) and validation (200, 1) sets drawn from sin(pi x) + noise on [-1, 1]."""
    def draw_set(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = 2 * torch.rand(n, 1, generator=generator) - 1
        return x, truth(x) + config.noise * torch.randn(n, 1, generator=generator)

    return (*draw_set(config.train_points), *draw_set(200))


@torch.no_grad()
def validation_loss(model: MLP, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()  # dropout off
    loss = F.mse_loss(model(x), y).item()
    model.train()
    return loss


def train(config: Config, data: tuple[torch.Tensor, ...], dropout: float, l2: float) -> tuple[MLP, dict]:
    x, y, vx, vy = data
    model = MLP(config.hidden, dropout).to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    curve: dict[str, list] = {"step": [], "train": [], "val": []}
    for step in range(config.steps + 1):
        if step % EVAL_EVERY == 0:
            curve["step"].append(step)
            curve["train"].append(validation_loss(model, x, y))  # training loss, measured without dropout
            curve["val"].append(validation_loss(model, vx, vy))
        if step == config.steps:
            break
        loss = F.mse_loss(model(x), y)
        if l2:
            loss = loss + l2 * sum((w**2).sum() for w in weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model, curve


def early_stop(curve: dict[str, list], patience: int) -> int:
    """Index into the curve of the checkpoint early stopping keeps: the best validation loss seen before
    `patience` steps pass without improvement."""
    best = 0
    for i, (step, val) in enumerate(zip(curve["step"], curve["val"])):
        if val < curve["val"][best]:
            best = i
        elif step - curve["step"][best] >= patience:
            break
    return best


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    runs = {"none": (0.0, 0.0), "dropout": (config.dropout, 0.0), "L2": (0.0, config.l2)}
    curves, models = {}, {}
    with seeded(config.seed):
        data = tuple(t.to(device) for t in make_data(config, torch.Generator().manual_seed(config.seed)))
        for i, (label, (dropout, l2)) in enumerate(runs.items()):
            models[label], curves[label] = train(config, data, dropout, l2)
            tick(progress, f"training ({label})", i + 1, len(runs))
    rows = [{"method": label, "train_loss": c["train"][-1], "val_loss": c["val"][-1], "stopped_at_step": config.steps}
            for label, c in curves.items()]
    stop = early_stop(curves["none"], config.patience)
    plain_curve = curves["none"]
    rows.append({"method": "early stopping", "train_loss": plain_curve["train"][stop], "val_loss": plain_curve["val"][stop],
                 "stopped_at_step": plain_curve["step"][stop]})
    metrics = {
        "train_points": config.train_points,
        "noise_variance": config.noise**2,  # the validation loss a perfect model would still have
        "by_method": rows,
        "best_method": min(rows, key=lambda r: r["val_loss"])["method"],
        "overfitting_gap": rows[0]["val_loss"] - rows[0]["train_loss"],
    }
    figure = draw(curves, models, data, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    by = {r["method"]: r for r in m["by_method"]}
    none = by["none"]
    others = "; ".join(f"{k} {v['val_loss']:.3f}" for k, v in by.items() if k != "none")
    return (
        f"With no regularization the net drives the training loss on {m['train_points']} points to "
        f"{none['train_loss']:.3f} while the validation loss ends at {none['val_loss']:.3f}: it memorised the noise "
        f"(a perfect model would score about {m['noise_variance']:.3f}). "
        f"Validation loss with each cure: {others} (early stopping kept step {by['early stopping']['stopped_at_step']}). "
        f"The best here is {m['best_method']}."
    )


def draw(curves, models, data, m: dict, out_dir: Path) -> str | None:
    x, y, _, _ = (t.cpu() for t in data)
    fig, axes = new_figure(1, 2, (12, 4.2))
    ax = axes[0, 0]
    for i, (label, c) in enumerate(curves.items()):
        color = f"C{i}"
        ax.plot(c["step"], c["train"], "--", color=color, label=f"{label} train")
        ax.plot(c["step"], c["val"], "-", color=color, label=f"{label} val")
    stop = next(r for r in m["by_method"] if r["method"] == "early stopping")
    ax.axvline(stop["stopped_at_step"], color="gray", ls=":", label="early stop")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE (log)")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("training (dashed) vs validation (solid)")
    ax = axes[0, 1]
    grid = torch.linspace(-1, 1, 300)[:, None]
    ax.plot(grid, truth(grid), "k", lw=3, alpha=0.3, label="truth")
    ax.plot(x, y, "ko", ms=4, label="training points")
    with torch.no_grad():
        for i, (label, model) in enumerate(models.items()):
            model.eval()
            device = next(model.parameters()).device
            ax.plot(grid, model(grid.to(device)).cpu(), color=f"C{i}", label=label)
    ax.set_ylim(-2, 2)
    ax.legend(fontsize=7)
    ax.set_title("fitted functions")
    return save_figure(fig, out_dir, NAME)
