"""Prompt caching: marking, stored and priced cache usage, estimates, store migration."""

from __future__ import annotations

import argparse
import json
import sqlite3

import pytest

from afdsl.cli import main
from afdsl.cli.run import add_run_options, run_options_from_args
from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, format_estimates, run_items
from afdsl.store import SCHEMA_VERSION, Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.05, "progress": False}
ANTHROPIC = "anthropic:claude-priced"
OPENAI = "openai:gpt-priced"
PLAIN = "anthropic:claude-no-cache-price"
# About 1,450 tokens at 4 characters a token: above both providers' 1,024-token minimum.
LONG_SYSTEM = "You are a careful assistant who answers plainly. " * 120
PRICES = {
    ANTHROPIC: {"input": 10.0, "output": 20.0, "cache_write": 12.5, "cache_read": 1.0,
                "cache_min_tokens": 1024},
    OPENAI: {"input": 4.0, "output": 8.0, "cache_read": 2.0, "cache_min_tokens": 1024},
    PLAIN: {"input": 10.0, "output": 20.0},
}  # fmt: skip


@pytest.fixture
def priced(tmp_path, monkeypatch) -> dict[str, dict[str, float]]:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": PRICES}))
    monkeypatch.setenv("AFDSL_PRICES", str(path))
    monkeypatch.delenv("AFDSL_NO_PROMPT_CACHE", raising=False)
    return PRICES


def _expected_cost(price: dict[str, float], row) -> float:
    """The bill worked out by hand: uncached input, cache writes, cache reads, output."""
    plain = row.input_tokens - row.cache_write_tokens - row.cache_read_tokens
    return (
        plain * price["input"]
        + row.cache_write_tokens * price.get("cache_write", price["input"])
        + row.cache_read_tokens * price.get("cache_read", price["input"])
        + row.output_tokens * price["output"]
    ) / 1_000_000


def _run(server, spec, store, n=4, **options):
    base_url = server.openai_base_url if spec.startswith("openai") else server.base_url
    config = ModelConfig(spec=spec, base_url=base_url)
    items = make_items(config, n, system=LONG_SYSTEM)
    return run_items(items, store, RunOptions(concurrency=1, **{**FAST, **options}))


def test_anthropic_run_marks_the_system_prompt_and_stores_priced_cache_usage(
    tmp_path, keyed_env, priced
):
    store = Store(tmp_path / "s.sqlite")
    with MockProvider() as server:
        summary = _run(server, ANTHROPIC, store)
        assert server.stats()["cache_marked"] == 4
    rows = store.responses(experiment="exp")
    assert summary.succeeded == 4
    writes = [r for r in rows if r.cache_write_tokens]
    reads = [r for r in rows if r.cache_read_tokens]
    assert len(writes) == 1 and len(reads) == 3  # one system prompt, sent one at a time
    # input_tokens is the whole prompt whether or not it came from the cache.
    assert len({r.input_tokens for r in rows}) == 1
    assert reads[0].cache_read_tokens == writes[0].cache_write_tokens > 1000
    for row in rows:
        assert row.cost_usd == pytest.approx(_expected_cost(priced[ANTHROPIC], row))
    assert reads[0].cost_usd < writes[0].cost_usd
    assert summary.cost_usd == pytest.approx(sum(r.cost_usd for r in rows))


def test_opting_out_sends_no_cache_control_and_pays_the_input_price(tmp_path, keyed_env, priced):
    store = Store(tmp_path / "s.sqlite")
    with MockProvider() as server:
        _run(server, ANTHROPIC, store, cache_prompts=False)
        assert server.stats()["cache_marked"] == 0
    rows = store.responses(experiment="exp")
    assert all(r.cache_write_tokens == r.cache_read_tokens == 0 for r in rows)
    price = priced[ANTHROPIC]
    for row in rows:
        expected = (row.input_tokens * price["input"] + row.output_tokens * price["output"]) / 1e6
        assert row.cost_usd == pytest.approx(expected)


def test_the_environment_variable_opts_out_too(tmp_path, keyed_env, priced, monkeypatch):
    monkeypatch.setenv("AFDSL_NO_PROMPT_CACHE", "1")
    with MockProvider() as server:
        _run(server, ANTHROPIC, Store(tmp_path / "s.sqlite"), n=2)
        assert server.stats()["cache_marked"] == 0


def test_openai_cached_tokens_are_stored_and_priced(tmp_path, keyed_env, priced):
    store = Store(tmp_path / "s.sqlite")
    with MockProvider() as server:
        _run(server, OPENAI, store, n=3)
    rows = store.responses(experiment="exp")
    assert sorted(r.cache_read_tokens > 0 for r in rows) == [False, True, True]
    assert all(r.cache_write_tokens == 0 for r in rows)
    for row in rows:
        assert row.cost_usd == pytest.approx(_expected_cost(priced[OPENAI], row))


def test_a_price_without_cache_prices_bills_cached_tokens_at_the_input_price(
    tmp_path, keyed_env, priced
):
    store = Store(tmp_path / "s.sqlite")
    with MockProvider() as server:
        _run(server, PLAIN, store, n=2)
    rows = store.responses(experiment="exp")
    assert any(r.cache_read_tokens for r in rows)
    price = priced[PLAIN]
    for row in rows:
        expected = (row.input_tokens * price["input"] + row.output_tokens * price["output"]) / 1e6
        assert row.cost_usd == pytest.approx(expected)


def test_batch_requests_are_marked_for_caching(tmp_path, keyed_env, priced):
    store = Store(tmp_path / "s.sqlite")
    with MockProvider(batch_delay=0.02) as server:
        summary = _run(server, ANTHROPIC, store, n=3, batch=True, batch_poll_s=0.02)
        assert server.stats()["cache_marked"] == 3
    rows = store.responses(experiment="exp")
    assert summary.succeeded == 3 and sum(1 for r in rows if r.cache_read_tokens) == 2
    for row in rows:  # the batch discount applies to cache prices too
        assert row.cost_usd == pytest.approx(_expected_cost(priced[ANTHROPIC], row) / 2)


def _dry(spec, n, **options):
    config = ModelConfig(spec=spec, max_tokens=100)
    items = make_items(config, n, system=LONG_SYSTEM)
    (estimate,) = run_items(items, Store(":memory:"), RunOptions(dry_run=True, **options)).estimates
    return estimate


def test_dry_run_with_caching_is_cheaper_and_counts_a_write_per_request_in_flight(priced):
    cached = _dry(ANTHROPIC, 50, concurrency=4)
    plain = _dry(ANTHROPIC, 50, concurrency=4, cache_prompts=False)
    assert cached.cost_usd < plain.cost_usd
    assert cached.input_tokens == plain.input_tokens
    assert plain.cache_write_tokens == plain.cache_read_tokens == 0
    per_prompt = cached.cache_write_tokens // 4
    assert per_prompt > 1000 and cached.cache_read_tokens == 46 * per_prompt
    table = format_estimates([cached], 0)
    assert "cache write" in table and "cache read" in table and "first --concurrency" in table


def test_batch_dry_run_does_not_count_on_cache_reads(priced):
    batch = _dry(ANTHROPIC, 20, batch=True)
    assert batch.cache_read_tokens == 0 and batch.cache_write_tokens > 0


def test_dry_run_counts_no_caching_below_the_minimum(priced):
    config = ModelConfig(spec=ANTHROPIC, max_tokens=100)
    items = make_items(config, 10)  # a one-line system prompt
    (estimate,) = run_items(items, Store(":memory:"), RunOptions(dry_run=True)).estimates
    assert estimate.cache_write_tokens == estimate.cache_read_tokens == 0
    assert "1,024-token cache minimum" in format_estimates([estimate], 0)


VERSION_1_RESPONSES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE responses (
    id INTEGER PRIMARY KEY, prompt_hash TEXT NOT NULL, model TEXT NOT NULL,
    params_hash TEXT NOT NULL, sample INTEGER NOT NULL, purpose TEXT NOT NULL DEFAULT 'model',
    status TEXT NOT NULL, text TEXT, error_kind TEXT, error_message TEXT,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    latency_s REAL NOT NULL DEFAULT 0, model_id TEXT, cost_usd REAL NOT NULL DEFAULT 0,
    params TEXT NOT NULL DEFAULT '{}', afdsl_version TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL,
    UNIQUE (prompt_hash, model, params_hash, sample)
);
INSERT INTO responses (prompt_hash, model, params_hash, sample, status, text, input_tokens,
    output_tokens, cost_usd, afdsl_version, created_at)
VALUES ('h-old', 'anthropic:claude-priced', 'p', 0, 'ok', 'an old answer', 700, 50, 0.01,
    '0.1', '2024-01-01T00:00:00+00:00');
"""


def test_a_store_from_the_previous_schema_is_migrated_in_place(tmp_path, keyed_env, priced):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1_RESPONSES)
    store = Store(path)
    old = store.get_response("h-old", ANTHROPIC, "p", 0)
    assert old is not None and old.text == "an old answer" and old.input_tokens == 700
    assert old.cache_write_tokens == old.cache_read_tokens == 0
    assert old.finish_reason is None and old.seed is None  # not recorded then: unknown
    version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)  # the current schema (4: turns.finish_reason)
    with MockProvider() as server:  # the migrated store takes new rows with cache usage
        _run(server, ANTHROPIC, store, n=2)
    assert sum(r.cache_read_tokens for r in store.responses(experiment="exp")) > 0
    store.close()
    Store(path).close()  # opening a migrated store again changes nothing


def test_the_run_option_turns_caching_off_and_is_documented(capsys, monkeypatch):
    monkeypatch.delenv("AFDSL_NO_PROMPT_CACHE", raising=False)
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--no-cache-prompts" in capsys.readouterr().out
    parser = argparse.ArgumentParser()
    add_run_options(parser)
    assert run_options_from_args(parser.parse_args([])).cache_prompts
    assert not run_options_from_args(parser.parse_args(["--no-cache-prompts"])).cache_prompts
