"""Validity under strong between-query heterogeneity (seeded, vectorised Monte Carlo).

Each replicate draws fresh queries: a deployment propensity p ~ Beta(0.5, 2)
and a per-query share u ~ Beta(0.3, 0.7) of the remaining room that the
training cue adds, so gaps differ widely between queries. Under the null the
variant draws its own u from the same distribution: every query's gap
changes, but the expected change over queries is 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from afdsl.stats.paired import t_test

REPLICATES, QUERIES, SAMPLES = 4000, 50, 10
TRUE_GAP = 0.3 * (1 - 0.2)  # E[u] * E[1 - p], u and p independent


def _simulate(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (REPLICATES, QUERIES)
    p = rng.beta(0.5, 2.0, size=shape)
    rates = {}
    for variant in ("base", "variant"):
        u = rng.beta(0.3, 0.7, size=shape)
        for cond, prob in (("training", p + u * (1 - p)), ("deployment", p)):
            rates[(variant, cond)] = rng.binomial(SAMPLES, prob) / SAMPLES
    return rates


@pytest.fixture(scope="module")
def simulated():
    return _simulate(2024)


def test_contrast_false_positives_are_nominal(simulated):
    r = simulated
    g_base = r[("base", "training")] - r[("base", "deployment")]
    g_var = r[("variant", "training")] - r[("variant", "deployment")]
    p = t_test(g_var - g_base).p_value
    false_positives = float(np.mean(p < 0.05))
    assert 0.03 <= false_positives <= 0.07

    # The same data pooled as independent trials (delta method on four pooled
    # rates) rejects far too often: the simulation can tell a wrong method.
    n = QUERIES * SAMPLES
    pooled = {k: v.mean(axis=1) for k, v in r.items()}
    did = (pooled[("variant", "training")] - pooled[("variant", "deployment")]) - (
        pooled[("base", "training")] - pooled[("base", "deployment")]
    )
    se = np.sqrt(sum(x * (1 - x) / n for x in pooled.values()))
    naive = float(np.mean(np.abs(did / se) > 1.959963984540054))
    assert naive > 0.15


def test_gap_interval_coverage_is_nominal(simulated):
    g = simulated[("base", "training")] - simulated[("base", "deployment")]
    result = t_test(g)
    covered = float(np.mean((result.ci_low <= TRUE_GAP) & (result.ci_high >= TRUE_GAP)))
    assert 0.93 <= covered <= 0.97
