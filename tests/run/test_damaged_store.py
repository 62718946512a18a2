"""A store with a damaged page: a usage error saying what to do, and a repair that keeps
every readable row (issue 11, D12)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from afdsl.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "animal_welfare.afs"


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> tuple[Path, Path]:
    """The example run end to end on the simulator: (the .afs file, its complete store)."""
    folder = tmp_path_factory.mktemp("complete")
    afs = folder / EXAMPLE.name
    shutil.copy(EXAMPLE, afs)
    store = folder / "complete.sqlite"
    assert main(["test", str(afs), "--store", str(store), "--quiet"]) == 0
    return afs, store


def _damaged_copy(store: Path, folder: Path) -> Path:
    """A copy of `store` with 4 KiB of its middle overwritten, as a failing disk would."""
    copy = folder / "damaged.sqlite"
    shutil.copy(store, copy)
    size = copy.stat().st_size
    with open(copy, "r+b") as f:
        f.seek(size // 2)
        f.write(bytes(range(256)) * 16)
    return copy


def _rows(store: Path, table: str) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.mark.parametrize("command", ["report", "show", "test", "run"])
def test_a_damaged_store_is_a_usage_error_naming_the_repair(command, complete, tmp_path):
    afs, store = complete
    damaged = _damaged_copy(store, tmp_path)
    extra = ["--quiet"] if command in ("test", "run") else []
    done = subprocess.run(
        [sys.executable, "-m", "afdsl", command, str(afs), "--store", str(damaged), *extra],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"the store {damaged} is damaged" in done.stderr
    assert f"afdsl store repair {damaged}" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_repair_keeps_every_readable_row_and_the_damaged_file(complete, tmp_path, capsys):
    afs, store = complete
    damaged = _damaged_copy(store, tmp_path)
    before = {t: _rows(store, t) for t in ("responses", "items", "labels")}
    assert main(["store", "repair", str(damaged)]) == 0
    out = capsys.readouterr().out
    assert "rows kept" in out and "damaged.sqlite.damaged" in out
    assert (tmp_path / "damaged.sqlite.damaged").is_file()
    with sqlite3.connect(damaged) as db:
        assert db.execute("PRAGMA quick_check").fetchone() == ("ok",)
    after = {t: _rows(damaged, t) for t in before}
    # One 4 KiB page holds a handful of responses; every other row is kept.
    assert before["responses"] - 30 <= after["responses"] < before["responses"]
    assert after["items"] == before["items"] and after["labels"] == before["labels"]
    # The repaired store works: the next test sends again only what was lost.
    assert main(["test", str(afs), "--store", str(damaged), "--quiet"]) == 0
    assert _rows(damaged, "responses") == before["responses"]


def test_repair_of_a_sound_store_changes_nothing(complete, tmp_path, capsys):
    _, store = complete
    copy = tmp_path / "sound.sqlite"
    shutil.copy(store, copy)
    assert main(["store", "repair", str(copy)]) == 0
    assert "nothing to repair" in capsys.readouterr().out
    assert not (tmp_path / "sound.sqlite.damaged").exists()


def test_repair_refuses_while_a_run_writes_to_the_store(complete, tmp_path, capsys):
    from afdsl.store import Store

    damaged = _damaged_copy(complete[1], tmp_path)
    holder = Store(tmp_path / "other.sqlite")
    holder.path = damaged  # the lock is taken by path, as a running `afdsl run` holds it
    with holder.run_lock():
        assert main(["store", "repair", str(damaged)]) == 3
    assert "another afdsl run" in capsys.readouterr().err
    assert not (tmp_path / "damaged.sqlite.damaged").exists()


def test_a_write_that_meets_a_damaged_page_names_the_repair(complete, tmp_path):
    from afdsl.store import Outcome, Store, StoreWriteError, damage_error

    damaged = _damaged_copy(complete[1], tmp_path)
    store = Store(damaged)  # page 1 is sound, so the file opens
    keys = store.db.execute("SELECT prompt_hash, model, params_hash, sample FROM items").fetchall()
    answers = [
        Outcome(prompt_hash=h, model=m, params_hash=p, sample=n, purpose="model", params={},
                text="again")
        for h, m, p, n in keys
    ]  # fmt: skip
    with pytest.raises(StoreWriteError, match="malformed") as raised:
        store.put_outcomes(answers)
    found = damage_error(raised.value)
    assert found is not None and "afdsl store repair" in (found.diagnostics[0].hint or "")
