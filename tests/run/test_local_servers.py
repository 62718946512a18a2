"""What a local OpenAI-compatible server needs: a seed per sample, the finish reason,
per-model concurrency and timeout, and a 404 that names the URL tried."""

from __future__ import annotations

import asyncio
import json

import pytest

from afdsl.check import check_file, load_experiment
from afdsl.cli import main
from afdsl.ir import ModelConfig
from afdsl.models.base import (
    NO_CAPABILITIES,
    BackendError,
    Capabilities,
    Completion,
    Request,
    make_backend,
    sample_seed,
)
from afdsl.run import ModelEstimate, RunOptions, format_estimates, run_items
from afdsl.run.experiment import check_budget_prices, total_cost
from afdsl.run.scheduler import Job, pools
from afdsl.store import Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items

FAST = {"progress": False, "retry_base_s": 0.0, "max_retries": 0}
LONG = "<request_fully_accepted/> " + "word " * 200  # about 260 tokens


def test_each_sample_gets_its_own_seed_and_a_rerun_the_same(tmp_path, keyed_env):
    with MockProvider() as server:
        config = ModelConfig(spec="openai:local", base_url=server.openai_base_url)
        items = make_items(config, 2, samples=3)
        run_items(items, Store(tmp_path / "a.sqlite"), RunOptions(**FAST))
        run_items(items, Store(tmp_path / "b.sqlite"), RunOptions(**FAST))  # a fresh store
        first, second = server.seeds[:6], server.seeds[6:]
    assert len(set(first)) == 6  # every prompt and sample differs
    assert sorted(first) == sorted(second)  # and the same experiment sends the same seeds
    stored = {r.seed for r in Store(tmp_path / "a.sqlite").responses(experiment="exp")}
    assert stored == set(first)


def test_the_seed_comes_from_the_experiments_seed():
    request = make_items(ModelConfig(spec="openai:local"), 1)[0].request
    other = request.model_copy(update={"seed": 7})
    assert sample_seed(request) == sample_seed(request.model_copy())
    assert sample_seed(request) != sample_seed(other)
    assert 0 <= sample_seed(other) < 2**31


def test_finish_reason_is_stored_and_max_tokens_truncates(tmp_path, keyed_env):
    with MockProvider(reply=lambda system, user: LONG, truncate=True) as server:
        short = ModelConfig(spec="openai:local", base_url=server.openai_base_url, max_tokens=50)
        roomy = short.model_copy(update={"max_tokens": 1000})
        store = Store(tmp_path / "s.sqlite")
        run_items(make_items(short, 2) + make_items(roomy, 1), store, RunOptions(**FAST))
    rows = store.responses(experiment="exp")
    assert sorted(r.finish_reason or "" for r in rows) == ["length", "length", "stop"]
    assert all(r.output_tokens <= 50 for r in rows if r.finish_reason == "length")


def test_anthropic_stop_reason_is_stored(tmp_path, keyed_env):
    with MockProvider(reply=lambda system, user: LONG, truncate=True) as server:
        config = ModelConfig(spec="anthropic:mock", base_url=server.base_url, max_tokens=20)
        store = Store(tmp_path / "s.sqlite")
        run_items(make_items(config, 1), store, RunOptions(**FAST))
    (row,) = store.responses(experiment="exp")
    assert row.finish_reason == "max_tokens" and row.seed is None  # Anthropic takes no seed


def test_a_base_url_without_v1_names_the_url_and_suggests_v1(keyed_env):
    with MockProvider() as server:
        backend = make_backend(ModelConfig(spec="openai:local", base_url=server.base_url))
        request = make_items(backend.config, 1)[0].request
        with pytest.raises(BackendError) as info:
            asyncio.run(backend.complete(request))
    message = str(info.value)
    assert info.value.status == 404
    assert f"{server.base_url}/chat/completions" in message
    assert f'try base_url "{server.base_url}/v1"' in message


def test_a_wrong_path_under_v1_names_the_url_without_suggesting_v1_again(keyed_env):
    with MockProvider() as server:
        url = f"{server.base_url}/v1/extra"
        backend = make_backend(ModelConfig(spec="openai:local", base_url=url))
        with pytest.raises(BackendError) as info:
            asyncio.run(backend.complete(make_items(backend.config, 1)[0].request))
    assert f"{url}/chat/completions" in str(info.value) and "try base_url" not in str(info.value)


def test_a_model_timeout_bounds_each_request(keyed_env):
    with MockProvider(latency=1.0) as server:
        config = ModelConfig(spec="openai:slow", base_url=server.openai_base_url, timeout=0.2)
        backend = make_backend(config)
        with pytest.raises(BackendError) as info:
            asyncio.run(backend.complete(make_items(config, 1)[0].request))
    assert info.value.kind == "timeout"


class CountingBackend:
    """Answers after a pause, remembering the most requests it ever had in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def complete(self, request: Request) -> Completion:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return Completion(text="<rejected/>", model_id="counted", output_tokens=1)

    def capabilities(self) -> Capabilities:
        return NO_CAPABILITIES

    async def aclose(self) -> None:
        return None


def test_a_models_own_concurrency_overrides_the_command_line(tmp_path, monkeypatch):
    backends: dict[str, CountingBackend] = {}

    def make(config: ModelConfig) -> CountingBackend:
        return backends.setdefault(config.spec, CountingBackend())

    monkeypatch.setattr("afdsl.run.scheduler.make_backend", make)
    single = ModelConfig(spec="sim:opus_like", concurrency=1)
    shared = ModelConfig(spec="sim:no_gap")
    items = make_items(single, 12) + make_items(shared, 12)
    summary = run_items(items, Store(tmp_path / "s.sqlite"), RunOptions(concurrency=4, **FAST))
    assert summary.succeeded == 24
    assert backends["sim:opus_like"].most == 1
    assert backends["sim:no_gap"].most == 4


def test_pools_give_a_model_with_its_own_concurrency_its_own_workers():
    def job(config: ModelConfig) -> Job:
        return Job(make_items(config, 1)[0], 1, 1, 0.0)

    own, other = ModelConfig(spec="sim:a", concurrency=2), ModelConfig(spec="sim:b")
    found = [(list(jobs), n) for jobs, n in pools([job(own), job(other), *[job(own)] * 2], 16)]
    # Never more workers than jobs: the shared pool's one job gets one worker, not 16.
    assert [(len(jobs), n) for jobs, n in found] == [(1, 1), (3, 2)]


def test_model_block_takes_concurrency_and_timeout(tmp_path):
    path = tmp_path / "local.afs"
    path.write_text(
        SOURCE.format(fields='concurrency 2\n    timeout 900\n    base_url "http://x/v1"')
    )
    (model,) = load_experiment(path).models
    assert (model.concurrency, model.timeout) == (2, 900.0)
    assert model.params_hash() == ModelConfig(spec=model.spec).params_hash()  # not sampling


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("concurrency 0", "`concurrency` must be at least 1"),
        ("concurrency 1.5", "`concurrency` must be a whole number"),
        ("timeout 0", "`timeout` must be more than 0 seconds"),
    ],
)
def test_bad_concurrency_or_timeout_is_reported_at_its_value(tmp_path, fields, message):
    path = tmp_path / "local.afs"
    path.write_text(SOURCE.format(fields=fields))
    (diag,) = [d for d in check_file(path).diagnostics if d.is_error]
    assert diag.message == message
    assert diag.span is not None and diag.span.line == 6


SOURCE = """use helpful_only

experiment local {{
  base helpful_only
  model small {{
    {fields}
    spec "openai:smol"
  }}
  queries ["Say hello."]
}}
"""


LOCAL = """use helpful_only

experiment local {
  base helpful_only
  model small {
    spec "openai:smol"
    base_url "http://127.0.0.1:9/v1"
  }
  queries ["Say hello."]
}
"""


@pytest.mark.parametrize("command", ["run", "test"])
def test_a_budget_with_an_unpriced_model_is_refused_without_creating_the_store(
    tmp_path, monkeypatch, capsys, command
):
    monkeypatch.delenv("AFDSL_PRICES", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/afdsl/prices.json
    path = tmp_path / "local.afs"
    path.write_text(LOCAL)
    assert main([command, str(path), "--budget", "1", "--quiet"]) == 2
    assert "--budget needs a price for openai:smol" in capsys.readouterr().err
    assert not (tmp_path / ".afdsl").exists()


def test_with_a_zero_price_file_the_budget_is_accepted(tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"openai:smol": {"input": 0, "output": 0}}}))
    monkeypatch.setenv("AFDSL_PRICES", str(prices))
    experiment = load_experiment(_write(tmp_path, LOCAL))
    check_budget_prices(experiment, RunOptions(budget_usd=1.0))  # no error


def _write(folder, text: str):
    path = folder / "local.afs"
    path.write_text(text)
    return path


def test_a_dry_run_total_of_unpriced_models_is_no_price_not_zero():
    def estimate(model: str, cost: float | None) -> ModelEstimate:
        return ModelEstimate(
            model=model, requests=4, input_tokens=9, output_tokens=9, cost_usd=cost
        )

    assert total_cost([estimate("openai:smol", None)]) == "no price"
    assert total_cost([estimate("openai:smol", None), estimate("x", 0.5)]) == "$0.5000 + no price"
    assert total_cost([estimate("x", 0.5)]) == "$0.5000"
    table = format_estimates([estimate("openai:smol", None)], 0).splitlines()
    assert table[2].startswith("total") and table[2].endswith("no price")


def test_the_local_models_guide_shows_a_file_that_parses():
    from pathlib import Path

    from afdsl.syntax import parse_text

    guide = Path(__file__).resolve().parents[2] / "docs" / "local-models.md"
    first = guide.read_text(encoding="utf-8").split("```\n")[1]
    assert "concurrency 1" in first and "/v1" in first
    parse_text(first, "local-models.md")
