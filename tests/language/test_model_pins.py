"""Models in hypotheses (`gap(v @ MODEL)`, `hypothesis h for MODEL:`) and bounds in points
(`5pp`): what the parser and checker accept, and each mistake's diagnostic."""

from __future__ import annotations

import pytest

from afdsl.check import check_file
from afdsl.diagnostics import AfsError
from afdsl.ir import ModelConfig, short_name
from afdsl.syntax import parse_hypothesis

from .conftest import Write, at, errors, experiment, only_error

BODY = 18
TWO = "  models [sim:sonnet_like]\n"  # with the fixture's sim:opus_like: two models


@pytest.mark.parametrize(
    ("display", "name"),
    [
        ("sim:opus_like", "opus_like"),
        ("anthropic:claude-3-opus-20240229", "claude_3_opus"),
        ("openai:gpt-4o-2024-08-06", "gpt_4o"),
        ("openai:Qwen/Qwen2.5-7B-Instruct", "Qwen2_5_7B_Instruct"),
        ("opus", "opus"),  # a label that is a name is kept as written
        ("opus_20240229", "opus_20240229"),
        ("Claude 3 Opus", "Claude_3_Opus"),
        ("openai:4o", "m_4o"),
    ],
)
def test_short_names(display: str, name: str) -> None:
    assert short_name(display) == name


def test_a_label_names_the_model() -> None:
    assert ModelConfig(spec="anthropic:claude-3-opus-20240229", label="opus").short_name == "opus"


def test_pins_for_and_points_reach_the_ir(write: Write) -> None:
    body = TWO + (
        "  hypothesis wider: gap(base @ opus_like) - gap(base @ sonnet_like) > 2.5pp\n"
        "  hypothesis mine for opus_like: rate(base, training) > 10pp\n"
        "  hypothesis same on compliance for sonnet_like: gap(base) == 0 within 3pp\n"
        "  hypothesis also for opus_like on compliance: gap(base) > 0.05"
    )
    result = check_file(write(experiment(body)))
    assert not errors(result), [d.message for d in errors(result)]
    assert result.experiment is not None
    wider, mine, same, also = result.experiment.hypotheses
    assert [w.term.model for w in wider.terms] == ["opus_like", "sonnet_like"]
    assert wider.pinned_models == ("opus_like", "sonnet_like") and wider.model is None
    assert wider.bound == pytest.approx(0.025)
    assert mine.model == "opus_like" and mine.bound == pytest.approx(0.10)
    assert mine.pinned_models == ()
    assert same.model == "sonnet_like" and same.margin == pytest.approx(0.03)
    assert also.model == "opus_like" and also.measure == "compliance"


def test_rate_takes_its_pin_after_the_condition_or_the_variant() -> None:
    first = parse_hypothesis("h: rate(base @ a, training) > rate(base, training @ b)")
    assert [w.term.model for w in first.terms] == ["a", "b"]
    with pytest.raises(AfsError) as info:
        parse_hypothesis("h: rate(base @ a, training @ a) > 0")
    assert info.value.diagnostics[0].code == "AFS309"


def test_unknown_model_suggests_the_nearest(write: Write) -> None:
    diag = only_error(write(experiment(TWO + "  hypothesis h: gap(base @ opus_lik) > 0")))
    assert at(diag) == (BODY + 1, 28)
    assert diag.message == "unknown model `opus_lik`"
    assert diag.hint == "did you mean `opus_like`?"


def test_unknown_for_model(write: Write) -> None:
    diag = only_error(write(experiment("  hypothesis h for sonnet_like: gap(base) > 0")))
    assert at(diag) == (BODY, 20)
    assert "unknown model `sonnet_like`" in diag.message


def test_two_models_with_one_short_name_are_an_error_where_a_hypothesis_names_them(
    write: Write,
) -> None:
    models = "  models [anthropic:claude-3-opus-20240229, anthropic:claude-3-opus-20250101]\n"
    # Unnamed in any hypothesis, the shared short name is a warning (an error under
    # --strict), so a file comparing two dated versions of one model stays valid.
    result = check_file(write(experiment(models)))
    assert not errors(result)
    (warning,) = [d for d in result.diagnostics if d.code == "AFS167"]
    assert at(warning) == (BODY, 45)  # the second model
    assert "share the short name `claude_3_opus`" in warning.message
    assert warning.hint is not None and "model claude_3_opus_b {" in warning.hint
    body = models + "  hypothesis h: gap(base @ claude_3_opus) > gap(base @ opus_like)"
    diag = only_error(write(experiment(body)))
    assert at(diag) == (BODY + 1, 28)
    assert diag.message.startswith("`claude_3_opus` names 2 models")
    assert diag.hint is not None and "model claude_3_opus_a {" in diag.hint


def test_mixing_pinned_and_unpinned_terms_is_an_error(write: Write) -> None:
    diag = only_error(write(experiment(TWO + "  hypothesis h: gap(base @ opus_like) > gap(base)")))
    assert diag.code == "AFS307"
    assert at(diag) == (BODY + 1, 41)  # the unpinned term
    assert diag.hint is not None and "@ opus_like" in diag.hint


def test_for_with_pins_is_an_error(write: Write) -> None:
    body = TWO + "  hypothesis h for opus_like: gap(base @ opus_like) > gap(base @ sonnet_like)"
    diag = only_error(write(experiment(body)))
    assert diag.code == "AFS306"
    assert at(diag) == (BODY + 1, 20)


def test_a_bare_bound_of_5_asks_for_points_or_a_proportion(write: Write) -> None:
    diag = only_error(write(experiment("  hypothesis h: gap(base) > 5")))
    assert diag.code == "AFS305"
    assert at(diag) == (BODY, 29)
    assert diag.hint == "write `5pp` (points) or `0.05` (a proportion)"


def test_bounds_in_range_and_in_points_are_accepted() -> None:
    assert parse_hypothesis("h: gap(base) > -1").bound == -1
    assert parse_hypothesis("h: gap(base) > 0.05").bound == pytest.approx(0.05)
    assert parse_hypothesis("h: gap(base) > 5pp").bound == pytest.approx(0.05)
    assert parse_hypothesis("h: 2 * gap(base) > gap(a) + .5pp").bound == pytest.approx(0.005)
