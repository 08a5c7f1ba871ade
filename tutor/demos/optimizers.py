"""SGD, momentum, RMSprop and Adam on a 2-D loss surface with a local and a global minimum.

The surface is a tilted double well, f(x, y) = (x^2 - 1)^2 + 0.3 x + 0.5 y^2: a shallow local minimum
near x = +0.96 and the global one near x = -1.04, with a ridge between them. Each optimizer starts
from the same point on the local side; whether it crosses the ridge depends on how it uses gradients.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "optimizers"
TITLE = "Optimizers on a loss surface with a local minimum"
SECTIONS = [
    {"source": "02-training-neural-networks.md", "section": "3. Dealing with Local Minima in Loss Optimization"},
    {"source": "02-training-neural-networks.md", "section": "2. How Neural Networks Learn from Labeled Data"},
]
KEYWORDS = ["optimizer", "optimizers", "sgd", "momentum", "rmsprop", "adam", "local minimum", "local minima",
            "gradient descent", "loss surface", "loss landscape"]
LIMITS = {"start_x": (-2.5, 2.5), "start_y": (-2.5, 2.5), "steps": (1, 2000), "lr": (1e-4, 0.5),
          "momentum": (0.0, 0.99), "adaptive_lr": (1e-4, 1.0), "gradient_noise": (0.0, 10.0), "seed": (0, 2**31 - 1)}


@dataclass
class Config:
    start_x: float = 2.0  # starting point, on the local minimum's side of the ridge
    start_y: float = 1.5
    steps: int = 150  # optimizer steps for each method
    lr: float = 0.01  # learning rate of SGD and momentum
    momentum: float = 0.9  # momentum coefficient (the "momentum" run)
    adaptive_lr: float = 0.1  # learning rate of RMSprop and Adam, which scale their steps per parameter
    gradient_noise: float = 0.0  # std of noise added to every gradient, as minibatches would add
    seed: int = 0  # makes the gradient noise repeatable


def loss_surface(p: torch.Tensor) -> torch.Tensor:
    """f(x, y) = (x^2 - 1)^2 + 0.3 x + 0.5 y^2 for p (..., 2) -> (...)."""
    x, y = p[..., 0], p[..., 1]
    return (x**2 - 1) ** 2 + 0.3 * x + 0.5 * y**2


def minima(resolution: int = 4001) -> tuple[float, float, float]:
    """(x of the global minimum, x of the local minimum, x of the ridge), found on a fine grid at y = 0."""
    x = torch.linspace(-2.5, 2.5, resolution, dtype=torch.float64)
    f = loss_surface(torch.stack([x, torch.zeros_like(x)], -1))
    left, right = x < 0, x > 0
    x_global = x[left][f[left].argmin()].item()
    x_local = x[right][f[right].argmin()].item()
    between = (x > x_global) & (x < x_local)
    return x_global, x_local, x[between][f[between].argmax()].item()


def make_optimizer(kind: str, params: list[torch.Tensor], config: Config) -> torch.optim.Optimizer:
    if kind == "SGD":
        return torch.optim.SGD(params, lr=config.lr)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)
    if kind == "RMSprop":
        return torch.optim.RMSprop(params, lr=config.adaptive_lr)
    return torch.optim.Adam(params, lr=config.adaptive_lr)


def descend(kind: str, config: Config, generator: torch.Generator, device: str) -> torch.Tensor:
    """The path (steps + 1, 2) one optimizer takes from the start point."""
    p = torch.tensor([config.start_x, config.start_y], device=device, requires_grad=True)  # (2,)
    optimizer = make_optimizer(kind, [p], config)
    path = [p.detach().clone()]
    for _ in range(config.steps):
        optimizer.zero_grad(set_to_none=True)
        loss_surface(p).backward()
        if config.gradient_noise:
            p.grad += config.gradient_noise * torch.randn(2, generator=generator).to(device)
        optimizer.step()
        path.append(p.detach().clone())
    return torch.stack(path)  # (steps + 1, 2)


KINDS = ["SGD", "momentum", "RMSprop", "Adam"]


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    x_global, x_local, x_ridge = minima()
    paths, rows = {}, []
    with seeded(config.seed):
        for i, kind in enumerate(KINDS):
            generator = torch.Generator().manual_seed(config.seed)  # the same noise for every optimizer
            path = descend(kind, config, generator, device).cpu()
            losses = loss_surface(path)  # (steps + 1,)
            end = path[-1]
            basin = "global" if end[0] < x_ridge else "local"
            settled = (losses - losses[-1]).abs() > 0.01
            rows.append({
                "optimizer": kind,
                "final_point": [end[0].item(), end[1].item()],
                "final_loss": losses[-1].item(),
                "basin": basin,
                "path_length": (path[1:] - path[:-1]).norm(dim=1).sum().item(),
                "steps_to_settle": int(settled.nonzero().max().item()) + 1 if settled.any() else 0,
            })
            paths[kind] = path
            tick(progress, f"descending with {kind}", i + 1, len(KINDS))
    f = lambda x: loss_surface(torch.tensor([x, 0.0])).item()  # noqa: E731
    metrics = {
        "start": [config.start_x, config.start_y],
        "global_minimum": {"x": x_global, "loss": f(x_global)},
        "local_minimum": {"x": x_local, "loss": f(x_local)},
        "ridge_x": x_ridge,
        "by_optimizer": rows,
        "reached_global": [r["optimizer"] for r in rows if r["basin"] == "global"],
    }
    figure = draw(paths, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics, config), figure=figure, sections=SECTIONS)


def summarize(m: dict, config: Config) -> str:
    rows = m["by_optimizer"]
    winners, stuck = m["reached_global"], [r["optimizer"] for r in rows if r["basin"] == "local"]
    best = min(rows, key=lambda r: r["final_loss"])
    parts = [
        f"Starting at ({config.start_x}, {config.start_y}), on the side of the local minimum "
        f"(loss {m['local_minimum']['loss']:.2f}), after {config.steps} steps "
        + (f"{', '.join(winners)} crossed the ridge to the global minimum (loss {m['global_minimum']['loss']:.2f})"
           if winners else "no optimizer crossed the ridge to the global minimum")
        + (f" while {', '.join(stuck)} stayed in the local one." if stuck else "."),
        f"The lowest final loss is {best['final_loss']:.3f} ({best['optimizer']}); "
        + "; ".join(f"{r['optimizer']} travelled {r['path_length']:.1f}" for r in rows) + ".",
    ]
    if "momentum" in winners and "SGD" in stuck:
        parts.append("Momentum's accumulated velocity carried it over the ridge where plain SGD stopped at the first dip.")
    return " ".join(parts)


def draw(paths: dict[str, torch.Tensor], m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 2, (12, 4.5))
    ax = axes[0, 0]
    xs, ys = torch.linspace(-2.2, 2.5, 200), torch.linspace(-2, 2, 160)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    surface = loss_surface(torch.stack([gx, gy], -1))
    ax.contourf(gx, gy, torch.log1p(surface - surface.min()), levels=30, cmap="viridis")  # log: shows the dips
    for kind, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, label=kind)
    ax.plot([m["global_minimum"]["x"]], [0], "w*", ms=14)
    ax.plot([m["local_minimum"]["x"]], [0], "wx", ms=10)
    ax.legend()
    ax.set_title("trajectories (star: global min, x: local min)")
    ax = axes[0, 1]
    for kind, path in paths.items():
        ax.plot(loss_surface(path), label=kind)
    ax.axhline(m["global_minimum"]["loss"], ls="--", color="gray")
    ax.axhline(m["local_minimum"]["loss"], ls=":", color="gray")
    ax.set_ylim(m["global_minimum"]["loss"] - 0.2, 3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title("loss per step")
    return save_figure(fig, out_dir, NAME)
