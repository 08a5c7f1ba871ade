"""Too small, good and too large learning rates: loss curves of gradient descent on a linear model.

For a linear model with squared error the loss is a quadratic bowl, and gradient descent is stable
exactly when the learning rate is below 2 / lambda_max, lambda_max being the largest eigenvalue of
the loss's Hessian. The demo computes that limit and shows each learning rate against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "learning_rate"
TITLE = "Learning rate: too small, good, too large"
SECTIONS = [
    {"source": "02-training-neural-networks.md", "section": "2. How Neural Networks Learn from Labeled Data"},
    {"source": "02-training-neural-networks.md", "section": "3. Dealing with Local Minima in Loss Optimization"},
]
KEYWORDS = ["learning rate", "step size", "divergence", "diverge", "convergence", "loss curve",
            "gradient descent", "learning rate scheduling"]
LIMITS = {"learning_rates": (1e-5, 10.0), "steps": (1, 2000), "samples": (8, 10000), "correlation": (0.0, 0.99),
          "seed": (0, 2**31 - 1)}

DIVERGED = 1e6  # a loss above this means the run blew up; it stops there


@dataclass
class Config:
    learning_rates: tuple[float, ...] = (0.02, 0.3, 0.75)  # too small, good, too large for this data
    steps: int = 60  # full-batch gradient descent steps per learning rate
    samples: int = 256  # training examples
    correlation: float = 0.8  # between the two input features; higher makes the bowl narrower
    seed: int = 0  # makes the data and initial weights repeatable


def make_data(config: Config, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (N, 2) with correlated features and targets (N, 1) = x . [2, -1] + 0.5 + noise."""
    z = torch.randn(config.samples, 2, generator=generator)
    c = config.correlation
    x = torch.stack([z[:, 0], c * z[:, 0] + (1 - c**2) ** 0.5 * z[:, 1]], dim=1)  # (N, 2)
    y = x @ torch.tensor([[2.0], [-1.0]]) + 0.5 + 0.3 * torch.randn(config.samples, 1, generator=generator)
    return x, y


def stability_limit(x: torch.Tensor) -> tuple[float, float]:
    """(lambda_max of the MSE loss's Hessian, the largest stable learning rate 2 / lambda_max).

    For loss = mean((x w + b - y)^2) the Hessian is 2/N A^T A with A = [x, 1]."""
    a = torch.cat([x, torch.ones(x.shape[0], 1)], dim=1).double()  # (N, 3)
    hessian = 2 / x.shape[0] * a.T @ a  # (3, 3)
    lam = torch.linalg.eigvalsh(hessian).max().item()
    return lam, 2 / lam


def best_loss(x: torch.Tensor, y: torch.Tensor) -> float:
    """The least-squares optimum, solved in closed form: the floor every run is measured against."""
    a = torch.cat([x, torch.ones(x.shape[0], 1)], dim=1).double()
    w = torch.linalg.lstsq(a, y.double()).solution
    return ((a @ w - y.double()) ** 2).mean().item()


def descend(lr: float, x: torch.Tensor, y: torch.Tensor, steps: int) -> list[float]:
    model = nn.Linear(2, 1).to(x.device)
    with torch.no_grad():  # the same start for every learning rate
        model.weight.zero_()
        model.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        losses.append(loss.item())
        if not loss.isfinite() or loss.item() > DIVERGED:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return losses


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    with seeded(config.seed):
        x, y = make_data(config, torch.Generator().manual_seed(config.seed))
        lam, limit = stability_limit(x)
        floor = best_loss(x, y)
        rows, curves = [], {}
        for i, lr in enumerate(config.learning_rates):
            losses = descend(lr, x.to(device), y.to(device), config.steps)
            near = [s for s, value in enumerate(losses) if value <= 1.05 * floor]
            diverged = len(losses) < config.steps or losses[-1] > losses[0]
            verdict = "diverges" if diverged else ("converges" if near else "slow")
            rows.append({"learning_rate": lr, "times_limit": lr / limit, "final_loss": losses[-1],
                         "steps_to_within_5pct": near[0] if near else None, "verdict": verdict})
            curves[lr] = losses
            tick(progress, f"learning rate {lr}", i + 1, len(config.learning_rates))
    metrics = {
        "hessian_max_eigenvalue": lam,
        "stable_below": limit,
        "best_possible_loss": floor,
        "initial_loss": next(iter(curves.values()))[0],
        "by_learning_rate": rows,
    }
    figure = draw(curves, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics, config), figure=figure, sections=SECTIONS)


def summarize(m: dict, config: Config) -> str:
    def say(r: dict) -> str:
        if r["verdict"] == "diverges":
            return f"lr {r['learning_rate']} ({r['times_limit']:.2f}x the limit) diverges"
        if r["verdict"] == "slow":
            return f"lr {r['learning_rate']} is still at loss {r['final_loss']:.3g} after {config.steps} steps"
        return f"lr {r['learning_rate']} gets within 5% of the best loss in {r['steps_to_within_5pct']} steps"

    return (
        f"Gradient descent on this linear model is stable only below lr = 2/lambda_max = {m['stable_below']:.3f} "
        f"(lambda_max = {m['hessian_max_eigenvalue']:.2f}); the best possible loss is {m['best_possible_loss']:.3f}. "
        + "; ".join(say(r) for r in m["by_learning_rate"]) + ". "
        "Too small wastes steps, too large overshoots the bottom of the bowl further on every step."
    )


def draw(curves: dict[float, list[float]], m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 1, (7, 4.2))
    ax = axes[0, 0]
    for row in m["by_learning_rate"]:
        lr = row["learning_rate"]
        ax.plot(curves[lr], label=f"lr {lr} ({row['verdict']})")
    ax.axhline(m["best_possible_loss"], ls="--", color="gray", label="best possible")
    ax.set_yscale("log")
    ax.set_ylim(m["best_possible_loss"] / 2, max(10 * m["initial_loss"], 1))
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (log)")
    ax.set_title(f"stable below lr = {m['stable_below']:.3f}")
    ax.legend()
    return save_figure(fig, out_dir, NAME)
