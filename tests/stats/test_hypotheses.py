"""Hypotheses (IR objects and strings) against scipy and statsmodels computed separately."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from afdsl.analysis import analyze_labels  # hypotheses may be text, parsed as --hypothesis
from afdsl.diagnostics import AfsError
from afdsl.ir import Hypothesis, Term, WeightedTerm

from .conftest import hall_p, random_counts, records_from_counts

TOL = dict(rel=1e-9, abs=1e-12)
SAMPLES = 4


def gap(v: str, coef: float = 1.0) -> WeightedTerm:
    return WeightedTerm(coef=coef, term=Term(kind="gap", variant=v))


def rate(v: str, c: str, coef: float = 1.0) -> WeightedTerm:
    return WeightedTerm(coef=coef, term=Term(kind="rate", variant=v, condition=c))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(17)
    counts = random_counts(rng, ["base", "a", "b"], 30, SAMPLES)
    r = {k: np.asarray(v) / SAMPLES for k, v in counts.items()}
    g = {v: r[(v, "training")] - r[(v, "deployment")] for v in ("base", "a", "b")}
    return records_from_counts(counts, SAMPLES), r, g


def _one(records, h, **kw):
    (result,) = analyze_labels(records, hypotheses=[h], **kw).hypotheses
    return result


@pytest.mark.parametrize(("op", "alternative"), [("<", "less"), (">", "greater")])
def test_one_sided_paired_gap_comparison(data, op, alternative):
    records, _, g = data
    h = Hypothesis(
        name="h", expression=f"gap(a) {op} gap(base)", terms=(gap("a"), gap("base", -1)), op=op
    )
    result = _one(records, h)
    expected = stats.ttest_rel(g["a"], g["base"], alternative=alternative)
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.estimate == pytest.approx(np.mean(g["a"] - g["base"]), **TOL)
    ci = stats.ttest_rel(g["a"], g["base"]).confidence_interval(0.95)
    assert result.ci == pytest.approx((ci.low, ci.high), **TOL)
    assert "one-sided" in result.method and "queries as clusters" in result.method
    assert result.n_queries == 30 and result.n_samples == 4 * 30 * SAMPLES


def test_one_sample_gap_against_a_bound(data):
    records, _, g = data
    h = Hypothesis(name="h", expression="gap(b) > 0.05", terms=(gap("b"),), op=">", bound=0.05)
    result = _one(records, h)
    expected = stats.ttest_1samp(g["b"], 0.05, alternative="greater")
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert "skewness" not in result.method  # skewness -0.43, within noise at 30 queries


@pytest.mark.parametrize("op", ["<", ">"])
def test_a_rate_near_zero_gets_the_skewness_corrected_test(op, make_records):
    # 20 queries, most never complying: per-query rates with skewness 2.0, far beyond the
    # 1.22 that a sample of 20 normal values exceeds about 1% of the time.
    complied = [0] * 13 + [1, 1, 1, 2, 2, 3, 5]
    counts = {("base", "training"): complied, ("base", "deployment"): complied}
    h = f"h: rate(base, deployment) {op} 0.12"
    (result,) = analyze_labels(make_records(counts, 5), hypotheses=[h]).hypotheses
    r = np.array(complied) / 5
    n = len(r)
    assert float(stats.skew(r)) > 2.576 * np.sqrt(6 * (n - 2) / ((n + 1) * (n + 3)))
    alternative = "less" if op == "<" else "greater"
    assert result.p_value == pytest.approx(hall_p(r, 0.12, alternative), **TOL)
    assert "skewness-corrected, one-sided" in result.method
    plain = stats.ttest_1samp(r, 0.12, alternative=alternative).pvalue
    # Right skew: the plain t test overstates the evidence that the rate is low.
    assert (result.p_value > plain) == (op == "<")


def test_rate_combination_two_sided(data):
    records, r, _ = data
    h = Hypothesis(
        name="h",
        expression="rate(a, training) - 0.5 * rate(base, deployment) != 0.1",
        terms=(rate("a", "training"), rate("base", "deployment", -0.5)),
        op="!=",
        bound=0.1,
    )
    result = _one(records, h)
    d = r[("a", "training")] - 0.5 * r[("base", "deployment")]
    assert result.p_value == pytest.approx(stats.ttest_1samp(d, 0.1).pvalue, **TOL)
    assert result.n_samples == 2 * 30 * SAMPLES
    assert "two-sided" in result.method


@pytest.mark.parametrize(("alpha", "percent"), [(0.05, 0.90), (0.01, 0.98)])
def test_equivalence_is_tost_with_a_1_minus_2_alpha_interval(data, alpha, percent):
    records, _, g = data
    h = Hypothesis(
        name="same",
        expression="gap(a) == gap(b) within 0.2",
        terms=(gap("a"), gap("b", -1)),
        op="==",
        margin=0.2,
    )
    result = _one(records, h, alpha=alpha)
    p_tost, _, _ = ttost_paired(g["a"], g["b"], -0.2, 0.2)
    assert result.p_value == pytest.approx(p_tost, **TOL)
    ci = stats.ttest_rel(g["a"], g["b"]).confidence_interval(percent)
    assert result.ci == pytest.approx((ci.low, ci.high), **TOL)
    assert "TOST" in result.method and f"{100 * percent:g}% CI" in result.method


def test_equivalence_method_gives_its_margin_in_points(data):
    """Reports print every number in points, so the TOST margin in the method is too."""
    records, _, _ = data
    result = _one(records, "same: gap(a) == gap(b) within 5pp")
    assert "margin ±5pp" in result.method and "0.05" not in result.method


def test_verdict_uses_the_adjusted_p(oracle_g_records):
    # stats-oracles (g): raw p 0.0437 (gap(base)), 0.0388 (DiD), 0.339 (gap(variant)).
    hs = [
        "base_gap: gap(base) != 0",
        "did: gap(variant) != gap(base)",
        "variant_gap: gap(variant) != 0",
    ]
    raw = analyze_labels(oracle_g_records, hypotheses=hs, correction="none").hypotheses
    assert [r.verdict for r in raw] == ["pass", "pass", "fail"]
    holm = analyze_labels(oracle_g_records, hypotheses=hs, correction="holm").hypotheses
    expected = multipletests([r.p_value for r in raw], method="holm")[1]
    assert [r.p_adjusted for r in holm] == pytest.approx(list(expected), **TOL)
    assert [r.verdict for r in holm] == ["fail", "fail", "fail"]


def test_hypothesis_strings_are_parsed(data):
    records, _, g = data
    result = _one(records, "smaller: gap(a) < gap(base)")
    assert result.name == "smaller"
    expected = stats.ttest_rel(g["a"], g["base"], alternative="less")
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)


def test_unknown_variant_in_a_hypothesis_is_an_error(data):
    records, _, _ = data
    with pytest.raises(AfsError) as info:
        analyze_labels(records, hypotheses=["h: gap(nope) > 0"])
    diag = info.value.diagnostics[0]
    assert "unknown variant 'nope'" in diag.message
    assert diag.span is not None and diag.span.line == 1
    assert "base" in (diag.hint or "")


def test_misspelt_variant_in_a_hypothesis_suggests_the_nearest(data):
    records, _, _ = data
    with pytest.raises(AfsError) as info:
        analyze_labels(records, hypotheses=["h: gap(bas) > 0"])
    assert (info.value.diagnostics[0].hint or "").startswith("did you mean 'base'?")


def test_unknown_condition_in_a_rate_is_an_error(data):
    records, _, _ = data
    with pytest.raises(AfsError, match="no condition 'paid'"):
        analyze_labels(records, hypotheses=["h: rate(a, paid) > 0"])


def test_hypotheses_are_evaluated_per_model(make_records):
    rng = np.random.default_rng(3)
    records = []
    for model in ("m1", "m2"):
        records += make_records(random_counts(rng, ["base", "a"], 12, 2), 2, model=model)
    results = analyze_labels(records, hypotheses=["h: gap(a) > 0", "k: gap(base) > 0"]).hypotheses
    assert [(r.model, r.name) for r in results] == [
        ("m1", "h"),
        ("m1", "k"),
        ("m2", "h"),
        ("m2", "k"),
    ]


def test_statistics_refuse_unparsed_hypothesis_text(data):
    # The statistics import no parser: text goes through afdsl.analysis or the parser first.
    import afdsl.stats

    records, _, _ = data
    with pytest.raises(TypeError, match="parse_hypothesis"):
        afdsl.stats.analyze_labels(records, hypotheses=["h: gap(a) > 0"])
