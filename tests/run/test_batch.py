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
        with pytest.raises(TimeoutError):  # the laptop lid closes while the batch is running
            asyncio.run(asyncio.wait_for(arun_items(items, store, RunOptions(**OPTS)), 0.5))
        assert len(server._app.state.batches) == 1
        server.config.batch_delay = 0  # the provider finishes the batch meanwhile
        summary = run_items(items, store, RunOptions(**OPTS))
        assert len(server._app.state.batches) == 1  # polled, not resubmitted
    assert summary.succeeded == 5
    assert len(store.responses(experiment="exp")) == 5
