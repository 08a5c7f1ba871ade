"""Quiz questions whose answers are computed by running a demo's code, and grading of free-text numbers.

`make_check(kind, rng)` draws the numbers of a question (a convolution's output size, the IoU of two
boxes, a softmax probability at a temperature) and gets the answer from the demo that teaches it, so
the quiz and the demo can never disagree. `check_answer` reads the learner's number from free text
("it's 0.25", "1/4", "25%") and compares it within the question's tolerance.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from tutor.errors import UsageError

Kind = Literal["conv_output_size", "iou", "softmax_temperature"]


class ComputedQuestion(BaseModel):
    """A numeric question with the answer a demo's code computed."""

    kind: Kind
    question: str
    params: dict[str, Any]  # the numbers drawn for this question
    answer: float
    tolerance: float  # an answer within this distance of `answer` is correct
    source: str  # the notes file the question comes from
    section: str  # the `##` section it tests
    demo: str  # the demo whose code computed the answer; `tutor demo run <demo>` shows the idea
    working: str  # how the answer comes about, shown after the learner answers


def _section(demo: str) -> tuple[str, str]:
    from tutor.demos import get_demo

    first = get_demo(demo).sections[0]
    return first.source, first.section


def _conv_output_size(rng: random.Random) -> ComputedQuestion:
    from tutor.demos.convolution import measured_output_size

    n = rng.choice([7, 8, 10, 12, 14, 16, 20, 28, 32, 64])
    k = rng.choice([1, 3, 3, 5, 5, 7])
    s = rng.choice([1, 1, 2, 2, 3])
    p = rng.randint(0, k // 2)
    answer = measured_output_size(n, k, s, p)  # runs a real conv2d
    source, section = _section("convolution")
    return ComputedQuestion(
        kind="conv_output_size",
        question=(f"A convolution layer reads a {n}x{n} input with a {k}x{k} kernel, stride {s} and padding {p}. "
                  f"What is the side of its output feature map?"),
        params={"input_size": n, "kernel_size": k, "stride": s, "padding": p},
        answer=float(answer),
        tolerance=0.0,
        source=source,
        section=section,
        demo="convolution",
        working=f"floor(({n} + 2*{p} - {k}) / {s}) + 1 = floor({n + 2 * p - k}/{s}) + 1 = {answer}",
    )


def _iou(rng: random.Random) -> ComputedQuestion:
    import torch

    from tutor.demos.iou_nms import box_iou

    def box() -> list[int]:
        x, y = rng.randint(0, 6), rng.randint(0, 6)
        return [x, y, x + rng.randint(2, 5), y + rng.randint(2, 5)]

    a, b = box(), box()
    while min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]):
        b = box()  # boxes that overlap, so the question is about the arithmetic, not a trick
    answer = box_iou(torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64))[0, 0].item()
    inter = (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[3], b[3]) - max(a[1], b[1]))
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    source, section = _section("iou_nms")
    return ComputedQuestion(
        kind="iou",
        question=(f"Two boxes are given as (x1, y1, x2, y2): A = {tuple(a)} and B = {tuple(b)}. "
                  f"What is their intersection over union (IoU)?"),
        params={"box_a": a, "box_b": b},
        answer=answer,
        tolerance=0.01,
        source=source,
        section=section,
        demo="iou_nms",
        working=(f"intersection {inter}, union {area_a} + {area_b} - {inter} = {area_a + area_b - inter}, "
                 f"IoU = {inter}/{area_a + area_b - inter} = {answer:.3f}"),
    )


def _softmax_temperature(rng: random.Random) -> ComputedQuestion:
    import torch

    from tutor.demos.temperature import softmax_with_temperature

    logits = [float(rng.randint(-2, 4)) for _ in range(rng.choice([3, 3, 4]))]
    t = rng.choice([0.5, 1.0, 2.0])
    i = rng.randrange(len(logits))
    probs = softmax_with_temperature(torch.tensor(logits, dtype=torch.float64), t)
    answer = probs[i].item()
    source, section = _section("temperature")
    terms = " + ".join(f"exp({z:g}/{t:g})" for z in logits)
    return ComputedQuestion(
        kind="softmax_temperature",
        question=(f"A language model gives the logits {[round(z) for z in logits]} to {len(logits)} candidate tokens. "
                  f"With softmax at temperature T = {t:g}, what is the probability of token {i + 1} "
                  f"(logit {logits[i]:g})?"),
        params={"logits": logits, "temperature": t, "token": i + 1},
        answer=answer,
        tolerance=0.01,
        source=source,
        section=section,
        demo="temperature",
        working=f"exp({logits[i]:g}/{t:g}) / ({terms}) = {answer:.3f}",
    )


GENERATORS: dict[str, Callable[[random.Random], ComputedQuestion]] = {
    "conv_output_size": _conv_output_size,
    "iou": _iou,
    "softmax_temperature": _softmax_temperature,
}


def make_check(kind: str, rng: random.Random) -> ComputedQuestion:
    """A fresh question of `kind` with numbers drawn from `rng` and the answer computed by the demo's code."""
    generator = GENERATORS.get(kind)
    if generator is None:
        raise UsageError(f"unknown computed question kind '{kind}' (known: {', '.join(GENERATORS)})")
    return generator(rng)


_NUMBER = re.compile(
    r"(?P<num>[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:e[-+]?\d+)?)"
    r"(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?"
    r"(?:\s*(?P<pct>%|percent\b))?",
    re.IGNORECASE,
)


def _to_float(text: str) -> float:
    whole, sep, frac = text.replace("+", "").partition(",")
    if sep and len(frac.split("e")[0]) == 3 and whole.lstrip("-") not in ("", "0"):
        return float(whole + frac)  # "1,000": a thousands separator
    return float(text.replace(",", "."))  # "0,25": a decimal comma


def parse_number(text: str) -> tuple[float | None, bool]:
    """The number a learner gave, and whether they wrote it as a percentage. After an "=" or "≈" the
    number that follows counts ("1/4 = 0.25"); otherwise the last number in the text does."""
    text = text.replace("\u2212", "-").replace("\u2248", "=").replace("~", "=")
    after = list(_NUMBER.finditer(text.rsplit("=", 1)[1])) if "=" in text else []
    every = list(_NUMBER.finditer(text))
    if not every:
        return None, False
    m = after[0] if after else every[-1]
    try:
        value = _to_float(m.group("num"))
        if m.group("den"):
            den = float(m.group("den"))
            if den == 0:
                return None, False
            value /= den
    except ValueError:
        return None, False
    percent = bool(m.group("pct"))
    if percent:
        value /= 100
    return (value if math.isfinite(value) else None), percent


def _show(q: ComputedQuestion, value: float) -> str:
    return f"{value:g}" if q.kind == "conv_output_size" else f"{value:.3f}"


def check_answer(q: ComputedQuestion, text: str) -> tuple[bool, float | None, str]:
    """(correct, the number read from `text` or None, one line of feedback with the working)."""
    value, percent = parse_number(text)
    if value is None:
        return False, None, "No number found in the answer: write it as 0.25, 1/4 or 25%."
    correct = abs(value - q.answer) <= q.tolerance + 1e-9
    if correct:
        return True, value, f"Correct: {_show(q, q.answer)}. {q.working}."
    hint = ""
    if not percent and q.answer <= 1 and 1 < value <= 100 and abs(value / 100 - q.answer) <= q.tolerance + 1e-9:
        hint = f" If you meant {value:g}%, write the % sign."
    return False, value, f"Not quite: you answered {_show(q, value)}, the answer is {_show(q, q.answer)}. {q.working}.{hint}"
