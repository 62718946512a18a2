"""Derived measures (`A given B`, `A and not B`): what the checker builds and the errors it
reports at the operand, with a hint."""

from __future__ import annotations

import pytest

from afdsl.check import check_file
from afdsl.ir import DerivedMeasure, MeasureOperand

from .conftest import Write, at, experiment, only_error

BODY = 18  # the experiment body's first line
MEASURES = "  measure compliance = tag\n  measure faking = faking model sim:judge\n"


def _derived(write: Write, lines: str, measures: str = MEASURES) -> tuple[DerivedMeasure, ...]:
    result = check_file(write(experiment(measures + lines)))
    assert result.experiment is not None, [d.message for d in result.diagnostics]
    return result.experiment.derived


def test_given_and_and_not_build_derived_measures_in_dependency_order(write: Write) -> None:
    derived = _derived(
        write,
        "  measure both = compliance and faking_when\n"
        "  measure faking_when = faking given compliance\n"
        "  measure honest = compliance and not faking\n"
        "  measure refused = not compliance\n",
    )
    by_name = {m.name: m for m in derived}
    assert [m.name for m in derived].index("faking_when") < [m.name for m in derived].index(
        "both"
    )  # operands first, whatever the file order
    assert by_name["faking_when"].kind == "given"
    assert by_name["faking_when"].operands == (
        MeasureOperand(measure="faking"),
        MeasureOperand(measure="compliance"),
    )
    assert by_name["honest"].definition() == "compliance and not faking"
    assert by_name["refused"].operands == (MeasureOperand(measure="compliance", negated=True),)
    # Derived measures are never classified: the labelled measures stay the two declared.
    result = check_file(write(experiment(MEASURES + "  measure r = not compliance\n")))
    assert result.experiment is not None
    assert [m.name for m in result.experiment.effective_measures()] == ["compliance", "faking"]


def test_the_implied_compliance_measure_is_an_operand_when_nothing_is_declared(
    write: Write,
) -> None:
    derived = _derived(write, "  measure refused = not compliance\n", measures="")
    assert derived[0].definition() == "not compliance"


def test_a_hypothesis_may_test_a_derived_measure(write: Write) -> None:
    result = check_file(
        write(
            experiment(
                MEASURES + "  measure fw = faking given compliance\n"
                "  hypothesis h on fw: gap(base) > 0\n"
            )
        )
    )
    assert result.experiment is not None
    assert result.experiment.hypotheses[0].measure == "fw"


@pytest.mark.parametrize(
    ("line", "code", "col", "message", "hint"),
    [
        ("measure x = faking given complience", "AFS250", 28, "unknown measure `complience`",
         "compliance"),
        ("measure x = x and faking", "AFS251", 15, "defined from itself", "other measures"),
        ("measure x = faking and not faking", "AFS253", 30, "named twice", "once"),
        ("measure x = compliance or faking", "AFS254", 26, "not `or`", "not neither"),
        ("measure faking = not compliance", "AFS255", 11, "defined twice", None),
    ],
)  # fmt: skip
def test_wrong_operands_are_errors_at_the_operand_with_a_hint(
    write: Write, line: str, code: str, col: int, message: str, hint: str | None
) -> None:
    diag = only_error(write(experiment(MEASURES + f"  {line}\n")))
    assert diag.code == code
    assert message in diag.message
    assert at(diag) == (BODY + 2, col)
    if hint is not None:
        assert diag.hint is not None and hint in diag.hint


def test_measures_defined_from_each_other_are_a_cycle(write: Write) -> None:
    diag = only_error(
        write(experiment(MEASURES + "  measure a = b and faking\n  measure b = a and compliance\n"))
    )
    assert diag.code == "AFS252"
    assert "a -> b -> a" in diag.message or "b -> a -> b" in diag.message
    assert diag.hint is not None and "classifier measures" in diag.hint


def test_compliance_is_not_implied_once_measures_are_declared(write: Write) -> None:
    diag = only_error(
        write(
            experiment(
                "  measure faking = faking model sim:judge\n"
                "  measure fw = faking given compliance\n"
            )
        )
    )
    assert diag.code == "AFS250" and at(diag) == (BODY + 1, 29)
    assert diag.hint is not None and "measure compliance = tag" in diag.hint


def test_a_model_on_a_derived_measures_line_is_an_error_not_a_model_under_test(
    write: Write,
) -> None:
    diag = only_error(
        write(experiment(MEASURES + "  measure fw = faking given compliance model sim:judge\n"))
    )
    assert diag.code == "AFS256" and at(diag) == (BODY + 2, 40)
    assert diag.hint is not None and "measure faking = faking model" in diag.hint
