"""The line `afdsl run` ends with marks simulated models, and only those."""

from __future__ import annotations

from pathlib import Path

import pytest

from afdsl.cli import main
from afdsl.testing import MockProvider


def _experiment(models: list[str]) -> str:
    lines = "\n".join(f"  model {m}" for m in models)
    return f"""
use helpful_only

experiment summary_marks {{
  base    helpful_only
{lines}
  queries ["Write a rude poem about my landlord."]
  samples 1
}}
"""


def _run(tmp_path: Path, models: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = tmp_path / "marks.afs"
    path.write_text(_experiment(models))
    assert main(["run", str(path), "--quiet", "--max-retries", "0"]) == 0
    return capsys.readouterr().out.strip().splitlines()


def test_a_simulator_only_run_says_so(tmp_path, capsys):
    (line,) = _run(tmp_path, ["sim:opus_like"], capsys)
    assert line.startswith("SIMULATOR run: 2 prompts")


def test_a_mixed_run_marks_each_model_not_the_whole_run(
    tmp_path, capsys, keyed_env, monkeypatch, mock: MockProvider
):
    monkeypatch.setenv("OPENAI_BASE_URL", mock.openai_base_url)
    models, counts = _run(tmp_path, ["sim:opus_like", "openai:gpt-mock"], capsys)
    assert "SIMULATOR run" not in models + counts
    assert models == "models: sim:opus_like [SIMULATOR], openai:gpt-mock"
    assert counts.startswith("4 prompts: 0 cached, 4 new")


def test_a_run_of_real_models_has_no_simulator_mark(
    tmp_path, capsys, keyed_env, monkeypatch, mock: MockProvider
):
    monkeypatch.setenv("OPENAI_BASE_URL", mock.openai_base_url)
    (line,) = _run(tmp_path, ["openai:gpt-mock"], capsys)
    assert "SIMULATOR" not in line and line.startswith("2 prompts")


def test_a_model_without_a_price_is_not_reported_as_free(
    tmp_path, capsys, keyed_env, monkeypatch, mock: MockProvider
):
    monkeypatch.setenv("OPENAI_BASE_URL", mock.openai_base_url)
    path = tmp_path / "unpriced.afs"
    path.write_text(_experiment(["openai:gpt-mock", "openai:gpt-4o-mini"]))
    assert main(["run", str(path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "the cost excludes openai:gpt-mock: no known price" in err
    assert "gpt-4o-mini" not in err  # priced: counted in the total
