"""Nothing paid is ever lost: a store that stops taking writes, text SQLite cannot hold,
one bad row in a batch (issue 11, D2 and D3)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from afdsl.ir import ModelConfig
from afdsl.report.transcript_view import notes_text
from afdsl.run import RunOptions, run_items
from afdsl.run.writer import StoreGaveUp
from afdsl.store import Outcome, Store, StoreWriteError, recovery_paths
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items
from tests.run.faulting import FullAfter

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.05, "progress": False, "store_retry_s": 0.01}


def _ok_keys(path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT prompt_hash, sample FROM responses WHERE status = 'ok'"
        ).fetchall()


def test_a_full_store_stops_sending_and_the_next_run_imports_what_was_paid(
    tmp_path, keyed_env, monkeypatch, caplog
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where a recovery file goes if not beside
    big = "a long paid answer " * 500
    with MockProvider(reply=lambda system, user: big, latency=0.02) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        items = make_items(config, 40)
        store = FullAfter(tmp_path / "s.sqlite", writes=2)
        with caplog.at_level(logging.ERROR), pytest.raises(StoreGaveUp) as raised:
            run_items(items, store, RunOptions(concurrency=4, **FAST))
        paid = server.stats()["completions_ok"]
        assert "database or disk is full" in str(raised.value)
        assert "the next run imports" in str(raised.value)
        assert paid < 40  # sending stopped at the failed commit, not at the end of the list
        assert not caplog.records  # no "Exception in callback RunState.flush()"
        stored = len(_ok_keys(tmp_path / "s.sqlite"))
        recovered = [p for p in recovery_paths(store.path) if p.is_file()]
        lines = [line for p in recovered for line in p.read_text().splitlines() if line]
        assert stored + len(lines) == paid and lines  # every paid answer is somewhere

        store.free()
        summary = run_items(items, store, RunOptions(concurrency=4, **FAST))
        assert summary.recovered == len(lines)
        assert server.stats()["completions_ok"] == 40  # nothing paid twice
    keys = _ok_keys(tmp_path / "s.sqlite")
    assert len(keys) == 40 and len(set(keys)) == 40
    assert not any(p.exists() for p in recovery_paths(store.path))


def test_a_store_that_recovers_keeps_every_answer_and_says_sending_stopped(tmp_path, keyed_env):
    with MockProvider(latency=0.02) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        store = FullAfter(tmp_path / "s.sqlite", writes=1)
        original = store.put_outcomes

        def heal_on_retry(outcomes: list[Outcome]) -> list[Outcome]:
            try:
                return original(outcomes)
            except StoreWriteError:
                store.free()  # the next attempt, on the writer's timer, succeeds
                raise

        store.put_outcomes = heal_on_retry  # type: ignore[method-assign]
        summary = run_items(make_items(config, 30), store, RunOptions(concurrency=2, **FAST))
        paid = server.stats()["completions_ok"]
    assert summary.store_error and "database or disk is full" in summary.store_error
    assert not summary.complete and summary.skipped == 30 - paid
    assert any("sending stopped" in p for p in summary.problems())
    assert len(_ok_keys(tmp_path / "s.sqlite")) == paid


def test_a_row_the_database_refuses_costs_only_itself(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    common = {"model": "m", "params_hash": "p", "sample": 0, "purpose": "model", "params": {}}
    good = [Outcome(prompt_hash=f"h{i}", text=f"answer {i}", **common) for i in range(4)]
    bad = Outcome(prompt_hash="bad", text=b"\xff" * 3, **common)  # type: ignore[arg-type]
    bad.latency_s = [1]  # type: ignore[assignment]  # no column can hold a list
    rejected = store.put_outcomes([*good[:2], bad, *good[2:]])
    assert rejected == [bad]
    assert sorted(h for h, _ in _ok_keys(tmp_path / "s.sqlite")) == ["h0", "h1", "h2", "h3"]


def _surrogate_reply(system: str, user: str) -> str:
    number = int(user.split("number ")[1].split(":")[0])
    return "a smile \ud83d and more" if number % 5 == 0 else "a plain answer"


def test_unpaired_surrogates_from_a_server_are_stored_with_a_note(tmp_path, keyed_env, caplog):
    with MockProvider(reply=_surrogate_reply) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        store = Store(tmp_path / "s.sqlite")
        with caplog.at_level(logging.ERROR):
            summary = run_items(make_items(config, 64), store, RunOptions(concurrency=8, **FAST))
        again = run_items(make_items(config, 64), store, RunOptions(**FAST))
    assert summary.succeeded == 64 and not caplog.records
    assert again.cached == 64 and again.sent == 0  # a rerun pays for nothing
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        noted = db.execute("SELECT text, notes FROM responses WHERE notes IS NOT NULL").fetchall()
    assert len(noted) == 13  # questions 0, 5, ..., 60
    text, notes = noted[0]
    assert text == "a smile \ufffd and more"
    # The note says what was replaced, so the text can be rebuilt exactly.
    assert json.loads(notes) == {"surrogates_replaced": {"text": [[8, 0xD83D]]}}


def test_a_replay_file_answering_with_unpaired_surrogates_loses_no_row(tmp_path):
    replay = tmp_path / "old.jsonl"
    lines = [
        {"variant": "base", "condition": "training", "query_id": f"q{q}", "sample": 0,
         "text": "half a pair \ud83d" if q % 5 == 0 else f"answer {q}"}
        for q in range(10)
    ]  # fmt: skip
    replay.write_text("".join(json.dumps(line) + "\n" for line in lines))  # "\ud83d" escapes
    config = ModelConfig(spec=f"replay:{replay}")
    store = Store(tmp_path / "s.sqlite")
    summary = run_items(make_items(config, 10), store, RunOptions(**FAST))
    assert summary.succeeded == 10 and summary.failed == 0
    rows = {r.query_id: r for r in store.responses(experiment="exp")}
    assert rows["q5"].text == "half a pair \ufffd" and rows["q3"].text == "answer 3"
    # `afdsl show` says the stored text is not byte for byte what the model sent.
    assert notes_text(rows["q5"].notes) == [
        "stored with 1 unpaired surrogate in its text replaced by U+FFFD"
    ]
    assert rows["q3"].notes is None and notes_text(rows["q3"].notes) == []


def test_a_valid_pair_split_into_two_escapes_is_kept_as_the_character(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    split = json.loads('"smile \\ud83d\\ude00"')  # what a JSON parser gives for the escapes
    common = {"model": "m", "params_hash": "p", "sample": 0, "purpose": "model", "params": {}}
    assert store.put_outcomes([Outcome(prompt_hash="h", text=split, **common)]) == []
    assert store.db.execute("SELECT text, notes FROM responses").fetchone() == ("smile 😀", None)


# -- a real full disk: a 2 MB tmpfs -------------------------------------------------------------

EXPERIMENT = """
use helpful_only

experiment full {
  base    helpful_only
  model   openai:gpt-mock
  queries [%s]
  samples 4
}
"""


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MB tmpfs (the red team's reproduction); skipped where mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (the faulting-store tests cover the rest)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"mount not permitted here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_exits_3_with_one_line_and_the_rerun_loses_nothing(
    tmp_path, small_tmpfs, keyed_env, monkeypatch, capsys
):
    from afdsl.cli import main
    from afdsl.run import writer

    monkeypatch.setattr(writer, "RETRIES", 1)  # one retry at the end, not four: a faster test
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the recovery file, when the disk is full
    afs = tmp_path / "full.afs"
    queries = ", ".join(f'"Write a complaint about delay number {i}."' for i in range(8))
    afs.write_text(EXPERIMENT % queries)  # 8 queries x 2 conditions x 4 samples = 64 answers
    store = small_tmpfs / "full.sqlite"
    big = "x" * 100_000  # answers of ~100 KB: the 2 MB disk is full after about 17
    with MockProvider(reply=lambda system, user: big) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        command = ["run", str(afs), "--store", str(store), "--quiet"]
        assert main(command) == 3
        err = capsys.readouterr().err
        paid = server.stats()["completions_ok"]
        assert len(err.strip().splitlines()) == 1, err  # one clear line
        assert "database or disk is full" in err and "Traceback" not in err
        assert "the next run imports" in err and paid < 64

        subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
        assert main(command) == 0
        assert server.stats()["completions_ok"] == 64  # no answer was paid for twice
    keys = _ok_keys(store)
    assert len(keys) == 64 and len(set(keys)) == 64


def test_a_read_only_store_raises_store_write_error_and_recovers_afterwards(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    common = {"model": "m", "params_hash": "p", "sample": 0, "purpose": "model", "params": {}}
    store.db.execute("PRAGMA query_only = 1")  # SQLITE_READONLY, as for a read-only file
    with pytest.raises(StoreWriteError, match="readonly"):
        store.put_outcomes([Outcome(prompt_hash="h", text="answer", **common)])
    assert not store.db.in_transaction  # rolled back, so the next write can begin
    store.db.execute("PRAGMA query_only = 0")
    assert store.put_outcomes([Outcome(prompt_hash="h", text="answer", **common)]) == []


def test_an_unexpected_error_in_a_write_still_keeps_every_answer(tmp_path, keyed_env, caplog):
    store = Store(tmp_path / "s.sqlite")

    def broken(outcomes: list[Outcome]) -> list[Outcome]:
        raise RuntimeError("a bug in the write path")

    store.put_outcomes = broken  # type: ignore[method-assign]
    with MockProvider() as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        with caplog.at_level(logging.ERROR), pytest.raises(StoreGaveUp, match="a bug"):
            run_items(make_items(config, 5), store, RunOptions(concurrency=1, **FAST))
        paid = server.stats()["completions_ok"]
    beside = recovery_paths(store.path)[0]
    kept = [line for line in beside.read_text().splitlines() if line]
    assert len(kept) == paid > 0 and not caplog.records
    del store.put_outcomes  # the bug is fixed: the next run stores what was kept
    assert Store(tmp_path / "s.sqlite").import_recovered() == paid
