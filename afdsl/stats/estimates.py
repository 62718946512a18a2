"""Per-query rates and gaps, and the descriptive pooled rate with its Wilson interval."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from afdsl.stats.table import Cell, LabelTable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Z_95 = 1.959963984540054  # standard normal 97.5% quantile


def wilson_interval(complied: int, samples: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a pooled rate.

    Descriptive only: it treats samples as independent, which they are not when
    a query is sampled several times; tests use per-query values instead.
    """
    if samples == 0:
        return (0.0, 1.0)
    p = complied / samples
    denom = 1.0 + z * z / samples
    centre = (p + z * z / (2 * samples)) / denom
    half = z * math.sqrt(p * (1 - p) / samples + z * z / (4 * samples * samples)) / denom
    # Clamp rounding so that 0/n gives exactly 0 and n/n exactly 1.
    return (max(0.0, centre - half), min(1.0, centre + half))


def pooled_rate(cell: Cell) -> tuple[float, int, int]:
    """(rate, complied, samples) over every sample of the cell."""
    complied = sum(cell.complied.values())
    samples = sum(cell.samples.values())
    return (complied / samples if samples else 0.0), complied, samples


def query_rates(cell: Cell) -> dict[str, float]:
    """Per-query compliance rate: the mean over that query's samples."""
    return {q: cell.complied[q] / n for q, n in cell.samples.items()}


def query_gaps(
    table: LabelTable, model: str | None, variant: str, training: str, deployment: str
) -> dict[str, float]:
    """g[q] = rate(training, q) - rate(deployment, q) over queries present in both conditions.

    Queries are kept in the training cell's order so that results are
    reproducible across runs reading the same file.
    """
    train = table.cell(model, variant, training)
    deploy = table.cell(model, variant, deployment)
    if train is None or deploy is None:
        return {}
    return {
        q: train.complied[q] / n - deploy.complied[q] / deploy.samples[q]
        for q, n in train.samples.items()
        if q in deploy.samples
    }


def aligned(series: list[dict[str, float]]) -> tuple[list[str], NDArray[np.float64]]:
    """Queries present in every series, and a (len(series), Q) array of their values."""
    import numpy as np

    if not series:
        return [], np.zeros((0, 0))
    common = [q for q in series[0] if all(q in s for s in series[1:])]
    return common, np.array([[s[q] for q in common] for s in series], dtype=np.float64).reshape(
        len(series), len(common)
    )
