"""IoU of boxes and non-maximum suppression (NMS): which detections survive at each IoU threshold.

A detector proposes several overlapping boxes per object. NMS keeps the highest-scoring box and
drops every other box whose IoU with it exceeds a threshold, then repeats. Plain torch, no torchvision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "iou_nms"
TITLE = "IoU and non-maximum suppression"
SECTIONS = [
    {"source": "04-object-detection.md", "section": "5. Importance of Evaluation Metrics in Object Detection"},
    {"source": "04-object-detection.md", "section": "6. Impact of Non-Maximum Suppression (NMS) Threshold"},
]
KEYWORDS = ["iou", "intersection over union", "non-maximum suppression", "nms", "bounding box",
            "object detection", "detection", "yolo", "anchor box"]
LIMITS = {"objects": (1, 8), "boxes_per_object": (1, 20), "jitter": (0.0, 0.5), "false_positives": (0, 20),
          "iou_threshold": (0.05, 0.95), "match_iou": (0.1, 0.9), "seed": (0, 2**31 - 1)}

SCENE = 100.0  # the image is SCENE x SCENE pixels; boxes are (x1, y1, x2, y2)


@dataclass
class Config:
    objects: int = 3  # real objects in the scene (the first two overlap, as neighbours in a crowd do)
    boxes_per_object: int = 6  # overlapping detections the detector makes around each object
    jitter: float = 0.12  # how far a detection strays, as a fraction of its object's size
    false_positives: int = 2  # detections with no object under them
    iou_threshold: float = 0.5  # NMS drops a box whose IoU with a kept, higher-scoring box exceeds this
    match_iou: float = 0.5  # a kept box detects an object when their IoU is at least this
    seed: int = 0  # makes the scene repeatable


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)  # (N,)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box in a (N, 4) with every box in b (M, 4) -> (N, M): intersection / union."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)  # (N, M, 2): zero when the boxes do not overlap
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-12)


@torch.no_grad()
def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes NMS keeps, best score first (greedy, as torchvision.ops.nms)."""
    order = scores.argsort(descending=True)  # (N,)
    keep = []
    while order.numel() > 0:
        best, rest = order[0], order[1:]
        keep.append(best.item())
        overlap = box_iou(boxes[best][None], boxes[rest])[0]  # (len(rest),)
        order = rest[overlap <= iou_threshold]
    return torch.tensor(keep, dtype=torch.long)


def match(kept: torch.Tensor, truth: torch.Tensor, match_iou: float) -> dict[str, int]:
    """Count kept boxes (given best first) as hits, duplicates of a found object, or false positives."""
    found: set[int] = set()
    hits = duplicates = false_positives = 0
    iou = box_iou(kept, truth) if kept.numel() else torch.zeros(0, truth.shape[0])  # (K, G)
    for row in iou:
        candidates = [g for g in row.argsort(descending=True).tolist() if row[g] >= match_iou]
        fresh = [g for g in candidates if g not in found]
        if fresh:
            found.add(fresh[0])
            hits += 1
        elif candidates:
            duplicates += 1
        else:
            false_positives += 1
    return {"kept": int(kept.shape[0]), "hits": hits, "duplicates": duplicates,
            "false_positives": false_positives, "missed": truth.shape[0] - len(found)}


def make_scene(config: Config, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ground-truth boxes (G, 4), detections (N, 4) and their scores (N,)."""
    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    sizes = 18 + 14 * rand(config.objects, 2)  # (G, 2) width, height
    corners = rand(config.objects, 2) * (SCENE - sizes)  # (G, 2) top-left
    if config.objects > 1:  # object 1 stands half-way over object 0: NMS with a low threshold merges them
        corners[1] = torch.minimum(corners[0] + 0.35 * sizes[0], SCENE - sizes[1])
    truth = torch.cat([corners, corners + sizes], dim=1)  # (G, 4)

    size4 = sizes.repeat(1, 2).repeat_interleave(config.boxes_per_object, dim=0)  # (G*k, 4)
    noise = config.jitter * size4 * (2 * rand(size4.shape[0], 4) - 1)
    detections = truth.repeat_interleave(config.boxes_per_object, dim=0) + noise  # (G*k, 4)
    scores = 0.55 + 0.4 * rand(detections.shape[0])
    if config.false_positives:
        wh = 10 + 20 * rand(config.false_positives, 2)
        xy = rand(config.false_positives, 2) * (SCENE - wh)
        detections = torch.cat([detections, torch.cat([xy, xy + wh], dim=1)])
        scores = torch.cat([scores, 0.3 + 0.4 * rand(config.false_positives)])
    return truth, detections, scores


THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    start = time.perf_counter()
    with seeded(config.seed):
        truth, boxes, scores = make_scene(config, torch.Generator().manual_seed(config.seed))
    truth, boxes, scores = truth.to(device), boxes.to(device), scores.to(device)
    sweep = []
    for i, threshold in enumerate(THRESHOLDS):
        kept = nms(boxes, scores, threshold)
        sweep.append({"iou_threshold": threshold, **match(boxes[kept], truth, config.match_iou)})
        tick(progress, "suppressing", i + 1, len(THRESHOLDS) + 1)
    kept = nms(boxes, scores, config.iou_threshold)
    chosen = match(boxes[kept], truth, config.match_iou)
    tick(progress, "suppressing", len(THRESHOLDS) + 1, len(THRESHOLDS) + 1)
    # False positives are a score threshold's job, not NMS's: "clean" asks only for one box per object.
    clean = [row["iou_threshold"] for row in sweep if row["duplicates"] == 0 and row["missed"] == 0]
    pair_iou = box_iou(truth[:1], truth[1:2])[0, 0].item() if truth.shape[0] > 1 else None
    metrics = {
        "objects": int(truth.shape[0]),
        "detections": int(boxes.shape[0]),
        "iou_threshold": config.iou_threshold,
        **chosen,
        "kept_boxes": [[round(v, 1) for v in box] for box in boxes[kept].tolist()],
        "iou_between_overlapping_objects": pair_iou,
        "sweep": sweep,
        "clean_thresholds": clean,
    }
    figure = draw(truth, boxes, scores, kept, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summarize(m: dict) -> str:
    low, high = m["sweep"][0], m["sweep"][-1]
    parts = [
        f"Of {m['detections']} detections of {_plural(m['objects'], 'object')}, NMS at IoU threshold "
        f"{m['iou_threshold']} keeps {m['kept']}: {m['hits']} find an object, {m['duplicates']} are duplicates, "
        f"{m['false_positives']} are false positives and {m['missed']} objects are missed.",
        f"A strict threshold of {low['iou_threshold']} keeps {low['kept']} boxes and misses "
        f"{_plural(low['missed'], 'object')}"
        + (f" (two neighbours overlap with IoU {m['iou_between_overlapping_objects']:.2f}, so one suppresses the other)"
           if low["missed"] and m["iou_between_overlapping_objects"] else "")
        + f", while a lax {high['iou_threshold']} keeps {high['kept']} with {high['duplicates']} duplicates.",
    ]
    if m["clean_thresholds"]:
        parts.append(f"Thresholds from {m['clean_thresholds'][0]} to {m['clean_thresholds'][-1]} keep exactly one box "
                     "per object; false positives with no object under them need a score threshold instead.")
    else:
        parts.append("No threshold keeps exactly one box per object here.")
    return " ".join(parts)


def draw(truth, boxes, scores, kept, m: dict, out_dir: Path) -> str | None:
    from matplotlib.patches import Rectangle

    fig, axes = new_figure(1, 3, (14, 4.4))

    def show(ax, chosen, title):
        for x1, y1, x2, y2 in truth.tolist():
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=2.5, ec="green"))
        for i in chosen:
            x1, y1, x2, y2 = boxes[i].tolist()
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1, ec="crimson"))
            ax.text(x1, y1, f"{scores[i].item():.2f}", fontsize=6, color="crimson")
        ax.set_xlim(0, SCENE)
        ax.set_ylim(SCENE, 0)
        ax.set_aspect("equal")
        ax.set_title(title)

    show(axes[0, 0], range(boxes.shape[0]), f"{m['detections']} detections (green: objects)")
    show(axes[0, 1], kept.tolist(), f"after NMS at IoU {m['iou_threshold']}: {m['kept']} kept")
    ax = axes[0, 2]
    xs = [row["iou_threshold"] for row in m["sweep"]]
    for key, style in (("kept", "k-o"), ("duplicates", "r-s"), ("missed", "b-^"), ("false_positives", "m-x")):
        ax.plot(xs, [row[key] for row in m["sweep"]], style, label=key.replace("_", " "))
    ax.set_xlabel("NMS IoU threshold")
    ax.set_ylabel("boxes")
    ax.legend()
    ax.set_title("threshold sweep")
    return save_figure(fig, out_dir, NAME)
