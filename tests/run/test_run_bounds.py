"""`--budget` and `--concurrency` outside their ranges are usage errors, and idle workers
cost nothing (issue 11, D15)."""

from __future__ import annotations

import tracemalloc

import pytest

from afdsl.cli import main
from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, run_items
from afdsl.store import Store
from afdsl.testing.helpers import make_items


@pytest.mark.parametrize("budget", ["nan", "inf", "-inf", "NaN", "-1", "$-0.5"])
def test_a_budget_that_is_not_a_finite_amount_is_a_usage_error(budget, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["run", "x.afs", f"--budget={budget}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--budget" in err and "ValidationError" not in err and "Traceback" not in err


@pytest.mark.parametrize("concurrency", ["0", "1025", "1000000"])
def test_concurrency_is_bounded_1_to_1024(concurrency, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["test", "x.afs", "--concurrency", concurrency])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--concurrency" in err and ("1 to 1024" in err or ">= 1" in err)


def test_run_options_refuse_what_the_cli_refuses():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RunOptions(budget_usd=float("nan"))
    with pytest.raises(ValidationError):
        RunOptions(concurrency=1025)


def _peak_bytes(tmp_path, concurrency: int) -> int:
    items = make_items(ModelConfig(spec="sim:opus_like"), 2)
    store = Store(tmp_path / f"c{concurrency}.sqlite")
    tracemalloc.start()
    try:
        run_items(items, store, RunOptions(concurrency=concurrency, progress=False))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()


def test_workers_are_started_for_the_jobs_there_are_not_for_concurrency(tmp_path):
    _peak_bytes(tmp_path, 1)  # first imports out of the way
    # A worker per unit of concurrency took about 1 KB each: 1 MB here, 1 GB at 1,000,000.
    assert _peak_bytes(tmp_path, 1024) < _peak_bytes(tmp_path, 1) + 200_000
