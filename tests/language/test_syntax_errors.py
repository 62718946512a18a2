"""Syntax errors: exact positions, user spelling, hints."""

from __future__ import annotations

import pytest

from .conftest import SCENARIO, Write, at, only_error


def test_misspelt_keyword_points_at_the_word_and_suggests(write: Write) -> None:
    path = write(SCENARIO + "experiment e {\n  base s\n  varient v = remove section intro\n}\n")
    diag = only_error(path)
    assert at(diag) == (16, 3)
    assert diag.span is not None and diag.span.end_col == 10
    assert diag.hint == "did you mean `variant`?"
    assert "`variant`" in diag.message and "`}`" in diag.message


def test_missing_closing_brace_at_end_names_the_opening_line(write: Write) -> None:
    path = write(SCENARIO + "experiment e {\n  base s\n  samples 2\n")
    diag = only_error(path)
    assert diag.message == "missing closing brace opened at line 14"
    assert at(diag) == (14, 14)


def test_missing_brace_before_next_statement_hints_at_opener(write: Write) -> None:
    path = write('scenario s {\n  user "{query}"\n\nexperiment e {\n}\n')
    diag = only_error(path)
    assert at(diag) == (4, 1)
    assert diag.hint == "missing closing brace opened at line 1?"


def test_unterminated_string(write: Write) -> None:
    path = write('scenario s {\n  section a "never closed\n}\n')
    diag = only_error(path)
    assert diag.message == "unterminated string"
    assert at(diag) == (2, 13)


def test_unknown_escape_points_at_the_backslash(write: Write) -> None:
    path = write('scenario s {\n  section a "bad \\q escape"\n}\n')
    diag = only_error(path)
    assert "unknown escape" in diag.message
    assert at(diag) == (2, 18)


def test_unexpected_character(write: Write) -> None:
    path = write("scenario s {\n  section a @\n}\n")
    diag = only_error(path)
    assert at(diag) == (2, 13)
    assert "`@`" in diag.message


def test_bare_model_name_without_provider_gets_a_hint(write: Write) -> None:
    # `model NAME` parses (it names a judge block on a measure's line), so the error
    # is the checker's, at the name, with the spec form as the hint.
    path = write(SCENARIO + 'experiment e {\n  model opus\n  base s\n  queries ["q"]\n}\n')
    diag = only_error(path)
    assert at(diag) == (15, 9)
    assert diag.hint is not None and "provider:name" in diag.hint


def test_accented_letter_in_a_name_says_names_are_ascii(write: Write) -> None:
    diag = only_error(write(SCENARIO + "perturbation nö = remove section tiers\n"))
    assert at(diag) == (SCENARIO.count("\n") + 1, 15)
    assert diag.hint is not None and "ASCII" in diag.hint


def test_a_wrong_word_inside_a_block_does_not_hint_at_a_missing_brace(write: Write) -> None:
    # `append` takes no `in`: the block is closed further down, and the hint
    # "missing closing brace opened at line 14?" sent the reader looking for it.
    path = write(
        SCENARIO + 'experiment e {\n  base s\n  variant v = append intro "x" in tiers\n}\n'
    )
    diag = only_error(path)
    assert at(diag) == (16, 32)
    assert diag.hint is None


def test_a_pin_inside_effect_says_contrasts_take_none(write: Write) -> None:
    # `effect(no_rlhf @ opus)` was a bare "unexpected `@`; expected `)`".
    path = write(
        SCENARIO + 'experiment e {\n  base s\n  queries ["q"]\n'
        "  hypothesis h: effect(a @ opus) < 0\n}\n"
    )
    diag = only_error(path)
    assert "`@`" in diag.message
    assert diag.hint is not None and "take no pin" in diag.hint and "for MODEL" in diag.hint


def test_a_pin_elsewhere_gets_no_contrast_hint(write: Write) -> None:
    path = write(SCENARIO + 'experiment e {\n  base s\n  queries ["q"]\n  samples @ 3\n}\n')
    diag = only_error(path)
    assert diag.hint is None or "pin" not in diag.hint


@pytest.mark.parametrize("bound", ["5 pp", "5PP"])
def test_a_misspelt_points_suffix_gets_the_spelling(write: Write, bound: str) -> None:
    path = write(
        SCENARIO + 'experiment e {\n  base s\n  queries ["q"]\n'
        f"  hypothesis h: gap(base) > {bound}\n}}\n"
    )
    diag = only_error(path)
    assert diag.hint is not None and "`5pp`" in diag.hint
