"""Percentiles and the median-of-runs summary every figure is reported with."""

from __future__ import annotations

import statistics
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of unsorted ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_ms(seconds: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(seconds, 50) * 1000, 2),
            "p99": round(percentile(seconds, 99) * 1000, 2)}


def summary(series: dict[str, list[float]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The median of each series, with every run's value kept under ``runs_<name>``."""
    out: dict[str, Any] = {}
    for name, values in series.items():
        out[name] = round(statistics.median(values), 2) if values else None
        out[f"runs_{name}"] = [round(v, 2) for v in values]
    out.update(extra or {})
    return out
