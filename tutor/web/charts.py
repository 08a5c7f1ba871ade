"""Charts drawn in the page (no script, no CDN, no inline style: the CSP allows none): bars with the full name
and the value written beside them, the score history with axes and dates, due cards per day. Every SVG scales
to the width of the screen (a viewBox and `width: 100%`), so none is wider than a phone."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from markupsafe import Markup


def bars(rows: list[tuple[str, float | None]], detail: list[str] | None = None) -> Markup:
    """One bar per (name, share in [0, 1] or None), the name in full above it and the value beside it."""
    out = ['<ul class="bars">']
    for k, (name, value) in enumerate(rows):
        shown = "not answered yet" if value is None else f"{value:.0%}"
        width = 0.0 if value is None else 100 * max(0.0, min(1.0, value))
        extra = f' <span class="dim">{escape(detail[k])}</span>' if detail and detail[k] else ""
        out.append(
            f'<li><span class="bar-name">{escape(name)}{extra}</span><span class="bar-row">'
            f'<svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
            f'<rect class="track" x="0" y="0" width="100" height="10"></rect>'
            f'<rect class="fill" x="0" y="0" width="{width:.1f}" height="10"></rect></svg>'
            f'<span class="bar-value">{escape(shown)}</span></span></li>')
    out.append("</ul>")
    return Markup("".join(out))


def _day(moment: datetime | date) -> str:
    return f"{moment:%d %b}".lstrip("0")


def history_chart(entries: list[Any], width: int = 360, height: int = 200) -> Markup:
    """The score history (HistoryEntry: time, score), oldest first: a line over 0-100 % with axes, the dates of
    the first, middle and last answer under it; each point says its date and score in a tooltip."""
    if not entries:
        return Markup("")
    left, right, top, bottom = 34, 10, 10, 34
    w, h = width - left - right, height - top - bottom
    step = w / max(1, len(entries) - 1)

    def xy(k: int, score: float) -> tuple[float, float]:
        return left + (k * step if len(entries) > 1 else w / 2), top + h * (1 - max(0.0, min(1.0, score)))

    parts = [f'<svg class="chart history" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Scores of your last {len(entries)} answers, from {_day(entries[0].time)} to {_day(entries[-1].time)}">']
    for share in (0.0, 0.5, 1.0):
        y = top + h * (1 - share)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}"></line>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{share:.0%}</text>')
    parts.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + h}"></line>'
                 f'<line class="axis" x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}"></line>')
    points = [xy(k, e.score) for k, e in enumerate(entries)]
    parts.append('<polyline class="line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"></polyline>')
    for (x, y), e in zip(points, entries):
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(_day(e.time))}: '
                     f'{e.score:.0%} ({escape(e.section or "no section")})</title></circle>')
    shown = sorted({0, len(entries) // 2, len(entries) - 1})
    for k in shown:
        x = points[k][0]
        anchor = "start" if k == 0 and len(entries) > 1 else "end" if k == len(entries) - 1 and len(entries) > 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="{anchor}">{escape(_day(entries[k].time))}</text>')
    parts.append(f'<text x="{left + w / 2:.1f}" y="{height - 2}" text-anchor="middle">answers, oldest first</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def due_chart(days: list[tuple[date, int]], width: int = 360, height: int = 150) -> Markup:
    """Cards due per day (the first day includes every overdue card), one column a day with its count above it."""
    if not days:
        return Markup("")
    left, top, bottom = 4, 16, 30
    w, h = width - 2 * left, height - top - bottom
    most = max(1, max(n for _, n in days))
    slot = w / len(days)
    total = sum(n for _, n in days)
    parts = [f'<svg class="chart due" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{total} reviews due in the next {len(days)} days">']
    parts.append(f'<line class="axis" x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}"></line>')
    for k, (day, n) in enumerate(days):
        x = left + k * slot
        bar = h * n / most
        parts.append(f'<rect class="col" x="{x + slot * 0.15:.1f}" y="{top + h - bar:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{bar:.1f}"><title>{escape(_day(day))}: {n} due</title></rect>')
        if n:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{top + h - bar - 3:.1f}" text-anchor="middle">{n}</text>')
        if k % 2 == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{top + h + 13}" text-anchor="middle">{day:%d}</text>')
        if k == 0 or day.day == 1:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{top + h + 26}" text-anchor="middle">{day:%b}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
