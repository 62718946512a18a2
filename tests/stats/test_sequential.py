"""The anytime-valid sequential test under continuous monitoring (seeded simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from afdsl.ir import Hypothesis, Term, WeightedTerm
from afdsl.stats.sequential import SequentialTest, log_wealth, sequential_tests, value_range

from .conftest import records_from_counts

REPLICATES, MAX_QUERIES, SAMPLES, ALPHA = 2000, 400, 4, 0.05


def _gap_hypothesis(op: str = ">", bound: float = 0.0, margin: float | None = None) -> Hypothesis:
    return Hypothesis(
        name="h",
        expression=f"gap(base) {op} {bound}",
        terms=(WeightedTerm(coef=1.0, term=Term(kind="gap", variant="base")),),
        op=op,  # type: ignore[arg-type]
        bound=bound,
        margin=margin,
    )


def _weak_null_gaps(seed: int) -> np.ndarray:
    """Per-query gaps of +-0.08 (or less near 0) at random: every query differs, mean 0."""
    rng = np.random.default_rng(seed)
    shape = (REPLICATES, MAX_QUERIES)
    p_d = rng.beta(2, 18, size=shape)
    p_t = p_d + rng.choice([-1.0, 1.0], size=shape) * np.minimum(0.08, p_d)
    return (rng.binomial(SAMPLES, p_t) - rng.binomial(SAMPLES, p_d)) / SAMPLES


def _alternative_gaps(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (REPLICATES, MAX_QUERIES)
    return (rng.binomial(SAMPLES, 0.14, size=shape) - rng.binomial(SAMPLES, 0.03, size=shape)) / 4


def test_false_positives_under_continuous_monitoring_stay_below_alpha():
    d = _weak_null_gaps(11)
    low, _ = value_range(_gap_hypothesis())
    path = log_wealth((d - 0.0) / (0.0 - low))  # looked at after every query
    false_positives = float(np.mean((path >= math.log(1 / ALPHA)).any(axis=1)))
    assert false_positives <= ALPHA

    # A fixed-n t test repeated after every query from query 10 on rejects far
    # more often: the simulation can tell an invalid monitoring scheme.
    n = np.arange(1, MAX_QUERIES + 1)
    mean = np.cumsum(d, axis=1) / n
    var = (np.cumsum(d * d, axis=1) - n * mean**2) / np.maximum(n - 1, 1)
    t = mean / np.sqrt(np.maximum(var, 1e-12) / n)
    p = stats.t.sf(t[:, 9:], n[9:] - 1)
    assert float(np.mean((p < ALPHA).any(axis=1))) > 0.15


def test_power_under_an_alternative():
    d = _alternative_gaps(12)
    path = log_wealth(d)  # lowest gap is -1: x = d / 1
    crossed = path >= math.log(1 / ALPHA)
    assert float(np.mean(crossed.any(axis=1))) >= 0.99
    stopping = np.argmax(crossed, axis=1) + 1
    assert np.median(stopping) < 150


def test_batches_give_the_same_path_as_one_pass():
    d = _alternative_gaps(13)[0, :120]
    test = SequentialTest(_gap_hypothesis(), ALPHA)
    decisions = [test.update(d[i : i + 7]) for i in range(0, 120, 7)]
    assert test.e_value == pytest.approx(math.exp(log_wealth(d)[-1]), rel=1e-9)
    first = int(np.argmax(log_wealth(d) >= math.log(1 / ALPHA)))
    assert decisions[first // 7] == "pass" and set(decisions[first // 7 :]) == {"pass"}
    assert all(x == "continue" for x in decisions[: first // 7])


def test_direction_and_equivalence():
    rng = np.random.default_rng(5)
    positive = (rng.binomial(4, 0.5, 300) - rng.binomial(4, 0.1, 300)) / 4
    less = SequentialTest(_gap_hypothesis("<", 0.0), ALPHA)
    assert less.update(positive) == "continue" and less.finish() == "fail"
    greater = SequentialTest(_gap_hypothesis(">", 0.0), ALPHA)
    assert greater.update(positive) == "pass"
    two_sided = SequentialTest(_gap_hypothesis("!=", 0.0), ALPHA)
    assert two_sided.update(-positive) == "pass"
    near = (rng.binomial(4, 0.3, 2000) - rng.binomial(4, 0.3, 2000)) / 4
    same = SequentialTest(_gap_hypothesis("==", 0.0, margin=0.1), ALPHA)
    assert same.update(near) == "pass"
    far = SequentialTest(_gap_hypothesis("==", 0.0, margin=0.1), ALPHA)
    assert far.update(positive) == "continue"


def test_update_from_cumulative_labels_consumes_each_query_once():
    counts = {("base", "training"): [4, 3, 4, 4, 2, 4] * 10, ("base", "deployment"): [0] * 60}
    records = records_from_counts(counts, 4)
    test = SequentialTest(_gap_hypothesis(), ALPHA)
    test.update_from_labels(records[: len(records) // 2])
    test.update_from_labels(records)
    test.update_from_labels(records)
    assert test.n == 60
    assert test.decision == "pass"


def test_family_uses_bonferroni_levels():
    tests = sequential_tests([_gap_hypothesis(), _gap_hypothesis("<")], 0.05, "holm")
    assert [t.alpha for t in tests] == [0.025, 0.025]
