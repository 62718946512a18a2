"""Multiple-comparison adjustments of p values within one family."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

CorrectionMethod = Literal["holm", "bh", "none"]


def adjust(p_values: Sequence[float], method: CorrectionMethod) -> list[float]:
    """Adjusted p values in input order (reject when adjusted p < alpha).

    `holm`: step-down family-wise error control (valid under any dependence).
    `bh`: Benjamini-Hochberg step-up false discovery rate control.
    `none`: unchanged.
    """
    m = len(p_values)
    if method == "none" or m == 0:
        return [float(p) for p in p_values]
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    if method == "holm":
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p_values[i]))
            adjusted[i] = running
    elif method == "bh":
        running = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, m * p_values[i] / (rank + 1))
            adjusted[i] = min(1.0, running)
    else:
        raise ValueError(f"unknown correction {method!r}")
    return adjusted
