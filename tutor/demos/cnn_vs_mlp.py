"""A tiny CNN against an MLP on small synthetic images: parameters and test accuracy.

Each image holds one short bar, horizontal or vertical, anywhere in the frame, under noise. The
CNN shares its small kernels across positions and pools over the whole image, so it learns "a bar
of this orientation, wherever it is" with a few hundred weights; the MLP has a weight per pixel and
unit and must see each position to learn it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "cnn_vs_mlp"
TITLE = "A tiny CNN vs an MLP on images"
SECTIONS = [
    {"source": "03-cnns.md", "section": "1. Why Fully Connected Networks are Not Suitable for Computer Vision"},
    {"source": "03-cnns.md", "section": "3. Typical CNN Architecture for Image Classification"},
]
KEYWORDS = ["cnn", "convolutional neural network", "fully connected", "mlp vs cnn", "parameter sharing",
            "weight sharing", "translation invariance", "pooling", "image classification", "computer vision"]
LIMITS = {"image_size": (8, 32), "bar_length": (2, 16), "noise": (0.0, 2.0), "train_images": (16, 2000),
          "test_images": (16, 2000), "steps": (1, 500), "lr": (1e-5, 0.1), "channels": (1, 32), "hidden": (1, 256),
          "seed": (0, 2**31 - 1)}


@dataclass
class Config:
    image_size: int = 16  # side of each square image, in pixels
    bar_length: int = 5  # pixels in each bar
    noise: float = 0.4  # standard deviation of the pixel noise
    train_images: int = 200  # few, so how a model generalises across positions matters
    test_images: int = 1000  # held out, with bars in fresh positions
    steps: int = 150  # full-batch Adam steps per model
    lr: float = 0.01  # Adam learning rate
    channels: int = 8  # feature maps in the CNN's first layer (the second has twice as many)
    hidden: int = 64  # hidden units of the MLP
    seed: int = 0  # makes data and weights repeatable

    def __post_init__(self) -> None:
        if self.bar_length > self.image_size:
            raise ValueError(f"bar_length {self.bar_length} is longer than the image side {self.image_size}")


class TinyCNN(nn.Module):
    """conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> global max pool -> linear."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, padding=1)
        self.head = nn.Linear(2 * channels, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))  # (B, 1, H, W) -> (B, c, H, W)
        x = F.relu(self.conv2(x))  # (B, 2c, H, W)
        x = x.amax(dim=(2, 3))  # (B, 2c): the strongest response anywhere, wherever the bar is
        return self.head(x)  # (B, 2)


class MLP(nn.Module):
    """flatten -> linear -> ReLU -> linear."""

    def __init__(self, pixels: int, hidden: int):
        super().__init__()
        self.hidden = nn.Linear(pixels, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(x.flatten(1))))  # (B, 1, H, W) -> (B, H*W) -> (B, hidden) -> (B, 2)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def make_images(n: int, config: Config, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (n, 1, S, S), each with one bar: label 0 horizontal, 1 vertical."""
    s, k = config.image_size, config.bar_length
    labels = torch.randint(2, (n,), generator=generator)
    images = config.noise * torch.randn(n, 1, s, s, generator=generator)
    along = torch.randint(s - k + 1, (n,), generator=generator)  # where the bar starts along its length
    across = torch.randint(s, (n,), generator=generator)  # which row or column it sits in
    for i in range(n):
        a, c = along[i].item(), across[i].item()
        if labels[i] == 0:
            images[i, 0, c, a : a + k] += 1.0
        else:
            images[i, 0, a : a + k, c] += 1.0
    return images, labels


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: Config) -> nn.Module:
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(config.steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    with seeded(config.seed):
        generator = torch.Generator().manual_seed(config.seed)
        train_x, train_y = (t.to(device) for t in make_images(config.train_images, config, generator))
        test_x, test_y = (t.to(device) for t in make_images(config.test_images, config, generator))
        models = {"CNN": TinyCNN(config.channels), "MLP": MLP(config.image_size**2, config.hidden)}
        rows = []
        for i, (label, model) in enumerate(models.items()):
            train(model.to(device), train_x, train_y, config)
            rows.append({"model": label, "parameters": count_parameters(model),
                         "train_accuracy": accuracy(model, train_x, train_y),
                         "test_accuracy": accuracy(model, test_x, test_y)})
            tick(progress, f"training the {label}", i + 1, len(models))
    metrics = {"image_size": config.image_size, "train_images": config.train_images, "by_model": rows}
    figure = draw(test_x[:8].cpu(), test_y[:8].cpu(), metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    cnn, mlp = m["by_model"]
    ratio = mlp["parameters"] / cnn["parameters"]
    verdict = ("The CNN generalises better with fewer weights: its kernels are shared across positions."
               if cnn["test_accuracy"] > mlp["test_accuracy"] else
               "Here the MLP matches or beats the CNN; try fewer training images or more noise.")
    return (
        f"On {m['image_size']}x{m['image_size']} images, the CNN has {cnn['parameters']:,} parameters and the MLP "
        f"{mlp['parameters']:,} ({ratio:.0f} times more). Trained on {m['train_images']} images, the CNN scores "
        f"{cnn['test_accuracy']:.0%} on new images (train {cnn['train_accuracy']:.0%}) and the MLP "
        f"{mlp['test_accuracy']:.0%} (train {mlp['train_accuracy']:.0%}), where guessing scores 50%. {verdict}"
    )


def draw(images: torch.Tensor, labels: torch.Tensor, m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 5, (14, 3.2))
    for i in range(4):
        axes[0, i].imshow(images[i, 0], cmap="gray")
        axes[0, i].set_title("horizontal" if labels[i] == 0 else "vertical")
        axes[0, i].set_xticks([])
        axes[0, i].set_yticks([])
    ax = axes[0, 4]
    names = [r["model"] for r in m["by_model"]]
    ax.bar(names, [r["test_accuracy"] for r in m["by_model"]], color=["C0", "C1"])
    for i, r in enumerate(m["by_model"]):
        ax.text(i, r["test_accuracy"] + 0.01, f"{r['parameters']:,} params", ha="center")
    ax.set_ylim(0, 1.1)
    ax.set_title("test accuracy")
    return save_figure(fig, out_dir, NAME)
