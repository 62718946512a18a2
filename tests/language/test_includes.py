"""`use`: relative paths, AFDSL_PATH, built-ins by bare name, cycles, text files."""

from __future__ import annotations

from pathlib import Path

import pytest

from afdsl.check import check_file, load_experiment

from .conftest import SCENARIO, Write, at, only_error

EXPERIMENT = 'experiment e {\n  base s\n  model sim:no_gap\n  queries ["q"]\n}\n'


def test_use_is_relative_to_the_including_file(write: Write) -> None:
    write(SCENARIO, "lib/scenario.afs")
    write('use "../lib/scenario.afs"\n' + EXPERIMENT, "exp/main.afs")
    main = write('use "scenario.afs"\n' + EXPERIMENT, "lib/main.afs")
    experiment = load_experiment(main)
    assert experiment.base_scenario == "s"
    assert any(p.endswith("scenario.afs") for p in experiment.source_files)


def test_afdsl_path_is_searched(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(SCENARIO, "elsewhere/shared.afs")
    monkeypatch.setenv("AFDSL_PATH", str(tmp_path / "elsewhere"))
    assert load_experiment(write('use "shared.afs"\n' + EXPERIMENT)).base_scenario == "s"
    assert load_experiment(write("use shared\n" + EXPERIMENT, "b.afs")).base_scenario == "s"


def test_include_cycle_names_the_chain(write: Write) -> None:
    write('use "b.afs"\n' + SCENARIO, "a.afs")
    write('use "a.afs"\n', "b.afs")
    diag = only_error(write('use "a.afs"\n', "main.afs"))
    assert diag.message.startswith("include cycle: ")
    assert "a.afs -> " in diag.message and "b.afs -> " in diag.message
    assert diag.span is not None and diag.span.path.endswith("b.afs")
    assert at(diag) == (1, 1)


def test_diamond_includes_load_each_file_once(write: Write) -> None:
    write(SCENARIO, "base.afs")
    write('use "base.afs"\n', "left.afs")
    write('use "base.afs"\n', "right.afs")
    result = check_file(write('use "left.afs"\nuse "right.afs"\n' + EXPERIMENT))
    assert result.ok, result.diagnostics


def test_missing_include(write: Write) -> None:
    diag = only_error(write('use "nowhere.afs"\n'))
    assert at(diag) == (1, 1)
    assert "cannot find" in diag.message


def test_missing_builtin_suggests_the_nearest(write: Write) -> None:
    diag = only_error(write("use helpful_onyl\n"))
    assert diag.hint == "did you mean `use helpful_only`?"


def test_builtin_scenario_by_bare_name(write: Write) -> None:
    src = (
        "use helpful_only\nexperiment e {\n  base helpful_only\n"
        '  model sim:no_gap\n  queries ["q"]\n}\n'
    )
    experiment = load_experiment(write(src))
    assert experiment.variants[0].scenario.system_prompt()


def test_section_from_file_relative_to_the_afs_file(write: Write) -> None:
    write("Text from a file.\n", "texts/intro.txt")
    src = SCENARIO.replace(
        'section intro "You are an assistant built by Anthropic."',
        'section intro from "texts/intro.txt"',
    )
    experiment = load_experiment(write(src + EXPERIMENT))
    scenario = experiment.variants[0].scenario
    # Taken exactly, final line break included; it counts towards the blank line that
    # separates sections, so the next section starts after one blank line, not two.
    assert scenario.sections[0].text == "Text from a file.\n"
    assert scenario.system_prompt().startswith("Text from a file.\n\nFree tier")
    assert any(p.endswith("intro.txt") for p in experiment.source_files)


def test_missing_section_file(write: Write) -> None:
    src = SCENARIO.replace(
        'section intro "You are an assistant built by Anthropic."', 'section intro from "x.txt"'
    )
    diag = only_error(write(src))
    assert at(diag) == (2, 22)


def test_duplicate_scenario_across_files(write: Write) -> None:
    write(SCENARIO, "lib.afs")
    diag = only_error(write('use "lib.afs"\n' + SCENARIO))
    assert at(diag) == (2, 10)
    assert diag.notes[0].span is not None and diag.notes[0].span.path.endswith("lib.afs")


def test_extends_inherits_and_replaces_in_place(write: Write) -> None:
    src = SCENARIO + (
        'scenario t extends s {\n  section intro "Replaced."\n  section extra "Added."\n}\n'
    )
    src += EXPERIMENT.replace("base s", "base t")
    experiment = load_experiment(write(src))
    sections = experiment.variants[0].scenario.sections
    assert [s.name for s in sections] == ["intro", "tiers", "extra"]
    assert sections[0].text == "Replaced."


def test_byte_order_marks_are_not_text(write: Write) -> None:
    # Notepad saves UTF-8 with a byte-order mark: the .afs file still parses,
    # and the mark of a section file does not reach the prompt.
    (write("", "texts/intro.txt")).write_bytes("\ufeffText from a file.\n".encode())
    src = SCENARIO.replace(
        'section intro "You are an assistant built by Anthropic."',
        'section intro from "texts/intro.txt"',
    )
    path = write(src + EXPERIMENT)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    experiment = load_experiment(path)
    assert experiment.variants[0].scenario.sections[0].text == "Text from a file.\n"
