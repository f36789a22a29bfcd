"""The one way the benchmark scripts print a measurement: median, min, max, count."""

from __future__ import annotations

import statistics


def fmt(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values) * scale:7.3f} {unit}  (min {min(values) * scale:.3f}, "
            f"max {max(values) * scale:.3f}, n={len(values)})")
