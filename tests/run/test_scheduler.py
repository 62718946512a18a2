"""The scheduler against the loopback mock: retries, resume, budget, dry run, secrets."""

from __future__ import annotations

import sqlite3

from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, run_items
from afdsl.store import Store
from afdsl.testing import MockError, MockProvider
from afdsl.testing.helpers import make_items

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.05, "progress": False}


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT prompt_hash, sample, status FROM responses").fetchall()


def test_flaky_provider_every_sample_stored_exactly_once(tmp_path, keyed_env):
    with MockProvider(fail_500=0.2, fail_429=0.1, retry_after=0.01, seed=3) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        items = make_items(config, 60, samples=2)
        store = Store(tmp_path / "s.sqlite")
        summary = run_items(items, store, RunOptions(concurrency=8, max_retries=20, **FAST))
        stats = server.stats()
    rows = _rows(tmp_path / "s.sqlite")
    assert len(rows) == 120 and len(set(rows)) == 120
    assert {status for *_, status in rows} == {"ok"}
    assert summary.succeeded == 120 and summary.failed == 0
    assert stats["failures"] > 10  # the failures really happened and were retried
    assert stats["completions_ok"] == 120  # no sample was paid for twice


def test_rerun_sends_only_what_is_missing(tmp_path, keyed_env, mock):
    config = ModelConfig(spec="openai:gpt-mock", base_url=mock.openai_base_url)
    store = Store(tmp_path / "s.sqlite")
    run_items(make_items(config, 10), store, RunOptions(**FAST))
    before = mock.completion_requests
    summary = run_items(make_items(config, 15), store, RunOptions(**FAST))
    assert mock.completion_requests - before == 5
    assert summary.cached == 10 and summary.sent == 5


def test_client_errors_are_recorded_not_retried_then_retried_next_run(tmp_path, keyed_env, mock):
    bad = ModelConfig(spec="openai:gpt-mock", base_url=mock.base_url + "/wrong/v1")
    store = Store(tmp_path / "s.sqlite")
    summary = run_items(make_items(bad, 4), store, RunOptions(max_retries=5, **FAST))
    assert summary.failed == 4
    assert mock.completion_requests == 0 and mock.request_count == 4  # one attempt each
    row = store.responses(experiment="exp")[0]
    assert row.status == "error" and row.error_kind == "client"
    # The next run retries stored errors (here against a working endpoint of the same spec).
    good = bad.model_copy(update={"base_url": mock.openai_base_url})
    summary = run_items(make_items(good, 4), store, RunOptions(**FAST))
    assert summary.sent == 4 and summary.succeeded == 4
    assert {r.status for r in store.responses(experiment="exp")} == {"ok"}


def test_budget_stops_before_exceeding_and_resumes(tmp_path, keyed_env, mock, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text('{"models": {"openai:gpt-priced": {"input": 1000.0, "output": 1000.0}}}')
    monkeypatch.setenv("AFDSL_PRICES", str(prices))
    config = ModelConfig(spec="openai:gpt-priced", base_url=mock.openai_base_url, max_tokens=100)
    items = make_items(config, 10)
    store = Store(tmp_path / "s.sqlite")
    # Each request is estimated at ~122 tokens (max_tokens as the output bound) x $1000/M,
    # about $0.12, and really costs ~$0.03: a $0.2 budget stops after a few requests.
    summary = run_items(items, store, RunOptions(budget_usd=0.2, concurrency=1, **FAST))
    assert summary.budget_exhausted
    assert 1 <= summary.succeeded < 10 and summary.succeeded + summary.skipped == 10
    assert summary.cost_usd <= 0.2
    done = summary.succeeded
    summary = run_items(items, store, RunOptions(budget_usd=10, **FAST))
    assert summary.cached == done and summary.succeeded == 10 - done
    assert not summary.budget_exhausted


def test_dry_run_sends_nothing_and_estimates(tmp_path, keyed_env, mock):
    config = ModelConfig(spec="openai:gpt-4o", base_url=mock.openai_base_url, max_tokens=50)
    summary = run_items(
        make_items(config, 7), Store(tmp_path / "s.sqlite"), RunOptions(dry_run=True)
    )
    assert mock.request_count == 0
    (estimate,) = summary.estimates
    assert estimate.requests == 7 and estimate.output_tokens == 350
    assert estimate.cost_usd is not None and estimate.cost_usd > 0


def test_key_never_reaches_the_store(tmp_path, keyed_env, mock):
    config = ModelConfig(spec="anthropic:claude-mock", base_url=mock.anthropic_base_url)
    store = Store(tmp_path / "s.sqlite")
    run_items(make_items(config, 5), store, RunOptions(**FAST))
    store.close()
    assert keyed_env in mock.auth_values  # the key was used ...
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert keyed_env.encode() not in blob  # ... and never written down
    assert b"x-api-key" not in blob.lower() and b"authorization" not in blob.lower()


def _refuse(status: int, message: str):
    def reply(system: str, user: str) -> str:
        raise MockError(status, message)

    return reply


def test_rejected_key_stops_the_model_instead_of_sending_every_request(tmp_path, keyed_env):
    with MockProvider(reply=_refuse(401, "invalid x-api-key")) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        store = Store(tmp_path / "s.sqlite")
        summary = run_items(make_items(config, 30), store, RunOptions(concurrency=2, **FAST))
        sent = server.completion_requests
    assert sent == 2  # the two in flight when the first 401 came back; not all 30
    assert summary.failed == 2 and summary.skipped == 28 and not summary.complete
    assert "invalid x-api-key" in summary.stopped["openai:gpt-mock"]


def test_a_refused_prompt_does_not_stop_the_model(tmp_path, keyed_env):
    def reply(system: str, user: str) -> str:
        if "3" in user:
            raise MockError(400, "Output blocked by content filtering policy")
        return "<request_fully_accepted/>"

    with MockProvider(reply=reply) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        summary = run_items(
            make_items(config, 30), Store(tmp_path / "s.sqlite"), RunOptions(**FAST)
        )
    assert summary.stopped == {} and summary.skipped == 0
    assert summary.failed == 3 and summary.succeeded == 27


def test_progress_shows_retries_while_nothing_completes(tmp_path, keyed_env, monkeypatch):
    import io

    from afdsl.run import scheduler
    from afdsl.run.progress import PlainProgress

    out = io.StringIO()
    monkeypatch.setattr(scheduler, "make_progress", lambda enabled: PlainProgress(out, 0.0))
    with MockProvider(fail_429=1.0, retry_after=0.01) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        options = RunOptions(max_retries=2, **{**FAST, "progress": True})
        run_items(make_items(config, 1), Store(tmp_path / "s.sqlite"), options)
    lines = out.getvalue().splitlines()
    # Before anything is done, the user sees the run is alive and why it waits.
    assert lines[2] == (
        "openai:gpt-mock: 0/1 done, 0.0/s, ETA -, $0.0000 spent, 0 errors, 2 retries (last 429)"
    )
    assert lines[-1].endswith("1 errors, 2 retries (last 429)")
