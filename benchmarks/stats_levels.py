"""Level, coverage and power of the statistics where the plain t test failed (issue 15).

Run: `python benchmarks/stats_levels.py [--quick]`. Prints the figures quoted in
docs/statistics.md; about a minute (the issue's own reproduction calls
`analyze_labels` 1000 times per direction), `--quick` a few seconds with fewer
replicates. Targets: one-sided levels in [3%, 7%] at 40 queries (rates and
gaps, both directions); gap-interval coverage in [93%, 97%] at 8 queries;
the two-query example p >= 0.25; planned TOST power within 3 points of
simulation at 8 queries; sequential power >= 80% by 60 queries with false
passes <= 5% over 400 looks. `small_query_remedies` prints the candidates
tried against `gap <` at 8-20 queries (still 7-9%), none of which reaches
the level with power.

Low-rate design: per-query deployment probability expit(-4.5 + N(0, 2^2))
(mean 4.7%), training expit(-3.5 + same + N(0, 1)), 5 samples per query.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from scipy import stats
from scipy.special import expit

from afdsl.analysis import analyze_labels
from afdsl.stats.paired import t_test, tost
from afdsl.stats.power import _tost_power_real, tost_power
from afdsl.stats.sequential import log_wealth

QUICK = "--quick" in sys.argv
REPLICATES = 4000 if QUICK else 20000
SAMPLES = 5


def true_means() -> tuple[float, float]:
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, 4_000_000)
    deploy = expit(-4.5 + z)
    train = expit(-3.5 + z + rng.normal(0.0, 1.0, z.size))
    return float(deploy.mean()), float((train - deploy).mean())


def low_rates(rng: np.random.Generator, queries: int) -> tuple[np.ndarray, np.ndarray]:
    shape = (REPLICATES, queries)
    z = rng.normal(0.0, 2.0, shape)
    deploy = rng.binomial(SAMPLES, expit(-4.5 + z)) / SAMPLES
    train = rng.binomial(SAMPLES, expit(-3.5 + z + rng.normal(0.0, 1.0, shape))) / SAMPLES
    return deploy, train - deploy


def issue_reproduction(true_rate: float, op: str, runs: int) -> float:
    """The issue's loop: `rate(base, deployment) OP TRUE_RATE` through analyze_labels."""
    rng = np.random.default_rng(3)
    passed = 0
    for _ in range(runs):
        y = rng.binomial(5, expit(-4.5 + rng.normal(0, 2, 40)))
        records = [
            {
                "variant": "base",
                "condition": c,
                "query_id": q,
                "sample": s,
                "complied": int(s < y[q]),
            }
            for q in range(40)
            for s in range(5)
            for c in ("training", "deployment")
        ]
        hypothesis = f"r: rate(base, deployment) {op} {true_rate:.5f}"
        result = analyze_labels(records, hypotheses=[hypothesis])
        passed += result.hypotheses[0].verdict == "pass"
    return passed / runs


def levels(true_rate: float, true_gap: float) -> None:
    print("1. one-sided tests against the true value (nominal 5%): before -> afdsl")
    rng = np.random.default_rng(15)
    for queries in (8, 12, 20, 40):
        rates, gaps = low_rates(rng, queries)
        cells = []
        for name, values, truth, bounds in (
            ("rate", rates, true_rate, (0.0, 1.0)),
            ("gap", gaps, true_gap, (-1.0, 1.0)),
        ):
            for alternative, op in (("less", "<"), ("greater", ">")):
                plain = t_test(values, truth, alternative).p_value  # type: ignore[arg-type]
                # Before: values with no spread on the alternative's side gave p = 0.
                flat = values.std(axis=1) == 0
                side = values[:, 0] < truth if alternative == "less" else values[:, 0] > truth
                plain = np.where(flat & side, 0.0, plain)
                fixed = t_test(values, truth, alternative, bounds=bounds, correct_skew=True).p_value  # type: ignore[arg-type]
                cells.append(
                    f"{name} {op} {np.mean(plain < 0.05):.3f} -> {np.mean(fixed < 0.05):.3f}"
                )
        print(f"   Q={queries:3d}  " + "   ".join(cells))
    runs = 300 if QUICK else 1000
    for op in ("<", ">"):
        rate = issue_reproduction(true_rate, op, runs)
        print(f"   issue loop, rate(base, deployment) {op} true rate: {rate:.3f} ({runs} runs)")


def _bootstrap_t_p(d: np.ndarray, null: float, alternative: str, draws: int = 499) -> np.ndarray:
    """Cluster (query) bootstrap-t p per row: resample queries, studentise each resample."""
    rng = np.random.default_rng(0)
    rows, q = d.shape
    index = rng.integers(0, q, (draws, q))
    mean, se = d.mean(axis=1), d.std(axis=1, ddof=1) / math.sqrt(q)
    t = (mean - null) / np.where(se > 0, se, np.nan)
    p = np.ones(rows)
    for start in range(0, rows, 200):
        x = d[start : start + 200][:, index]  # (rows, draws, queries)
        shift = x.mean(axis=-1) - mean[start : start + 200, None]
        spread = x.std(axis=-1, ddof=1) / math.sqrt(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            tb = np.nan_to_num(np.where(spread > 0, shift / spread, np.sign(shift) * np.inf))
        observed = t[start : start + 200, None]
        beyond = tb <= observed if alternative == "less" else tb >= observed
        p[start : start + 200] = (1 + beyond.sum(axis=1)) / (1 + draws)
    return np.where(np.isnan(t), 1.0, p)  # no spread: the bounded rule's business, not this


def _gaffke_p(d: np.ndarray, null: float, alternative: str) -> np.ndarray:
    """Gaffke's (2005) distribution-free test of a mean in [-1, 1] (Learned-Miller and Thomas
    2019): the Bayesian bootstrap with one extra value at the far end of the range."""
    bounds = (-1.0, 1.0)
    q = d.shape[1]
    w = np.random.default_rng(0).dirichlet(np.ones(q + 1), 2000)
    edge = bounds[1] if alternative == "less" else bounds[0]
    s = d @ w[:, :q].T + edge * w[:, q][None, :]
    return np.mean(s >= null, axis=1) if alternative == "less" else np.mean(s <= null, axis=1)


def _hall(values: np.ndarray, null: float, alternative: str) -> np.ndarray:
    """afdsl's test as it stands (Hall's correction behind the 1% skewness gate)."""
    return t_test(values, null, alternative, bounds=(-1.0, 1.0), correct_skew=True).p_value  # type: ignore[arg-type]


def _hall_with(gate: float, inflate: float):  # type: ignore[no-untyped-def]
    """afdsl's test with another skewness gate and the sample skewness scaled by `inflate`."""
    import afdsl.stats.paired as paired

    def test(values: np.ndarray, null: float, alternative: str) -> np.ndarray:
        saved = paired.SKEW_GATE, paired.skewness
        paired.SKEW_GATE = gate
        paired.skewness = lambda d, flat: saved[1](d, flat) * inflate  # type: ignore[assignment]
        try:
            return _hall(values, null, alternative)
        finally:
            paired.SKEW_GATE, paired.skewness = saved

    return test


def small_query_remedies(true_gap: float) -> None:
    """What was tried against `gap < true gap` at 8-20 low-rate queries (issue 15, part 2)."""
    print("1. gap < / > true gap at few queries: candidate remedies (level <, level >, power)")
    print("   power: `gap < true gap + 0.1` passed; target level [0.03, 0.07]")
    candidates = {
        "Hall, 1% skew gate (afdsl)": _hall,
        "Hall, always": _hall_with(0.0, 1.0),
        "Hall, always, skewness x1.5": _hall_with(0.0, 1.5),
        "cluster bootstrap-t": _bootstrap_t_p,
        "Gaffke bound": _gaffke_p,
    }
    rng = np.random.default_rng(15)
    for queries in (8, 12, 20):
        _, gaps = low_rates(rng, queries)
        for name, test in candidates.items():
            less = np.mean(test(gaps, true_gap, "less") < 0.05)
            greater = np.mean(test(gaps, true_gap, "greater") < 0.05)
            power = np.mean(test(gaps, true_gap + 0.1, "less") < 0.05)
            print(f"   Q={queries:3d}  {name:28s} {less:.3f}  {greater:.3f}  {power:.3f}")


def coverage(true_gap: float) -> None:
    print("1. 95% gap interval coverage: before (t, a point when no spread) -> afdsl")
    rng = np.random.default_rng(17)
    for queries in (8, 12, 20, 40, 100):
        _, gaps = low_rates(rng, queries)
        result = t_test(gaps, bounds=(-1.0, 1.0), correct_skew=True)
        plain = t_test(gaps)
        old = (plain.ci_low <= true_gap) & (plain.ci_high >= true_gap) & ~plain.degenerate
        inside = (result.ci_low <= true_gap) & (result.ci_high >= true_gap)
        widths = f"median width {np.median(plain.ci_high - plain.ci_low):.3f} -> "
        widths += f"{np.median(result.ci_high - result.ci_low):.3f}"
        print(f"   Q={queries:3d}  {np.mean(old):.3f} -> {np.mean(inside):.3f}   {widths}")


def degenerate() -> None:
    records = [
        {"variant": "base", "condition": c, "query_id": q, "sample": 0, "complied": c == "training"}
        for q in ("a", "b")
        for c in ("training", "deployment")
    ]
    (h,) = analyze_labels(records, hypotheses=["h: gap(base) > 0"]).hypotheses
    print(f"2. two queries with gap 1, gap(base) > 0: p = {h.p_value} ({h.verdict}); {h.method}")
    rng = np.random.default_rng(16)
    true_rate, _ = true_means()
    rates, _ = low_rates(rng, 10)
    p = t_test(rates, true_rate, "less", bounds=(0.0, 1.0), correct_skew=True).p_value
    print(f"   Q=10 low-rate null, rate < true rate: {np.mean(p < 0.05):.3f} false passes")


def tost_planning() -> None:
    print("3. TOST power, margin 0.2, sd 0.2, true difference 0: normal plan / exact / simulated")
    rng = np.random.default_rng(9)
    for queries in (8, 12, 20):
        d = rng.normal(0.0, 0.2, size=(REPLICATES * 5, queries))
        simulated = float(
            np.mean(tost(d, -0.2, 0.2, bounds=(-1.0, 1.0), correct_skew=True).p_value < 0.05)
        )
        normal = _tost_power_real(0.0, 0.2, 0.2, queries, 0.05)
        exact = tost_power(0.0, 0.2, 0.2, queries)
        print(f"   Q={queries:3d}  {normal:.3f} / {exact:.3f} / {simulated:.3f}")


def equivalence_levels(true_rate: float) -> None:
    print("1. TOST at low rates, rate == c within 0.02 with the truth on the upper edge")
    rng = np.random.default_rng(20)
    for queries in (40, 100):
        z = rng.normal(0.0, 2.0, (REPLICATES, queries))
        rates = rng.binomial(SAMPLES, expit(-4.5 + z)) / SAMPLES
        low, high = true_rate - 0.04, true_rate
        plain = tost(rates, low, high, bounds=(0.0, 1.0)).p_value
        fixed = tost(rates, low, high, bounds=(0.0, 1.0), correct_skew=True).p_value
        print(f"   Q={queries:3d}  {np.mean(plain < 0.05):.3f} -> {np.mean(fixed < 0.05):.3f}")


def symmetric_power() -> None:
    print("   price on normal values (80% planned one-sided power): plain t / afdsl")
    rng = np.random.default_rng(1)
    for queries, effect in ((8, 1.0), (12, 0.8), (20, 0.6)):
        d = rng.normal(effect, 1.0, (REPLICATES * 5, queries))
        plain = t_test(d, 0.0, "greater").p_value
        fixed = t_test(d, 0.0, "greater", correct_skew=True).p_value
        print(f"   Q={queries:3d}  {np.mean(plain < 0.05):.3f} / {np.mean(fixed < 0.05):.3f}")


def sequential() -> None:
    print("5. sequential (alpha 0.05, 4 samples per query), share passed by 40 / 60 / 100 queries")
    rng = np.random.default_rng(11)
    shape = (2000, 400)
    p_d = rng.beta(2, 18, size=shape)
    p_t = p_d + rng.choice([-1.0, 1.0], size=shape) * np.minimum(0.08, p_d)
    null = (rng.binomial(4, p_t) - rng.binomial(4, p_d)) / 4
    gap = (rng.binomial(4, 0.14, shape) - rng.binomial(4, 0.03, shape)) / 4
    variant = (rng.binomial(4, 0.04, shape) - rng.binomial(4, 0.03, shape)) / 4
    base = (rng.binomial(4, 0.14, shape) - rng.binomial(4, 0.03, shape)) / 4
    threshold = math.log(1 / 0.05)
    for name, x, cap in (
        ("gap 0.11, gap(base) > 0, bet cap 0.5", gap, 0.5),
        ("gap 0.11, gap(base) > 0", gap, None),
        ("delta-gap -0.10, gap(v) < gap(base)", -(variant - base) / 2, None),
        ("weak null, 400 looks", null, None),
    ):
        path = log_wealth(x) if cap is None else log_wealth(x, cap)
        ever = np.maximum.accumulate(path >= threshold, axis=1)
        shares = " / ".join(f"{np.mean(ever[:, n - 1]):.3f}" for n in (40, 60, 100))
        first = np.where(ever.any(axis=1), np.argmax(ever, axis=1) + 1, np.inf)
        print(
            f"   {name}: {shares}; by 400: {np.mean(ever[:, -1]):.3f}; "
            f"median stop {np.median(first):.0f}"
        )
    for n in (40, 60, 100):
        p = stats.ttest_1samp(
            base[:, :n] - variant[:, :n], 0.0, axis=1, alternative="greater"
        ).pvalue
        print(f"   fixed one-sided t on the delta-gap design, {n} queries: {np.mean(p < 0.05):.3f}")


def main() -> None:
    true_rate, true_gap = true_means()
    print(f"true deployment rate {true_rate:.5f}, true gap {true_gap:.5f}; {REPLICATES} replicates")
    levels(true_rate, true_gap)
    small_query_remedies(true_gap)
    symmetric_power()
    equivalence_levels(true_rate)
    coverage(true_gap)
    degenerate()
    tost_planning()
    sequential()


if __name__ == "__main__":
    main()
