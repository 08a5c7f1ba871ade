"""Convolution on a synthetic image: how kernel size, stride and padding set the feature maps' size.

The output side of a convolution is floor((n + 2p - k) / s) + 1; the demo runs a real conv2d with
three hand-made kernels (vertical edges, horizontal edges, blur) and checks the shapes against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "convolution"
TITLE = "Convolution: kernel, stride and padding"
SECTIONS = [
    {"source": "03-cnns.md", "section": "2. Convolutional Operation Concepts"},
    {"source": "03-cnns.md", "section": "1. Why Fully Connected Networks are Not Suitable for Computer Vision"},
]
KEYWORDS = ["convolution", "convolutional", "kernel", "filter", "stride", "padding", "feature map", "receptive field"]
LIMITS = {"image_size": (8, 256), "kernel_size": (1, 15), "stride": (1, 8), "padding": (0, 16),
          "noise": (0.0, 1.0), "seed": (0, 2**31 - 1)}


@dataclass
class Config:
    image_size: int = 32  # side of the square grey-scale image, in pixels
    kernel_size: int = 3  # side of each square kernel
    stride: int = 1  # step between two kernel positions
    padding: int = 1  # rows and columns of zeros added on every side
    noise: float = 0.05  # standard deviation of the Gaussian noise on the image
    seed: int = 0  # makes the noise repeatable

    def __post_init__(self) -> None:
        if self.kernel_size > self.image_size + 2 * self.padding:
            raise ValueError(
                f"kernel_size {self.kernel_size} does not fit in the padded image "
                f"({self.image_size} + 2x{self.padding} = {self.image_size + 2 * self.padding} pixels)"
            )


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The side of a convolution's output: floor((n + 2p - k) / s) + 1."""
    return (n + 2 * padding - kernel) // stride + 1


def measured_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The same side, found by running a real conv2d on an n x n image (the code checks the formula)."""
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, kernel, kernel), stride=stride, padding=padding)
    return out.shape[-1]


def make_image(size: int, noise: float, generator: torch.Generator) -> torch.Tensor:
    """A square, a diagonal bar and a disk on a dark background, plus noise."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")  # (H, W) each
    image = torch.zeros(size, size)
    a, b = size // 8, size // 2 - size // 8
    image[a:b, a:b] = 1.0  # square, top left
    image[(x + y - size).abs() <= max(1, size // 32)] = 0.6  # anti-diagonal bar
    cy, cx, r = 0.7 * size, 0.7 * size, size / 6
    image[(y - cy) ** 2 + (x - cx) ** 2 <= r * r] = 0.8  # disk, bottom right
    image = image + noise * torch.randn(size, size, generator=generator)
    return image[None, None]  # (1, 1, H, W)


def hand_made_kernels(k: int) -> torch.Tensor:
    """(3, 1, k, k): vertical-edge, horizontal-edge and blur kernels of side k."""
    ramp = torch.linspace(-1.0, 1.0, k) if k > 1 else torch.ones(1)  # dark-to-bright across the kernel
    vertical = ramp.expand(k, k) / k  # responds to left/right changes, i.e. vertical edges
    horizontal = vertical.T  # responds to up/down changes
    blur = torch.full((k, k), 1.0 / (k * k))
    return torch.stack([vertical, horizontal, blur])[:, None]


class FeatureMaps(nn.Module):
    """One conv layer with fixed kernels: 1 input channel, 3 output channels."""

    def __init__(self, kernel_size: int, stride: int, padding: int):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, kernel_size, stride=stride, padding=padding, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(hand_made_kernels(kernel_size))

    @torch.no_grad()
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.conv(image)  # (1, 1, H, W) -> (1, 3, H_out, W_out)


SWEEP = [(3, 1, 0), (3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 0), (7, 3, 3)]  # (kernel, stride, padding)


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    with seeded(config.seed):
        generator = torch.Generator().manual_seed(config.seed)
        image = make_image(config.image_size, config.noise, generator).to(device)  # (1, 1, H, W)
        model = FeatureMaps(config.kernel_size, config.stride, config.padding).to(device)
        maps = model(image)  # (1, 3, H_out, W_out)
    tick(progress, "convolving", 1, 2)
    n, k, s, p = config.image_size, config.kernel_size, config.stride, config.padding
    formula = conv_output_size(n, k, s, p)
    sweep = [
        {"kernel": kk, "stride": ss, "padding": pp, "output": measured_output_size(n, kk, ss, pp),
         "formula": conv_output_size(n, kk, ss, pp)}
        for kk, ss, pp in SWEEP
        if kk <= n + 2 * pp
    ]
    kernels = ["vertical edges", "horizontal edges", "blur"]
    metrics = {
        "input_shape": list(image.shape),
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "output_shape": list(maps.shape),
        "formula_output_size": formula,
        "output_matches_formula": maps.shape[-1] == formula and maps.shape[-2] == formula,
        "weights_per_kernel": k * k,
        "positions_per_kernel": maps.shape[-1] * maps.shape[-2],
        "mean_abs_response": {name: maps[0, i].abs().mean().item() for i, name in enumerate(kernels)},
        "sweep": sweep,
        "sweep_matches_formula": all(row["output"] == row["formula"] for row in sweep),
    }
    tick(progress, "convolving", 2, 2)
    figure = draw(image, maps, kernels, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics, n), figure=figure, sections=SECTIONS)


def summarize(m: dict, n: int) -> str:
    k, s, p, out = m["kernel_size"], m["stride"], m["padding"], m["formula_output_size"]
    check = "matches" if m["output_matches_formula"] else "does NOT match"
    halved = conv_output_size(n, k, 2 * s, p)
    return (
        f"A {k}x{k} kernel with stride {s} and padding {p} turns the {n}x{n} image into {out}x{out} feature maps; "
        f"the measured shape {check} floor(({n} + 2*{p} - {k}) / {s}) + 1 = {out}. "
        f"Doubling the stride to {2 * s} would give {halved}x{halved}. "
        f"Each kernel has only {m['weights_per_kernel']} weights, shared across all {m['positions_per_kernel']} positions."
    )


def draw(image: torch.Tensor, maps: torch.Tensor, kernels: list[str], m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 4, (13, 3.6))
    axes[0, 0].imshow(image[0, 0].cpu(), cmap="gray")
    axes[0, 0].set_title(f"input {m['input_shape'][-2]}x{m['input_shape'][-1]}")
    for i, label in enumerate(kernels):
        fmap = maps[0, i].cpu()
        if i < 2:  # edge maps are signed: white is zero, red a dark-to-bright edge, blue the reverse
            lim = fmap.abs().max().item() or 1.0
            axes[0, i + 1].imshow(fmap, cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            axes[0, i + 1].imshow(fmap, cmap="gray")
        axes[0, i + 1].set_title(f"{label}\n{maps.shape[-2]}x{maps.shape[-1]}")
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"kernel {m['kernel_size']}, stride {m['stride']}, padding {m['padding']}")
    return save_figure(fig, out_dir, NAME)
