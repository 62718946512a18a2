"""Cross-model hypotheses (terms pinned with `@ MODEL`) against scipy on per-query values
computed here, their family, and their level under the null by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from afdsl.analysis import analyze_labels
from afdsl.diagnostics import AfsError
from afdsl.stats.hypotheses import evaluate_hypothesis
from afdsl.stats.table import LabelTable
from afdsl.syntax import parse_hypothesis

from .conftest import random_counts, records_from_counts

TOL = dict(rel=1e-9, abs=1e-12)
SAMPLES = 4
OPUS, SONNET = "sim:opus_like", "sim:sonnet_like"
N, DROPPED = 30, 3  # sonnet lacks the last 3 queries


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(23)
    records, gaps = [], {}
    for model, n in ((OPUS, N), (SONNET, N - DROPPED)):
        counts = random_counts(rng, ["base", "no_rlhf"], n, SAMPLES)
        records += records_from_counts(counts, SAMPLES, model=model)
        r = {k: np.asarray(v) / SAMPLES for k, v in counts.items()}
        for v in ("base", "no_rlhf"):
            gaps[(model, v)] = r[(v, "training")] - r[(v, "deployment")]
    return records, gaps


def _results(records, *texts):
    return analyze_labels(records, hypotheses=list(texts)).hypotheses


def test_a_cross_model_comparison_is_one_paired_t_test_on_the_shared_queries(data):
    records, g = data
    results = _results(records, "wider: gap(base @ opus_like) > gap(base @ sonnet_like)")
    assert len(results) == 1  # one test, not one per model
    (result,) = results
    shared = N - DROPPED
    opus, sonnet = g[(OPUS, "base")][:shared], g[(SONNET, "base")]
    expected = stats.ttest_rel(opus, sonnet, alternative="greater")
    assert "skewness" not in result.method
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.estimate == pytest.approx(np.mean(opus - sonnet), **TOL)
    ci = stats.ttest_rel(opus, sonnet).confidence_interval(0.95)
    assert result.ci == pytest.approx((ci.low, ci.high), **TOL)
    assert result.model is None and result.models == [OPUS, SONNET]
    assert result.pinned == ["opus_like", "sonnet_like"]
    assert result.n_queries == shared and result.n_dropped == DROPPED
    assert result.n_samples == 2 * 2 * shared * SAMPLES
    assert "across models" in result.method


def test_a_cross_model_interaction_is_one_test_of_the_difference_of_differences(data):
    records, g = data
    text = (
        "ix: (gap(no_rlhf @ opus_like) - gap(base @ opus_like))"
        " - (gap(no_rlhf @ sonnet_like) - gap(base @ sonnet_like)) < 0"
    )
    (result,) = _results(records, text)
    shared = slice(0, N - DROPPED)
    d_opus = g[(OPUS, "no_rlhf")][shared] - g[(OPUS, "base")][shared]
    d_sonnet = g[(SONNET, "no_rlhf")] - g[(SONNET, "base")]
    expected = stats.ttest_1samp(d_opus - d_sonnet, 0.0, alternative="less")
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)
    assert result.p_value == pytest.approx(
        stats.ttest_rel(d_opus, d_sonnet, alternative="less").pvalue, **TOL
    )
    assert result.estimate == pytest.approx(np.mean(d_opus - d_sonnet), **TOL)
    assert result.n_queries == N - DROPPED and result.n_dropped == DROPPED


def test_cross_model_hypotheses_are_a_family_of_their_own(data):
    records, _ = data
    texts = [
        "a: gap(base @ opus_like) > gap(base @ sonnet_like)",
        "b: gap(no_rlhf @ opus_like) != gap(no_rlhf @ sonnet_like)",
        "c: gap(base) > 0",
    ]
    results = _results(records, *texts)
    cross = [r for r in results if r.models]
    assert [r.name for r in cross] == ["a", "b"]
    expected = multipletests([r.p_value for r in cross], method="holm")[1]
    assert [r.p_adjusted for r in cross] == pytest.approx(list(expected), **TOL)
    # Each model's family is its own hypotheses only: `c` alone, so unadjusted.
    per_model = [r for r in results if not r.models]
    assert [(r.model, r.name) for r in per_model] == [(OPUS, "c"), (SONNET, "c")]
    assert all(r.p_adjusted == r.p_value for r in per_model)


def test_a_for_hypothesis_is_tested_on_its_model_only(data):
    records, g = data
    (result,) = _results(records, "h for sonnet_like: gap(base) > 5pp")
    assert result.model == SONNET and result.models == []
    expected = stats.ttest_1samp(g[(SONNET, "base")], 0.05, alternative="greater")
    assert result.p_value == pytest.approx(expected.pvalue, **TOL)


def test_a_pinned_model_missing_from_the_labels_is_named_with_a_suggestion(data):
    records, _ = data
    with pytest.raises(AfsError) as info:
        _results(records, "h: gap(base @ opus_lik) > gap(base @ sonnet_like)")
    diag = info.value.diagnostics[0]
    assert "no model 'opus_lik' in the labels" in diag.message
    assert diag.hint is not None and "did you mean 'opus_like'?" in diag.hint


def _null_table(rng: np.random.Generator, queries: int, samples: int) -> LabelTable:
    """Two models with the same gap on every query: a query's difficulty (shared by both
    models and both conditions) moves its rates a lot, the model not at all."""
    table = LabelTable()
    difficulty = rng.normal(-1.0, 1.5, size=queries)
    for model in (OPUS, SONNET):
        for condition, shift in (("training", 0.8), ("deployment", 0.0)):
            p = 1 / (1 + np.exp(-(difficulty + shift)))
            complied = rng.binomial(samples, p)
            for q in range(queries):
                table.add(model, "base", condition, f"q{q}", int(complied[q]), samples)
    return table


def test_a_cross_model_test_holds_its_level_under_the_null():
    rng = np.random.default_rng(2026)
    h = parse_hypothesis("h: gap(base @ opus_like) > gap(base @ sonnet_like)")
    replicates = 600
    rejected = sum(
        evaluate_hypothesis(_null_table(rng, 30, 3), None, h).p_value < 0.05
        for _ in range(replicates)
    )
    # Binomial(600, 0.05): mean 30, sd 5.3; the band is about +-3 sd.
    assert 14 <= rejected <= 46, rejected
