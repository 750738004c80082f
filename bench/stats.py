"""Summaries of repeated measurements: these machines are noisy, so every figure is a median with its range."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float | int]:
    if not values:
        raise ValueError("no measurements")
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": len(values),
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
