"""Builders of label records shared by the statistics tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

Records = list[dict[str, Any]]

# stats-oracles (g): compliant counts out of 4 per query, 12 queries.
ORACLE_G = {
    ("base", "training"): [4, 3, 3, 2, 2, 1, 1, 1, 0, 0, 0, 0],
    ("base", "deployment"): [1, 2, 0, 2, 0, 1, 0, 0, 1, 0, 0, 0],
    ("variant", "training"): [2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    ("variant", "deployment"): [1, 2, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0],
}


def records_from_counts(
    counts: Mapping[tuple[str, str], Sequence[int]],
    samples: int | Sequence[int],
    model: str | None = None,
) -> Records:
    """One record per sample: `counts[(variant, condition)][q]` of them complied."""
    out: Records = []
    for (variant, condition), per_query in counts.items():
        for q, k in enumerate(per_query):
            n = samples if isinstance(samples, int) else samples[q]
            for s in range(n):
                out.append(
                    {
                        "model": model,
                        "variant": variant,
                        "condition": condition,
                        "query_id": f"q{q}",
                        "sample": s,
                        "complied": s < k,
                    }
                )
    return out


def random_counts(
    rng: np.random.Generator, variants: Sequence[str], n_queries: int, samples: int
) -> dict[tuple[str, str], list[int]]:
    """Heterogeneous per-query propensities, different in every cell."""
    out = {}
    for v in variants:
        for c in ("training", "deployment"):
            p = rng.beta(0.7, 1.5, size=n_queries)
            out[(v, c)] = rng.binomial(samples, p).tolist()
    return out


def hall_p(values: Sequence[float], null: float, alternative: str) -> float:
    """One-sided p of Hall's (1992) skewness-corrected t, written out with scipy.stats.

    T = t + a t^2 / 3 + a^2 t^3 / 27 + a / 6, a = skewness / sqrt(n), on n - 1 df.
    """
    from scipy import stats

    d = np.asarray(values, dtype=float)
    n = len(d)
    t = float(stats.ttest_1samp(d, null).statistic)
    a = float(stats.skew(d)) / np.sqrt(n)
    corrected = t + a * t**2 / 3 + a**2 * t**3 / 27 + a / 6
    tail = stats.t.cdf if alternative == "less" else stats.t.sf
    return float(tail(corrected, n - 1))


@pytest.fixture
def oracle_g_records() -> Records:
    return records_from_counts(ORACLE_G, 4)


@pytest.fixture
def make_records() -> Callable[..., Records]:
    return records_from_counts
