"""Factorial designs: `cross` declares the combinations, `effect()` / `interaction()`
expand into weighted gap terms; multi-parameter families and `apply {p}`."""

from __future__ import annotations

from pathlib import Path

import pytest

from afdsl.check import check_file, load_experiment
from afdsl.cli import main
from afdsl.fmt import format_text

from .conftest import SCENARIO, Write, at, errors, experiment, only_error

BODY = 18
# Three perturbations that edit different parts of SCENARIO, and two that collide.
PERTURBATIONS = """
perturbation a = append intro " Be brief."
perturbation b = replace "Free tier" with "Basic tier"
perturbation c = prepend intro "Note: "
perturbation cut = remove section tiers
perturbation edit = append tiers " Really."
"""


def crossed(body: str) -> str:
    """SCENARIO, the experiment (body on line 18), then the perturbations."""
    return experiment(body) + PERTURBATIONS


def names(path: Path) -> list[str]:
    return [v.name for v in load_experiment(path).variants]


def weights(path: Path, hypothesis: int = 0) -> dict[str, float]:
    h = load_experiment(path).hypotheses[hypothesis]
    return {w.term.variant: w.coef for w in h.terms}


def test_a_cross_of_three_declares_the_seven_combinations_in_order(write: Write) -> None:
    path = write(crossed("  cross a, b, c"))
    assert names(path) == ["base", "a", "b", "c", "a__b", "a__c", "b__c", "a__b__c"]


def test_a_combination_applies_its_items_in_the_order_written(write: Write) -> None:
    exp = load_experiment(write(crossed("  cross c, a, b")))
    intro = exp.variant("c__a").scenario.sections[0].text
    assert intro.startswith("Note: ") and intro.endswith("Be brief.")
    everything = exp.variant("c__a__b").scenario.system_prompt()
    assert "Basic tier" in everything and "Be brief." in everything
    assert exp.variant("c__a__b").description == "c + a + b"
    assert [v.name for v in exp.variants][1:4] == ["c", "a", "b"]


def test_a_declared_variant_is_its_own_one_item_cell(write: Write) -> None:
    body = '  variant a = apply a + append intro " Extra."\n  cross a, b'
    exp = load_experiment(write(crossed(body)))
    assert [v.name for v in exp.variants] == ["base", "a", "b", "a__b"]
    assert "Extra." in exp.variant("a__b").scenario.system_prompt()


def test_library_perturbations_can_be_crossed(write: Write) -> None:
    src = experiment("  cross never_deployed, openai_trainer").replace(
        "base s", "base helpful_only"
    )
    exp = load_experiment(write("use helpful_only\n" + src))
    combined = exp.variant("never_deployed__openai_trainer").scenario.system_prompt()
    assert (
        "OpenAI" in combined and combined != exp.variant("openai_trainer").scenario.system_prompt()
    )


def test_items_that_edit_the_same_section_are_a_precise_error_once(write: Write) -> None:
    diag = only_error(write(crossed("  cross cut, edit, a")))
    assert diag.code == "AFS132"
    assert diag.message.startswith("cross cell `cut__edit`: `apply edit`: no section `tiers`")
    assert at(diag) == (BODY, 14)  # at `edit` in the cross
    assert diag.hint is not None and diag.hint.startswith("`cut`, earlier in the cross, removes")


def test_a_combination_that_undoes_an_item_is_a_warning(write: Write) -> None:
    result = check_file(write(crossed("  cross edit, cut\n  hypothesis h: effect(cut) < 0")))
    (warning,) = [d for d in result.diagnostics if d.code == "AFS214"]
    assert warning.message == (
        "cross cell `edit__cut` renders the same prompts as `cut`: "
        "a later item undoes an earlier one's change"
    )
    assert at(warning) == (BODY, 3) and not errors(result)


def test_an_unknown_item_is_reported_once_at_the_item(write: Write) -> None:
    diag = only_error(write(crossed("  cross a, bb, c")))
    assert diag.message == "unknown perturbation or variant `bb`"
    assert at(diag) == (BODY, 12)
    assert diag.hint is not None and "`b`" in diag.hint


def test_a_combination_named_like_a_declared_variant_is_an_error_with_a_hint(
    write: Write,
) -> None:
    body = '  variant a__b = append intro " X."\n  cross a, b'
    diag = only_error(write(crossed(body)))
    assert diag.code == "AFS212"
    assert at(diag) == (BODY + 1, 3)
    assert diag.hint is not None and "rename the variant `a__b`" in diag.hint


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("  cross a", "AFS210", "a `cross` needs at least two items"),
        ("  cross a, b, a", "AFS210", "the cross names `a` twice"),
        ("  cross a, base", "AFS210", "`base` is every cross's all-off cell, not an item"),
        ("  cross a, b\n  cross a, b", "AFS213", "`a__b` is declared by two crosses"),
    ],
)
def test_malformed_crosses(write: Write, body: str, code: str, message: str) -> None:
    diag = only_error(write(crossed(body)))
    assert (diag.code, diag.message) == (code, message)


def test_two_crosses_in_one_experiment(write: Write) -> None:
    path = write(crossed("  cross a, b\n  cross a, c"))
    assert names(path) == ["base", "a", "b", "a__b", "c", "a__c"]


def test_effect_is_the_mean_with_minus_the_mean_without(write: Write) -> None:
    path = write(crossed("  cross a, b, c\n  hypothesis h: effect(b) < 0"))
    w = weights(path)
    assert w == {
        "base": -0.25,
        "a": -0.25,
        "b": 0.25,
        "c": -0.25,
        "a__b": 0.25,
        "a__c": -0.25,
        "b__c": 0.25,
        "a__b__c": 0.25,
    }
    h = load_experiment(path).hypotheses[0]
    assert h.expression == "effect(b) < 0" and h.op == "<" and h.bound == 0


def test_a_two_factor_interaction_is_the_difference_of_differences(write: Write) -> None:
    two = weights(write(crossed("  cross a, b\n  hypothesis h: interaction(a, b) != 0")))
    assert two == {"base": 1.0, "a": -1.0, "b": -1.0, "a__b": 1.0}
    three = weights(write(crossed("  cross a, b, c\n  hypothesis h: interaction(a, c) > 0")))
    assert three == {
        "base": 0.5,
        "a": -0.5,
        "b": 0.5,
        "c": -0.5,
        "a__b": -0.5,
        "a__c": 0.5,
        "b__c": -0.5,
        "a__b__c": 0.5,
    }


def test_a_three_factor_interaction_and_mixed_terms(write: Write) -> None:
    body = "  cross a, b, c\n  hypothesis h: interaction(a, b, c) != 0\n"
    body += "  hypothesis k: 2 * effect(a) - gap(base) > 0.1"
    path = write(crossed(body))
    assert weights(path)["a__b__c"] == 1.0 and weights(path)["a__b"] == -1.0
    k = weights(path, 1)
    assert k["a"] == 0.5 and k["base"] == -1.5 and k["b"] == -0.5
    assert load_experiment(path).hypotheses[1].bound == 0.1


@pytest.mark.parametrize(
    ("body", "code", "col", "message"),
    [
        (
            "  cross a, b\n  hypothesis h: effect(c) < 0",
            "AFS216",
            24,
            "`c` is not an item of a `cross` in this experiment",
        ),
        (
            "  cross a, b\n  cross a, c\n  hypothesis h: interaction(b, c) < 0",
            "AFS217",
            17,
            "no single `cross` has all of b, c",
        ),
        (
            "  cross a, b\n  cross a, c\n  hypothesis h: effect(a) < 0",
            "AFS218",
            17,
            "a is in 2 crosses, so `effect()` is ambiguous",
        ),
        (
            "  cross a, b\n  hypothesis h: interaction(a, a) < 0",
            "AFS216",
            32,
            "`interaction` names `a` twice",
        ),
    ],
)
def test_contrast_names_must_be_items_of_one_cross(
    write: Write, body: str, code: str, col: int, message: str
) -> None:
    diag = only_error(write(crossed(body)))
    assert (diag.code, diag.message) == (code, message)
    assert diag.span is not None and diag.span.col == col


def test_an_unknown_factor_gets_the_nearest_item_as_hint(write: Write) -> None:
    diag = only_error(write(crossed("  cross a, cut\n  hypothesis h: effect(cutt) < 0")))
    assert diag.hint is not None and "`cut`" in diag.hint


def test_effect_without_an_experiment_is_a_diagnostic(tmp_path: Path, capsys) -> None:
    labels = tmp_path / "l.jsonl"
    labels.write_text(
        '{"variant": "base", "condition": "training", "query_id": "q", "complied": true}\n',
        encoding="utf-8",
    )
    code = main(["analyze", str(labels), "--hypothesis", "h: effect(a) > 0"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "--hypothesis:1:4: error: `effect()` needs the `cross` of an experiment" in err


def test_cross_cells_raise_no_unused_warning(write: Write) -> None:
    result = check_file(write(crossed("  cross a, b\n  hypothesis h: effect(a) < 0")))
    unused = [d.message for d in result.diagnostics if d.code == "AFS903"]
    assert not unused and not errors(result)


# ------------------------------------------------------------ families
def test_a_two_parameter_family_declares_the_product(write: Write) -> None:
    body = (
        '  variant f[lab, cue] = replace "Anthropic" with "{lab}" + set training.cue = "{cue}"'
        ' for lab in ["OpenAI", "Google DeepMind"], cue in ["yes", "no"]'
    )
    exp = load_experiment(write(experiment(body)))
    assert [v.name for v in exp.variants] == [
        "base",
        "f_OpenAI_yes",
        "f_OpenAI_no",
        "f_Google_DeepMind_yes",
        "f_Google_DeepMind_no",
    ]
    member = exp.variant("f_Google_DeepMind_no")
    assert "built by Google DeepMind." in member.scenario.system_prompt()
    assert member.scenario.conditions[0].slots["cue"] == "no"
    assert member.description == 'lab = "Google DeepMind", cue = "no"'
    assert member.operations == (
        'replace "Anthropic" with "Google DeepMind"',
        'set training.cue = "no"',
    )


def test_the_loops_may_come_in_another_order(write: Write) -> None:
    body = (
        '  variant f[lab, cue] = replace "Anthropic" with "{lab}" + set training.cue = "{cue}"'
        ' for cue in ["y"], lab in ["A", "B"]'
    )
    assert names(write(experiment(body)))[1:] == ["f_A_y", "f_B_y"]


@pytest.mark.parametrize(
    ("loops", "code", "message"),
    [
        ('for lab in ["A"]', "AFS221", "`f[lab, cue]`: no loop gives the values of `cue`"),
        (
            'for lab in ["A"], org in ["B"]',
            "AFS136",
            "the family is `f[lab, cue]` but the loop names `org`",
        ),
        ('for lab in ["A"], lab in ["B"]', "AFS220", "the loop names `lab` twice"),
    ],
)
def test_family_loops_must_name_each_parameter_once(
    write: Write, loops: str, code: str, message: str
) -> None:
    ops = 'replace "Anthropic" with "{lab}" + append intro "{cue}"'
    body = f"  variant f[lab, cue] = {ops} {loops}"
    diag = only_error(write(experiment(body)))
    assert (diag.code, diag.message) == (code, message)


def test_a_product_that_repeats_a_name_is_reported(write: Write) -> None:
    body = '  variant f[x, y] = append intro "{x}{y}" for x in ["a_b", "a"], y in ["c", "b_c"]'
    diag = only_error(write(experiment(body)))
    assert diag.code == "AFS139" and diag.message == "`f[x, y]` generates `f_a_b_c` twice"


def test_apply_a_parameter_applies_each_named_perturbation(write: Write) -> None:
    body = '  variant drop[p] = apply {p} for p in ["a", "cut"]'
    exp = load_experiment(write(crossed(body)))
    assert [v.name for v in exp.variants] == ["base", "drop_a", "drop_cut"]
    assert [s.name for s in exp.variant("drop_cut").scenario.sections] == ["intro"]
    assert exp.variant("drop_a").operations == ("apply a",)


def test_apply_a_parameter_naming_nothing_is_reported_at_the_list_item(write: Write) -> None:
    diag = only_error(write(crossed('  variant drop[p] = apply {p} for p in ["a", "cutt"]')))
    assert diag.message == "unknown perturbation or variant `cutt`"
    assert at(diag) == (BODY, 46)
    assert diag.hint is not None and "`cut`" in diag.hint


def test_apply_a_parameter_never_suggests_the_member_itself(write: Write) -> None:
    # `drop_nope` is the variant that `apply {p}` with p = "nope" declares: applying it
    # would be a cycle, yet it was the "did you mean" hint.
    diag = only_error(write(crossed('  variant drop[p] = apply {p} for p in ["a", "nope"]')))
    assert diag.message == "unknown perturbation or variant `nope`"
    assert diag.hint is None or "drop_nope" not in diag.hint


def test_apply_of_a_non_parameter_and_outside_a_family(write: Write) -> None:
    line = '  variant d[p] = apply {q} + append intro "{p}" for p in ["a"]'
    wrong = only_error(write(crossed(line)))
    assert wrong.code == "AFS222" and at(wrong) == (BODY, line.index("q") + 1)
    assert wrong.message == "`apply {q}`: `q` is not a parameter of `d`"
    outside = only_error(write(crossed("  variant d = apply {p}")))
    assert outside.code == "AFS223" and at(outside) == (BODY, 15)


def test_a_family_can_apply_and_fill_text_together(write: Write) -> None:
    body = '  variant g[p, t] = apply {p} + append intro "{t}" for p in ["a", "c"], t in [" X"]'
    exp = load_experiment(write(crossed(body)))
    intro = exp.variant("g_c_X").scenario.sections[0].text
    assert intro.startswith("Note: ") and intro.endswith(" X")


# ------------------------------------------------------------ layout
def test_fmt_lays_out_the_new_statements_and_is_idempotent(write: Write) -> None:
    messy = crossed(
        "  cross   a ,b,c\n"
        '  variant drop[ p ] = apply { p } for p in ["a", "cut"]\n'
        '  variant f[lab,cue] = replace "Anthropic" with "{lab}" + append intro "{cue}"'
        ' for lab in ["A"] , cue in ["B"]\n'
        "  hypothesis h: effect( a ) + interaction(a,b) < 0"
    )
    out = format_text(messy)
    assert "  cross a, b, c\n" in out
    assert '= apply {p} for p in ["a", "cut"]' in out and "variant drop[p] " in out
    assert 'for lab in ["A"], cue in ["B"]' in out
    assert "hypothesis h: effect(a) + interaction(a, b) < 0" in out
    assert format_text(out) == out
    path = write(out)
    assert not errors(check_file(path))
    assert main(["fmt", "--check", str(path)]) == 0


def test_the_scenario_fixture_still_checks(write: Write) -> None:
    assert not errors(check_file(write(SCENARIO + PERTURBATIONS)))
