"""Token buckets for requests-per-minute and tokens-per-minute limits."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """Refills `per_minute` units a minute, with a burst of one second's worth.

    A bucket that held a whole minute's worth would let a run send `per_minute`
    requests at once and then `per_minute` more over the next minute: twice the
    limit in the first minute, which providers that enforce their limits over
    short windows answer with 429s. One second's worth (at least one unit)
    keeps any 60-second window within `per_minute` plus that small burst.

    `acquire(n)` waits until the bucket holds n units, or is full when n is
    larger than the bucket, and then takes all n: a large prompt may leave the
    bucket in debt, so later requests wait for it and the long-run rate holds.
    """

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self, amount: float = 1.0) -> None:
        needed = min(amount, self.capacity)
        async with self._lock:  # first come, first served
            self._refill()
            while self.level < needed:
                await asyncio.sleep((needed - self.level) / self.rate)
                self._refill()
            self.level -= amount


class Limits:
    """The optional rpm and tpm buckets, acquired together before each request."""

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None

    async def acquire(self, tokens: int) -> None:
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(tokens)
