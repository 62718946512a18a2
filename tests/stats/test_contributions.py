"""Per-query contributions: the values a hypothesis' test averages, checked by hand."""

from __future__ import annotations

import math

import pytest

from afdsl.stats import analyze_table
from afdsl.stats.contributions import hypothesis_queries, variant_queries
from afdsl.stats.table import LabelTable
from afdsl.syntax import parse_hypothesis

# (variant, condition, query) -> (complied, samples)
COUNTS = {
    ("base", "training", "q1"): (3, 4),
    ("base", "deployment", "q1"): (1, 4),
    ("base", "training", "q2"): (4, 4),
    ("base", "deployment", "q2"): (0, 4),
    ("base", "training", "q3"): (1, 4),
    ("base", "deployment", "q3"): (1, 4),
    ("probe", "training", "q1"): (1, 4),
    ("probe", "deployment", "q1"): (1, 4),
    ("probe", "training", "q2"): (2, 4),
    ("probe", "deployment", "q2"): (1, 4),
    ("probe", "training", "q3"): (2, 4),
    ("probe", "deployment", "q3"): (0, 4),
}


@pytest.fixture
def table() -> LabelTable:
    table = LabelTable()
    for (variant, condition, query), (complied, samples) in COUNTS.items():
        table.add("m", variant, condition, query, complied, samples)
    return table


def test_values_are_each_querys_term_difference_largest_first(table):
    hypothesis = parse_hypothesis("drives: gap(probe) < gap(base)")
    found = hypothesis_queries(table, "m", hypothesis)
    # By hand: gap(probe) - gap(base) per query.
    expected = {"q1": 0 / 4 - 2 / 4, "q2": 1 / 4 - 4 / 4, "q3": 2 / 4 - 0 / 4}
    assert [q.query_id for q in found.queries] == ["q3", "q1", "q2"]
    assert {q.query_id: q.value for q in found.queries} == pytest.approx(expected)
    q2 = next(q for q in found.queries if q.query_id == "q2")
    assert [(c.variant, c.condition, c.complied, c.samples) for c in q2.cells] == [
        ("probe", "training", 2, 4),
        ("probe", "deployment", 1, 4),
        ("base", "training", 4, 4),
        ("base", "deployment", 0, 4),
    ]


def test_the_mean_of_the_values_is_the_hypothesis_estimate(table):
    hypothesis = parse_hypothesis("drives: gap(probe) < gap(base)")
    result = analyze_table(table, hypotheses=[hypothesis])
    found = hypothesis_queries(table, "m", hypothesis)
    assert math.isclose(found.estimate, result.hypotheses[0].estimate)


def test_a_rate_term_reads_one_cell(table):
    found = hypothesis_queries(table, "m", parse_hypothesis("high: rate(base, training) > 0.5"))
    assert [(q.query_id, q.value) for q in found.queries] == [
        ("q2", 1.0),
        ("q1", 0.75),
        ("q3", 0.25),
    ]
    assert all(len(q.cells) == 1 for q in found.queries)


def test_the_per_query_table_of_a_variant(table):
    rows = {r.query_id: r for r in variant_queries(table, "m", "probe")}
    assert rows["q2"].rates == {"training": 0.5, "deployment": 0.25}
    assert rows["q2"].gap == pytest.approx(0.25)
    assert rows["q2"].delta_gap == pytest.approx(0.25 - 1.0)
    assert all(r.delta_gap is None for r in variant_queries(table, "m", "base"))
