"""The language commands as a user runs them: output and exit codes."""

from __future__ import annotations

import json

import pytest

from afdsl import ir
from afdsl.cli import main

from .conftest import Write, experiment

BODY = '  variant more = append intro "More."\n  hypothesis h: gap(more) < gap(base)'


def test_check_ok_and_error_exit_codes(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(experiment(BODY))
    bad = write(experiment("  variant v = remove section nope"), "bad.afs")
    assert main(["check", str(good)]) == 0
    assert "ok:" in capsys.readouterr().out
    assert main(["check", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:18:30: error: no section `nope`" in err
    assert "^^^^" in err and "Traceback" not in err


def test_check_strict_fails_on_warnings(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(experiment('  variant unused = append intro "x"'))
    assert main(["check", str(path)]) == 0
    assert "warning: variant `unused`" in capsys.readouterr().err
    assert main(["check", "--strict", str(path)]) == 2


def test_check_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "does/not/exist.afs"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_compile_writes_jsonl(write: Write, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "prompts.jsonl"
    assert main(["compile", str(write(experiment(BODY))), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8
    assert {
        "experiment",
        "model",
        "variant",
        "condition",
        "query_id",
        "sample",
        "system",
        "messages",
        "prompt_hash",
    } <= set(rows[0])
    assert rows[0]["messages"][0]["role"] == "user"
    assert rows[0]["prompt_hash"] == ir.prompt_hash(rows[0]["system"], rows[0]["messages"])


def test_compile_error_exit_code(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(write(experiment("  samples 0")))]) == 2
    assert "samples" in capsys.readouterr().err


def test_diff_shows_the_change(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(write(experiment(BODY))), "more"]) == 0
    out = capsys.readouterr().out
    assert "+More." in out and "--- base (training)" in out


def test_diff_condition_and_unknown_variant(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(experiment(BODY + "\n  variant flip = swap conditions"))
    assert main(["diff", str(path), "flip", "--condition", "deployment"]) == 0
    out = capsys.readouterr().out
    assert "+<is_free_tier_user>True</is_free_tier_user>" in out
    assert main(["diff", str(path), "mroe"]) == 2
    assert "did you mean `more`?" in capsys.readouterr().err
    assert main(["diff", str(path), "more", "--condition", "deploymnt"]) == 2
    err = capsys.readouterr().err
    assert "variant `base` has no condition `deploymnt`" in err
    assert "did you mean `deployment`?" in err


def test_list_shows_variants_and_size(write: Write, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", str(write(experiment(BODY)))]) == 0
    out = capsys.readouterr().out
    assert "more" in out and "prompts: 8" in out


def test_perturbations_lists_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    from afdsl.perturb import library

    assert main(["perturbations"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name, _ in library())


def test_check_ok_line_counts_in_the_singular(
    write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(experiment("", queries='["Write a rude poem."]'))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "experiment `e`, 1 variant, " in out, out
    assert main(["compile", str(path), "--out", str(path.with_suffix(".jsonl"))]) == 0
    assert capsys.readouterr().err.startswith("2 prompts written to ")
