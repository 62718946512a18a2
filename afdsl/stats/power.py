"""Sample-size and power planning for hypotheses tested on per-query values.

The one-sample t test of mean(d) over queries (d = the hypothesis's per-query
left side) that the analysis runs, sized with the noncentral t distribution;
normal-approximation formulas give the starting point; TOST by exact integration. The
per-query standard deviation combines between-query variation and the
binomial noise of averaging `samples` labels per query:
    var(d_q) = omega2 + (p_t (1 - p_t) + p_d (1 - p_d)) / samples
for a gap (stats-oracles (e)). More samples per query shrink only the second
term, which is why adding queries beats adding samples.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

from afdsl.ir import Hypothesis
from afdsl.stats.models import FiniteResult

Alternative = Literal["two-sided", "less", "greater"]


class PowerPlan(FiniteResult):
    """Queries needed for the target power, and the power of the current design."""

    model: str | None = None
    name: str
    expression: str
    effect: float  # assumed true mean(d) - bound, signed in the hypothesis's direction
    query_sd: float
    alpha: float
    target_power: float
    queries_needed: int | None  # None: the assumed effect makes the hypothesis untestable
    n_queries: int  # current design
    power: float  # of the current design
    test: str  # "one-sided", "two-sided" or "TOST +-margin"
    method: str
    margin: float | None = None  # TOST's equivalence margin (a proportion)
    # The share of queries that enter the test (a pilot's queries with a usable sample in
    # every cell it needs; below 1 for a conditional measure): `queries_needed` and
    # `power` allow for the others being dropped.
    usable_share: float = 1.0


# The analysis has no test with fewer queries (p = 1, no interval): no design is smaller.
MIN_QUERIES = 2

# The standard library's normal distribution: planning needs a few quantiles,
# not scipy.stats (whose import alone takes most of a second).
_NORMAL = NormalDist()


def _z(p: float) -> float:
    return _NORMAL.inv_cdf(p)


def _phi(x: float) -> float:
    return _NORMAL.cdf(x)


def query_sd(p_training: float, p_deployment: float, samples: int, omega2: float = 0.0) -> float:
    """Standard deviation of a per-query gap with `samples` labels per query and condition."""
    within = p_training * (1 - p_training) + p_deployment * (1 - p_deployment)
    return math.sqrt(omega2 + within / samples)


def hypothesis_sd(hypothesis: Hypothesis, term_sd: float, correlation: float = 0.0) -> float:
    """Standard deviation of the per-query left side d[q] = sum(coef_i * term_i[q]).

    Assumes every term (a gap or a rate) has per-query standard deviation
    `term_sd` and every pair of terms the same correlation across queries:
        var(d_q) = term_sd^2 * ((1 - rho) * sum(c_i^2) + rho * (sum c_i)^2).
    So one gap keeps `term_sd`; a difference of two gaps has sqrt(2) * term_sd
    when per-query gaps of different variants are independent (rho = 0), and
    less when they are positively correlated, as they are when a query that
    shows a large gap under one variant tends to show one under another.
    """
    if not 0.0 <= correlation <= 1.0:
        raise ValueError(f"correlation must be in [0, 1], got {correlation}")
    coefs = [w.coef for w in hypothesis.terms]
    spread = (1.0 - correlation) * sum(c * c for c in coefs) + correlation * sum(coefs) ** 2
    return term_sd * math.sqrt(spread)


def queries_needed(
    effect: float,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
) -> float:
    """Unrounded queries: (z_{1-a} + z_{power})^2 sd^2 / effect^2, a = alpha/2 if two-sided.

    `effect` is the true mean(d) minus the bound; for a one-sided test it must
    point in the alternative's direction, else no sample size suffices (inf).
    """
    if alternative == "less":
        effect = -effect
    elif alternative == "two-sided":
        effect = abs(effect)
    if effect <= 0:
        return math.inf
    z_alpha = _z(1 - alpha / 2) if alternative == "two-sided" else _z(1 - alpha)
    # Square the ratio, not the effect: effect**2 underflows to 0 for a tiny effect (a
    # division by zero), and `** 2` of a huge ratio raises where a product gives inf.
    root = (z_alpha + _z(power)) * sd / effect
    return root * root


def design_power(
    effect: float,
    sd: float,
    n_queries: int,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> float:
    """Power with `n_queries` queries (normal approximation; both tails if two-sided).

    0 below MIN_QUERIES: the analysis does not test a single query.
    """
    if n_queries < MIN_QUERIES:
        return 0.0
    if sd <= 0:  # no noise: the test rejects exactly when the effect points the right way
        towards = {"two-sided": effect != 0, "less": effect < 0, "greater": effect > 0}
        return 1.0 if towards[alternative] else 0.0
    shift = math.sqrt(n_queries) * effect / sd
    if alternative == "greater":
        return _phi(shift - _z(1 - alpha))
    if alternative == "less":
        return _phi(-shift - _z(1 - alpha))
    z = _z(1 - alpha / 2)
    return _phi(shift - z) + _phi(-shift - z)


def t_power(
    effect: float,
    sd: float,
    n_queries: int,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> float:
    """Power of the one-sample t test the analysis runs, from the noncentral t distribution.

    The normal approximation (`design_power`) ignores the t test's heavier tails
    and flatters small designs: 10 queries by the normal formula reach about 70%,
    not 80%, at alpha 0.0167.
    """
    if n_queries < MIN_QUERIES or sd <= 0:
        return design_power(effect, sd, n_queries, alpha, alternative)
    # scipy.special, not scipy.stats: the same functions, without scipy.stats' slow import.
    from scipy.special import stdtrit

    df = n_queries - 1
    shift = math.sqrt(n_queries) * effect / sd
    if alternative == "greater":
        return 1.0 - _nct_cdf(df, shift, float(stdtrit(df, 1 - alpha)))
    if alternative == "less":
        return _nct_cdf(df, shift, -float(stdtrit(df, 1 - alpha)))
    critical = float(stdtrit(df, 1 - alpha / 2))
    return 1.0 - _nct_cdf(df, shift, critical) + _nct_cdf(df, shift, -critical)


def _nct_cdf(df: int, shift: float, x: float) -> float:
    """P(T <= x) for the noncentral t; scipy gives NaN far out in a tail, where it is 0 or 1.

    (scipy 1.17: nctdtr(101, 5.6, -3.8) is NaN; its neighbours are below 1e-16.)
    """
    from scipy.special import nctdtr

    value = float(nctdtr(df, shift, x))
    if math.isnan(value):
        return 1.0 if x > shift else 0.0
    return value


def t_queries_needed(
    effect: float,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
) -> float:
    """Smallest query count (at least MIN_QUERIES) at which `t_power` reaches `power`.

    The search starts from the normal formula, which never asks for more: the t test's
    critical value is larger, so it needs at least as many queries (inf stays inf).
    """
    start = queries_needed(effect, sd, alpha, power, alternative)
    if math.isinf(start):
        return start

    def enough(n: int) -> bool:
        return t_power(effect, sd, n, alpha, alternative) >= power

    # Bracket, then bisect (`high` always enough, `low` not, once bracketed): a handful
    # of evaluations even for billions of queries.
    low = high = max(MIN_QUERIES, math.ceil(start - 1e-9))
    while not enough(high):
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


def tost_power(
    difference: float, margin: float, sd: float, n_queries: int, alpha: float = 0.05
) -> float:
    """Power to show |mean(d) - bound| < margin when the true distance is `difference`.

    Exact for normal per-query values: TOST passes when
    -margin + c s / sqrt(n) < mean < margin - c s / sqrt(n), c the t quantile, so
    its power is the normal probability of that window averaged over the
    chi-square distribution of the sample variance (numerical integration).
    The normal approximation with s = sd overstated small designs: 0.763
    instead of 0.635 at 8 queries, margin 0.2, sd 0.2.
    """
    if n_queries < MIN_QUERIES or abs(difference) >= margin:
        return 0.0
    if sd <= 0:
        return 1.0
    return _tost_power_exact(difference, margin, sd, n_queries, alpha)


def _tost_power_exact(difference: float, margin: float, sd: float, n: int, alpha: float) -> float:
    from scipy.integrate import quad
    from scipy.special import gammaln, ndtr, stdtrit

    df = n - 1
    c = float(stdtrit(df, 1 - alpha))
    root = math.sqrt(n) / sd
    low, high = (-margin - difference) * root, (margin - difference) * root
    top = df * ((high - low) / (2 * c)) ** 2  # beyond this variance the window is empty
    log_norm = (df / 2) * math.log(2) + float(gammaln(df / 2))

    def window(v: float) -> float:
        r = math.sqrt(v / df)  # s / sd
        chance = float(ndtr(high - c * r) - ndtr(low + c * r))
        density = math.exp((df / 2 - 1) * math.log(v) - v / 2 - log_norm) if v > 0 else 0.0
        return max(0.0, chance) * density

    value, _ = quad(window, 0.0, top, limit=200, epsabs=1e-10)
    return min(1.0, max(0.0, float(value)))


def tost_t_queries_needed(
    difference: float, margin: float, sd: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest query count at which the exact `tost_power` reaches `power` (inf if none).

    Starts from the normal formula (`tost_queries_needed`), which never asks for more.
    """
    start = tost_queries_needed(difference, margin, sd, alpha, power)
    if math.isinf(start):
        return start

    def enough(n: int) -> bool:
        return tost_power(difference, margin, sd, n, alpha) >= power

    low = high = max(MIN_QUERIES, math.ceil(start - 1e-9))
    while not enough(high):
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


def tost_queries_needed(
    difference: float, margin: float, sd: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Unrounded queries for TOST to reach `power` by the normal approximation (inf if the
    difference exceeds the margin): the start of `tost_t_queries_needed`'s search."""
    if abs(difference) >= margin:
        return math.inf
    if sd <= 0:
        return 1.0
    # The power curve is continuous and increasing in n: bracket, then bisect.
    low, high = 0.0, 1.0
    while _tost_power_real(difference, margin, sd, high, alpha) < power:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        if _tost_power_real(difference, margin, sd, mid, alpha) < power:
            low = mid
        else:
            high = mid
    return high


def _tost_power_real(difference: float, margin: float, sd: float, n: float, alpha: float) -> float:
    """TOST power at a real-valued query count `n` (may be negative for tiny n: no clamp)."""
    root = math.sqrt(n) / sd
    z = _z(1 - alpha)
    return _phi(root * (margin - difference) - z) + _phi(root * (margin + difference) - z) - 1


def plan(
    hypothesis: Hypothesis,
    effect: float,
    sd: float,
    n_queries: int,
    alpha: float = 0.05,
    power: float = 0.8,
    model: str | None = None,
) -> PowerPlan:
    """Power plan for one hypothesis.

    `effect`: assumed true mean(d) minus bound, positive when the hypothesis
    holds (for `<` that means d below the bound); for `==` it is the assumed
    true distance from the bound (0: exactly equivalent).
    """
    if hypothesis.op == "==":
        margin = hypothesis.margin or 0.0
        needed = tost_t_queries_needed(effect, margin, sd, alpha, power)
        achieved = tost_power(effect, margin, sd, n_queries, alpha)
        test = f"TOST ±{margin:g}"
        method = f"TOST, margin {margin:g}, exact t power"
    else:
        alternative: Alternative = "two-sided" if hypothesis.op == "!=" else "greater"
        needed = t_queries_needed(effect, sd, alpha, power, alternative)
        achieved = t_power(effect, sd, n_queries, alpha, alternative)
        test = "two-sided" if alternative == "two-sided" else "one-sided"
        method = f"one-sample t test on per-query values, {test}, noncentral t"
    return PowerPlan(
        model=model,
        name=hypothesis.name,
        expression=hypothesis.expression,
        margin=hypothesis.margin if hypothesis.op == "==" else None,
        effect=effect,
        query_sd=sd,
        alpha=alpha,
        target_power=power,
        queries_needed=None if math.isinf(needed) else max(MIN_QUERIES, math.ceil(needed - 1e-9)),
        n_queries=n_queries,
        power=achieved,
        test=test,
        method=method,
    )


def directed_effect(hypothesis: Hypothesis, mean: float) -> float:
    """Convert an observed mean(d) into `plan`'s effect (positive when the hypothesis holds)."""
    if hypothesis.op == "<":
        return hypothesis.bound - mean
    if hypothesis.op == "!=":
        return abs(mean - hypothesis.bound)
    return mean - hypothesis.bound
