"""--rpm / --tpm pace requests from the start, retries included."""

from __future__ import annotations

import asyncio
import threading
import time

from afdsl.ir import ModelConfig
from afdsl.run import RunOptions, run_items
from afdsl.run.limits import TokenBucket
from afdsl.store import Store
from afdsl.testing import MockProvider
from afdsl.testing.helpers import make_items

FAST = {"retry_base_s": 0.005, "retry_cap_s": 0.02, "progress": False}


def test_rpm_paces_from_the_first_request(tmp_path, keyed_env):
    # 600 rpm is 10 a second with a burst of 10; a bucket holding a whole minute's worth
    # used to send all 25 at once (and 600 more within the first minute).
    arrivals: list[float] = []
    lock = threading.Lock()

    def reply(system: str, user: str) -> str:
        with lock:
            arrivals.append(time.monotonic())
        return "<request_fully_accepted/> ok"

    with MockProvider(reply=reply) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        options = RunOptions(concurrency=8, rpm=600, **FAST)
        start = time.monotonic()
        summary = run_items(make_items(config, 25), Store(tmp_path / "s.db"), options)
    assert summary.succeeded == 25
    # Timed from the start, not from the first arrival: a request arrives after it was
    # sent, so a slow first connection on a loaded machine cannot make these fail, while
    # a limiter that lets too many through still does.
    last = max(arrivals) - start
    assert last >= 15 * 0.1 * 0.95  # the burst of 10, then 15 a tenth of a second apart
    first_second = [t for t in arrivals if t - start < 1.0]
    assert len(first_second) <= 20  # at most the burst and a second's worth


def test_retries_count_against_rpm(tmp_path, keyed_env):
    with MockProvider(fail_500=0.5, seed=5) as server:
        config = ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url)
        options = RunOptions(concurrency=8, rpm=600, max_retries=30, **FAST)
        start = time.monotonic()
        summary = run_items(make_items(config, 12), Store(tmp_path / "s.db"), options)
        elapsed = time.monotonic() - start
        attempts = server.completion_requests
    assert summary.succeeded == 12 and attempts >= 18  # many attempts were retries
    assert elapsed >= (attempts - 10) * 0.1 * 0.85  # all but the burst of 10 paced


def test_a_prompt_larger_than_the_burst_is_paid_for_in_full():
    async def wait_after_big_request() -> float:
        bucket = TokenBucket(per_minute=60_000)  # 1,000 tokens a second
        await bucket.acquire(1_500)  # more than a second's worth: the bucket goes into debt
        start = time.monotonic()
        await bucket.acquire(1)
        return time.monotonic() - start

    assert asyncio.run(wait_after_big_request()) >= 0.45
