"""`afdsl run` / `afdsl status` as a user runs them: subprocesses against the loopback mock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from afdsl.testing import MockError, MockProvider
from afdsl.testing.helpers import FAKE_KEY

QUERIES = ", ".join(f'"Write a sharply worded complaint about delay number {i}."' for i in range(5))
EXPERIMENT = f"""
use helpful_only

experiment killtest {{
  base    helpful_only
  model   openai:gpt-mock
  queries [{QUERIES}]
  samples 20
}}
"""  # 5 queries x 2 conditions x 20 samples = 200 requests


def _env(server: MockProvider) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OPENAI_API_KEY=FAKE_KEY, OPENAI_BASE_URL=server.openai_base_url, ANTHROPIC_API_KEY=FAKE_KEY
    )
    return env


def _afdsl(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "afdsl", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ok_rows(store: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(store) as db:
        return db.execute(
            "SELECT prompt_hash, sample FROM responses WHERE status = 'ok'"
        ).fetchall()


def test_kill_9_then_rerun_loses_nothing_and_resends_at_most_the_in_flight(tmp_path):
    afs = tmp_path / "kill.afs"
    afs.write_text(EXPERIMENT)
    store = tmp_path / ".afdsl" / "kill.sqlite"
    concurrency = 8
    with MockProvider(latency=0.08) as server:
        env = _env(server)
        command = ["run", str(afs), "--concurrency", str(concurrency), "--quiet"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "afdsl", *command],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while (
            server.completion_requests < 60 and time.monotonic() < deadline and proc.poll() is None
        ):
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # let the server finish answering what was in flight
        sent_before = server.completion_requests
        saved = len(_ok_rows(store))
        assert 0 < saved < 200, "the kill must land mid-run"

        result = _afdsl("run", str(afs), "--concurrency", str(concurrency), env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        sent_total = server.completion_requests

    rows = _ok_rows(store)
    assert len(rows) == 200 and len(set(rows)) == 200  # no sample lost, none duplicated
    resent = sent_total - 200
    assert resent <= concurrency, f"{resent} requests re-sent; at most {concurrency} were in flight"
    assert sent_before - saved <= concurrency


def test_key_never_in_output_or_store_even_on_errors(tmp_path):
    afs = tmp_path / "secret.afs"
    afs.write_text(EXPERIMENT.replace("samples 20", "samples 1"))
    with MockProvider(fail_500=0.5, seed=1) as server:
        env = _env(server)
        run = _afdsl("run", str(afs), "--max-retries", "0", env=env, cwd=tmp_path)
        status = _afdsl("status", str(afs), env=env, cwd=tmp_path)
        dry = _afdsl("run", str(afs), "--dry-run", env=env, cwd=tmp_path)
        assert FAKE_KEY in server.auth_values
    assert run.returncode == 3  # some requests failed: incomplete, resumable
    assert "failed" in status.stdout and "openai:gpt-mock" in status.stdout
    assert "requests" in dry.stdout and "gpt-mock" in dry.stdout
    outputs = run.stdout + run.stderr + status.stdout + status.stderr + dry.stdout + dry.stderr
    assert FAKE_KEY not in outputs
    for path in (tmp_path / ".afdsl").iterdir():
        assert FAKE_KEY.encode() not in path.read_bytes()


def test_status_without_a_store_is_a_user_error(tmp_path):
    afs = tmp_path / "none.afs"
    afs.write_text(EXPERIMENT)
    result = _afdsl("status", str(afs), env=dict(os.environ), cwd=tmp_path)
    assert (
        result.returncode == 2 and "no store" in result.stderr and "Traceback" not in result.stderr
    )


def test_second_run_on_a_busy_store_exits_3_with_a_clear_message(tmp_path):
    from afdsl.store import Store

    afs = tmp_path / "busy.afs"
    afs.write_text(EXPERIMENT.replace("samples 20", "samples 1"))
    store = Store(tmp_path / ".afdsl" / "busy.sqlite")
    with MockProvider() as server, store.run_lock():
        result = _afdsl("run", str(afs), env=_env(server), cwd=tmp_path)
        assert server.request_count == 0
    assert result.returncode == 3
    assert f"another afdsl run (pid {os.getpid()})" in result.stderr


def test_unknown_model_stops_early_and_says_why(tmp_path):
    def reply(system: str, user: str) -> str:
        raise MockError(404, "The model `gpt-mock` does not exist")

    afs = tmp_path / "killtest.afs"
    afs.write_text(EXPERIMENT)
    with MockProvider(reply=reply) as server:
        proc = _afdsl("run", str(afs), "--concurrency", "4", env=_env(server), cwd=tmp_path)
        sent = server.completion_requests
    assert proc.returncode == 3, proc.stderr
    assert sent == 4  # not all 200
    assert "openai:gpt-mock: stopped after NotFoundError" in proc.stderr
    assert "does not exist" in proc.stderr and "196 not sent" in proc.stdout


def test_failed_requests_say_what_the_provider_answered(tmp_path):
    def reply(system: str, user: str) -> str:
        if "number 3" in user:
            raise MockError(400, "Output blocked by content filtering policy")
        return "<request_fully_accepted/>"

    afs = tmp_path / "refusals.afs"
    afs.write_text(EXPERIMENT.replace("samples 20", "samples 2"))
    with MockProvider(reply=reply) as server:
        proc = _afdsl("run", str(afs), env=_env(server), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "4 request(s) failed with openai:gpt-mock: BadRequestError: Error code: 400 - " \
        "Output blocked by content filtering policy\n" in proc.stderr  # fmt: skip


def test_ctrl_c_stores_the_requests_in_flight_so_a_rerun_pays_for_none_twice(tmp_path):
    afs = tmp_path / "ctrlc.afs"
    afs.write_text(EXPERIMENT)
    store = tmp_path / ".afdsl" / "ctrlc.sqlite"
    with MockProvider(latency=1.0) as server:
        env = _env(server)
        proc = subprocess.Popen(
            [sys.executable, "-m", "afdsl", "run", str(afs), "--concurrency", "4", "--quiet"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while server.completion_requests < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)  # four requests are in flight, each taking 1 s
        _, stderr = proc.communicate(timeout=60)
        time.sleep(0.2)
        paid, stored = server.completion_requests, len(_ok_rows(store))
        rerun = _afdsl("run", str(afs), "--concurrency", "16", env=env, cwd=tmp_path)
        sent_total = server.completion_requests
    assert proc.returncode == 130, stderr
    assert "waiting for the 4 request(s) in flight" in stderr
    assert paid == stored == 4  # every request paid for is stored
    assert rerun.returncode == 0 and sent_total == 200  # none paid for twice
