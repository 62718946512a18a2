"""Measure declarations: the defaults a user gets, and what each kind accepts."""

from __future__ import annotations

from afdsl.check import check_file
from afdsl.classify import faking, keyword

from .conftest import Write, at, experiment, only_error

BODY = 18


def _measure(write: Write, line: str) -> dict[str, object]:
    result = check_file(write(experiment(f"  {line}")))
    assert result.experiment is not None, [d.message for d in result.diagnostics]
    return dict(result.experiment.measures[0].params)


def test_faking_defaults_are_the_published_classifiers(write: Write) -> None:
    params = _measure(write, "measure f = faking model sim:judge")
    assert params["votes"] == 20
    assert params["threshold"] == 0.4
    # The checker's defaults and the classifier's must never drift apart.
    assert params["votes"] == faking.DEFAULT_VOTES
    assert params["threshold"] == faking.DEFAULT_THRESHOLD
    assert params["temperature"] == faking.DEFAULT_TEMPERATURE


def test_faking_parameters_given_override_the_defaults(write: Write) -> None:
    params = _measure(write, "measure f = faking votes 5 threshold 0.5 model sim:judge")
    assert (params["votes"], params["threshold"]) == (5, 0.5)


def test_keyword_threshold_defaults_to_the_baselines_cut(write: Write) -> None:
    params = _measure(write, "measure kw = keyword")
    assert params == {"threshold": 0.6}
    assert params["threshold"] == keyword.DEFAULT_THRESHOLD


def test_keyword_accepts_a_threshold(write: Write) -> None:
    assert _measure(write, "measure kw = keyword threshold 0.8") == {"threshold": 0.8}


def test_keyword_threshold_out_of_range_is_an_error(write: Write) -> None:
    diag = only_error(write(experiment("  measure kw = keyword threshold 1.5")))
    assert at(diag) == (BODY, 34)
    assert "between 0 and 1" in diag.message


def test_keyword_rejects_parameters_it_does_not_have(write: Write) -> None:
    diag = only_error(write(experiment("  measure kw = keyword votes 3")))
    assert at(diag) == (BODY, 24)
    assert diag.hint == "known parameters: `threshold`"


def test_tag_counts_only_a_tag_at_the_start_unless_anywhere(write: Write) -> None:
    assert _measure(write, "measure c = tag")["anywhere"] is False
    assert _measure(write, "measure c = tag anywhere")["anywhere"] is True
    params = _measure(write, 'measure c = tag anywhere accept "<yes/>"')
    assert (params["anywhere"], params["accept"]) == (True, "<yes/>")
