"""Tests on per-query values: queries are the clusters, so each query is one observation.

Several samples of one query are not independent trials, and the same queries
appear in every variant and condition. Reducing the labels to one number per
query (a rate, a gap, a difference of gaps) and testing those numbers is what
keeps false positives at the nominal level when queries differ in how easily a
model complies. All functions work along the last axis so that simulations can
test thousands of data sets in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from afdsl.stats.bounded import Alternative, Bounds, degenerate_interval, degenerate_p

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

# Values closer than this are treated as equal: a mean of identical labels can
# differ from them in the last bits, which must not turn into a huge t statistic.
_EQUAL = 1e-12
EXACT_MAX_QUERIES = 20
SKEW_GATE = 2.576  # standard errors (a 1% test): below, a sample's skewness is noise
PERMUTATION_DRAWS = 10_000


@dataclass(frozen=True)
class TTest:
    """Mean, two-sided confidence interval and p value (arrays for batched input)."""

    estimate: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    p_value: NDArray[np.float64]
    n: int
    degenerate: NDArray[np.bool_]  # rows whose values are all equal (no spread)
    skew_corrected: NDArray[np.bool_] | None = None  # rows whose p Hall's correction set


def t_test(
    values: ArrayLike,
    null: float = 0.0,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    *,
    bounds: Bounds | None = None,
    correct_skew: bool = False,
) -> TTest:
    """One-sample t test of the mean of `values` (last axis) against `null`.

    The interval is the two-sided t interval at `confidence` (within `bounds`).
    `correct_skew`: a one-sided p comes from Hall's (1992) skewness-corrected
    statistic (`skew_corrected_t`), which keeps the level when per-query values
    are clearly skewed (rates near 0 or 1, see `clear_skewness`), and the
    interval reaches as far as Hall's interval does on either side (its upper
    end was too short at low rates); other data give the plain t test.

    Degenerate data never yields NaN or p = 0. When all values are equal
    (zero spread), p and the interval come from the range of possible values
    (`bounds`, see `afdsl.stats.bounded`); without bounds p = 1 and the
    interval collapses to the point. With fewer than two values there is no
    test (p = 1) and no interval (NaN bounds: one query says nothing about the
    spread between queries, so a zero-width interval would claim certainty).
    """
    import numpy as np

    d = np.asarray(values, dtype=np.float64)
    n = d.shape[-1]
    if n == 0:
        raise ValueError("t_test needs at least one value")  # callers check for empty designs
    mean = d.mean(axis=-1)
    if n < 2:
        point = np.asarray(mean, dtype=np.float64)
        undefined = np.full_like(point, np.nan)
        flat = np.zeros(point.shape, dtype=bool)
        return TTest(point, undefined, undefined, np.ones_like(point), n, flat)
    sd = d.std(axis=-1, ddof=1)
    degenerate = sd <= _EQUAL * np.maximum(1.0, np.abs(mean))
    se = np.where(degenerate, 1.0, sd / np.sqrt(n))
    t = (mean - null) / se
    corrected = np.zeros(mean.shape, dtype=bool)
    if correct_skew and alternative != "two-sided":
        skew = clear_skewness(d, degenerate)
        t = skew_corrected_t(t, skew, n)
        corrected = skew != 0
    p = _t_tail(t, n - 1, alternative)
    low, high = _interval(d, se, degenerate, confidence, correct_skew)
    if bounds is None:
        p_degenerate = np.ones_like(mean)
    else:  # the mean lies in the range; equal values get the range's exact answer
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
        p_degenerate = degenerate_p(mean, null, alternative, bounds, n)
        exact_low, exact_high = degenerate_interval(mean, bounds, n, confidence)
        low, high = np.where(degenerate, exact_low, low), np.where(degenerate, exact_high, high)
    p = np.minimum(np.where(degenerate, p_degenerate, p), 1.0)
    return TTest(mean, low, high, p, n, degenerate, corrected)


def _interval(
    d: NDArray[np.float64],
    se: NDArray[np.float64],
    degenerate: NDArray[np.bool_],
    confidence: float,
    correct_skew: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The two-sided t interval; with `correct_skew`, as far as Hall's reaches on either side."""
    import numpy as np
    from scipy.special import stdtrit

    mean, n = d.mean(axis=-1), d.shape[-1]
    half = np.where(degenerate, 0.0, stdtrit(n - 1, 0.5 + confidence / 2.0) * se)
    low, high = mean - half, mean + half
    if correct_skew:  # Hall's interval equals the t interval unless clearly skewed
        skewed_low, skewed_high = skew_corrected_interval(d, confidence)
        low = np.where(degenerate, low, np.minimum(low, skewed_low))
        high = np.where(degenerate, high, np.maximum(high, skewed_high))
    return low, high


def _t_tail(t: NDArray[np.float64], df: int, alternative: Alternative) -> NDArray[np.float64]:
    """p of a t statistic on `df` degrees of freedom in the alternative's direction."""
    import numpy as np

    # scipy.special, not scipy.stats: the same functions scipy.stats.t calls
    # (identical values), without scipy.stats' ~0.85 s import.
    from scipy.special import stdtr

    if alternative == "less":
        return np.asarray(stdtr(df, t), dtype=np.float64)
    if alternative == "greater":
        return np.asarray(stdtr(df, -t), dtype=np.float64)
    return np.asarray(2.0 * stdtr(df, -np.abs(t)), dtype=np.float64)


def skewness(d: NDArray[np.float64], degenerate: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Sample skewness m3 / m2^1.5 along the last axis (0 where the values have no spread)."""
    import numpy as np

    centred = d - d.mean(axis=-1, keepdims=True)
    m2 = (centred**2).mean(axis=-1)
    m3 = (centred**3).mean(axis=-1)
    safe = np.where(degenerate, 1.0, m2)
    return np.asarray(np.where(degenerate, 0.0, m3 / safe**1.5), dtype=np.float64)


def clear_skewness(d: NDArray[np.float64], degenerate: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The sample skewness where it is clearly not noise, else 0 (no correction).

    Kept when |skewness| > SKEW_GATE standard errors of the skewness of normal
    data, sqrt(6 (n - 2) / ((n + 1) (n + 3))) (D'Agostino 1970). Per-query
    rates near 0 pass this easily (skewness 2 to 5); on symmetric data the
    correction would only add noise, and on TOST's two sides that noise costs
    power: 0.57 instead of 0.635 at 8 normal queries, 0.63 with this gate.
    """
    import numpy as np

    n = d.shape[-1]
    g = skewness(d, degenerate)
    noise = np.sqrt(6.0 * (n - 2) / ((n + 1) * (n + 3))) if n > 2 else 0.0
    return np.asarray(np.where(np.abs(g) > SKEW_GATE * noise, g, 0.0), dtype=np.float64)


def skew_corrected_t(t: ArrayLike, skew: ArrayLike, n: int) -> NDArray[np.float64]:
    """Hall's (1992) monotone transformation of a t statistic that removes its skewness.

    With a = skew / sqrt(n): T = t + a t^2 / 3 + a^2 t^3 / 27 + a / 6, which is
    ((1 + a t / 3)^3 - 1) / a + a / 6, increasing in t; a = 0 gives t back.
    Right-skewed values (rates near 0) shrink a very negative t, whose small
    spread came with its small mean, and stretch a positive one.
    """
    import numpy as np

    t = np.asarray(t, dtype=np.float64)
    a = np.asarray(skew, dtype=np.float64) / np.sqrt(n)
    return np.asarray(t + a * t * t / 3.0 + a * a * t**3 / 27.0 + a / 6.0, dtype=np.float64)


def skew_corrected_interval(
    values: ArrayLike, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The means that Hall's corrected one-sided tests do not reject at (1 - confidence) / 2.

    Inverts `skew_corrected_t` in closed form (a cubic in 1 + a t / 3); values
    with no spread give the point.
    """
    import numpy as np
    from scipy.special import stdtrit

    d = np.asarray(values, dtype=np.float64)
    n = d.shape[-1]
    mean, sd = d.mean(axis=-1), d.std(axis=-1, ddof=1)
    degenerate = sd <= _EQUAL * np.maximum(1.0, np.abs(mean))
    a = clear_skewness(d, degenerate) / np.sqrt(n)
    critical = float(stdtrit(n - 1, 0.5 + confidence / 2.0))
    flat = np.abs(a) < 1e-9
    safe = np.where(flat, 1.0, a)

    def t_at(target: float) -> NDArray[np.float64]:  # the t whose corrected value is `target`
        root = 3.0 / safe * (np.cbrt(1.0 + safe * (target - safe / 6.0)) - 1.0)
        return np.asarray(np.where(flat, target, root), dtype=np.float64)

    se = sd / np.sqrt(n)
    return mean - t_at(critical) * se, mean - t_at(-critical) * se


def tost(
    values: ArrayLike,
    low: float,
    high: float,
    alpha: float = 0.05,
    *,
    bounds: Bounds | None = None,
    correct_skew: bool = False,
) -> TTest:
    """Two one-sided t tests: is the mean inside (low, high)?

    p is the larger of the two one-sided p values (equivalence is claimed only
    when both bounds are excluded); the interval is the matching 1 - 2*alpha
    one (with `correct_skew`, Hall's interval for clearly skewed values), so
    p < alpha exactly when it lies inside (low, high).
    """
    import numpy as np

    confidence = 1.0 - 2.0 * alpha
    above = t_test(values, low, "greater", confidence, bounds=bounds, correct_skew=correct_skew)
    below = t_test(values, high, "less", confidence, bounds=bounds, correct_skew=correct_skew)
    ci_low, ci_high = above.ci_low, above.ci_high
    if correct_skew and above.n >= 2:
        skewed_low, skewed_high = skew_corrected_interval(values, confidence)
        if bounds is not None:
            skewed_low, skewed_high = np.clip(skewed_low, *bounds), np.clip(skewed_high, *bounds)
        ci_low = np.where(above.degenerate, ci_low, skewed_low)
        ci_high = np.where(above.degenerate, ci_high, skewed_high)
    return TTest(
        above.estimate,
        ci_low,
        ci_high,
        np.maximum(above.p_value, below.p_value),
        above.n,
        above.degenerate,
        above.skew_corrected,
    )


@lru_cache(maxsize=32)
def _half_sums_signs(n: int) -> NDArray[np.float64]:
    """All 2**n sign vectors of length n as a (2**n, n) matrix of +-1."""
    import numpy as np

    codes = np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n, dtype=np.int64)
    return np.where(codes & 1, -1.0, 1.0)


def _exact_counts(x: NDArray[np.float64], tol: NDArray[np.float64]) -> NDArray[np.float64]:
    """Fraction of all sign patterns whose |sum| reaches |observed sum|, per row of x.

    Meet in the middle: the 2**Q sums are all pairs of sums over the two halves,
    so Q = 20 needs two tables of 1024 sums instead of a 2**20 x 20 matrix.
    """
    import numpy as np

    q = x.shape[-1]
    h = q // 2
    observed = np.abs(x.sum(axis=-1))
    out = np.empty(x.shape[0])
    for row in range(x.shape[0]):
        left = _half_sums_signs(h) @ x[row, :h] if h else np.zeros(1)
        right = _half_sums_signs(q - h) @ x[row, h:]
        total = np.abs(left[:, None] + right[None, :])
        out[row] = np.count_nonzero(total >= observed[row] - tol[row]) / total.size
    return out


def sign_flip_p(
    values: ArrayLike,
    null: float = 0.0,
    draws: int = PERMUTATION_DRAWS,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Two-sided sign-flip permutation p of mean(values) = null, per row (last axis = queries).

    Valid when each query's value is symmetric about the null under H0 (e.g.
    exchangeable variants or conditions). Exact enumeration of all 2**Q sign
    patterns when Q <= 20; otherwise `draws` seeded random patterns, shared by
    all rows, with p = (1 + hits) / (1 + draws) so that p is never 0.
    """
    import numpy as np

    x = np.atleast_2d(np.asarray(values, dtype=np.float64)) - null
    q = x.shape[-1]
    if q == 0:
        return np.ones(x.shape[0])
    # Ties are common (per-query values are multiples of 1/samples): count them as hits.
    tol = 1e-9 * np.maximum(1.0, np.abs(x).sum(axis=-1))
    observed = np.abs(x.sum(axis=-1))
    if q <= EXACT_MAX_QUERIES:
        return _exact_counts(x, tol)
    rng = np.random.default_rng(seed)
    hits = np.zeros(x.shape[0])
    chunk = max(1, 2_000_000 // q)  # bounded memory: at most ~16 MB of signs at once
    done = 0
    while done < draws:
        size = min(chunk, draws - done)
        signs = rng.integers(0, 2, size=(size, q), dtype=np.int8).astype(np.float64) * 2.0 - 1.0
        sums = np.abs(signs @ x.T)  # (size, rows)
        hits += np.count_nonzero(sums >= observed - tol, axis=0)
        done += size
    return (1.0 + hits) / (1.0 + draws)
