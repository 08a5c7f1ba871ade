"""How far back the gradient reaches: a vanilla RNN against an LSTM over a long sequence.

The loss reads only the last step's output. Its gradient with respect to the input at step t must
pass back through every later step: in a vanilla RNN that is a product of T - t Jacobians that
shrink it geometrically; the LSTM's cell state is updated additively, scaled only by the forget gate,
so much more of the gradient survives to the early steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "rnn_vs_lstm"
TITLE = "Gradients through time: vanilla RNN vs LSTM"
SECTIONS = [
    {"source": "06-nlp-foundations.md", "section": "4. Long-Term Dependencies and Vanishing Gradients in RNNs"},
    {"source": "06-nlp-foundations.md", "section": "3. CNN vs. RNN for Sequential Data in NLP"},
    {"source": "02-training-neural-networks.md", "section": "4. Vanishing Gradients and Covariance Shift"},
]
KEYWORDS = ["rnn", "recurrent", "recurrent neural network", "lstm", "long short-term memory", "gru",
            "backpropagation through time", "long-term dependencies", "forget gate", "sequence model"]
LIMITS = {"seq_len": (2, 200), "hidden": (1, 256), "input_size": (1, 64), "batch": (1, 256),
          "forget_bias": (-5.0, 10.0), "seed": (0, 2**31 - 1)}


@dataclass
class Config:
    seq_len: int = 50  # time steps T the gradient must travel back through
    hidden: int = 32  # units in the recurrent state
    input_size: int = 8  # features per time step
    batch: int = 32  # random sequences the gradient norms are averaged over
    forget_bias: float = 1.0  # added to the LSTM's forget-gate bias: the usual init, remember by default
    seed: int = 0  # makes weights and inputs repeatable


class Recurrent(nn.Module):
    """A one-layer nn.RNN (tanh) or nn.LSTM returning every step's output."""

    def __init__(self, kind: str, config: Config):
        super().__init__()
        cls = nn.LSTM if kind == "LSTM" else nn.RNN
        self.cell = cls(config.input_size, config.hidden, batch_first=True)
        if kind == "LSTM":
            h = config.hidden
            with torch.no_grad():  # PyTorch orders the gates input, forget, cell, output
                self.cell.bias_hh_l0[h : 2 * h] += config.forget_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.cell(x)  # (B, T, in) -> (B, T, H)
        return out


def input_gradient_norms(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, readout: torch.Tensor) -> torch.Tensor:
    """(T,): the mean over the batch of ||dL/dx_t||, where L = sum(output at the last step * readout)."""
    x = x.clone().requires_grad_(True)  # (B, T, in)
    out = net(x)  # (B, T, H)
    (out[:, -1] * readout).sum().backward()
    return x.grad.norm(dim=2).mean(0)  # (T,)


def reach(relative: list[float], level: float) -> int:
    """How many steps back from the last the gradient stays above `level` of its last-step value."""
    steps = 0
    for value in reversed(relative):
        if value < level:
            break
        steps += 1
    return steps


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    curves, rows = {}, []
    with seeded(config.seed):
        x = torch.randn(config.batch, config.seq_len, config.input_size).to(device)  # (B, T, in)
        readout = torch.randn(config.hidden).to(device)  # (H,)
        for i, kind in enumerate(["RNN", "LSTM"]):
            net = Recurrent(kind, config).to(device)
            norms = input_gradient_norms(net, x, readout).cpu()
            relative = (norms / norms[-1]).tolist()  # 1.0 at the last step
            curves[kind] = relative
            rows.append({
                "model": kind,
                "parameters": sum(p.numel() for p in net.parameters()),
                "gradient_at_last_step": norms[-1].item(),
                "gradient_at_first_step": norms[0].item(),
                "first_over_last": relative[0],
                "steps_above_1pct": reach(relative, 0.01),
                "steps_above_1e-6": reach(relative, 1e-6),
            })
            tick(progress, f"backpropagating through the {kind}", i + 1, 2)
    metrics = {"seq_len": config.seq_len, "hidden": config.hidden, "forget_bias": config.forget_bias,
               "by_model": rows, "relative_gradient_by_step": curves}
    figure = draw(metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    rnn, lstm = m["by_model"]
    factor = lstm["first_over_last"] / rnn["first_over_last"] if rnn["first_over_last"] else float("inf")
    gate = (f"a forget gate biased by +{m['forget_bias']} towards remembering" if m["forget_bias"] > 0
            else "a forget gate with no bias towards remembering")
    verdict = ("carries the signal much further" if factor > 10
               else "helps little here: raise forget_bias to see the cell state carry the signal")
    return (
        f"Over {m['seq_len']} steps, the gradient that reaches the first input is {rnn['first_over_last']:.1e} of the "
        f"last step's in the vanilla RNN and {lstm['first_over_last']:.1e} in the LSTM ({factor:.1e} times more). "
        f"The RNN's gradient stays above 1% for only {rnn['steps_above_1pct']} steps back, the LSTM's for "
        f"{lstm['steps_above_1pct']}: the LSTM's additive cell state, with {gate}, {verdict}."
    )


def draw(m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 1, (7, 4.2))
    ax = axes[0, 0]
    for kind, relative in m["relative_gradient_by_step"].items():
        ax.semilogy(range(len(relative)), relative, label=kind)
    ax.axhline(0.01, ls=":", color="gray", label="1% of the last step")
    ax.set_xlabel("input time step t (the loss reads the last one)")
    ax.set_ylabel("||dL/dx_t|| relative to the last step (log)")
    ax.set_title(f"gradient through {m['seq_len']} steps")
    ax.legend()
    return save_figure(fig, out_dir, NAME)
