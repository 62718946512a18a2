"""A 2^3 design's main effects and interactions (`cross`, `effect()`, `interaction()`)
against independent references: scipy's one-sample t test on per-query contrasts built
here with numpy from the labels, and a statsmodels OLS fit of the +/-1-coded saturated
model on the cell means."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from afdsl.analysis import analyze_labels
from afdsl.check import load_experiment
from afdsl.ir import Hypothesis

from .conftest import random_counts, records_from_counts

TOL = dict(rel=1e-9, abs=1e-12)
SAMPLES = 4
N_QUERIES = 25
FACTORS = ("a", "b", "c")

AFS = """scenario s {
  section intro "You are an assistant."
  user "{cue} {query}"
  condition training { cue = "free" }
  condition deployment { cue = "paid" }
}
perturbation a = append intro " Be brief."
perturbation b = prepend intro "Note. "
perturbation c = set training.cue = "basic"
experiment e {
  base s
  model sim:opus_like
  queries ["q1", "q2"]
  cross a, b, c
  hypothesis ea: effect(a) != 0
  hypothesis eb: effect(b) != 0
  hypothesis ec: effect(c) != 0
  hypothesis iab: interaction(a, b) != 0
  hypothesis iac: interaction(a, c) != 0
  hypothesis ibc: interaction(b, c) != 0
  hypothesis iabc: interaction(a, b, c) != 0
  hypothesis mixed: effect(a) - 0.5 * interaction(b, c) > -0.3
}
"""

# Each hypothesis's factors, as the references below see them.
CONTRASTS = {
    "ea": ("a",),
    "eb": ("b",),
    "ec": ("c",),
    "iab": ("a", "b"),
    "iac": ("a", "c"),
    "ibc": ("b", "c"),
    "iabc": ("a", "b", "c"),
}


def _cells() -> list[tuple[dict[str, int], str]]:
    """Every cell of the 2^3 design: its +/-1 coding and its variant name."""
    out = []
    for signs in itertools.product((-1, 1), repeat=len(FACTORS)):
        coding = dict(zip(FACTORS, signs, strict=True))
        on = [f for f in FACTORS if coding[f] == 1]
        out.append((coding, "__".join(on) or "base"))
    return out


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("factorial") / "design.afs"
    path.write_text(AFS, encoding="utf-8")
    experiment = load_experiment(path)
    rng = np.random.default_rng(2026)
    names = [name for _, name in _cells()]
    counts = random_counts(rng, names, N_QUERIES, SAMPLES)
    gaps = {
        v: (np.asarray(counts[(v, "training")]) - np.asarray(counts[(v, "deployment")])) / SAMPLES
        for v in names
    }
    records = records_from_counts(counts, SAMPLES)
    results = analyze_labels(records, hypotheses=list(experiment.hypotheses), correction="none")
    return experiment, gaps, {h.name: h for h in results.hypotheses}


def _reference_contrast(gaps: dict[str, np.ndarray], factors: tuple[str, ...]) -> np.ndarray:
    """Per-query contrast: sign = product of the factors' +/-1, scaled to 2^(k - m)."""
    scale = 2 ** (len(FACTORS) - len(factors))
    total = np.zeros(N_QUERIES)
    for coding, name in _cells():
        total += math.prod(coding[f] for f in factors) * gaps[name]
    return total / scale


def test_the_cross_declares_the_eight_cells(design) -> None:
    experiment, _, _ = design
    assert sorted(v.name for v in experiment.variants) == sorted(n for _, n in _cells())


@pytest.mark.parametrize("name", list(CONTRASTS))
def test_each_contrast_matches_scipy_on_per_query_values(design, name: str) -> None:
    _, gaps, results = design
    values = _reference_contrast(gaps, CONTRASTS[name])
    expected = stats.ttest_1samp(values, 0.0)
    result = results[name]
    assert result.estimate == pytest.approx(values.mean(), **TOL)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    ci = expected.confidence_interval(0.95)
    assert result.ci == pytest.approx((ci.low, ci.high), **TOL)
    assert result.n_queries == N_QUERIES
    assert result.n_samples == 8 * 2 * N_QUERIES * SAMPLES


def test_the_estimates_match_an_ols_fit_of_the_saturated_model(design) -> None:
    """With x = +/-1 and y the cell's mean gap, C_F = 2^m * b_F (docs/statistics.md)."""
    _, gaps, results = design
    columns = [f for m in (1, 2, 3) for f in itertools.combinations(FACTORS, m)]
    rows, y = [], []
    for coding, name in _cells():
        rows.append([1.0] + [math.prod(coding[f] for f in combo) for combo in columns])
        y.append(gaps[name].mean())
    fit = sm.OLS(np.asarray(y), np.asarray(rows)).fit()
    by_factors = dict(zip(columns, fit.params[1:], strict=True))
    for name, factors in CONTRASTS.items():
        expected = 2 ** len(factors) * by_factors[factors]
        assert results[name].estimate == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_a_mixed_one_sided_hypothesis_keeps_its_weights_and_bound(design) -> None:
    experiment, gaps, results = design
    values = _reference_contrast(gaps, ("a",)) - 0.5 * _reference_contrast(gaps, ("b", "c"))
    result = results["mixed"]
    assert result.estimate == pytest.approx(values.mean(), **TOL)
    assert result.bound == -0.3 and result.op == ">"
    h: Hypothesis = next(h for h in experiment.hypotheses if h.name == "mixed")
    weights = {w.term.variant: w.coef for w in h.terms}
    for coding, name in _cells():
        expected = coding["a"] / 4 - 0.5 * coding["b"] * coding["c"] / 2
        assert weights.get(name, 0.0) == pytest.approx(expected)
    # One-sided p: the plain t test's, or Hall's skewness-corrected one when the values
    # are clearly skewed; either way the direction is the t statistic's.
    t = stats.ttest_1samp(values, -0.3, alternative="greater")
    assert (result.p_value < 0.5) == (t.statistic > 0)


# ------------------------------------------------------------------ power
def test_power_plans_a_contrast_with_its_weights(design) -> None:
    """`--query-sd S` (one gap's sd): effect() of a 2^3 cross has sd S/sqrt(2), a two-factor
    interaction S*sqrt(2), the three-factor one 2*sqrt(2)*S; sizes as statsmodels' t test."""
    from statsmodels.stats.power import TTestPower

    from afdsl.stats.power import hypothesis_sd, plan

    experiment, _, _ = design
    by_name = {h.name: h for h in experiment.hypotheses}
    sd = 0.3
    assert hypothesis_sd(by_name["ea"], sd) == pytest.approx(sd / math.sqrt(2))
    assert hypothesis_sd(by_name["iab"], sd) == pytest.approx(sd * math.sqrt(2))
    assert hypothesis_sd(by_name["iabc"], sd) == pytest.approx(sd * 2 * math.sqrt(2))
    # Contrast weights sum to 0: a correlation shared by all cells shrinks the sd.
    assert hypothesis_sd(by_name["ea"], sd, 0.5) == pytest.approx(sd / 2)
    effect, alpha = 0.08, 0.05 / 7
    spread = hypothesis_sd(by_name["ea"], sd)
    result = plan(by_name["ea"], effect, spread, 40, alpha)
    n = TTestPower().solve_power(effect / spread, alpha=alpha, power=0.8, alternative="two-sided")
    assert result.queries_needed == math.ceil(n)
    # Simulated designs of that size, each cell's per-query gap independent with sd S and
    # a true main effect of `a`: the contrast's t test reaches the planned power.
    rng = np.random.default_rng(11)
    replicates, size = 4000, result.queries_needed
    contrast = np.zeros((replicates, size))
    for coding, _ in _cells():
        cell = rng.normal(0.2 + coding["a"] * effect / 2, sd, size=(replicates, size))
        contrast += coding["a"] * cell / 4
    p = stats.ttest_1samp(contrast, 0.0, axis=1).pvalue
    assert float(np.mean(p < alpha)) >= 0.78


def test_afdsl_power_prints_the_contrast_spreads(design, capsys, monkeypatch) -> None:
    from afdsl.cli import main

    monkeypatch.setenv("COLUMNS", "140")
    experiment, _, _ = design
    path = experiment.source_files[0]
    assert main(["power", path, "--effect", "0.05", "--query-sd", "0.3"]) == 0
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if "│" in line}
    assert "0.212" in rows["ea"] and "0.424" in rows["iab"] and "0.849" in rows["iabc"]
