"""A provider's `Retry-After: inf` or a day is capped, shown, and never stalls a run forever
(issue 11, D6)."""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import sys
import time

import pytest

from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, run_items, scheduler
from afdsl.run.progress import PlainProgress, waiting_text
from afdsl.run.retry import backoff_delay
from afdsl.store import Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import FAKE_KEY, make_items

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.05}


@pytest.mark.parametrize("asked", [math.inf, 86400.0])
def test_retry_after_is_a_floor_capped_at_max_retry_after(asked):
    assert 120.0 <= backoff_delay(0, asked, base=1.0) <= 121.0
    assert 2.0 <= backoff_delay(0, asked, base=0.005, retry_after_cap=2.0) <= 2.01
    assert 3.0 <= backoff_delay(0, 3.0, base=0.005) <= 3.01  # below the cap: as asked


def test_the_wait_is_worded_for_the_progress_line():
    assert waiting_text(math.inf, 120.0) == "waiting 120 s (provider asked for inf)"
    assert waiting_text(86400.0, 120.0) == "waiting 120 s (provider asked for 86400 s)"
    assert waiting_text(30.0, 30.2) == "waiting 30 s"  # long, not capped
    assert waiting_text(math.inf, 0.4) == "waiting 0.4 s (provider asked for inf)"
    assert waiting_text(0.05, 0.06) == ""  # a short wait is not worth a line


@pytest.mark.parametrize("asked", [math.inf, 86400.0])
def test_a_provider_asking_for_endless_waits_cannot_stall_the_run(
    tmp_path, keyed_env, monkeypatch, asked
):
    out = io.StringIO()
    monkeypatch.setattr(scheduler, "make_progress", lambda enabled: PlainProgress(out, 60.0))
    options = RunOptions(max_retries=1, max_retry_after_s=0.4, stall_s=0.2, **FAST)
    start = time.monotonic()
    with MockProvider(fail_429=1.0, retry_after=asked) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        summary = run_items(make_items(config, 4), Store(tmp_path / "s.sqlite"), options)
    assert time.monotonic() - start < 10
    assert summary.failed == 4 and summary.succeeded == 0
    shown = "inf" if math.isinf(asked) else "86400 s"
    text = out.getvalue()
    assert f"waiting 0.4 s (provider asked for {shown})" in text  # FAST: jitter under 0.05
    assert "no answer for 0.2 s" in text  # the stall is reported while it happens
    assert summary.stalled_s >= 0.2 and "stalled" in (summary.stall_note() or "")


def test_afdsl_test_against_retry_after_inf_finishes_with_exit_3(tmp_path):
    afs = tmp_path / "wait.afs"
    afs.write_text(
        "use helpful_only\n\nexperiment wait {\n  base helpful_only\n  model openai:gpt-mock\n"
        '  queries ["Write a short complaint about a late train."]\n  samples 2\n}\n'
    )
    with MockProvider(fail_429=1.0, retry_after=math.inf) as server:
        env = dict(os.environ, OPENAI_API_KEY=FAKE_KEY, OPENAI_BASE_URL=server.openai_base_url)
        done = subprocess.run(
            [sys.executable, "-m", "afdsl", "test", str(afs), "--max-retry-after", "1",
             "--max-retries", "1"],
            env=env, capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert re.search(r"waiting 1\.\d s \(provider asked for inf\)", done.stderr)
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_max_retry_after_must_be_finite_seconds(value, capsys):
    from afdsl.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["run", "x.afs", f"--max-retry-after={value}"])
    assert stopped.value.code == 2
    assert "expected a finite number of seconds" in capsys.readouterr().err
