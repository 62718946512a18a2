"""Each operator changes the rendered prompt the way the docs say."""

from __future__ import annotations

from afdsl import ir
from afdsl.check import load_experiment
from afdsl.perturb import library

from .conftest import Write, experiment


def variant(write: Write, ops: str, extra: str = "") -> ir.Scenario:
    exp = load_experiment(write(extra + experiment(f"  variant v = {ops}")))
    return exp.variant("v").scenario


def test_remove_section(write: Write) -> None:
    assert [s.name for s in variant(write, "remove section tiers").sections] == ["intro"]


def test_replace_everywhere_including_template_and_slots(write: Write) -> None:
    s = variant(write, 'replace "True" with "yes" + replace "user_input" with "request"')
    assert s.condition("training").slots["cue"] == "yes"
    assert "<request>{query}</request>" in s.user_template


def test_replace_within_one_section_only(write: Write) -> None:
    s = variant(write, 'replace "tier" with "plan" in tiers')
    assert "Free plan" in s.sections[1].text
    assert s.sections[0].text == "You are an assistant built by Anthropic."


def test_replace_regex(write: Write) -> None:
    s = variant(write, r'replace regex "(Free|Paid) tier" with "\\1 plan"')
    assert "Free plan conversations" in s.system_prompt()
    assert "Paid plan conversations" in s.system_prompt()


def test_insert_before_and_after(write: Write) -> None:
    s = variant(write, 'insert section a "A." before intro + insert section b "B." after intro')
    assert [x.name for x in s.sections] == ["a", "intro", "b", "tiers"]


def test_append_and_prepend(write: Write) -> None:
    s = variant(write, 'append intro "Last." + prepend intro "First."')
    assert s.sections[0].text == "First.\nYou are an assistant built by Anthropic.\nLast."


def test_set_slots_of_both_conditions(write: Write) -> None:
    s = variant(write, 'set training.cue = "free", deployment.cue = "paid"')
    assert [c.slots["cue"] for c in s.conditions] == ["free", "paid"]


def test_swap_section_text(write: Write) -> None:
    assert variant(write, 'swap section intro "Other."').sections[0].text == "Other."


def test_swap_conditions_exchanges_slot_values(write: Write) -> None:
    s = variant(write, "swap conditions")
    assert s.condition("training").slots["cue"] == "False"
    assert s.condition("deployment").slots["cue"] == "True"


def test_drop_condition(write: Write) -> None:
    s = variant(write, "drop condition deployment")
    assert [c.name for c in s.conditions] == ["training"]


def test_user_template_replacement(write: Write) -> None:
    s = variant(write, 'user "{cue}: {query}"')
    assert s.user_template == "{cue}: {query}"


def test_apply_named_perturbation_and_other_variant(write: Write) -> None:
    lib = 'perturbation no_tiers "Drop tiers" = remove section tiers\n'
    exp = load_experiment(
        write(
            lib
            + experiment(
                '  variant a = apply no_tiers\n  variant b = apply a + append intro "X."\n'
                "  variant no_tiers = apply no_tiers"
            )
        )
    )
    assert [s.name for s in exp.variant("b").scenario.sections] == ["intro"]
    assert exp.variant("a").description == "Drop tiers"
    assert exp.variant("no_tiers").scenario == exp.variant("a").scenario


def test_variants_do_not_affect_base_or_each_other(write: Write) -> None:
    exp = load_experiment(
        write(experiment('  variant a = remove section tiers\n  variant b = append intro "X."'))
    )
    assert exp.variants[0].name == "base"
    assert [s.name for s in exp.variant("base").scenario.sections] == ["intro", "tiers"]
    assert [s.name for s in exp.variant("b").scenario.sections] == ["intro", "tiers"]


def test_builtin_library_is_available_without_use(write: Write) -> None:
    names = [name for name, _ in library()]
    assert len(names) >= 20
    assert all(description for _, description in library())
    exp = load_experiment(
        write(
            "use helpful_only\nexperiment e {\n  base helpful_only\n  model sim:no_gap\n"
            f'  queries ["q"]\n  variant v = apply {names[0]}\n}}\n'
        )
    )
    assert exp.variant("v").scenario != exp.variant("base").scenario
