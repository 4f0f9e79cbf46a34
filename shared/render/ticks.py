"""Axis ticks a person reads at a glance: 1, 2 or 5 times a power of ten."""

from __future__ import annotations

import math


def nice_step(span: float, target_ticks: int = 5) -> float:
    """The tick spacing closest to `span / target_ticks` among 1, 2, 5 x 10^n."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, target_ticks)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def nice_range(low: float, high: float, target_ticks: int = 5) -> tuple[float, float, float]:
    """(start, end, step): `low..high` widened outward to whole steps."""
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_step(high - low, target_ticks)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def ticks(start: float, end: float, step: float) -> list[float]:
    """The tick values from `start` to `end` inclusive, free of float drift."""
    count = round((end - start) / step)
    return [round(start + index * step, 12) for index in range(count + 1)]


def tick_label(value: float, step: float) -> str:
    """`value` with as many decimals as the tick spacing needs (0.05 -> 2, 100 -> 0)."""
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}"
