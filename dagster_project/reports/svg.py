"""A tiny SVG bar-chart builder for trends: pure, deterministic, no plotting library."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from dagster_project.reports.model import Count

FONT = "DejaVu Sans, Arial, sans-serif"


def bar_chart(
    points: Sequence[Count],
    *,
    title: str,
    width: int = 640,
    height: int = 170,
    label_every: int | None = None,
) -> str:
    """An accessible SVG bar chart of `points` (label, count) with a y-axis maximum and sparse x labels."""
    left, right, top, bottom = 44, 8, 22, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((p.count for p in points), default=0)
    scale_max = _nice(peak)
    n = max(len(points), 1)
    step = plot_w / n
    bar_w = max(step * 0.8, 1.0)
    every = label_every or max(1, -(-n // 8))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" font-family="{FONT}" font-size="11" fill="#222">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#888" stroke-width="1"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888" stroke-width="1"/>',
        _text(left - 4, top + 4, f"{scale_max:,}", anchor="end"),
        _text(left - 4, top + plot_h + 3, "0", anchor="end"),
    ]
    for i, point in enumerate(points):
        bar_h = 0.0 if scale_max == 0 else plot_h * point.count / scale_max
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h - bar_h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" fill="#2f6690">'
            f"<title>{escape(point.key)}: {point.count:,}</title></rect>"
        )
        if i % every == 0:
            parts.append(_text(left + i * step + step / 2, top + plot_h + 14, short_label(point.key), anchor="middle"))
    if peak == 0:
        parts.append(_text(left + plot_w / 2, top + plot_h / 2, "no events in the period", anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def short_label(key: str) -> str:
    """`2024-03-05T00:00:00.000Z` -> `03-05`; `2024-03-05T14:00:00.000Z` -> `14h`; anything else unchanged."""
    if len(key) >= 19 and key[4] == "-" and key[10] == "T":
        return key[5:10] if key[11:19] == "00:00:00" else f"{key[11:13]}h"
    return key


def _nice(value: int) -> int:
    """The smallest 1-2-5 x 10^k number at or above `value` (0 stays 0)."""
    if value <= 0:
        return 0
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _text(x: float, y: float, text: str, *, anchor: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="9" fill="#444" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )
