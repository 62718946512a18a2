"""Power planning: the stats-oracles (e) figures and simulated power within 5 points."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from afdsl.ir import Hypothesis, Term, WeightedTerm
from afdsl.stats.power import (
    design_power,
    hypothesis_sd,
    plan,
    queries_needed,
    query_sd,
    t_power,
    t_queries_needed,
    tost_power,
    tost_queries_needed,
)

REPLICATES = 4000


@pytest.mark.parametrize(
    ("samples", "omega2", "expected"),
    [(4, 0.02, 68.6777), (4, 0.0, 44.1499), (1, 0.0, 176.6), (10, 0.02, 42.1877)],
)
def test_paired_design_sizes_match_oracle_e(samples, omega2, expected):
    n = queries_needed(0.08, query_sd(0.12, 0.04, samples, omega2), alpha=0.05, power=0.8)
    assert n == pytest.approx(expected, rel=2e-5)


def test_tost_size_matches_oracle_e():
    assert tost_queries_needed(0.0, 0.05, math.sqrt(0.08)) == pytest.approx(274.043, rel=2e-6)


def test_effect_against_a_one_sided_hypothesis_needs_infinitely_many_queries():
    assert queries_needed(-0.05, 0.3, alternative="greater") == math.inf
    h = Hypothesis(
        name="h",
        expression="gap(a) > 0",
        terms=(WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),),
        op=">",
    )
    assert plan(h, -0.05, 0.3, 100).queries_needed is None


def _simulate_gaps(rng, n_queries, samples, spread, p_train=0.12, p_deploy=0.04):
    """Per-query gaps: training propensity 0.12 +- spread (omega^2 = spread^2), deployment 0.04."""
    shape = (REPLICATES, n_queries)
    p_t = p_train + spread * rng.choice([-1.0, 1.0], size=shape)
    return (
        rng.binomial(samples, p_t) / samples - rng.binomial(samples, p_deploy, size=shape) / samples
    )


def _sd(samples, spread, p_train=0.12, p_deploy=0.04):
    within = p_train - (p_train**2 + spread**2) + p_deploy * (1 - p_deploy)
    return math.sqrt(spread**2 + within / samples)


@pytest.mark.parametrize(("alternative", "seed"), [("two-sided", 0), ("greater", 1)])
def test_planned_size_reaches_the_target_power_in_simulation(alternative, seed):
    rng = np.random.default_rng(seed)
    sd = _sd(4, 0.07)
    n = math.ceil(queries_needed(0.08, sd, 0.05, 0.8, alternative))
    g = _simulate_gaps(rng, n, 4, 0.07)
    p = stats.ttest_1samp(g, 0.0, axis=1, alternative=alternative).pvalue
    assert abs(float(np.mean(p < 0.05)) - 0.8) <= 0.05


def test_power_of_a_smaller_design_matches_simulation():
    rng = np.random.default_rng(2)
    sd = _sd(2, 0.05)
    g = _simulate_gaps(rng, 30, 2, 0.05)
    simulated = float(np.mean(stats.ttest_1samp(g, 0.0, axis=1).pvalue < 0.05))
    predicted = design_power(0.08, sd, 30)
    assert 0.3 < predicted < 0.9  # a design in the informative middle of the curve
    assert abs(simulated - predicted) <= 0.05


def test_tost_power_matches_simulation():
    rng = np.random.default_rng(3)
    margin, n = 0.1, 40
    shape = (REPLICATES, n)
    # two variants with the same per-query propensities: the true difference is 0
    p = rng.beta(1, 4, size=shape)
    d = (rng.binomial(4, p) - rng.binomial(4, p)) / 4
    sd = math.sqrt(2 * 4 * (0.2 - (0.2**2 + 4 / (25 * 6))) / 16)  # E[p(1-p)]*2/K, Beta(1,4)
    se = d.std(axis=1, ddof=1) / math.sqrt(n)
    mean = d.mean(axis=1)
    p_tost = np.maximum(
        stats.t.sf((mean + margin) / se, n - 1), stats.t.cdf((mean - margin) / se, n - 1)
    )
    simulated = float(np.mean(p_tost < 0.05))
    predicted = tost_power(0.0, margin, sd, n)
    assert 0.3 < predicted < 0.9
    assert abs(simulated - predicted) <= 0.05


def _contrast_hypothesis() -> Hypothesis:
    return Hypothesis(
        name="h",
        expression="gap(a) > gap(b)",
        terms=(
            WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),
            WeightedTerm(coef=-1, term=Term(kind="gap", variant="b")),
        ),
        op=">",
    )


def _two_variant_gaps(rng, n_queries, shared, own, samples=4, p_deploy=0.1):
    """Per-query gaps of variants a (true gap 0.15) and b (0.08) over the same queries.

    Each query's training propensity moves by `shared` * u_q (u_q = +-1, the same
    for both variants: correlated gaps) and by `own` * w_vq (independent per variant).
    Returns d = g_a - g_b and the exact variance and covariance of the two gaps.
    """
    shape = (REPLICATES, n_queries)
    u = rng.choice([-1.0, 1.0], size=shape)
    gaps, variances = [], []
    for true_gap in (0.15, 0.08):
        m = p_deploy + true_gap
        p_t = m + shared * u + own * rng.choice([-1.0, 1.0], size=shape)
        r_t = rng.binomial(samples, p_t) / samples
        r_d = rng.binomial(samples, p_deploy, size=shape) / samples
        gaps.append(r_t - r_d)
        spread = shared**2 + own**2
        within = (m - m * m - spread) + p_deploy * (1 - p_deploy)  # E[p(1-p)], both cues
        variances.append(spread + within / samples)
    return gaps[0] - gaps[1], variances, shared**2


@pytest.mark.parametrize(("shared", "own", "seed"), [(0.0, 0.08, 4), (0.1, 0.04, 5)])
def test_contrast_plan_uses_the_spread_of_a_difference_of_gaps(shared, own, seed):
    """Planned size for `gap(a) > gap(b)` from one gap's sd (and the correlation)."""
    rng = np.random.default_rng(seed)
    _, variances, covariance = _two_variant_gaps(rng, 2, shared, own)
    term_var = sum(variances) / 2
    term_sd, rho = math.sqrt(term_var), covariance / term_var
    h = _contrast_hypothesis()
    spread = hypothesis_sd(h, term_sd, rho)
    assert spread == pytest.approx(math.sqrt(sum(variances) - 2 * covariance), rel=1e-12)
    n = plan(h, 0.07, spread, 1).queries_needed
    d, _, _ = _two_variant_gaps(rng, n, shared, own)
    p = stats.ttest_1samp(d, 0.0, axis=1, alternative="greater").pvalue
    simulated = float(np.mean(p < 0.05))
    assert abs(simulated - 0.8) <= 0.05
    # One gap's sd for the whole contrast (the old plan) promises power the design lacks.
    assert plan(h, 0.07, term_sd, n).power - simulated > 0.1


def test_spread_of_single_terms_and_correlated_pairs():
    h = _contrast_hypothesis()
    single = Hypothesis(
        name="g",
        expression="gap(a) > 0",
        terms=(WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),),
        op=">",
    )
    assert hypothesis_sd(single, 0.3) == pytest.approx(0.3)
    assert hypothesis_sd(single, 0.3, 0.9) == pytest.approx(0.3)
    assert hypothesis_sd(h, 0.3) == pytest.approx(0.3 * math.sqrt(2))
    assert hypothesis_sd(h, 0.3, 0.5) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        hypothesis_sd(h, 0.3, -0.2)


@pytest.mark.parametrize(("op", "margin"), [(">", None), ("==", 0.1)])
def test_a_plan_never_asks_for_fewer_queries_than_the_analysis_can_test(op, margin):
    # A huge effect or no noise put the normal formula below one query: `afdsl power` printed
    # "queries needed 1" (even 0) and power 0.91 for a 1-query design, which the analysis
    # never tests (one value has no spread: p = 1, no interval).
    h = Hypothesis(
        name="h",
        expression="gap(a) > 0",
        terms=(WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),),
        op=op,
        margin=margin,
    )
    for sd in (0.01, 0.0):
        one = plan(h, 0.3 if op == ">" else 0.0, sd, 1)
        assert one.queries_needed == 2
        assert one.power == 0.0


def test_a_vanishing_effect_needs_more_queries_than_any_design():
    # effect**2 underflowed to 0: `afdsl power --effect 1e-200` was an internal error
    # (ZeroDivisionError).
    effect = 1e-200
    h = Hypothesis(
        name="h",
        expression="gap(a) > 0",
        terms=(WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),),
        op=">",
    )
    assert queries_needed(effect, 0.2, alternative="greater") > 1e300
    result = plan(h, effect, 0.2, 100)
    assert result.queries_needed is None
    assert result.power == pytest.approx(0.05, abs=1e-9)  # no effect: power = alpha


@pytest.mark.parametrize(("op", "alternative"), [(">", "larger"), ("!=", "two-sided")])
def test_small_plans_are_sized_for_the_t_test_the_analysis_runs(op, alternative):
    # A pilot of animal_welfare.afs: effect 0.158, sd 0.161, three hypotheses (alpha / 3).
    # The normal formula asked for 10 queries, where the t test has about 70% power.
    from statsmodels.stats.power import TTestPower

    h = Hypothesis(
        name="h",
        expression=f"gap(a) {op} 0",
        terms=(WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),),
        op=op,
    )
    effect, sd, alpha = 0.158, 0.161, 0.05 / 3
    reference = TTestPower()
    result = plan(h, effect, sd, 24, alpha)
    n = reference.solve_power(effect / sd, alpha=alpha, power=0.8, alternative=alternative)
    assert result.queries_needed == math.ceil(n)
    assert result.power == pytest.approx(
        reference.power(effect / sd, 24, alpha, alternative=alternative), abs=1e-9
    )
    # Simulated normal per-query values at the planned size: the t test reaches 80%
    # (4000 replicates: Monte Carlo sd 0.0063, so 0.78 is 3 sd below the target).
    rng = np.random.default_rng(6)
    d = rng.normal(effect, sd, size=(REPLICATES, result.queries_needed))
    scipy_alternative = "greater" if op == ">" else "two-sided"
    p = stats.ttest_1samp(d, 0.0, axis=1, alternative=scipy_alternative).pvalue
    assert float(np.mean(p < alpha)) >= 0.78


def test_t_power_stays_a_probability_where_scipy_gives_nan():
    # scipy's noncentral t cdf is NaN far out in a tail (nctdtr(101, 5.6, -3.8)); the
    # two-sided power came out NaN and the planned size skipped past the right one.
    effect, alpha = 0.5522752666220093, 0.0002689360824928592
    for n in (102, 104, 105):
        df = n - 1
        critical = stats.t.ppf(1 - alpha / 2, df)
        upper = stats.nct.sf(critical, df, math.sqrt(n) * effect)
        # The far tail is below the central t's alpha / 2 (a positive shift moves mass up).
        assert abs(t_power(effect, 1.0, n, alpha) - upper) <= alpha / 2
    # The smallest design with 80% power, by brute force over n (upper tails only: the
    # far tail is below 1e-15 here).
    brute = next(
        n
        for n in range(2, 200)
        if stats.nct.sf(stats.t.ppf(1 - alpha / 2, n - 1), n - 1, math.sqrt(n) * effect) >= 0.8
    )
    assert t_queries_needed(effect, 1.0, alpha, 0.8) == brute
    # A tiny design with a huge effect, against a simulated t test (200,000 replicates:
    # Monte Carlo sd 0.0005, tolerance 4 sd).
    rng = np.random.default_rng(8)
    d = rng.normal(3.61, 1.0, size=(200_000, 4))
    simulated = float(np.mean(stats.ttest_1samp(d, 0.0, axis=1).pvalue < 0.025))
    assert t_power(3.61, 1.0, 4, 0.025) == pytest.approx(simulated, abs=0.002)


def test_tost_power_is_exact_for_normal_values():
    # The design: 8 queries, margin 0.2, sd 0.2, true difference 0. The normal
    # approximation planned 0.763; here an independent double integral with scipy.stats
    # (over the sample mean and the chi-square variance) and afdsl's own TOST on
    # simulated data (40,000 replicates: Monte Carlo sd 0.0024).
    from scipy.integrate import quad

    from afdsl.stats.paired import tost

    n, margin, sd = 8, 0.2, 0.2
    c = stats.t.ppf(0.95, n - 1)

    def given_variance(v):
        s = sd * math.sqrt(v / (n - 1))
        lo, hi = -margin + c * s / math.sqrt(n), margin - c * s / math.sqrt(n)
        inside = stats.norm.cdf(hi, 0, sd / math.sqrt(n)) - stats.norm.cdf(lo, 0, sd / math.sqrt(n))
        return max(0.0, inside) * stats.chi2.pdf(v, n - 1)

    reference, _ = quad(given_variance, 0, 200, limit=400)
    assert tost_power(0.0, margin, sd, n) == pytest.approx(reference, abs=1e-7)
    assert tost_power(0.0, margin, sd, n) == pytest.approx(0.635, abs=0.001)
    rng = np.random.default_rng(9)
    d = rng.normal(0.0, sd, size=(40_000, n))
    simulated = float(
        np.mean(tost(d, -margin, margin, bounds=(-1, 1), correct_skew=True).p_value < 0.05)
    )
    assert abs(simulated - tost_power(0.0, margin, sd, n)) <= 0.03


def test_tost_plan_is_the_smallest_design_with_exact_power():
    h = Hypothesis(
        name="h",
        expression="gap(a) == 0 within 0.2",
        terms=(WeightedTerm(coef=1, term=Term(kind="gap", variant="a")),),
        op="==",
        margin=0.2,
    )
    result = plan(h, 0.05, 0.2, 8)
    n = result.queries_needed
    assert n is not None
    assert tost_power(0.05, 0.2, 0.2, n) >= 0.8 > tost_power(0.05, 0.2, 0.2, n - 1)
    assert result.power == pytest.approx(tost_power(0.05, 0.2, 0.2, 8))
    assert "exact" in result.method


def test_the_fixed_design_the_sequential_docs_compare_with():
    # docs/statistics.md section 8: a gap of 0.11 (14% vs 3%, 4 samples per query) needs
    # 21 queries for 80% one-sided power (the docs said "about 25").
    sd = query_sd(0.14, 0.03, 4)
    assert t_queries_needed(0.11, sd, 0.05, 0.8, "greater") == 21
    assert math.ceil(queries_needed(0.11, sd, 0.05, 0.8, "greater")) == 20
