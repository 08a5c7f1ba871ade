"""An MLP with one hidden layer fits a 1-D function; the error falls as the hidden layer widens.

This is the universal approximation theorem at work: a wide enough layer of non-linear units can
get as close as we like to any continuous function on an interval.
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

NAME = "mlp_approximator"
TITLE = "An MLP as a universal approximator"
SECTIONS = [
    {"source": "02-training-neural-networks.md", "section": "1. Multilayer Perceptron as a Universal Approximator"},
    {"source": "02-training-neural-networks.md", "section": "2. How Neural Networks Learn from Labeled Data"},
]
KEYWORDS = ["mlp", "multilayer perceptron", "universal approximation", "universal approximator", "hidden layer",
            "hidden units", "activation function", "perceptron", "neural network", "width"]
LIMITS = {"target": ["wave", "step", "bump"], "widths": (1, 256), "steps": (1, 5000), "lr": (1e-5, 1.0),
          "points": (8, 2000), "seed": (0, 2**31 - 1)}

TARGETS = {
    "wave": lambda x: torch.sin(2 * x) + 0.3 * x,
    "step": lambda x: (x > 0).float(),
    "bump": lambda x: torch.exp(-2 * x**2),
}
X_RANGE = 3.0  # inputs lie in [-X_RANGE, X_RANGE]


@dataclass
class Config:
    target: str = "wave"  # the function to fit: wave (sin 2x + 0.3x), step or bump
    widths: tuple[int, ...] = (1, 3, 10, 50)  # hidden units of each MLP to compare
    steps: int = 1000  # full-batch Adam steps per MLP
    lr: float = 0.02  # Adam learning rate
    points: int = 128  # training inputs, evenly spaced
    seed: int = 0  # makes the initial weights repeatable


class MLP(nn.Module):
    """x -> Linear(1, width) -> tanh -> Linear(width, 1)."""

    def __init__(self, width: int):
        super().__init__()
        self.hidden = nn.Linear(1, width)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(x)))  # (N, 1) -> (N, width) -> (N, 1)


def fit(width: int, x: torch.Tensor, y: torch.Tensor, config: Config) -> MLP:
    model = MLP(width).to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(config.steps):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


@torch.no_grad()
def errors(model: MLP, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean squared error, largest absolute error) on a grid."""
    diff = model(x) - y  # (N, 1)
    return (diff**2).mean().item(), diff.abs().max().item()


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    f = TARGETS[config.target]
    x = torch.linspace(-X_RANGE, X_RANGE, config.points, device=device)[:, None]  # (N, 1)
    y = f(x)  # (N, 1)
    grid = torch.linspace(-X_RANGE, X_RANGE, 1000, device=device)[:, None]  # (G, 1) dense, between the points
    truth = f(grid)
    rows, curves = [], {}
    with seeded(config.seed):
        for i, width in enumerate(config.widths):
            model = fit(width, x, y, config)
            mse, worst = errors(model, grid, truth)
            rows.append({"width": width, "parameters": sum(p.numel() for p in model.parameters()),
                         "mse": mse, "max_error": worst})
            with torch.no_grad():
                curves[width] = model(grid).squeeze(1).cpu()
            tick(progress, f"fitting width {width}", i + 1, len(config.widths))
    best = min(rows, key=lambda r: r["mse"])
    metrics = {
        "target": config.target,
        "by_width": rows,
        "best_width": best["width"],
        "best_mse": best["mse"],
        "target_variance": truth.var().item(),  # the MSE of always predicting the mean
    }
    figure = draw(grid.squeeze(1).cpu(), truth.squeeze(1).cpu(), x.cpu(), y.cpu(), curves, metrics, out_dir) \
        if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    rows = sorted(m["by_width"], key=lambda r: r["width"])
    narrow, wide = rows[0], rows[-1]
    ratio = narrow["mse"] / wide["mse"] if wide["mse"] > 0 else math.inf
    trend = (f"{ratio:.0f} times smaller" if ratio >= 2 else
             "no better: train longer or raise the learning rate to see the width pay off")
    return (
        f"Fitting the '{m['target']}' function, an MLP with {narrow['width']} hidden unit(s) reaches a mean squared "
        f"error of {narrow['mse']:.3g} (worst point off by {narrow['max_error']:.2f}), while {wide['width']} units "
        f"reach {wide['mse']:.3g} (worst {wide['max_error']:.2f}), {trend}. "
        f"Predicting the mean would score {m['target_variance']:.3g}: each extra tanh unit adds one more bend, "
        f"so a wide enough hidden layer can follow any continuous curve."
        + (" The step is not continuous: next to the jump the error stays near 0.5 however wide the layer."
           if m["target"] == "step" else "")
    )


def draw(grid, truth, x, y, curves, m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 2, (12, 4))
    ax = axes[0, 0]
    ax.plot(grid, truth, "k", lw=3, alpha=0.3, label="target")
    ax.plot(x, y, "k.", ms=3)
    for width, curve in curves.items():
        ax.plot(grid, curve, label=f"{width} hidden")
    ax.legend()
    ax.set_title(f"fits of '{m['target']}'")
    ax = axes[0, 1]
    rows = m["by_width"]
    ax.loglog([r["width"] for r in rows], [r["mse"] for r in rows], "o-", label="mean squared error")
    ax.loglog([r["width"] for r in rows], [r["max_error"] for r in rows], "s--", label="max error")
    ax.set_xlabel("hidden units")
    ax.set_title("error vs hidden width")
    ax.legend()
    return save_figure(fig, out_dir, NAME)
