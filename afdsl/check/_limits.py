"""The stated ranges of numbers in a .afs file, checked in one place (AFS053).

A number outside its range is a mistake to report at its position, not a value to
pass on: `votes 99999` would be a judge call per vote per response, a seed past
2**63 does not fit the store, and `temperature 7` is refused by every provider.
"""

from __future__ import annotations

from afdsl.check._context import Context
from afdsl.diagnostics import Span

# name -> (lowest, highest) allowed, both included
RANGES: dict[str, tuple[float, float]] = {
    "votes": (1, 100),
    "temperature": (0, 2),
    "max_tokens": (1, 1_000_000),  # above any provider's output limit
    "seed": (0, 2**63 - 1),  # stored and sent as a signed 64-bit integer
}


def in_range(ctx: Context, key: str, number: float | None, span: Span) -> float | None:
    """`number` when it lies in `key`'s range (or `key` has none), else None, reported at
    `span`. None stays None (already reported as not a number)."""
    if number is None or key not in RANGES:
        return number
    low, high = RANGES[key]
    if low <= number <= high:
        return number
    ctx.error("AFS053", f"`{key}` must be between {low:,g} and {high:,}", span)
    return None
