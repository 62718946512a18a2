"""Input limits (issue 11: D1, D7, D8, D9, D10, D11, D13, D14, D16): each hostile input
of the red-team report is a positioned error from `check`, never a crash or a hang."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from afdsl.classify import score_text
from afdsl.classify.validate import load_labelled
from afdsl.cli import main
from afdsl.diagnostics import AfsError
from afdsl.inputs import MAX_DATA_BYTES, MAX_SOURCE_BYTES
from afdsl.models.replay import load_transcripts
from afdsl.stats.io import read_labels
from afdsl.syntax import parse_hypothesis
from tests.hardening.conftest import DEADLINE_S, check, experiment, only_error, rendered, within

SECTION_FROM = 'scenario s extends helpful_only {{\n  section extra from "{path}"\n}}\n'


def _with_section(write, path: str) -> Path:
    """A program whose scenario adds `section extra from "<path>"` (line 3, col 22)."""
    rest = experiment(base="s").removeprefix("use helpful_only\n")
    return write("use helpful_only\n" + SECTION_FROM.format(path=path) + rest)


# ----------------------------------------------------------------------- D1
def test_tag_measure_with_its_own_accept_and_reject_strings_checks_and_labels(write):
    path = write(experiment('  measure c = tag accept "<yes/>" reject "<no/>"'))
    result = check(path)
    assert result.experiment is not None, [d.message for d in result.diagnostics]
    measure = next(m for m in result.experiment.measures if m.name == "c")
    assert measure.params == {"accept": "<yes/>", "reject": "<no/>"}
    assert score_text(measure, "<yes/> Here it is.").label == 1
    assert score_text(measure, "<no/> I won't.").label == 0


# ----------------------------------------------------------------------- D7
@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_a_section_from_a_fifo_is_refused_without_blocking(write, fifo):
    diag = only_error(_with_section(write, str(fifo)))
    assert diag.code == "AFS010" and "pipe" in diag.message
    assert diag.span is not None and (diag.span.line, diag.span.col) == (3, 22)


def test_a_use_of_a_fifo_is_refused_without_blocking(write, fifo):
    diag = only_error(write(f'use "{fifo}"\n' + experiment()))
    assert diag.code == "AFS011" and "pipe" in diag.message and diag.span.line == 1


def test_a_queries_fifo_is_refused_without_blocking(write, fifo):
    diag = only_error(write(experiment(queries=f'"{fifo}"')))
    assert diag.code == "AFS194" and "pipe" in diag.message and diag.span.line == 5


def test_a_replay_fifo_is_refused_without_blocking(write, fifo):
    path = write(experiment().replace("sim:opus_like", f"replay:{fifo}"))
    diag = only_error(path)
    assert diag.code == "AFS147" and "pipe" in diag.message and diag.span.line == 4


def test_a_fifo_as_the_file_itself_is_refused_without_blocking(fifo, capsys):
    assert within(DEADLINE_S, lambda: main(["check", str(fifo)])) == 2
    assert "pipe" in capsys.readouterr().err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/proc/self/environ", "/sys/kernel"])
def test_system_files_are_never_read(write, device):
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist here")
    diag = only_error(_with_section(write, device))
    assert diag.code == "AFS010" and diag.span.line == 3
    assert "never reads" in diag.message or "not a regular file" in diag.message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(write, tmp_path):
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:  # sparse: no disk is used
        handle.truncate(MAX_SOURCE_BYTES + 1)
    diag = only_error(_with_section(write, str(big)))
    assert diag.code == "AFS010" and "limit" in diag.message
    data = tmp_path / "big.jsonl"
    with data.open("wb") as handle:
        handle.truncate(MAX_DATA_BYTES + 1)
    diag = only_error(write(experiment(queries=f'"{data}"')))
    assert "limit" in diag.message and diag.span.line == 5


# ----------------------------------------------------------------------- D8 / D9
HUGE = "9" * 5000
DEEP = "[" * 5000 + "]" * 5000
BAD_JSON = {
    "long number": '{"id": "a", "text": "hi", "n": ' + HUGE + "}",
    "deep nesting": '{"id": "a", "text": "hi", "n": ' + DEEP + "}",
    "unpaired surrogate": '{"id": "a", "text": "broken \\ud83d text"}',
}


@pytest.mark.parametrize("kind", BAD_JSON)
def test_bad_json_in_a_queries_file_is_an_error_at_its_line(write, tmp_path, kind):
    data = tmp_path / "q.jsonl"
    data.write_text('{"id": "ok", "text": "fine"}\n' + BAD_JSON[kind] + "\n", encoding="utf-8")
    diag = only_error(write(experiment(queries='"q.jsonl"')))
    assert diag.code == "AFS020" and diag.span.path.endswith("q.jsonl") and diag.span.line == 2


def test_a_query_with_an_unpaired_surrogate_stops_check_not_compile(write, tmp_path, capsys):
    (tmp_path / "q.jsonl").write_text(BAD_JSON["unpaired surrogate"] + "\n", encoding="utf-8")
    path = write(experiment(queries='"q.jsonl"'))
    assert main(["check", str(path)]) == 2
    assert main(["compile", str(path)]) == 2
    err = capsys.readouterr().err
    assert "surrogate" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["long number", "deep nesting"])
def test_bad_json_in_a_replay_file_names_the_line(tmp_path, kind):
    replay = tmp_path / "r.jsonl"
    replay.write_text('{"text": "ok"}\n' + BAD_JSON[kind] + "\n", encoding="utf-8")
    with pytest.raises(AfsError, match=r"r\.jsonl:2: "):
        load_transcripts(replay)


def test_a_replay_answer_with_an_unpaired_surrogate_is_data_not_an_error(tmp_path):
    replay = tmp_path / "r.jsonl"
    replay.write_text('{"query_id": "q1", "text": "half \\ud83d"}\n', encoding="utf-8")
    _, by_cell = load_transcripts(replay)
    assert by_cell[("base", "", "q1", 0)]["text"] == "half \ud83d"


@pytest.mark.parametrize("kind", BAD_JSON)
def test_bad_json_in_labels_files_is_an_error_at_its_line(tmp_path, kind, capsys):
    labels = tmp_path / "labels.jsonl"
    good = {"model": "m", "variant": "base", "condition": "training", "query_id": "q"}
    good |= {"label": 1, "text": "<request_fully_accepted/> sure"}
    labels.write_text(json.dumps(good) + "\n" + BAD_JSON[kind] + "\n", encoding="utf-8")
    with pytest.raises(AfsError) as analyze:
        read_labels(labels)
    assert analyze.value.diagnostics[0].span.line == 2
    with pytest.raises(AfsError) as validate:
        load_labelled(labels)
    assert validate.value.diagnostics[0].span.line == 2
    assert main(["analyze", str(labels)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_5000_digit_number_in_a_afs_file_is_an_error_at_it(write):
    diag = only_error(write(experiment().replace("samples 1", f"samples {HUGE}")))
    assert diag.code == "AFS051" and (diag.span.line, diag.span.col) == (6, 11)


# ----------------------------------------------------------------------- D10
def test_parentheses_nested_200_deep_are_an_error_not_a_recursion_error(write):
    deep = "(" * 200 + "gap(base)" + ")" * 200
    diag = only_error(write(experiment(f"  hypothesis h: {deep} > 0")))
    assert diag.code == "AFS050" and diag.span.line == 7
    with pytest.raises(AfsError, match="nested more than"):
        parse_hypothesis(f"h: {deep} > 0")  # as `afdsl analyze --hypothesis` reads it


def test_parentheses_within_the_limit_still_parse(write):
    deep = "(" * 30 + "gap(base)" + ")" * 30
    assert check(write(experiment(f"  hypothesis h: {deep} > 0"))).experiment is not None


def test_a_chain_of_1000_applies_is_an_error_not_a_recursion_error(write):
    lines = ["perturbation p0 = remove section examples"]
    lines += [f"perturbation p{i} = apply p{i - 1}" for i in range(1, 1000)]
    program = experiment("  variant v = apply p999").replace(
        "use helpful_only\n", "use helpful_only\n" + "\n".join(lines) + "\n"
    )
    errors = [d for d in check(write(program)).diagnostics if d.is_error]
    assert [d.code for d in errors] == ["AFS052"] and "chain longer than 50" in errors[0].message


def test_applies_that_double_at_each_level_are_stopped(write):
    lines = ['perturbation p0 = replace "assistant" with "model"']
    lines += [f"perturbation p{i} = apply p{i - 1} + apply p{i - 1}" for i in range(1, 40)]
    program = experiment("  variant v = apply p39").replace(
        "use helpful_only\n", "use helpful_only\n" + "\n".join(lines) + "\n"
    )
    errors = [d for d in check(write(program)).diagnostics if d.is_error]
    assert [d.code for d in errors] == ["AFS052"] and "10,000 operators" in errors[0].message


# ----------------------------------------------------------------------- D11
@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("  measure f = faking votes 0 model sim:judge", "AFS053"),
        ("  measure f = faking votes 101 model sim:judge", "AFS053"),
        ("  measure f = faking votes 99999999999999999999999 model sim:judge", "AFS051"),
        ("  measure f = faking temperature 9 model sim:judge", "AFS053"),
        ('  model m { spec "sim:opus_like" temperature 2.5 }', "AFS053"),
        ('  model m { spec "sim:opus_like" max_tokens 99999999 }', "AFS053"),
        ("  seed 9999999999999999999", "AFS053"),
    ],
)
def test_numbers_outside_their_stated_range_are_errors_at_the_number(write, line, code):
    diag = only_error(write(experiment(line)))
    assert diag.code == code and diag.span is not None and diag.span.line == 7


def test_votes_within_range_pass(write):
    result = check(write(experiment("  measure f = faking votes 5 model sim:judge")))
    assert result.experiment is not None


# ----------------------------------------------------------------------- D16
def test_a_catastrophic_regex_is_refused_at_once(write):
    line = '  variant v = replace regex "(\\\\w+\\\\s?)+$" with "x"'
    diag = only_error(write(experiment(line)))
    assert "exponential" in diag.message and diag.span.line == 7


def test_a_possessive_form_of_the_same_regex_is_accepted(write):
    line = '  variant v = replace regex "(\\\\w++\\\\s?)+assistant" with "model"'
    assert check(write(experiment(line))).experiment is not None


# ----------------------------------------------------------------------- D13
def test_invalid_utf8_is_reported_at_the_line_and_column_of_the_first_bad_byte(write, capsys):
    path = write(experiment().encode().replace(b"samples 1", b"samples 1 \xc3\x28"))
    diag = only_error(path)
    assert (diag.span.line, diag.span.col) == (6, 13) and "0xc3" in diag.message
    assert main(["check", str(path)]) == 2
    assert f"{path}:6:13" in capsys.readouterr().err


def test_invalid_utf8_in_a_section_file_points_into_that_file(write, tmp_path):
    (tmp_path / "extra.txt").write_bytes("é line one\nline two \xff\n".encode("latin-1"))
    diag = only_error(_with_section(write, "extra.txt"))
    assert diag.span.path.endswith("extra.txt") and (diag.span.line, diag.span.col) == (1, 1)


# ----------------------------------------------------------------------- D14
@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0c", "\x0b", "\x85"])
def test_the_excerpt_shows_the_line_the_position_names(write, separator):
    program = f"# a comment{separator}still the comment\n" + experiment().replace(
        "  model sim:opus_like", "  modl sim:opus_like"
    )
    diag = only_error(write(program))
    assert diag.span.line == 5
    shown = rendered(write(program))
    assert "\n    modl sim:opus_like\n" in shown  # the excerpt is the line named, not another


def test_a_link_to_proc_is_refused_by_path_and_by_the_open_file(tmp_path):
    from afdsl.inputs import InputError, _system_device, read_input

    link = tmp_path / "innocent.txt"
    link.symlink_to("/proc/self/environ")
    with pytest.raises(InputError, match="under /proc"):
        read_input(link, MAX_SOURCE_BYTES)
    if os.stat("/proc").st_dev != os.stat("/").st_dev:  # /proc is a mount of its own
        assert _system_device(os.stat("/proc/self/environ").st_dev) is not None
    assert _system_device(os.stat(tmp_path).st_dev) is None
