"""`--batch`: both batch APIs through the runner; an interrupted run polls, never resubmits."""

from __future__ import annotations

import asyncio

import pytest

from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, arun_items, run_items
from afdsl.store import Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items

OPTS = {"batch": True, "batch_poll_s": 0.02, "progress": False}


async def _interrupt_once_submitted(items, store, server) -> None:
    """Start a batch run and interrupt it as soon as its batch id is stored (the provider
    then holds the batch; waiting for the provider alone raced the client's write)."""
    run = asyncio.create_task(arun_items(items, store, RunOptions(**OPTS)))
    async with asyncio.timeout(30):
        while not store.db.execute("SELECT 1 FROM batches").fetchone():
            await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_batch_run_stores_everything(tmp_path, keyed_env, provider):
    with MockProvider(batch_delay=0.05) as server:
        url = server.anthropic_base_url if provider == "anthropic" else server.openai_base_url
        config = ModelConfig(spec=f"{provider}:mock", base_url=url)
        store = Store(tmp_path / "s.sqlite")
        summary = run_items(make_items(config, 6, samples=2), store, RunOptions(**OPTS))
        assert server.completion_requests == 0  # nothing went through the synchronous API
    assert summary.succeeded == 12
    assert {r.status for r in store.responses(experiment="exp")} == {"ok"}


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_interrupted_batch_run_resumes_by_polling(tmp_path, keyed_env, provider):
    with MockProvider(batch_delay=60) as server:
        url = server.anthropic_base_url if provider == "anthropic" else server.openai_base_url
        config = ModelConfig(spec=f"{provider}:mock", base_url=url)
        items = make_items(config, 5)
        store = Store(tmp_path / "s.sqlite")
        # The laptop lid closes while the batch is running.
        asyncio.run(_interrupt_once_submitted(items, store, server))
        assert len(server._app.state.batches) == 1
        server.config.batch_delay = 0  # the provider finishes the batch meanwhile
        summary = run_items(items, store, RunOptions(**OPTS))
        assert len(server._app.state.batches) == 1  # polled, not resubmitted
    assert summary.succeeded == 5
    assert len(store.responses(experiment="exp")) == 5


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_batch_the_provider_no_longer_knows_is_sent_again(
    tmp_path, keyed_env, monkeypatch, provider
):
    variable = f"{provider.upper()}_BASE_URL"
    config = ModelConfig(spec=f"{provider}:mock")
    items = make_items(config, 3)
    store = Store(tmp_path / "s.sqlite")
    with MockProvider(batch_delay=60) as first:
        monkeypatch.setenv(variable, getattr(first, f"{provider}_base_url"))
        asyncio.run(_interrupt_once_submitted(items, store, first))
    # The batch expired (or the key now belongs to another account): polling answers 404.
    with MockProvider(batch_delay=0) as second:
        monkeypatch.setenv(variable, getattr(second, f"{provider}_base_url"))
        gone = run_items(items, store, RunOptions(**OPTS))  # used to raise (exit 4), every time
        message = store.responses()[0].error_message or ""
        again = run_items(items, store, RunOptions(**OPTS))
    assert gone.failed == 3 and "unknown to the provider" in message
    assert again.succeeded == 3 and {r.status for r in store.responses()} == {"ok"}


def test_batch_api_outage_stops_the_model_and_keeps_the_batch_open(
    tmp_path, keyed_env, monkeypatch
):
    from afdsl.models.anthropic import AnthropicBackend
    from afdsl.models.base import BackendError

    real = AnthropicBackend.batch_done
    outage = [True]

    async def down(self: AnthropicBackend, batch_id: str) -> bool:
        if outage[0]:
            raise BackendError("server", "InternalServerError: overloaded", status=529)
        return await real(self, batch_id)

    monkeypatch.setattr(AnthropicBackend, "batch_done", down)
    with MockProvider(batch_delay=0) as server:
        config = ModelConfig(spec="anthropic:mock", base_url=server.anthropic_base_url)
        store = Store(tmp_path / "s.sqlite")
        options = RunOptions(max_retries=1, retry_base_s=0.001, **OPTS)
        summary = run_items(make_items(config, 4), store, options)  # used to raise (exit 4)
        assert "overloaded" in summary.stopped["anthropic:mock"]
        assert summary.skipped == 4 and not summary.complete
        assert len(store.open_batches("anthropic:mock", config.params_hash())) == 1
        outage[0] = False  # the API is back: the next run collects the same batch
        assert run_items(make_items(config, 4), store, options).succeeded == 4
        assert len(server._app.state.batches) == 1
