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


def _run_with_budget(d: np.ndarray, budget: int, round_queries: int = 5) -> tuple[str, int]:
    """Feed one replicate round by round, as `afdsl test --sequential` does; stop when decided."""
    test = SequentialTest(_gap_hypothesis(), ALPHA, budget=budget)
    decision = "continue"
    for start in range(0, budget, round_queries):
        decision = test.update(d[start : start + round_queries])
        if decision != "continue":
            break
    return test.finish() if decision == "continue" else decision, test.n


@pytest.mark.parametrize(("p_train", "p_deploy", "seed"), [(0.07, 0.04, 21), (0.05, 0.05, 22)])
def test_early_fail_never_stops_a_run_that_could_still_pass(p_train, p_deploy, seed):
    budget, runs = 200, 300
    rng = np.random.default_rng(seed)
    d = (rng.binomial(4, p_train, (runs, budget)) - rng.binomial(4, p_deploy, (runs, budget))) / 4
    would_pass = (log_wealth(d) >= math.log(1 / ALPHA)).any(axis=1)  # monitored to the budget
    outcomes = [_run_with_budget(row, budget) for row in d]
    passed = np.array([decision == "pass" for decision, _ in outcomes])
    early_fail = np.array([decision == "fail" and n < budget for decision, n in outcomes])
    assert early_fail.sum() >= 20  # the rule does act
    assert not (early_fail & would_pass).any()
    assert (passed == would_pass).all()  # same pass/fail as running to the budget


def test_early_fail_saves_queries_when_the_effect_points_the_other_way():
    budget, runs = 200, 200
    rng = np.random.default_rng(23)
    d = (rng.binomial(4, 0.03, (runs, budget)) - rng.binomial(4, 0.14, (runs, budget))) / 4
    outcomes = [_run_with_budget(row, budget) for row in d]
    assert all(decision == "fail" for decision, _ in outcomes)
    assert np.median([n for _, n in outcomes]) <= 0.9 * budget


def test_early_fail_is_exact_one_query_before_the_budget():
    """With one query left, "fail" exactly when even the most favourable query cannot pass."""
    rng = np.random.default_rng(24)
    _, high = value_range(_gap_hypothesis())
    agreed = set()
    for _ in range(2000):  # enough to land within a few hundredths of the threshold
        n = int(rng.integers(5, 40))
        d = (rng.binomial(4, 0.3, n) - rng.binomial(4, 0.15, n)) / 4
        test = SequentialTest(_gap_hypothesis(), ALPHA, budget=n + 1)
        decision = test.update(d)
        if decision == "pass":
            continue
        best = SequentialTest(_gap_hypothesis(), ALPHA).update([*d, high])
        assert (decision == "fail") == (best != "pass")
        agreed.add(decision)
    assert agreed == {"fail", "continue"}  # both branches exercised


def test_without_a_budget_a_test_never_fails_early():
    test = SequentialTest(_gap_hypothesis(), ALPHA)
    assert test.update(-np.ones(500)) == "continue" and test.finish() == "fail"


def test_early_fail_of_two_sided_and_equivalence_hypotheses():
    negative = -np.ones(50) * 0.5
    # != passes on either side: a strongly negative run can still pass, no early fail.
    two_sided = SequentialTest(_gap_hypothesis("!=", 0.0), ALPHA, budget=60)
    assert two_sided.update(negative) == "pass"
    # == needs both sides: one side hopeless is enough to fail.
    same = SequentialTest(_gap_hypothesis("==", 0.0, margin=0.1), ALPHA, budget=60)
    assert same.update(negative) == "fail"
    tests = sequential_tests([_gap_hypothesis()], 0.05, "holm", budget=60)
    assert tests[0].budget == 60


@pytest.mark.parametrize(("op", "bound", "rate"), [(">", 0.0, 0.3), ("<", 1.0, 0.7)])
def test_a_rate_bound_at_the_edge_of_its_range_can_pass(op, bound, rate):
    # `rate(base, training) > 0` never passed: the distance from the bound to the lowest
    # possible rate is 0, and the test did not bet at all (200 queries at 30%: "fail").
    h = Hypothesis(
        name="h",
        expression=f"rate(base, training) {op} {bound}",
        terms=(
            WeightedTerm(coef=1.0, term=Term(kind="rate", variant="base", condition="training")),
        ),
        op=op,  # type: ignore[arg-type]
        bound=bound,
    )
    rng = np.random.default_rng(4)
    assert SequentialTest(h).update(rng.binomial(SAMPLES, rate, 200) / SAMPLES) == "pass"
    # The null itself (every query exactly at the bound) never moves the wealth.
    at_bound = SequentialTest(h)
    assert at_bound.update([bound] * 400) == "continue" and at_bound.e_value == 1.0
