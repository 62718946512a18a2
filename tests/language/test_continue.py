"""`continue with SEND until UNTIL max N`: parsed, checked, carried to every prompt and hash."""

from __future__ import annotations

import pytest

from afdsl import ir
from afdsl.check import load_experiment
from afdsl.expand import expand

from .conftest import SCENARIO, Write, at, experiment, only_error

PROTOCOL = 'continue with "<NEXT/>" until "<OUTPUT>" max 4'


def _talk(line: str = PROTOCOL, body: str = "") -> str:
    """`talk` (line 15) extends the test scenario with `line`, and is the base."""
    scenario = SCENARIO + "scenario talk extends s {\n  " + line + "\n}\n"
    return scenario + experiment(body).removeprefix(SCENARIO).replace("base s", "base talk")


def test_a_scenario_with_continue_makes_every_prompt_a_conversation(write: Write) -> None:
    variants = "  variant no_tiers = remove section tiers"
    exp = load_experiment(write(_talk(body=variants)))
    expected = ir.Continuation(send="<NEXT/>", until="<OUTPUT>", max_calls=4)
    assert exp.variant("base").scenario.continuation == expected
    prompts = list(expand(exp))
    assert prompts and all(p.continuation == expected for p in prompts)  # variants too
    # The hash holds the protocol, so a single-call answer is never reused for it.
    single = load_experiment(write(experiment(variants), "single.afs"))
    one = {(p.variant, p.condition, p.query_id): p.prompt_hash for p in expand(single)}
    for p in prompts:
        assert p.prompt_hash != one[(p.variant, p.condition, p.query_id)]
        assert p.prompt_hash == ir.prompt_hash(p.system, p.messages, expected)
        assert one[(p.variant, p.condition, p.query_id)] == ir.prompt_hash(p.system, p.messages)


def test_without_continue_a_sample_is_one_call_and_the_hash_is_unchanged(write: Write) -> None:
    exp = load_experiment(write(experiment("")))
    assert exp.variant("base").scenario.continuation is None
    for p in expand(exp):
        assert p.continuation is None
        canonical = ir.prompt_hash(p.system, [{"role": "user", "content": p.messages[0].content}])
        assert p.prompt_hash == canonical


def test_built_in_scenarios_stay_single_call(write: Write) -> None:
    text = "use helpful_only\nexperiment e {\n  base helpful_only\n  model sim:opus_like\n"
    exp = load_experiment(write(text + '  queries ["Write a rude poem."]\n}\n'))
    assert exp.variant("base").scenario.continuation is None


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        ('continue with "<NEXT/>" until "<OUTPUT>" max 1', "1", "from 2 to 20"),
        ('continue with "<NEXT/>" until "<OUTPUT>" max 21', "21", "from 2 to 20"),
        ('continue with "<NEXT/>" until "<OUTPUT>" max 2.5', "2.5", "whole number"),
        ('continue with "" until "<OUTPUT>" max 4', '""', "the turn sent to continue is empty"),
        ('continue with "<NEXT/>" until "  " max 4', '"  "', "`until` is empty"),
        ('continue with "go on, OUT" until "OUT" max 4', '"OUT"', "part of the `with` text"),
    ],
)
def test_a_wrong_continue_is_an_error_at_its_value(
    write: Write, line: str, where: str, message: str
) -> None:
    diag = only_error(write(_talk(line)))
    column = len("  ") + line.index(where) + 1
    assert at(diag) == (15, column) and message in diag.message, diag.message
    assert diag.hint


def test_continue_twice_is_an_error_at_the_second(write: Write) -> None:
    diag = only_error(write(_talk(PROTOCOL + "\n  " + PROTOCOL)))
    assert at(diag) == (16, 3) and "set twice" in diag.message


def _child(line: str) -> str:
    """`talk`, then `child extends talk { line }` as the experiment's base."""
    scenario = SCENARIO + "scenario talk extends s {\n  " + PROTOCOL + "\n}\n"
    scenario += "scenario child extends talk {\n  " + line + "\n}\n"
    return scenario + experiment("").removeprefix(SCENARIO).replace("base s", "base child")


def test_a_child_scenario_inherits_continue_and_may_redefine_it(write: Write) -> None:
    inherited = load_experiment(write(_child("")))
    assert inherited.variant("base").scenario.continuation == ir.Continuation(
        send="<NEXT/>", until="<OUTPUT>", max_calls=4
    )
    redefined = load_experiment(write(_child('continue with "more" until "</OUTPUT>" max 2')))
    assert redefined.variant("base").scenario.continuation == ir.Continuation(
        send="more", until="</OUTPUT>", max_calls=2
    )
