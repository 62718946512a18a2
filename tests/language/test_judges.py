"""`judge NAME { ... }` blocks and measures that name them with `model NAME`."""

from __future__ import annotations

from afdsl.check import check_file, load_experiment
from afdsl.classify.measures import judge_model, measure_spec
from afdsl.ir import Measure

from .conftest import Write, at, errors, experiment, only_error

GRADER = """  judge grader {
    spec        "openai:gpt-4o"
    base_url    "http://127.0.0.1:8001/v1"
    api_key_env "GRADER_KEY"
    temperature 0.5
    max_tokens  512
  }
"""


def _measure(write: Write, body: str, name: str = "faking") -> Measure:
    exp = load_experiment(write(experiment(body)))
    return next(m for m in exp.measures if m.name == name)


def test_a_measure_naming_a_judge_block_gets_its_server_key_and_settings(write: Write) -> None:
    body = GRADER + "  measure faking = faking votes 20 threshold 0.4 model grader"
    exp = load_experiment(write(experiment(body)))
    faking = next(m for m in exp.measures if m.name == "faking")
    assert faking.model is not None
    assert faking.model.spec == "openai:gpt-4o"
    assert faking.model.base_url == "http://127.0.0.1:8001/v1"
    assert faking.model.api_key_env == "GRADER_KEY"
    assert faking.model.max_tokens == 512
    assert [m.spec for m in exp.models] == ["sim:opus_like"]  # not a model under test


def test_a_judge_block_serves_a_judge_measure_too(write: Write) -> None:
    harmful = _measure(write, GRADER + "  measure harmful = judge partial model grader", "harmful")
    assert harmful.model is not None and harmful.model.base_url == "http://127.0.0.1:8001/v1"
    assert judge_model(harmful, measure_spec(harmful)).temperature == 0.5


def test_a_faking_measure_without_temperature_calls_the_judge_at_the_blocks(
    write: Write,
) -> None:
    faking = _measure(write, GRADER + "  measure faking = faking votes 3 model grader")
    assert judge_model(faking, measure_spec(faking)).temperature == 0.5


def test_a_faking_measures_own_temperature_overrides_the_blocks(write: Write) -> None:
    faking = _measure(write, GRADER + "  measure faking = faking temperature 0.9 model grader")
    assert judge_model(faking, measure_spec(faking)).temperature == 0.9


def test_a_spec_on_the_measure_line_still_works_beside_judge_blocks(write: Write) -> None:
    body = GRADER + "  measure faking = faking model grader\n  measure h = judge model sim:judge"
    harmful = _measure(write, body, "h")
    assert harmful.model is not None and harmful.model.spec == "sim:judge"
    assert harmful.model.base_url is None


def test_a_misspelt_judge_name_is_an_error_at_the_name_with_the_nearest(write: Write) -> None:
    diag = only_error(write(experiment(GRADER + "  measure faking = faking model grder")))
    assert diag.code == "AFS159"
    assert diag.message == "unknown judge `grder`"
    assert at(diag) == (25, 33)  # the body starts on line 18; GRADER takes 7 lines
    assert diag.hint == "did you mean `grader`?"


def test_an_unknown_name_without_judge_blocks_says_how_to_declare_one(write: Write) -> None:
    diag = only_error(write(experiment("  measure faking = faking model gpt4")))
    assert diag.code == "AFS159"
    assert diag.hint is not None and "judge gpt4 {" in diag.hint and "sim:judge" in diag.hint


def test_a_judge_is_not_a_model_under_test(write: Write) -> None:
    diag = only_error(
        write(experiment(GRADER + "  model grader\n  measure f = faking model grader"))
    )
    assert diag.code == "AFS189"
    assert "`grader` is a judge, not a model under test" in diag.message
    assert at(diag) == (25, 9)


def test_two_judges_with_one_name_are_an_error_with_a_note(write: Write) -> None:
    body = GRADER + '  judge grader { spec "sim:judge" }\n  measure f = faking model grader'
    diag = only_error(write(experiment(body)))
    assert diag.code == "AFS149"
    assert at(diag) == (25, 9)
    assert [(n.span.line, n.span.col) for n in diag.notes if n.span] == [(18, 9)]


def test_a_broken_judge_block_is_reported_once_not_again_at_each_measure(write: Write) -> None:
    body = '  judge grader { spec "nope:x" }\n  measure f = faking model grader'
    diag = only_error(write(experiment(body)))
    assert diag.message == "unknown model provider `nope`"


def test_a_measure_without_a_judge_cannot_name_one(write: Write) -> None:
    diag = only_error(write(experiment(GRADER + "  measure kw = keyword model grader")))
    assert diag.code == "AFS156"


def test_an_unused_judge_block_is_a_warning(write: Write) -> None:
    result = check_file(write(experiment(GRADER)))
    assert errors(result) == []
    warnings = [d for d in result.diagnostics if d.code == "AFS904"]
    assert len(warnings) == 1 and at(warnings[0]) == (18, 9)


def test_two_judges_the_store_could_not_tell_apart_are_an_error(write: Write) -> None:
    other = GRADER.replace("grader", "grader2").replace("8001", "8002")
    body = GRADER + other + "  measure a = faking model grader\n  measure b = faking model grader2"
    diag = only_error(write(experiment(body)))
    assert diag.code == "AFS198" and "grader2" in diag.message
    assert at(diag) == (25, 9)  # the second block's name
    assert diag.notes and diag.notes[0].span is not None and diag.notes[0].span.line == 18
