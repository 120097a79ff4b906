"""Small inline SVG charts drawn on the server: horizontal bars and a value-in-limits gauge.

Pure functions from numbers to SVG text; no script, so a chart prints and saves with the
page as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    note: str = ""
    """Shown after the value, e.g. `41 of 50`."""
    tone: str = "brand"
    """`brand`, `ok`, `warn` or `bad`."""


_TONES = {"brand": "#0b5c8c", "ok": "#1b7a3d", "warn": "#c98a00", "bad": "#b3261e"}


def bars(
    items: Sequence[Bar],
    *,
    label: str,
    unit: str = "",
    scale_max: float | None = None,
    digits: int = 1,
) -> Markup:
    """One horizontal bar per item, scaled to `scale_max` (default: the largest value)."""
    if not items:
        return Markup('<p class="muted small">No data in this period.</p>')
    row_h, label_w, value_w, width = 24, 150, 125, 440
    bar_w = width - label_w - value_w
    top = max([scale_max or 0.0, *(i.value for i in items)]) or 1.0
    height = row_h * len(items) + 6
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for i, item in enumerate(items):
        y = 3 + i * row_h
        length = max(0.0, item.value) / top * bar_w
        text = f"{item.value:,.{digits}f}{unit}" + (f"  {item.note}" if item.note else "")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" font-size="13" text-anchor="end" '
            f'fill="#1d2733">{escape(_clip(item.label, 22))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" '
            'fill="#eef2f5"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row_h - 8}" '
            f'fill="{_TONES.get(item.tone, _TONES["brand"])}"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 17}" font-size="12" fill="#1d2733">'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def gauge(value: float, low: float | None, high: float | None) -> Markup:
    """A value against its limits: the band between the limits, the value as a tick (red
    when outside). Without limits there is nothing to draw against."""
    if low is None and high is None:
        return Markup("")
    lo = low if low is not None else min(value, high or value) - abs(high or 1) * 0.1
    hi = high if high is not None else max(value, lo) + abs(lo or 1) * 0.1
    span = (hi - lo) or 1.0
    start, end = lo - span * 0.25, hi + span * 0.25
    start, end = min(start, value), max(end, value)
    width, height = 120, 14

    def x(v: float) -> float:
        return (v - start) / (end - start) * (width - 4) + 2

    inside = (low is None or value >= low) and (high is None or value <= high)
    colour = "#1b7a3d" if inside else "#b3261e"
    return Markup(
        f'<svg class="gauge" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-hidden="true">'
        f'<rect x="0" y="5" width="{width}" height="4" fill="#e3e9ee"/>'
        f'<rect x="{x(lo):.1f}" y="3" width="{x(hi) - x(lo):.1f}" height="8" fill="#cfe6d6"/>'
        f'<rect x="{x(value) - 1.5:.1f}" y="0" width="3" height="{height}" fill="{colour}"/>'
        "</svg>"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
