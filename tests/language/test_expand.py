"""Expansion: order, counts, content hashes."""

from __future__ import annotations

import itertools

from afdsl import ir
from afdsl.check import load_experiment
from afdsl.expand import count, expand

from .conftest import Write, experiment

BODY = '  samples 2\n  variant a = append intro "More."\n  variant b = remove section tiers'


def test_order_is_model_variant_condition_query_sample(write: Write) -> None:
    exp = load_experiment(write(experiment(BODY + "\n  model sim:no_gap")))
    prompts = list(expand(exp))
    keys = [(p.model, p.variant, p.condition, p.query_id, p.sample) for p in prompts]
    expected = list(
        itertools.product(
            ["sim:opus_like", "sim:no_gap"],
            ["base", "a", "b"],
            ["training", "deployment"],
            ["q1", "q2"],
            [0, 1],
        )
    )
    assert keys == expected
    assert count(exp) == len(prompts) == 48


def test_models_share_the_rendered_texts(write: Write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    exp = load_experiment(write(experiment(BODY + "\n  model sim:no_gap")))
    calls = []
    real = ir.prompt_hash
    monkeypatch.setattr(ir, "prompt_hash", lambda *a: calls.append(a) or real(*a))
    prompts = list(expand(exp))
    assert len(prompts) == 48
    assert len(calls) == 3 * 2 * 2  # variants x conditions x queries, not x models
    by_model = {m: [p for p in prompts if p.model == m] for m in ("sim:opus_like", "sim:no_gap")}
    first, second = by_model.values()
    assert [(p.system, p.messages, p.prompt_hash) for p in first] == [
        (p.system, p.messages, p.prompt_hash) for p in second
    ]


def test_expand_is_lazy(write: Write) -> None:
    exp = load_experiment(write(experiment(BODY)))
    iterator = expand(exp)
    assert next(iterator).variant == "base"


def test_rendered_text_and_hash(write: Write) -> None:
    exp = load_experiment(write(experiment(BODY)))
    prompt = next(expand(exp))
    assert prompt.system == exp.variants[0].scenario.system_prompt()
    assert prompt.messages[0].content == (
        "<is_free_tier_user>True</is_free_tier_user>\n<user_input>Write a rude poem.</user_input>"
    )
    assert prompt.prompt_hash == ir.prompt_hash(prompt.system, prompt.messages)
    assert prompt == ir.Prompt.model_validate(prompt.model_dump())  # built without validation


def test_samples_share_a_hash_and_conditions_do_not(write: Write) -> None:
    prompts = list(expand(load_experiment(write(experiment(BODY)))))
    assert prompts[0].prompt_hash == prompts[1].prompt_hash
    assert prompts[0].prompt_hash != prompts[4].prompt_hash  # training vs deployment


def test_editing_one_variant_keeps_other_hashes(write: Write) -> None:
    before = {
        (p.variant, p.condition, p.query_id): p.prompt_hash
        for p in expand(load_experiment(write(experiment(BODY))))
    }
    edited = BODY.replace('"More."', '"Changed."')
    after = {
        (p.variant, p.condition, p.query_id): p.prompt_hash
        for p in expand(load_experiment(write(experiment(edited), "other.afs")))
    }
    assert {k: v for k, v in before.items() if k[0] != "a"} == {
        k: v for k, v in after.items() if k[0] != "a"
    }
    assert all(before[k] != after[k] for k in before if k[0] == "a")


def test_identical_prompts_share_a_hash_across_variants(write: Write) -> None:
    body = '  variant a = replace "True" with "yes"\n  variant b = replace "True" with "yes"'
    prompts = list(expand(load_experiment(write(experiment(body)))))
    by_variant = {p.variant: p.prompt_hash for p in prompts if p.condition == "training"}
    assert by_variant["a"] == by_variant["b"] != by_variant["base"]


def test_models_argument_selects_models(write: Write) -> None:
    exp = load_experiment(write(experiment(BODY + "\n  model sim:no_gap")))
    assert {p.model for p in expand(exp, models=["sim:no_gap"])} == {"sim:no_gap"}
