"""Retry policy as two small functions, and the one loop that applies them.

Both the worker pool and the batch runner retry through `with_retries`, so
there is a single retry budget per call (`RunOptions.max_retries`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from afdsl.models.base import BackendError
from afdsl.run.types import RunOptions

T = TypeVar("T")


def should_retry(error: BackendError, attempt: int, max_retries: int) -> bool:
    """Retry rate limits, 5xx, timeouts and connection errors; record everything else.

    `attempt` counts retries already made (0 after the first failure).
    """
    return error.retryable and attempt < max_retries


# Statuses that concern the model, not one prompt: a rejected key (401), no access (403),
# an unknown model name (404). Every other request to that model would fail the same way.
MODEL_STATUSES = frozenset({401, 403, 404})


def stops_model(error: object) -> bool:
    """Whether `error` means no request to this model can succeed, so the run stops sending it."""
    return isinstance(error, BackendError) and error.status in MODEL_STATUSES


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    *,
    base: float = 1.0,
    cap: float = 60.0,
    retry_after_cap: float = 120.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt + 1`.

    Exponential backoff with full jitter (spreads a burst of failures out
    instead of retrying them in lockstep). A server's `retry-after` is a floor:
    waiting less would just earn another 429. The floor is itself capped at
    `retry_after_cap`: a server asking for `inf` or a day would stall the run
    with nothing to show for it.
    """
    draw = rng.random() if rng is not None else random.random()
    delay = draw * min(cap, base * 2.0**attempt)
    if retry_after is not None:
        floor = min(retry_after, retry_after_cap)
        delay = max(delay, floor) + draw * min(1.0, base)  # small jitter above the floor
    return delay


async def with_retries(
    call: Callable[[], Awaitable[T]],
    options: RunOptions,
    rng: random.Random | None = None,
    on_retry: Callable[[BackendError, float], None] | None = None,
) -> T:
    """Await `call()`, retrying transient `BackendError`s; the last error is raised.

    `on_retry(error, wait_s)` is told before each wait, so a run stuck in a 429 storm
    shows it, and how long it waits.
    """
    retries = 0
    while True:
        try:
            return await call()
        except BackendError as exc:
            if not should_retry(exc, retries, options.max_retries):
                raise
            delay = backoff_delay(
                retries,
                exc.retry_after,
                base=options.retry_base_s,
                cap=options.retry_cap_s,
                retry_after_cap=options.max_retry_after_s,
                rng=rng,
            )
            if on_retry is not None:
                on_retry(exc, delay)
            retries += 1
            await asyncio.sleep(delay)
