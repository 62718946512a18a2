"""Level, coverage and power where the plain t test failed (issue 15), by seeded simulation.

Low, heterogeneous rates: each query's compliance probability is
expit(-4.5 + N(0, 2^2)) (mean 4.7%, most queries near 0, a few far above),
5 samples per query. Per-query rates are then strongly right-skewed and the
t statistic's spread shrinks with its mean. Every figure is a batch of data
sets tested in one vectorised call; Monte Carlo sd of a 5% rate over 4000
replicates is 0.0034, so the [3%, 7%] bands are about 6 sd wide.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from afdsl.analysis import analyze_labels  # hypotheses may be text, parsed as --hypothesis
from afdsl.stats.paired import t_test
from afdsl.stats.sequential import log_wealth

REPLICATES, SAMPLES = 4000, 5


def _true_means() -> tuple[float, float]:
    """Mean deployment rate and mean gap of the low-rate design (4 million queries)."""
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, 4_000_000)
    deploy = expit(-4.5 + z)
    train = expit(-3.5 + z + rng.normal(0.0, 1.0, z.size))
    return float(deploy.mean()), float((train - deploy).mean())


TRUE_RATE, TRUE_GAP = _true_means()


def _low_rates(rng: np.random.Generator, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query deployment rates and gaps: training adds 1 on the logit scale, +- 1."""
    shape = (REPLICATES, queries)
    z = rng.normal(0.0, 2.0, shape)
    deploy = rng.binomial(SAMPLES, expit(-4.5 + z)) / SAMPLES
    train = rng.binomial(SAMPLES, expit(-3.5 + z + rng.normal(0.0, 1.0, shape))) / SAMPLES
    return deploy, train - deploy


@pytest.fixture(scope="module")
def forty_queries() -> tuple[np.ndarray, np.ndarray]:
    return _low_rates(np.random.default_rng(15), 40)


def _rejects(values: np.ndarray, null: float, alternative: str, bounds, skew: bool) -> float:
    p = t_test(values, null, alternative, bounds=bounds, correct_skew=skew).p_value  # type: ignore[arg-type]
    return float(np.mean(p < 0.05))


@pytest.mark.parametrize("alternative", ["less", "greater"])
def test_a_rate_bound_keeps_its_level_at_low_rates(forty_queries, alternative):
    rates, _ = forty_queries
    level = _rejects(rates, TRUE_RATE, alternative, (0.0, 1.0), skew=True)
    assert 0.03 <= level <= 0.07
    if alternative == "less":  # the plain t test passes `rate < true rate` about 16% of the time
        assert _rejects(rates, TRUE_RATE, alternative, (0.0, 1.0), skew=False) > 0.12


@pytest.mark.parametrize("alternative", ["less", "greater"])
def test_a_gap_bound_keeps_its_level_at_low_rates(forty_queries, alternative):
    _, gaps = forty_queries
    assert 0.03 <= _rejects(gaps, TRUE_GAP, alternative, (-1.0, 1.0), skew=True) <= 0.07


def test_gap_below_at_twelve_queries_is_better_than_the_t_test_but_short_of_its_level():
    # The known shortfall (docs/statistics.md, section 3): false passes come from samples
    # with one to four non-zero gaps, which no skewness correction can repair. Guards both
    # the gain (12.8% with the plain t) and the documented ceiling (8.2% measured).
    _, gaps = _low_rates(np.random.default_rng(22), 12)
    level = _rejects(gaps, TRUE_GAP, "less", (-1.0, 1.0), skew=True)
    assert 0.065 <= level <= 0.10
    assert _rejects(gaps, TRUE_GAP, "less", None, skew=False) > 0.11


def test_few_queries_that_never_comply_no_longer_pass_rate_below():
    # At 10 queries a sixth of the data sets have every query at 0; "no spread, on the
    # alternative's side" gave them p = 0, and every false pass came from that rule.
    rates, _ = _low_rates(np.random.default_rng(16), 10)
    assert np.mean(rates.max(axis=1) == 0) > 0.1
    assert _rejects(rates, TRUE_RATE, "less", (0.0, 1.0), skew=True) <= 0.05


def _coverage(result) -> float:
    return float(np.mean((result.ci_low <= TRUE_GAP) & (result.ci_high >= TRUE_GAP)))


def test_the_gap_interval_covers_at_eight_queries():
    _, gaps = _low_rates(np.random.default_rng(17), 8)
    result = t_test(gaps, bounds=(-1.0, 1.0), correct_skew=True)  # as a variant's gap_ci
    assert 0.93 <= _coverage(result) <= 0.97
    # The misses were samples whose gaps were all 0, with the point 0 as their interval.
    assert float(np.mean(result.degenerate)) > 0.03


def test_the_gap_interval_reaches_further_up_on_skewed_gaps():
    _, gaps = _low_rates(np.random.default_rng(21), 20)
    plain = _coverage(t_test(gaps, bounds=(-1.0, 1.0)))
    widened = _coverage(t_test(gaps, bounds=(-1.0, 1.0), correct_skew=True))
    assert plain < 0.92 and widened - plain > 0.01  # about 91% -> 92.5%


def test_the_issue_reproduction_two_agreeing_queries():
    records = [
        {"variant": "base", "condition": c, "query_id": q, "sample": 0, "complied": c == "training"}
        for q in ("a", "b")
        for c in ("training", "deployment")
    ]
    (h,) = analyze_labels(records, hypotheses=["h: gap(base) > 0"]).hypotheses
    assert h.p_value == 0.25 and h.verdict == "fail"
    assert "all 2 queries agree (1); the smallest attainable p with 2 queries is 0.25" in h.method
    # All-zero data no longer pass a TOST with p = 0.
    zeros = [{**r, "complied": False} for r in records]
    (same,) = analyze_labels(zeros, hypotheses=["s: gap(base) == 0 within 0.1"]).hypotheses
    assert same.p_value >= 0.25 and same.verdict == "fail"


def test_the_sequential_test_has_power_by_60_queries():
    # A gap of 0.11 (training 14%, deployment 3%, 4 samples per query) against `gap > 0`:
    # the bet capped at 0.5 passed 36% by 60 queries.
    rng = np.random.default_rng(18)
    shape = (2000, 60)
    gaps = (rng.binomial(4, 0.14, shape) - rng.binomial(4, 0.03, shape)) / 4
    crossed = (log_wealth(gaps) >= math.log(1 / 0.05)).any(axis=1)
    assert float(np.mean(crossed)) >= 0.80  # Monte Carlo sd 0.009 around the 0.90 measured


def test_json_of_a_one_query_analysis_has_no_nan():
    import json

    records = [
        {"variant": "base", "condition": c, "query_id": "a", "sample": 0, "complied": True}
        for c in ("training", "deployment")
    ]
    result = analyze_labels(records, hypotheses=["s: gap(base) == 0 within 0.1"])
    document = result.model_dump(mode="json")
    json.dumps(document, allow_nan=False)  # raises on NaN
    assert document["variants"][0]["gap_ci"] == [None, None]
    assert document["hypotheses"][0]["ci"] == [None, None]
    assert math.isnan(result.model_dump()["variants"][0]["gap_ci"][0])  # python mode keeps NaN


@pytest.mark.parametrize("alternative", ["less", "greater"])
def test_one_sided_contrasts_between_exchangeable_variants_stay_at_their_level(alternative):
    # The correction only acts on skewed values; a difference of two gaps drawn alike is
    # symmetric, so one-sided contrasts keep the t test's level even at 8 queries.
    rng = np.random.default_rng(19)
    shape = (REPLICATES, 8)
    p = rng.beta(0.5, 2.0, size=shape)
    gaps = []
    for _ in range(2):
        u = rng.beta(0.3, 0.7, size=shape)
        gaps.append((rng.binomial(10, p + u * (1 - p)) - rng.binomial(10, p)) / 10)
    level = _rejects(gaps[1] - gaps[0], 0.0, alternative, (-2.0, 2.0), skew=True)
    assert 0.03 <= level <= 0.07


def test_an_equivalence_at_low_rates_keeps_its_level():
    # `rate(V, C) == c within m` with the true rate on the upper edge: TOST's `<` side is
    # the anti-conservative one for right-skewed rates (9% with plain t tests at 100
    # queries).
    from afdsl.stats.paired import tost

    rng = np.random.default_rng(20)
    z = rng.normal(0.0, 2.0, (REPLICATES, 100))
    rates = rng.binomial(SAMPLES, expit(-4.5 + z)) / SAMPLES
    low, high = TRUE_RATE - 0.04, TRUE_RATE
    plain = float(np.mean(tost(rates, low, high, bounds=(0.0, 1.0)).p_value < 0.05))
    fixed = tost(rates, low, high, bounds=(0.0, 1.0), correct_skew=True).p_value
    assert plain > 0.075
    assert 0.03 <= float(np.mean(fixed < 0.05)) <= 0.07


def test_a_contrast_whose_queries_all_agree_says_why_its_p_is_exact():
    records = [
        {"variant": v, "condition": c, "query_id": q, "sample": 0,
         "complied": v == "v" and c == "training"}
        for v in ("base", "v", "w")
        for q in ("a", "b", "c")
        for c in ("training", "deployment")
    ]  # fmt: skip
    records[-2]["complied"] = True  # w: one query with a gap, so its differences vary
    result = analyze_labels(records)
    agreeing, varied = result.contrasts
    # All 3 differences are 1 in [-2, 2]: twice the Markov bound ((0 + 2) / (1 + 2)) ** 3.
    assert agreeing.p_value == pytest.approx(2 * (2 / 3) ** 3)
    assert agreeing.note == (
        "all 3 per-query values equal 1: no spread for a t test; "
        "exact bound from the range of values, p = 0.593"
    )
    assert varied.note is None
    document = result.model_dump(mode="json")["contrasts"]
    assert document[0]["note"] == agreeing.note and document[1]["note"] is None
