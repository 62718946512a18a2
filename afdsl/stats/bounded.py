"""What the range of per-query values allows: exact answers when the values have no spread.

Every per-query value of the analysis is a rate, a gap or a linear combination
of them, so it lies in a known range [lo, hi]. When all Q values are equal
(every query at 0, or every query with a gap of 1) there is no spread for a t
statistic, and "the values lie on the alternative's side, so p = 0" is not a
test: two queries would prove anything. The range gives a finite-sample
answer instead. If the null says mean <= B and the Q (independent) queries
all come out at v > B, Markov's inequality on the shifted value d - lo bounds
the chance of that under *any* null distribution on [lo, hi]:

    P(all Q values >= v) <= ((B - lo) / (v - lo)) ** Q

which is the exact worst case (a null putting mass only on lo and v attains
it). That bound is the p value, floored at 0.5 ** Q: the smallest p a sign
test of Q queries can reach, so that a bound on the edge of the range (where
the Markov bound is 0) still gives a positive p. `gap(V) > 0` with two queries
of gap 1 gets p = 0.25, not 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from afdsl.ir import Hypothesis

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

Alternative = Literal["two-sided", "less", "greater"]
Bounds = tuple[float, float]


def value_range(hypothesis: Hypothesis) -> Bounds:
    """Smallest and largest possible per-query value of the hypothesis's left side."""
    low = high = 0.0
    for weighted in hypothesis.terms:
        c = weighted.coef
        if weighted.term.kind == "gap":  # a gap lies in [-1, 1]
            low, high = low - abs(c), high + abs(c)
        else:  # a rate lies in [0, 1]
            low, high = low + min(0.0, c), high + max(0.0, c)
    return low, high


def _tail(
    value: NDArray[np.float64], null: float, bounds: Bounds, n: int, up: bool
) -> NDArray[np.float64]:
    """One-sided bound: P(all n values at `value` or beyond) under a null on the far side."""
    import numpy as np

    lo, hi = bounds
    room, reach = (null - lo, value - lo) if up else (hi - null, hi - value)
    beyond = value > null if up else value < null
    with np.errstate(divide="ignore", invalid="ignore"):
        markov = np.clip(room / np.where(reach > 0, reach, 1.0), 0.0, 1.0) ** n
    return np.asarray(np.where(beyond, np.maximum(markov, 0.5**n), 1.0), dtype=np.float64)


def degenerate_p(
    value: ArrayLike, null: float, alternative: Alternative, bounds: Bounds, n: int
) -> NDArray[np.float64]:
    """p of `mean(d) OP null` when all n values equal `value` (two-sided: twice the nearer tail)."""
    import numpy as np

    v = np.asarray(value, dtype=np.float64)
    if alternative == "greater":
        p = _tail(v, null, bounds, n, up=True)
    elif alternative == "less":
        p = _tail(v, null, bounds, n, up=False)
    else:
        p = 2.0 * np.minimum(_tail(v, null, bounds, n, True), _tail(v, null, bounds, n, False))
    return np.asarray(np.minimum(p, 1.0), dtype=np.float64)


def degenerate_interval(
    value: ArrayLike, bounds: Bounds, n: int, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The means that the bound above does not reject at (1 - confidence) / 2 on each side.

    With the 0.5 ** n floor, too few queries reject nothing: the interval is the whole range.
    """
    import numpy as np

    v = np.asarray(value, dtype=np.float64)
    lo, hi = bounds
    tail = (1.0 - confidence) / 2.0
    if 0.5**n >= tail:
        return np.full_like(v, lo), np.full_like(v, hi)
    shrink = tail ** (1.0 / n)
    return lo + (v - lo) * shrink, hi - (hi - v) * shrink


def degenerate_reason(value: float, n: int, p: float) -> str:
    """Why a test of n equal values has the p it has, for the method text of a result."""
    if p >= 1.0:
        return f"all {n} per-query values equal {value:g}, on the null's side (p = 1)"
    floor = 0.5**n
    if abs(p - floor) <= 1e-12 * floor or abs(p - 2 * floor) <= 1e-12 * floor:
        return (
            f"all {n} queries agree ({value:g}); the smallest attainable p "
            f"with {n} queries is {p:.3g}"
        )
    return (
        f"all {n} per-query values equal {value:g}: no spread for a t test; "
        f"exact bound from the range of values, p = {p:.3g}"
    )
