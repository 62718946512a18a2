"""Output-token estimates: `max_tokens` before any data, then the model's stored mean."""

from __future__ import annotations

import pytest

from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, format_estimates, run_items
from afdsl.run.cost import MIN_OBSERVED
from afdsl.store import Store
from afdsl.testing.helpers import make_items

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.05, "progress": False}
PRICED = "openai:gpt-priced"


@pytest.fixture
def priced(tmp_path, monkeypatch) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(f'{{"models": {{"{PRICED}": {{"input": 1000.0, "output": 1000.0}}}}}}')
    monkeypatch.setenv("AFDSL_PRICES", str(prices))


def _stored_output_tokens(store: Store) -> list[int]:
    return [r.output_tokens for r in store.responses(experiment="exp")]


def test_dry_run_uses_the_stored_mean_once_there_is_data(tmp_path, keyed_env, mock, priced):
    config = ModelConfig(spec=PRICED, base_url=mock.openai_base_url, max_tokens=1000)
    store = Store(tmp_path / "s.sqlite")
    (before,) = run_items(make_items(config, 4), store, RunOptions(dry_run=True)).estimates
    assert before.output_basis == "max_tokens" and before.output_tokens == 4 * 1000

    run_items(make_items(config, 10), store, RunOptions(**FAST))
    seen = _stored_output_tokens(store)
    assert len(seen) == 10 >= MIN_OBSERVED
    dry = run_items(make_items(config, 14), store, RunOptions(dry_run=True))
    (after,) = dry.estimates
    per_request = -(-sum(seen) // len(seen))
    assert per_request < 1000  # the mock's answers are short
    assert after.requests == 4 and after.output_tokens == 4 * per_request
    assert after.output_basis == "mean of 10 stored"
    assert after.cost_usd is not None and after.cost_usd < before.cost_usd / 10
    table = format_estimates(dry.estimates, dry.cached)
    assert "mean of 10 stored" in table and "10 already in the store" in table


def test_a_budget_covering_the_real_cost_is_not_refused_once_the_mean_is_known(
    tmp_path, keyed_env, priced
):
    from afdsl.testing import MockProvider

    options = RunOptions(batch=True, batch_poll_s=0.02, budget_usd=1.0, **FAST)
    with MockProvider() as server:
        config = ModelConfig(spec=PRICED, base_url=server.openai_base_url, max_tokens=1000)
        items = make_items(config, 20)
        # No data: each request is counted at 1,000 output tokens ($0.50 at half price).
        cold = run_items(items[10:], Store(tmp_path / "cold.sqlite"), options)
        assert cold.budget_exhausted and cold.skipped > 0

        warm_store = Store(tmp_path / "warm.sqlite")
        run_items(items[:10], warm_store, RunOptions(**FAST))
        warm = run_items(items, warm_store, options)
    assert warm.cached == 10 and warm.succeeded == 10 and warm.skipped == 0
    assert not warm.budget_exhausted and warm.cost_usd <= 1.0
