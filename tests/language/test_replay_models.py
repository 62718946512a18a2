"""`replay:PATH` model specs: the path is read beside the .afs file, checked up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from afdsl import ir
from afdsl.check import check_file, load_experiment

from .conftest import SCENARIO, Write, at, only_error


def _study(write: Write, model_line: str) -> Path:
    """study/main.afs with the given model line (line 16); queries on line 17."""
    return write(
        SCENARIO
        + "experiment e {\n  base s\n"
        + f"  {model_line}\n"
        + '  queries ["Write a rude poem."]\n}\n',
        "study/main.afs",
    )


def test_relative_replay_path_is_found_beside_the_afs_file(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afs = _study(write, 'model "replay:answers.jsonl"')
    (afs.parent / "answers.jsonl").write_text("", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    model = load_experiment(afs).models[0]
    assert model.spec == "replay:answers.jsonl"  # as written: it is part of the store key
    assert model.source_dir == str(afs.parent)
    assert str((afs.parent / "answers.jsonl").resolve()) in load_experiment(afs).source_files


def test_replay_folder_is_not_a_sampling_parameter(write: Write) -> None:
    afs = _study(write, 'model "replay:answers.jsonl"')
    (afs.parent / "answers.jsonl").write_text("", encoding="utf-8")
    model = load_experiment(afs).models[0]
    assert model.params_hash() == ir.ModelConfig(spec=model.spec).params_hash()


def test_missing_replay_file_is_an_error_at_the_spec(write: Write) -> None:
    afs = _study(write, "model replay:nowhere.jsonl")
    diag = only_error(afs)
    assert at(diag) == (16, 9)
    assert diag.message == "cannot find replay file `nowhere.jsonl`"
    assert diag.hint is not None and "study/" in diag.hint


def test_replay_spec_in_a_model_block(write: Write) -> None:
    afs = _study(write, 'model old {\n    spec "replay:runs/old.jsonl"\n  }')
    result = check_file(afs)
    diag = only_error(afs)
    assert at(diag) == (17, 10)
    assert result.experiment is None
    (afs.parent / "runs").mkdir()
    (afs.parent / "runs" / "old.jsonl").write_text("", encoding="utf-8")
    model = load_experiment(afs).models[0]
    assert (model.display, model.source_dir) == ("old", str(afs.parent))


def test_other_providers_get_no_folder(write: Write) -> None:
    afs = _study(write, "model sim:opus_like")
    assert load_experiment(afs).models[0].source_dir is None
