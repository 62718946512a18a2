"""Syntax errors list only what can really come next, and a file reports all of its
independent syntax errors at once without cascades."""

from __future__ import annotations

import pytest

from afdsl.check import check_file

from .conftest import SCENARIO, Write, at, errors, only_error

# SCENARIO has 13 lines; an experiment written after it opens on line 14.
EXPERIMENT_LINE = 14


def _experiment(*lines: str) -> str:
    return SCENARIO + "experiment e {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


def test_inside_an_experiment_only_experiment_statements_are_expected(write: Write) -> None:
    # After a complete operator list the LALR lookahead set also holds top-level
    # keywords (`scenario`, `use`, ...); they cannot follow here and must not be listed.
    src = _experiment("base s", "variant a = remove section intro", "varient b = remove section x")
    diag = only_error(write(src))
    assert at(diag) == (EXPERIMENT_LINE + 3, 3)
    assert diag.message == (
        "unexpected `varient`; expected one of `base`, `correct`, `cross`, `hypothesis`, `judge`, "
        "`measure`, `model`, `models`, `queries`, `samples`, `seed`, `variant`, `+`, `}`"
    )
    assert diag.hint == "did you mean `variant`?"


def test_at_top_level_only_declarations_are_expected(write: Write) -> None:
    diag = only_error(write("experimnt e {\n}\n"))
    assert diag.message == (
        "unexpected `experimnt`; expected one of `experiment`, `perturbation`, `scenario`, "
        "`use`, the end of the file"
    )
    assert diag.hint == "did you mean `experiment`?"


def test_inside_a_scenario_only_scenario_statements_are_expected(write: Write) -> None:
    diag = only_error(write('scenario s {\n  sektion intro "x"\n}\n'))
    assert at(diag) == (2, 3)
    assert diag.message == (
        "unexpected `sektion`; expected one of `condition`, `continue`, `section`, `user`, `}`"
    )


def test_inside_an_operator_only_the_words_that_fit_are_expected(write: Write) -> None:
    diag = only_error(write(_experiment("base s", "variant v = remove sektion intro")))
    assert at(diag) == (EXPERIMENT_LINE + 2, 22)
    assert diag.message == "unexpected `sektion`; expected one of `between`, `section`"
    assert diag.hint == "did you mean `section`?"


def test_two_misspelt_keywords_give_two_errors_at_their_positions(write: Write) -> None:
    src = _experiment(
        "base s",
        "model sim:opus_like",
        "varient a = remove section intro",
        'queries ["Write a rude poem."]',
        "samples 2",
        "seed 3",
        "hypothesys h: gap(a) > 0",
        "correct holm",
    )
    found = errors(check_file(write(src)))
    assert [at(d) for d in found] == [(EXPERIMENT_LINE + 3, 3), (EXPERIMENT_LINE + 7, 3)]
    assert [d.hint for d in found] == ["did you mean `variant`?", "did you mean `hypothesis`?"]


def test_errors_in_a_scenario_and_an_experiment_are_both_reported(write: Write) -> None:
    src = SCENARIO.replace("  user", "  usr", 1) + "experiment e {\n  bse s\n}\n"
    found = errors(check_file(write(src)))
    assert [at(d) for d in found] == [(7, 3), (EXPERIMENT_LINE + 1, 3)]


@pytest.mark.parametrize(
    ("broken", "position"),
    [
        # A misspelt keyword mid-file.
        (SCENARIO.replace("condition deployment", "condtion deployment"), (12, 3)),
        # A slot name dropped: the rest of the condition is skipped, the scenario closes.
        (SCENARIO.replace('{ cue = "False" }', '{ = "False" }'), (12, 26)),
        # A condition's closing brace missing: the next condition still parses.
        (SCENARIO.replace('{ cue = "True" }', '{ cue = "True"'), (12, 3)),
        # A string left open: its line is skipped, nothing after it is blamed.
        (SCENARIO.replace('cue = "False" }', 'cue = False" }'), (12, 32)),
        # A missing `=` in a variant.
        (_experiment("base s", "variant v remove section intro", "samples 2"), (16, 13)),
        # A stray character.
        (_experiment("base s", "samples 2 @", "seed 1"), (16, 13)),
    ],
)
def test_a_single_mistake_gives_exactly_one_error(
    write: Write, broken: str, position: tuple[int, int]
) -> None:
    assert at(only_error(write(broken))) == position


def test_syntax_errors_are_capped_at_twenty(write: Write) -> None:
    # Each typo is followed by a good statement, where the parser resynchronises.
    body = [line for i in range(30) for line in (f"varient v{i} = remove section intro", "seed 1")]
    found = errors(check_file(write(_experiment(*body))))
    assert len(found) == 20
    assert [d.span.line for d in found if d.span] == list(
        range(EXPERIMENT_LINE + 1, EXPERIMENT_LINE + 41, 2)
    )


def test_semantic_errors_wait_for_the_syntax_to_be_right(write: Write) -> None:
    # `nope` is an unknown section, but the file does not parse: only the syntax error shows.
    src = _experiment("base s", "variant v = remove section nope", "sampels 2")
    diag = only_error(write(src))
    assert diag.code == "AFS004"
    assert at(diag) == (EXPERIMENT_LINE + 3, 3)
