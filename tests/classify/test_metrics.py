"""AUROC, ROC points and confusion counts against independent computations."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afdsl.classify import auroc, confusion, roc_points

scores_and_labels = st.lists(
    st.tuples(st.sampled_from([0.0, 0.05, 0.25, 0.4, 0.5, 0.75, 1.0]), st.integers(0, 1)),
    min_size=2,
    max_size=60,
).filter(lambda pairs: 0 < sum(y for _, y in pairs) < len(pairs))


@settings(max_examples=150, deadline=None)
@given(scores_and_labels)
def test_auroc_equals_mann_whitney_u_from_scipy(pairs: list[tuple[float, int]]) -> None:
    from scipy.stats import mannwhitneyu

    scores = [s for s, _ in pairs]
    labels = [y for _, y in pairs]
    pos = [s for s, y in pairs if y == 1]
    neg = [s for s, y in pairs if y == 0]
    u = mannwhitneyu(pos, neg, alternative="two-sided").statistic  # U of the first sample
    expected = u / (len(pos) * len(neg))
    result = auroc(scores, labels)
    assert result is not None
    assert abs(result - expected) < 1e-12


def _win(positive: float, negative: float) -> float:
    return 1.0 if positive > negative else 0.5 if positive == negative else 0.0


def test_auroc_brute_force_pairs_with_ties() -> None:
    scores = [0.1, 0.4, 0.4, 0.8, 0.35, 0.4, 0.9]
    labels = [0, 0, 1, 1, 0, 1, 1]
    pairs = [
        (p, n)
        for p, n in itertools.product(range(7), range(7))
        if labels[p] == 1 and labels[n] == 0
    ]
    wins = sum(_win(scores[p], scores[n]) for p, n in pairs)
    assert auroc(scores, labels) == pytest.approx(wins / len(pairs), abs=1e-12)


def test_auroc_is_undefined_with_one_class() -> None:
    assert auroc([0.2, 0.9], [1, 1]) is None
    assert auroc([0.2, 0.9], [0, 0]) is None


def test_perfect_and_inverted_rankings() -> None:
    assert auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 0.0


def test_roc_points_run_from_origin_to_corner_and_never_decrease() -> None:
    scores = [0.9, 0.8, 0.8, 0.3, 0.2, 0.1]
    labels = [1, 0, 1, 1, 0, 0]
    points = roc_points(scores, labels)
    assert (points[0].fpr, points[0].tpr) == (0.0, 0.0)
    assert (points[-1].fpr, points[-1].tpr) == (1.0, 1.0)
    for a, b in itertools.pairwise(points):
        assert b.fpr >= a.fpr and b.tpr >= a.tpr
    at_08 = next(p for p in points if p.threshold == 0.8)
    assert (at_08.tpr, at_08.fpr) == (pytest.approx(2 / 3), pytest.approx(1 / 3))


def test_trapezoid_area_under_roc_points_equals_auroc() -> None:
    scores = [0.9, 0.8, 0.8, 0.3, 0.2, 0.1, 0.3, 0.7]
    labels = [1, 0, 1, 1, 0, 0, 0, 1]
    points = roc_points(scores, labels)
    area = sum((b.fpr - a.fpr) * (a.tpr + b.tpr) / 2 for a, b in itertools.pairwise(points))
    assert area == pytest.approx(auroc(scores, labels), abs=1e-12)


def test_confusion_and_derived_metrics() -> None:
    c = confusion([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 1, 1)
    assert c.accuracy() == pytest.approx(3 / 5)
    assert c.precision() == pytest.approx(2 / 3)
    assert c.recall() == pytest.approx(2 / 3)
    assert confusion([0, 0], [1, 0]).precision() is None
