"""Decision thresholds on imbalanced data: precision and recall vs threshold, the ROC curve vs the PR curve.

A logistic-regression classifier scores a test set where only a few percent are positive. Moving
the threshold trades precision for recall. The ROC curve can look excellent on such data while the
precision-recall curve (and its area, AUPRC) shows how many false alarms come with each catch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "threshold_pr"
TITLE = "Decision threshold, precision-recall and ROC curves"
SECTIONS = [
    {"source": "02-training-neural-networks.md", "section": "6. Adjusting the Decision Threshold and Its Impact"},
    {"source": "02-training-neural-networks.md", "section": "7. Precision-Recall Curve vs. ROC Curve"},
]
KEYWORDS = ["threshold", "decision threshold", "precision", "recall", "roc", "roc curve", "auc", "auprc",
            "precision-recall", "pr curve", "imbalanced", "class imbalance", "f1", "false positive"]
LIMITS = {"samples": (100, 20000), "positive_rate": (0.005, 0.5), "separation": (0.0, 6.0), "steps": (1, 2000),
          "seed": (0, 2**31 - 1)}


@dataclass
class Config:
    samples: int = 4000  # examples, split half for training and half for testing
    positive_rate: float = 0.05  # share of positives: small means imbalanced
    separation: float = 2.0  # distance between the two classes' centres, in standard deviations
    steps: int = 200  # full-batch Adam steps for the logistic regression
    seed: int = 0  # makes data and weights repeatable


def make_data(config: Config, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian blobs in 2-D: x (N, 2), labels y (N,) with about `positive_rate` ones."""
    y = (torch.rand(config.samples, generator=generator) < config.positive_rate).float()
    centre = torch.tensor([1.0, 1.0]) / 2**0.5 * config.separation
    x = torch.randn(config.samples, 2, generator=generator) + y[:, None] * centre
    return x, y


def roc_curve(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(false positive rates, true positive rates, thresholds), predicting positive when score >= threshold,
    from the strictest threshold to the loosest; the curve starts at (0, 0)."""
    tp, fp, thresholds = _counts(scores, labels)
    tpr = torch.cat([torch.zeros(1), tp / labels.sum()])
    fpr = torch.cat([torch.zeros(1), fp / (1 - labels).sum()])
    return fpr, tpr, torch.cat([torch.tensor([float("inf")]), thresholds])


def pr_curve(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(precision, recall, thresholds) at every distinct score, from the strictest threshold to the loosest."""
    tp, fp, thresholds = _counts(scores, labels)
    return tp / (tp + fp), tp / labels.sum(), thresholds


def _counts(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """True and false positives when predicting positive for score >= t, for each distinct score t (descending)."""
    order = scores.argsort(descending=True)
    s, y = scores[order].double(), labels[order].double()
    tp, fp = y.cumsum(0), (1 - y).cumsum(0)
    last_of_tie = torch.cat([s[1:] != s[:-1], torch.tensor([True])])  # ties count together
    return tp[last_of_tie], fp[last_of_tie], s[last_of_tie]


def trapezoid_area(x: torch.Tensor, y: torch.Tensor) -> float:
    return torch.trapezoid(y, x).item()


def average_precision(precision: torch.Tensor, recall: torch.Tensor) -> float:
    """AUPRC as average precision: sum over thresholds of (R_n - R_{n-1}) * P_n, with R_0 = 0."""
    steps = recall - torch.cat([torch.zeros(1, dtype=recall.dtype), recall[:-1]])
    return (steps * precision).sum().item()


def at_threshold(scores: torch.Tensor, labels: torch.Tensor, t: float) -> dict:
    predicted = scores >= t
    tp = (predicted & (labels == 1)).sum().item()
    fp = (predicted & (labels == 0)).sum().item()
    fn = (~predicted & (labels == 1)).sum().item()
    precision = tp / (tp + fp) if tp + fp else None  # undefined when nothing is predicted positive
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {"threshold": t, "precision": precision, "recall": recall, "f1": f1, "flagged": tp + fp,
            "true_positives": tp, "false_positives": fp}


THRESHOLDS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    with seeded(config.seed):
        x, y = make_data(config, torch.Generator().manual_seed(config.seed))
        half = config.samples // 2
        train_x, train_y = x[:half].to(device), y[:half].to(device)
        model = nn.Linear(2, 1).to(device)  # logistic regression: one linear score, read through a sigmoid
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        for step in range(config.steps):
            loss = F.binary_cross_entropy_with_logits(model(train_x).squeeze(1), train_y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step % 50 == 0 or step == config.steps - 1:
                tick(progress, "training", step + 1, config.steps)
        with torch.no_grad():
            scores = torch.sigmoid(model(x[half:].to(device))).squeeze(1).cpu()  # (N_test,)
    labels = y[half:]
    if labels.sum() == 0 or labels.sum() == labels.numel():
        from tutor.errors import UsageError

        raise UsageError("the test set has only one class: raise samples or positive_rate")
    fpr, tpr, _ = roc_curve(scores, labels)
    precision, recall, thresholds = pr_curve(scores, labels)
    rows = [at_threshold(scores, labels, t) for t in THRESHOLDS]
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    best = f1.argmax()
    metrics = {
        "test_examples": int(labels.numel()),
        "positive_rate": labels.mean().item(),
        "auroc": trapezoid_area(fpr, tpr),
        "auprc": average_precision(precision, recall),
        "auprc_of_random_guess": labels.mean().item(),
        "by_threshold": rows,
        "best_f1": {"threshold": thresholds[best].item(), "f1": f1[best].item(),
                    "precision": precision[best].item(), "recall": recall[best].item()},
    }
    figure = draw(fpr, tpr, precision, recall, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    by = {r["threshold"]: r for r in m["by_threshold"]}
    half, low = by[0.5], by[0.1]

    def pct(v: float | None) -> str:
        return "undefined" if v is None else f"{100 * v:.0f}%"

    return (
        f"With {pct(m['positive_rate'])} positives, the ROC AUC is {m['auroc']:.2f} but the AUPRC only "
        f"{m['auprc']:.2f} (a random guess scores {m['auprc_of_random_guess']:.2f}): the ROC curve hides the false "
        f"alarms that the many negatives produce. At threshold 0.5 precision is {pct(half['precision'])} and recall "
        f"{pct(half['recall'])}; lowering it to 0.1 raises recall to {pct(low['recall'])} and drops precision to "
        f"{pct(low['precision'])}. The best F1, {m['best_f1']['f1']:.2f}, is at threshold {m['best_f1']['threshold']:.2f}."
    )


def draw(fpr, tpr, precision, recall, m: dict, out_dir: Path) -> str | None:
    fig, axes = new_figure(1, 3, (14, 4.2))
    ax = axes[0, 0]
    rows = m["by_threshold"]
    ax.plot([r["threshold"] for r in rows], [r["precision"] if r["precision"] is not None else float("nan") for r in rows],
            "o-", label="precision")
    ax.plot([r["threshold"] for r in rows], [r["recall"] for r in rows], "s-", label="recall")
    ax.axvline(m["best_f1"]["threshold"], ls=":", color="gray", label="best F1")
    ax.set_xlabel("decision threshold")
    ax.legend()
    ax.set_title("precision and recall vs threshold")
    ax = axes[0, 1]
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], "--", color="gray")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC, AUC = {m['auroc']:.2f}")
    ax = axes[0, 2]
    ax.plot(recall, precision)
    ax.axhline(m["auprc_of_random_guess"], ls="--", color="gray", label="random guess")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title(f"precision-recall, AUPRC = {m['auprc']:.2f}")
    return save_figure(fig, out_dir, NAME)
