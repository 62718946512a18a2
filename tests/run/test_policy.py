"""Retry policy, rate limits, prices and plain progress lines."""

from __future__ import annotations

import asyncio
import io
import random
import time

from afdsl.models.base import BackendError
from afdsl.run.cost import price_table
from afdsl.run.limits import TokenBucket
from afdsl.run.progress import PlainProgress
from afdsl.run.retry import backoff_delay, should_retry


def test_retry_only_transient_errors_within_the_budget():
    assert should_retry(BackendError("rate_limit", "429"), 0, 3)
    assert should_retry(BackendError("server", "503"), 2, 3)
    assert not should_retry(BackendError("server", "503"), 3, 3)
    assert not should_retry(BackendError("client", "400"), 0, 3)


def test_backoff_grows_and_never_undercuts_retry_after():
    rng = random.Random(0)
    early = [backoff_delay(0, None, base=1, cap=60, rng=rng) for _ in range(200)]
    late = [backoff_delay(5, None, base=1, cap=60, rng=rng) for _ in range(200)]
    assert max(early) <= 1 and sum(late) / 200 > 5 * sum(early) / 200
    assert max(backoff_delay(8, None, base=1, cap=10, rng=rng) for _ in range(200)) <= 10
    assert min(backoff_delay(0, 4.0, base=1, cap=60, rng=rng) for _ in range(200)) >= 4.0


def test_token_bucket_limits_the_rate():
    async def go() -> float:
        bucket = TokenBucket(per_minute=600)  # 10 a second, burst of 10
        bucket.level = 0  # start empty to see the refill rate
        start = time.monotonic()
        for _ in range(3):
            await bucket.acquire(1)
        return time.monotonic() - start

    assert 0.25 <= asyncio.run(go()) < 1.0


def test_user_price_file_extends_and_overrides(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_text('{"models": {"openai:my-model": {"input": 2, "output": 4}, '
                    '"openai:gpt-4o": {"input": 1, "output": 1}}}')  # fmt: skip
    monkeypatch.setenv("AFDSL_PRICES", str(path))
    table = price_table()
    assert table.cost("openai:my-model", 1_000_000, 500_000) == 4.0
    assert table.price("openai:gpt-4o").input == 1  # overridden
    assert table.price("openai:gpt-4o-mini-2024").input == 0.15  # most specific pattern wins
    assert table.cost("sim:opus_like", 10**9, 10**9) == 0.0
    assert table.price("openai:unknown") is None
    assert table.cost("openai:my-model", 1_000_000, 0, batch=True) == 1.0  # batch discount


def test_plain_progress_lines_carry_counts_spend_and_errors():
    out = io.StringIO()
    progress = PlainProgress(out, every_s=3600)
    progress.start(3, "sim:opus_like [SIMULATOR]")
    progress.advance(ok=True, cost_usd=0.5)
    progress.advance(ok=False, cost_usd=0.0)
    progress.close()
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("sim:opus_like [SIMULATOR]: 2/3 done")
    assert "$0.5000 spent" in last and "1 errors" in last
