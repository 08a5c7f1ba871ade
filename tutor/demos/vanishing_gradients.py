"""Vanishing gradients: the gradient norm of every layer of a deep MLP, sigmoid vs ReLU vs ReLU + BatchNorm.

Backpropagation multiplies by each layer's activation derivative. The sigmoid's is at most 0.25, so
in a deep sigmoid net the first layers get almost no gradient; ReLU passes gradients through
unchanged where it is active, and BatchNorm keeps every layer's input in a well-scaled range.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "vanishing_gradients"
TITLE = "Vanishing gradients: sigmoid vs ReLU vs BatchNorm"
SECTIONS = [
    {"source": "02-training-neural-networks.md", "section": "4. Vanishing Gradients and Covariance Shift"},
]
KEYWORDS = ["vanishing gradient", "vanishing gradients", "exploding gradient", "sigmoid", "relu",
            "batch normalization", "batchnorm", "covariance shift", "deep network", "backpropagation"]
LIMITS = {"depth": (2, 50), "width": (4, 128), "batch": (8, 512), "train_steps": (0, 300), "lr": (1e-5, 1.0),
          "seed": (0, 2**31 - 1)}

VARIANTS = ["sigmoid", "relu", "relu+batchnorm"]


@dataclass
class Config:
    depth: int = 20  # hidden layers
    width: int = 64  # units per hidden layer
    in_features: int = 16  # input features of the synthetic task
    batch: int = 128  # examples in the batch the gradients are measured on
    train_steps: int = 60  # SGD steps after the measurement, to see which nets learn
    lr: float = 0.1  # SGD learning rate for those steps
    seed: int = 0  # makes data and weights repeatable


class DeepMLP(nn.Module):
    """depth x [Linear -> (BatchNorm) -> activation] -> Linear(width, 1), initialised for its activation."""

    def __init__(self, config: Config, variant: str):
        super().__init__()
        layers: list[nn.Module] = []
        width_in = config.in_features
        for _ in range(config.depth):
            linear = nn.Linear(width_in, config.width)
            if variant == "sigmoid":
                nn.init.xavier_normal_(linear.weight)  # Glorot: the init made for sigmoid/tanh
            else:
                nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # He: the init made for ReLU
            nn.init.zeros_(linear.bias)
            layers.append(linear)
            if variant == "relu+batchnorm":
                layers.append(nn.BatchNorm1d(config.width))
            layers.append(nn.Sigmoid() if variant == "sigmoid" else nn.ReLU())
            width_in = config.width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(config.width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)  # (B, in) -> (B, width) -> (B,)

    def linear_layers(self) -> list[nn.Linear]:
        return [m for m in self.body if isinstance(m, nn.Linear)]


def make_task(config: Config, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """An XOR-like labelling the net must be non-linear to learn: y = 1 when x0 and x1 share a sign."""
    x = torch.randn(config.batch, config.in_features, generator=generator)  # (B, in)
    return x, ((x[:, 0] * x[:, 1]) > 0).float()  # (B,)


def layer_gradient_norms(model: DeepMLP, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """||dL/dW|| of each hidden Linear layer, first layer first, after one backward pass."""
    model.zero_grad(set_to_none=True)
    F.binary_cross_entropy_with_logits(model(x), y).backward()
    return [layer.weight.grad.norm().item() for layer in model.linear_layers()]


def train(model: DeepMLP, x: torch.Tensor, y: torch.Tensor, config: Config) -> tuple[float, float]:
    """(loss before, loss after) `train_steps` steps of SGD."""
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    first = last = F.binary_cross_entropy_with_logits(model(x), y).item()
    for _ in range(config.train_steps):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        last = loss.item()
    return first, last


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    rows, norms = [], {}
    with seeded(config.seed):
        x, y = make_task(config, torch.Generator().manual_seed(config.seed))
        x, y = x.to(device), y.to(device)
        for i, variant in enumerate(VARIANTS):
            model = DeepMLP(config, variant).to(device)
            grads = layer_gradient_norms(model, x, y)
            loss_before, loss_after = train(model, x, y, config)
            norms[variant] = grads
            rows.append({
                "variant": variant,
                "first_layer_gradient": grads[0],
                "last_layer_gradient": grads[-1],
                "first_over_last": grads[0] / grads[-1] if grads[-1] > 0 else None,
                "loss_before": loss_before,
                "loss_after": loss_after,
            })
            tick(progress, f"measuring {variant}", i + 1, len(VARIANTS))
    metrics = {"depth": config.depth, "width": config.width, "by_variant": rows, "gradient_norms_by_layer": norms}
    figure = draw(metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics, config), figure=figure, sections=SECTIONS)


def summarize(m: dict, config: Config) -> str:
    by = {r["variant"]: r for r in m["by_variant"]}
    s, r, b = by["sigmoid"], by["relu"], by["relu+batchnorm"]
    return (
        f"In a {m['depth']}-layer MLP the sigmoid net's first layer gets a gradient {s['first_over_last']:.1e} times its "
        f"last layer's ({s['first_layer_gradient']:.1e} against {s['last_layer_gradient']:.1e}): it has vanished. "
        f"With ReLU the ratio is {r['first_over_last']:.2g}, and with ReLU + BatchNorm {b['first_over_last']:.2g}. "
        f"After {config.train_steps} SGD steps the loss went from {s['loss_before']:.3f} to {s['loss_after']:.3f} "
        f"(sigmoid), {r['loss_before']:.3f} to {r['loss_after']:.3f} (ReLU) and {b['loss_before']:.3f} to "
        f"{b['loss_after']:.3f} (ReLU + BatchNorm)."
    )


def draw(m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 1, (7, 4.2))
    ax = axes[0, 0]
    for variant, grads in m["gradient_norms_by_layer"].items():
        ax.semilogy(range(1, len(grads) + 1), grads, "o-", ms=3, label=variant)
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel("gradient norm ||dL/dW|| (log)")
    ax.set_title(f"gradients per layer, {m['depth']} layers")
    ax.legend()
    return save_figure(fig, out_dir, NAME)
