"""Questions whose answers a demo model's code computes (apply level), re-checked by that code."""

from __future__ import annotations

from tutor.learning.quiz.items import QuizItem




# ---- questions a demo's code answers --------------------------------------------------------------
COMPUTED_KINDS = {"conv_output_size": "convolution", "iou": "iou_nms", "softmax_temperature": "temperature"}


def computed_items(n: int, seed: int, topic: str = "") -> list[QuizItem]:
    """`n` numeric questions whose answers the demo models compute (the grader re-checks them by code).
    A topic that one of the demos illustrates puts that kind first."""
    import random

    from tutor.demos import pick_demo_for_topic
    from tutor.demos.checks import make_check

    kinds = list(COMPUTED_KINDS)
    fitting = pick_demo_for_topic(topic) if topic else None
    kinds.sort(key=lambda k: COMPUTED_KINDS[k] != fitting)
    rng = random.Random(seed)
    items: list[QuizItem] = []
    seen: set[str] = set()
    for attempt in range(n * 5):
        if len(items) == n:
            break
        check = make_check(kinds[len(items) % len(kinds)] if not fitting else kinds[0], rng)
        if check.question in seen:
            continue
        seen.add(check.question)
        items.append(QuizItem(
            kind="computed", question=check.question, answer=f"{check.answer:g}", explanation=check.working,
            section=check.section, source=check.source, check=check.model_dump(mode="json"), level="apply",
        ))
    return items


def topic_has_computed(topic: str) -> bool:
    from tutor.demos import pick_demo_for_topic

    return not topic or pick_demo_for_topic(topic) in COMPUTED_KINDS.values()
