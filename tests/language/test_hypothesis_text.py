"""`parse_hypothesis`: the same syntax as in a .afs file, as used by `afdsl analyze`."""

from __future__ import annotations

import pytest

from afdsl.diagnostics import AfsError
from afdsl.syntax import parse_hypothesis


def test_difference_of_gaps() -> None:
    h = parse_hypothesis("smaller: gap(no_rlhf) < gap(base)")
    assert (h.name, h.op, h.bound, h.measure) == ("smaller", "<", 0.0, None)
    assert [(t.coef, t.term.variant) for t in h.terms] == [(1.0, "no_rlhf"), (-1.0, "base")]


def test_measure_rates_constants_and_scaling() -> None:
    h = parse_hypothesis("h on faking: 2 * rate(a, training) - rate(base, training) > 0.1")
    assert h.measure == "faking"
    assert h.bound == pytest.approx(0.1)
    assert [(t.coef, t.term.kind, t.term.condition) for t in h.terms] == [
        (2.0, "rate", "training"),
        (-1.0, "rate", "training"),
    ]


def test_equivalence_with_margin() -> None:
    h = parse_hypothesis("same: gap(a) == gap(base) within 0.05")
    assert (h.op, h.margin) == ("==", 0.05)
    assert h.expression == "gap(a) == gap(base) within 0.05"


def test_constants_move_to_the_bound() -> None:
    h = parse_hypothesis("h: gap(a) + 0.1 > 0.3")
    assert h.bound == pytest.approx(0.2)


@pytest.mark.parametrize(
    "text",
    [
        "h: gap(a) == gap(b)",
        "h: gap(a) < gap(b) within 0.1",
        "h: gap(a) - gap(a) > 0",
        "gap(a) > 0",
    ],
)
def test_malformed_hypotheses_raise_afs_error(text: str) -> None:
    with pytest.raises(AfsError):
        parse_hypothesis(text)


def test_a_margin_in_percentage_points_hints_at_the_fraction() -> None:
    # Reports show gaps in percentage points, so researchers write `within 5`.
    with pytest.raises(AfsError) as info:
        parse_hypothesis("h: gap(a) == gap(base) within 5")
    [diag] = info.value.diagnostics
    assert diag.message == "the margin must be more than 0 and less than 1 (a difference of rates)"
    assert diag.hint == "5 percentage points is `within 5pp` or `within 0.05`"


def test_within_on_a_one_sided_test_is_one_error() -> None:
    with pytest.raises(AfsError) as info:
        parse_hypothesis("h: gap(a) < gap(base) within 0")
    assert [d.code for d in info.value.diagnostics] == ["AFS302"]
