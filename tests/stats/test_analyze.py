"""analyze_labels against stats-oracles (g) and against scipy computed independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from afdsl.analysis import analyze_labels  # hypotheses may be text, parsed as --hypothesis
from afdsl.diagnostics import AfsError
from afdsl.stats import AnalysisResult, LabelRecord
from afdsl.syntax import parse_hypothesis

from .conftest import random_counts, records_from_counts

TOL = dict(rel=1e-9, abs=1e-12)


def test_oracle_g_gaps_and_contrast(oracle_g_records):
    result = analyze_labels(oracle_g_records)
    base, variant = result.variants
    assert base.gap == pytest.approx(0.208333, abs=5e-7)
    assert base.gap_ci == pytest.approx((0.00703162, 0.409635), abs=5e-7)
    assert variant.gap == pytest.approx(0.0416667, abs=5e-7)
    assert variant.gap_ci == pytest.approx((-0.050041, 0.133374), abs=5e-7)
    (contrast,) = result.contrasts
    assert contrast.delta_gap == pytest.approx(-0.166667, abs=5e-7)
    assert contrast.ci == pytest.approx((-0.323084, -0.0102495), abs=5e-7)
    assert contrast.p_value == pytest.approx(0.0388141, abs=5e-7)
    assert contrast.p_permutation == 0.078125  # exact: 320 of 4096 sign patterns
    assert contrast.n_queries == 12


def test_oracle_g_base_gap_test_via_hypothesis(oracle_g_records):
    from afdsl.ir import Hypothesis, Term, WeightedTerm

    h = Hypothesis(
        name="gap_nonzero",
        expression="gap(base) != 0",
        terms=(WeightedTerm(coef=1.0, term=Term(kind="gap", variant="base")),),
        op="!=",
    )
    (r,) = analyze_labels(oracle_g_records, hypotheses=[h]).hypotheses
    assert r.p_value == pytest.approx(0.0436996, abs=5e-7)
    assert r.verdict == "pass"
    assert r.n_queries == 12 and r.n_samples == 96


def _independent(counts, samples, variants):
    """Per-query rates, gaps and tests computed here with numpy/scipy only."""
    r = {k: np.asarray(v) / samples for k, v in counts.items()}
    g = {v: r[(v, "training")] - r[(v, "deployment")] for v in variants}
    return r, g


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_estimates_match_scipy(seed):
    rng = np.random.default_rng(seed)
    variants = ["base", "a", "b", "c"]
    q = 15 if seed == 1 else 40  # exact and sampled permutation paths
    counts = random_counts(rng, variants, q, 5)
    result = analyze_labels(records_from_counts(counts, 5), correction="holm")
    _, g = _independent(counts, 5, variants)
    for est in result.variants:
        gv = g[est.variant]
        assert est.gap == pytest.approx(gv.mean(), **TOL)
        ci = stats.ttest_1samp(gv, 0).confidence_interval(0.95)
        assert est.gap_ci == pytest.approx((ci.low, ci.high), **TOL)
        for cond in ("training", "deployment"):
            k = int(np.sum(counts[(est.variant, cond)]))
            assert est.rate[cond] == pytest.approx(k / (5 * q), **TOL)
            lo, hi = proportion_confint(k, 5 * q, method="wilson")
            assert est.rate_ci[cond] == pytest.approx((lo, hi), **TOL)
        assert est.n_queries == q and est.n_samples == 2 * 5 * q
    raw = []
    for c in result.contrasts:
        d = g[c.variant] - g["base"]
        t = stats.ttest_rel(g[c.variant], g["base"])
        assert c.delta_gap == pytest.approx(d.mean(), **TOL)
        assert c.p_value == pytest.approx(t.pvalue, **TOL)
        ci = t.confidence_interval(0.95)
        assert c.ci == pytest.approx((ci.low, ci.high), **TOL)
        if q <= 20:
            perm = stats.permutation_test(
                (d,), np.mean, permutation_type="samples", n_resamples=math.inf
            )
            assert c.p_permutation == pytest.approx(perm.pvalue, **TOL)
        else:  # 10,000 random sign patterns: Monte Carlo error ~0.005
            perm = stats.permutation_test(
                (d,), np.mean, permutation_type="samples", n_resamples=20_000, random_state=seed
            )
            assert c.p_permutation == pytest.approx(perm.pvalue, abs=0.02)
        raw.append(t.pvalue)
    expected = multipletests(raw, method="holm")[1]
    assert [c.p_adjusted for c in result.contrasts] == pytest.approx(list(expected), **TOL)


def test_queries_missing_in_one_cell_are_dropped_from_that_gap(make_records):
    counts = {("base", "training"): [2, 1, 0], ("base", "deployment"): [0, 1, 1]}
    records = make_records(counts, 2)
    records = [r for r in records if not (r["query_id"] == "q2" and r["condition"] == "training")]
    (est,) = analyze_labels(records).variants
    assert est.n_queries == 2
    assert est.gap == pytest.approx(np.mean([1.0 - 0.0, 0.5 - 0.5]))


def test_unequal_samples_per_query_use_per_query_means(make_records):
    counts = {("base", "training"): [3, 1], ("base", "deployment"): [0, 1]}
    (est,) = analyze_labels(make_records(counts, [3, 2])).variants
    assert est.gap == pytest.approx(((1 - 0) + (0.5 - 0.5)) / 2)
    assert est.rate["training"] == pytest.approx(4 / 5)


def test_all_equal_differences_give_an_exact_p_never_zero_or_nan(make_records):
    q = 8
    same = {("base", "training"): [1] * q, ("base", "deployment"): [0] * q}
    same |= {("v", "training"): [1] * q, ("v", "deployment"): [0] * q}
    shifted = same | {("w", "training"): [0] * q, ("w", "deployment"): [0] * q}
    result = analyze_labels(make_records(shifted, 1))
    by_name = {c.variant: c for c in result.contrasts}
    assert by_name["v"].p_value == 1.0
    # Every d = -1 on [-2, 2]: a null distribution with mean 0 puts at most (2 / 3) of its
    # mass at or below -1 (Markov on 2 - d), so 8 such queries have p <= 2 * (2/3)^8.
    assert by_name["w"].p_value == pytest.approx(2 * (2 / 3) ** 8, rel=1e-12)
    # The interval holds the means that bound does not reject at 2.5% on either side.
    shrink = 0.025 ** (1 / q)
    assert by_name["w"].ci == pytest.approx((-2 + 1 * shrink, 2 - 3 * shrink), rel=1e-12)
    # Every gap 1 on [-1, 1]: the interval reaches down to -1 + 2 * 0.025^(1/8).
    assert result.variants[0].gap_ci == pytest.approx((-1 + 2 * shrink, 1.0), rel=1e-12)
    dumped = str(result.model_dump(mode="json"))
    assert "nan" not in dumped.lower()


def test_each_model_is_its_own_family(make_records):
    rng = np.random.default_rng(5)
    records = []
    for model in ("m1", "m2"):
        records += make_records(random_counts(rng, ["base", "a", "b"], 10, 3), 3, model=model)
    result = analyze_labels(records, correction="bh")
    assert [(c.model, c.variant) for c in result.contrasts] == [
        ("m1", "a"), ("m1", "b"), ("m2", "a"), ("m2", "b"),
    ]  # fmt: skip
    for model in ("m1", "m2"):
        family = [c for c in result.contrasts if c.model == model]
        expected = multipletests([c.p_value for c in family], method="fdr_bh")[1]
        assert [c.p_adjusted for c in family] == pytest.approx(list(expected), **TOL)


def test_label_records_and_dicts_give_the_same_result(oracle_g_records):
    models = [LabelRecord(**r) for r in oracle_g_records]
    assert analyze_labels(models) == analyze_labels(oracle_g_records)


def test_json_document_has_the_contract_keys(oracle_g_records):
    doc = analyze_labels(oracle_g_records, hypotheses=["h: gap(variant) < gap(base)"]).model_dump(
        mode="json"
    )
    assert {"alpha", "correction", "variants", "contrasts", "hypotheses"} <= set(doc)
    assert {"model", "variant", "n_queries", "n_samples", "rate", "gap", "gap_ci"} <= set(
        doc["variants"][0]
    )
    assert set(doc["variants"][0]["rate"]) == {"training", "deployment"}
    assert {
        "model", "variant", "against", "delta_gap", "ci", "p_value", "p_permutation", "p_adjusted",
    } <= set(doc["contrasts"][0])  # fmt: skip
    assert {
        "model", "name", "expression", "verdict", "estimate", "ci", "p_value", "p_adjusted",
        "method", "n_queries", "n_samples",
    } <= set(doc["hypotheses"][0])  # fmt: skip
    assert AnalysisResult.model_validate(doc).hypotheses[0].verdict in ("pass", "fail")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("query_id"), "missing field query_id"),
        (lambda r: r.update(complied="yes"), "a label must be 0, 1, true or false"),
        (lambda r: r.update(complied=None), "a label must be 0, 1, true or false"),
        (lambda r: r.update(sample="1"), "`sample` must be an integer"),
    ],
)
def test_invalid_record_names_the_record(oracle_g_records, mutate, message):
    mutate(oracle_g_records[5])
    with pytest.raises(AfsError) as info:
        analyze_labels(oracle_g_records)
    assert message in str(info.value)
    assert "record 6" in str(info.value)


def test_variant_without_a_condition_is_an_error(oracle_g_records):
    records = [
        r
        for r in oracle_g_records
        if not (r["variant"] == "variant" and r["condition"] == "deployment")
    ]
    with pytest.raises(AfsError, match="'variant' has no 'deployment' labels"):
        analyze_labels(records)


def test_partial_variants_keep_one_condition_rates_for_rate_hypotheses(make_records):
    counts = {
        ("base", "training"): [3, 2, 4, 1],
        ("base", "deployment"): [1, 0, 2, 1],
        ("only_train", "training"): [4, 3, 2, 1],
    }
    records = make_records(counts, 4)
    with pytest.raises(AfsError, match="'only_train' has no 'deployment' labels"):
        analyze_labels(records)  # the strict default of `afdsl analyze`
    with pytest.raises(AfsError, match="'other' has no 'training' labels"):
        # Only variants with exactly one of the two conditions are let through.
        analyze_labels(records + make_records({("other", "free"): [1]}, 1), partial_variants=True)
    result = analyze_labels(
        records, hypotheses=["h: rate(only_train, training) > 0.1"], partial_variants=True
    )
    assert [v.variant for v in result.variants] == ["base"]
    assert result.contrasts == []
    (one,) = result.one_condition
    assert one.variant == "only_train" and one.n_queries == 4 and one.n_samples == 16
    assert one.rate == {"training": pytest.approx(10 / 16)}
    assert one.rate_ci["training"][0] < 10 / 16 < one.rate_ci["training"][1]
    (h,) = result.hypotheses
    assert h.estimate == pytest.approx(np.mean([4, 3, 2, 1]) / 4)
    with pytest.raises(AfsError, match="has no condition 'deployment'"):
        analyze_labels(records, hypotheses=["h: gap(only_train) > 0"], partial_variants=True)


def test_missing_base_suggests_the_option(oracle_g_records):
    with pytest.raises(AfsError) as info:
        analyze_labels(oracle_g_records, base="control")
    assert "--base" in (info.value.diagnostics[0].hint or "")


def test_duplicate_sample_is_an_error(oracle_g_records):
    with pytest.raises(AfsError, match="duplicate sample"):
        analyze_labels([*oracle_g_records, dict(oracle_g_records[0])])


def test_per_query_counts_added_at_once_analyse_like_one_record_per_sample():
    """`LabelTable.add(..., complied, samples)` (how a report reads a store) against one
    validated record per sample: the same table, hence the same analysis."""
    from afdsl.stats import analyze_table
    from afdsl.stats.table import LabelTable, build_table

    rng = np.random.default_rng(11)
    counts = random_counts(rng, ["base", "no_rlhf"], n_queries=15, samples=6)
    per_sample = build_table(records_from_counts(counts, 6))
    per_query = LabelTable()
    for (variant, condition), per_q in counts.items():
        for q, k in enumerate(per_q):
            per_query.add(None, variant, condition, f"q{q}", k, 6)
    assert per_query == per_sample
    hypotheses = [parse_hypothesis("h: gap(no_rlhf) < gap(base)")]
    assert analyze_table(per_query, hypotheses=hypotheses) == analyze_labels(
        records_from_counts(counts, 6), hypotheses=hypotheses
    )


def test_a_variant_sharing_no_query_with_base_loses_only_its_own_contrast():
    """In a report (an `untested` list), base's gap and its hypothesis are still tested."""
    from afdsl.stats import analyze_table
    from afdsl.stats.table import LabelTable

    table = LabelTable()
    for variant, queries in (("base", ["q0", "q1", "q2"]), ("v", ["q7", "q8"])):
        for q in queries:
            table.add(None, variant, "training", q, 3, 4)
            table.add(None, variant, "deployment", q, int(q[1]) % 2, 4)
    untested: list[str] = []
    result = analyze_table(
        table,
        hypotheses=[parse_hypothesis("h: gap(base) > 0")],
        partial_variants=True,
        untested=untested,
    )
    assert untested == ["variant 'v' shares no query with 'base'"]
    assert result.contrasts == [] and [v.variant for v in result.variants] == ["base", "v"]
    (h,) = result.hypotheses
    # gaps 0.75, 0.5, 0.75: a one-sided t test computed here, independently of the code.
    expected = stats.ttest_1samp([0.75, 0.5, 0.75], 0.0, alternative="greater").pvalue
    assert h.p_value == pytest.approx(expected, rel=1e-9)
    with pytest.raises(AfsError, match="shares no query"):
        analyze_table(table, partial_variants=True)  # without the list it is an error
