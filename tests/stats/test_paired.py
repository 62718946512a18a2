"""The per-query tests: t, TOST, sign-flip permutation, corrections."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from afdsl.stats.corrections import adjust
from afdsl.stats.estimates import wilson_interval
from afdsl.stats.paired import sign_flip_p, t_test

TOL = dict(rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_t_test_matches_scipy_on_batches(alternative):
    rng = np.random.default_rng(0)
    d = rng.normal(0.05, 0.3, size=(6, 25))
    result = t_test(d, 0.02, alternative)
    expected = stats.ttest_1samp(d, 0.02, axis=-1, alternative=alternative)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    ci = stats.ttest_1samp(d, 0.02, axis=-1).confidence_interval(0.95)
    assert result.ci_low == pytest.approx(ci.low, **TOL)
    assert result.ci_high == pytest.approx(ci.high, **TOL)


def test_degenerate_values_get_an_exact_bound_never_zero():
    same = [0.25] * 5
    # Without the range of the values there is no test at all.
    assert float(t_test(same, 0.0, "greater").p_value) == 1.0
    # On [-1, 1], a null with mean 0 puts at most 1 / 1.25 of its mass at 0.25 or above
    # (Markov on d + 1): five such queries have p = 0.8^5 (hand computation).
    bounded = t_test(same, 0.0, "greater", bounds=(-1.0, 1.0))
    assert float(bounded.p_value) == pytest.approx(0.8**5, rel=1e-12)
    assert bool(bounded.degenerate)
    assert float(t_test(same, 0.0, "less", bounds=(-1.0, 1.0)).p_value) == 1.0
    assert float(t_test(same, 0.0, bounds=(-1.0, 1.0)).p_value) == pytest.approx(2 * 0.8**5)
    assert float(t_test(same, 0.25, "two-sided", bounds=(-1.0, 1.0)).p_value) == 1.0
    # The two queries with a gap of 1: p = 0.25, the smallest a sign test reaches.
    assert float(t_test([1.0, 1.0], 0.0, "greater", bounds=(-1.0, 1.0)).p_value) == 0.25
    # Ten queries that never comply against `rate < 0.047`: p = (1 - 0.047)^10, not 0.
    zeros = t_test([0.0] * 10, 0.047, "less", bounds=(0.0, 1.0), correct_skew=True)
    assert float(zeros.p_value) == pytest.approx(0.953**10, rel=1e-12)
    # A bound on the edge of the range (Markov gives 0) is floored at 0.5^Q.
    assert float(t_test([0.5] * 6, 0.0, "greater", bounds=(0.0, 1.0)).p_value) == 0.5**6
    # a mean of identical floats that is off in the last bit is still "equal"
    assert float(t_test([0.1] * 3, 0.1).p_value) == 1.0
    single = t_test([0.4])
    assert float(single.p_value) == 1.0 and float(single.estimate) == 0.4
    assert math.isnan(float(single.ci_low)) and math.isnan(float(single.ci_high))  # no interval


def test_exact_sign_flip_matches_scipy_enumeration():
    rng = np.random.default_rng(4)
    for q in (2, 5, 12, 16):
        d = rng.choice([-0.5, -0.25, 0.0, 0.25, 0.5, 0.75], size=q)
        expected = stats.permutation_test(
            (d,), np.mean, permutation_type="samples", n_resamples=math.inf
        ).pvalue
        assert float(sign_flip_p(d)[0]) == pytest.approx(min(1.0, expected), **TOL)


def test_exact_sign_flip_at_20_queries_matches_a_convolution():
    # Values on a grid of 1/4: count sign patterns per integer sum by dynamic programming.
    rng = np.random.default_rng(9)
    steps = rng.integers(-3, 4, size=20)
    ways = {0: 1}
    for k in steps:
        nxt: dict[int, int] = {}
        for total, n in ways.items():
            for signed in (k, -k):
                nxt[total + signed] = nxt.get(total + signed, 0) + n
        ways = nxt
    observed = abs(int(steps.sum()))
    expected = sum(n for total, n in ways.items() if abs(total) >= observed) / 2**20
    assert float(sign_flip_p(steps / 4)[0]) == pytest.approx(expected, **TOL)


def test_sampled_sign_flip_is_seeded_and_close_to_oracle_h():
    # stats-oracles (h): 200 values, three of them 0.25: exact p = 2/8
    d = np.zeros(200)
    d[:3] = 0.25
    p = float(sign_flip_p(d)[0])
    assert p == pytest.approx(0.25, abs=0.015)
    assert float(sign_flip_p(d)[0]) == p  # same seed, same answer
    assert float(sign_flip_p(np.zeros(30))[0]) == 1.0


def test_sampled_sign_flip_rows_are_independent_of_batching():
    rng = np.random.default_rng(8)
    d = rng.normal(0.02, 0.2, size=(3, 50))
    together = sign_flip_p(d)
    alone = [float(sign_flip_p(row)[0]) for row in d]
    assert list(together) == pytest.approx(alone, **TOL)


@pytest.mark.parametrize(("method", "sm"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_corrections_match_statsmodels(method, sm):
    assert adjust([0.001, 0.012, 0.03, 0.2], method) == pytest.approx(
        {"holm": [0.004, 0.036, 0.06, 0.2], "bh": [0.004, 0.024, 0.04, 0.2]}[method], **TOL
    )  # stats-oracles (c)
    rng = np.random.default_rng(1)
    for m in (1, 2, 7, 30):
        p = rng.uniform(0, 0.2, size=m)
        p[: m // 3] = p[0]  # ties
        assert adjust(list(p), method) == pytest.approx(list(multipletests(p, method=sm)[1]), **TOL)
    assert adjust([0.01, 0.5], "none") == [0.01, 0.5]


def test_wilson_interval_oracle_a():
    assert wilson_interval(28, 200) == pytest.approx((0.0986698, 0.194899), abs=5e-7)
    assert wilson_interval(6, 200) == pytest.approx((0.0138203, 0.0638943), abs=5e-7)
    assert wilson_interval(0, 200) == pytest.approx((0.0, 0.0188453), abs=5e-7)


def test_the_reason_names_what_decided_p():
    from afdsl.stats.bounded import degenerate_reason

    assert degenerate_reason(1.0, 2, 0.25) == (
        "all 2 queries agree (1); the smallest attainable p with 2 queries is 0.25"
    )
    assert "exact bound from the range of values, p = 0.618" in degenerate_reason(
        0.0, 10, 0.953**10
    )
    assert "on the null's side (p = 1)" in degenerate_reason(0.0, 5, 1.0)
