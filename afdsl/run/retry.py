"""Retry policy as two small functions, apart from the scheduler that applies them."""

from __future__ import annotations

import random

from afdsl.models.base import BackendError


def should_retry(error: BackendError, attempt: int, max_retries: int) -> bool:
    """Retry rate limits, 5xx, timeouts and connection errors; record everything else.

    `attempt` counts retries already made (0 after the first failure).
    """
    return error.retryable and attempt < max_retries


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    *,
    base: float = 1.0,
    cap: float = 60.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt + 1`.

    Exponential backoff with full jitter (spreads a burst of failures out
    instead of retrying them in lockstep). A server's `retry-after` is a floor:
    waiting less would just earn another 429.
    """
    draw = (rng or random).random()
    delay = draw * min(cap, base * 2**attempt)
    if retry_after is not None:
        delay = max(delay, retry_after) + draw * min(1.0, base)  # small jitter above the floor
    return delay
