"""An unset API key stops a run before anything is sent, with the variable to set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from afdsl.diagnostics import AfsError
from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, run_items
from afdsl.store import Store
from afdsl.testing.helpers import make_items

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.05, "progress": False}
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")


@pytest.fixture
def no_keys(monkeypatch) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_unset_keys_are_named_together_and_nothing_is_sent(tmp_path, no_keys, mock):
    claude = ModelConfig(spec="anthropic:claude-mock", base_url=mock.anthropic_base_url)
    gpt = ModelConfig(spec="openai:gpt-mock")  # the real endpoint: a key is needed
    items = make_items(claude, 2) + make_items(gpt, 2)
    with pytest.raises(AfsError) as info:
        run_items(items, Store(tmp_path / "s.sqlite"), RunOptions(**FAST))
    message = str(info.value) + " ".join(d.hint or "" for d in info.value.diagnostics)
    assert "ANTHROPIC_API_KEY" in message and "OPENAI_API_KEY" in message
    assert "export ANTHROPIC_API_KEY=" in message
    assert mock.request_count == 0


def test_a_named_key_variable_is_the_one_asked_for(tmp_path, no_keys, monkeypatch, mock):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-default-is-not-enough")
    monkeypatch.delenv("TEAM_CLAUDE_KEY", raising=False)
    config = ModelConfig(
        spec="anthropic:claude-mock",
        base_url=mock.anthropic_base_url,
        api_key_env="TEAM_CLAUDE_KEY",
    )
    with pytest.raises(AfsError, match="TEAM_CLAUDE_KEY") as info:
        run_items(make_items(config, 1), Store(tmp_path / "s.sqlite"), RunOptions(**FAST))
    assert "sk-default-is-not-enough" not in str(info.value)
    assert mock.request_count == 0


def test_a_local_openai_compatible_server_needs_no_key(tmp_path, no_keys, mock):
    config = ModelConfig(spec="openai:local-model", base_url=mock.openai_base_url)
    summary = run_items(make_items(config, 3), Store(tmp_path / "s.sqlite"), RunOptions(**FAST))
    assert summary.succeeded == 3


def test_cli_exits_2_naming_the_variable_and_dry_run_needs_no_key(tmp_path):
    afs = tmp_path / "keys.afs"
    afs.write_text(
        "use helpful_only\n\nexperiment keys {\n  base helpful_only\n  model anthropic:claude-x\n"
        '  queries ["Write a grumpy note about a noisy lawnmower."]\n}\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}

    def afdsl(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "afdsl", *args, str(afs)]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)

    run = afdsl("run", "--quiet")
    assert run.returncode == 2, run.stderr
    assert "ANTHROPIC_API_KEY" in run.stderr and "Traceback" not in run.stderr
    dry = afdsl("run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "anthropic:claude-x" in dry.stdout
