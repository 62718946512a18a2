"""Variant families: one line, one named variant per value."""

from __future__ import annotations

from afdsl.check import check_file, load_experiment
from afdsl.expand import expand

from .conftest import Write, at, errors, experiment, only_error

BODY = 18
FAMILY = (
    '  variant trainer[lab] = replace "Anthropic" with "{lab}" '
    'for lab in ["OpenAI", "Google DeepMind", "Meta"]'
)


def test_a_family_generates_one_named_variant_per_value(write: Write) -> None:
    exp = load_experiment(write(experiment(FAMILY)))
    names = [v.name for v in exp.variants]
    assert names == ["base", "trainer_OpenAI", "trainer_Google_DeepMind", "trainer_Meta"]


def test_each_member_applies_the_operator_with_its_own_value(write: Write) -> None:
    exp = load_experiment(write(experiment(FAMILY)))
    for name, lab in [("trainer_OpenAI", "OpenAI"), ("trainer_Google_DeepMind", "Google DeepMind")]:
        variant = exp.variant(name)
        system = variant.scenario.system_prompt()
        assert f"built by {lab}." in system
        assert "Anthropic" not in system and "{lab}" not in system
        assert variant.operations == (f'replace "Anthropic" with "{lab}"',)
    prompts = [p for p in expand(exp) if p.variant == "trainer_Meta"]
    assert len(prompts) == 2 * len(exp.queries)
    assert all("built by Meta." in p.system for p in prompts)


def test_a_hypothesis_can_test_a_generated_variant(write: Write) -> None:
    src = experiment(FAMILY + "\n  hypothesis h: gap(trainer_Google_DeepMind) < gap(base)")
    exp = load_experiment(write(src))
    assert [t.term.variant for t in exp.hypotheses[0].terms] == [
        "trainer_Google_DeepMind",
        "base",
    ]


def test_a_generated_variant_can_be_applied_by_another(write: Write) -> None:
    src = experiment(FAMILY + "\n  variant both = apply trainer_Meta + remove section tiers")
    both = load_experiment(write(src)).variant("both")
    assert "built by Meta." in both.scenario.system_prompt()
    assert [s.name for s in both.scenario.sections] == ["intro"]


def test_two_values_with_the_same_name_are_an_error_at_the_second(write: Write) -> None:
    src = experiment(
        '  variant t[lab] = replace "Anthropic" with "{lab}" for lab in ["Open AI", "Open-AI"]'
    )
    diag = only_error(write(src))
    assert diag.message == "`t[lab]` generates `t_Open_AI` twice"
    assert at(diag) == (BODY, 76)
    assert diag.notes[0].span is not None and diag.notes[0].span.col == 65


def test_a_generated_name_clashing_with_a_variant_is_an_error(write: Write) -> None:
    src = experiment('  variant trainer_Meta = append intro "X."\n' + FAMILY)
    diag = only_error(write(src))
    assert diag.message == "variant `trainer_Meta` is defined twice"
    assert at(diag) == (BODY + 1, 100)


def test_the_loop_must_name_the_family_parameter(write: Write) -> None:
    src = experiment('  variant t[lab] = replace "Anthropic" with "{lab}" for org in ["A"]')
    diag = only_error(write(src))
    assert at(diag) == (BODY, 57)
    assert diag.hint == "write `for lab in [...]`"


def test_a_parameter_no_text_uses_is_an_error(write: Write) -> None:
    src = experiment('  variant t[lab] = replace "Anthropic" with "lab" for lab in ["A", "B"]')
    diag = only_error(write(src))
    assert at(diag) == (BODY, 13)
    assert "`{lab}` appears in no text" in diag.message


def test_untested_members_are_warned_about_one_by_one(write: Write) -> None:
    src = experiment(FAMILY + "\n  hypothesis h: gap(trainer_OpenAI) < gap(base)")
    result = check_file(write(src))
    assert not errors(result)
    warned = [d.message for d in result.diagnostics if not d.is_error]
    assert warned == [
        "variant `trainer_Google_DeepMind` is not tested by any hypothesis",
        "variant `trainer_Meta` is not tested by any hypothesis",
    ]


def test_punctuation_at_the_ends_of_a_value_leaves_no_underscore(write: Write) -> None:
    # docs/language.md: `"Be brief."` gives `NAME_Be_brief`.
    src = experiment('  variant tone[t] = append intro "{t}" for t in ["Be brief.", "(calm)"]')
    names = [v.name for v in load_experiment(write(src)).variants]
    assert names == ["base", "tone_Be_brief", "tone_calm"]
