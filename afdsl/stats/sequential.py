"""Anytime-valid sequential testing of hypotheses: a betting e-process on per-query values.

Guarantee (Ville's inequality): for each one-sided null, the wealth
W_t = prod_{i<=t} (1 + lambda_i x_i) is a nonnegative supermartingale when the
null holds, with x_i the centred, rescaled per-query value and lambda_i in
[0, max_bet] chosen from the values *before* query i (predictable). So
P(W_t >= 1/alpha at any t) <= alpha: the data may be inspected after every
query or batch and sampling stopped as soon as the hypothesis passes, without
inflating false positives. The guarantee needs queries to arrive in an order
not chosen from their outcomes, and the per-query values to be conditionally
independent given the past (a fresh query each time), not identically
distributed.

Bets follow the (a)GRAPA rule of Waudby-Smith and Ramdas,
lambda = sum(x) / (PRIOR_SECOND_MOMENT + sum(x^2)) over past values, an
estimate of the growth-optimal bet E[x] / E[x^2] shrunk towards 0 early on,
truncated to [0, MAX_BET].

Early "fail" (futility) when a query budget is known: a test stops with "fail"
once no sequence of the remaining queries could lift the wealth to the
threshold (see `_OneSided.best_reachable`). This never stops a run that could
still pass, so it changes neither the false-positive guarantee nor the power
at the budget; it only saves the queries that could not have mattered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from afdsl.ir import Hypothesis
from afdsl.stats.bounded import value_range

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    from afdsl.stats.models import LabelRecord
    from afdsl.stats.table import LabelTable

Decision = Literal["pass", "continue", "fail"]
# x >= -1, so a bet below 1 never loses everything in one step. A bet capped at 0.5 left
# the process nearly powerless at usual sizes (a gap of 0.11 with 4 samples per query:
# 36% passed by 60 queries); 0.9 with a lighter prior passes 90%, with false passes at
# 1.8% over 400 looks (benchmarks/stats_levels.py).
MAX_BET = 0.9
PRIOR_SECOND_MOMENT = 0.25  # pseudo sum of x^2 that shrinks the first bets towards 0


def log_wealth(
    x: ArrayLike,
    max_bet: float = MAX_BET,
    start: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> NDArray[np.float64]:
    """Log wealth after each value along the last axis (vectorised over leading axes).

    `x` must be >= -1 (centred at the null and divided by the distance to the
    lowest possible value). `start` = (log wealth, sum x, sum x^2) carried from
    earlier batches, so feeding values in batches gives the same path.
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    log0, s0, ss0 = start
    s_before = s0 + np.cumsum(x, axis=-1) - x  # sums over values strictly before each one
    ss_before = ss0 + np.cumsum(x * x, axis=-1) - x * x
    bets = np.clip(s_before / (PRIOR_SECOND_MOMENT + ss_before), 0.0, max_bet)
    return log0 + np.cumsum(np.log1p(bets * x), axis=-1)


@dataclass
class _OneSided:
    """Wealth against the null `mean(d) <= null` (sign=+1) or `mean(d) >= null` (sign=-1)."""

    null: float
    sign: int
    scale: float  # distance from the null to the most extreme value against the alternative
    x_max: float = 0.0  # largest rescaled value: the most favourable query possible
    log_w: float = 0.0
    s: float = 0.0
    ss: float = 0.0
    crossed: bool = False

    def feed(self, d: Sequence[float], threshold: float, max_bet: float) -> None:
        import numpy as np

        if not len(d) or self.scale <= 0:
            return
        x = self.sign * (np.asarray(d, dtype=np.float64) - self.null) / self.scale
        path = log_wealth(x, max_bet, (self.log_w, self.s, self.ss))
        self.crossed = self.crossed or bool((path >= threshold).any())
        self.log_w = float(path[-1])
        self.s += float(x.sum())
        self.ss += float((x * x).sum())

    def best_reachable(self, remaining: int, max_bet: float) -> float:
        """An upper bound on the log wealth after `remaining` more queries, whatever they are.

        The j-th future bet is at most min(max_bet, (s + j * x_max) / (prior + ss)):
        the past sum can grow by at most x_max per query and the sum of squares
        never shrinks. Each step multiplies the wealth by at most 1 + bet * x_max.
        """
        import numpy as np

        if self.scale <= 0 or self.x_max <= 0 or remaining <= 0:
            return self.log_w
        j = np.arange(remaining, dtype=np.float64)
        bets = np.clip((self.s + j * self.x_max) / (PRIOR_SECOND_MOMENT + self.ss), 0.0, max_bet)
        return self.log_w + float(np.log1p(bets * self.x_max).sum())

    def can_cross(self, threshold: float, remaining: int, max_bet: float) -> bool:
        """Crossed already, or some sequence of `remaining` queries could still cross."""
        return self.crossed or self.best_reachable(remaining, max_bet) >= threshold


@dataclass
class SequentialTest:
    """Anytime-valid test of one hypothesis, updated after each batch of queries.

    `update(values)` takes the per-query left sides d[q] of new queries and
    returns "pass" once the null is rejected at level `alpha` (and stays
    "pass"), else "continue"; `finish()` turns "continue" into "fail" when
    sampling ends. `<`, `>`: one e-process; `!=`: either direction's wealth
    crossing 2/alpha; `==` within M: both one-sided processes against the margins must
    cross (intersection-union, each at `alpha`). With several hypotheses, give
    each alpha / k (see `sequential_tests`).

    `budget`: the most queries the experiment can feed. With it, the decision
    becomes "fail" as soon as passing is impossible within the budget (sound:
    see the module docstring); without it, a test only ever stops to pass.
    """

    hypothesis: Hypothesis
    alpha: float = 0.05
    max_bet: float = MAX_BET
    budget: int | None = None
    n: int = field(default=0, init=False)  # queries fed so far
    seen: set[str] = field(default_factory=set, init=False)  # query ids consumed
    _sides: list[_OneSided] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        low, high = value_range(self.hypothesis)
        b = self.hypothesis.bound
        m = self.hypothesis.margin or 0.0

        def side(null: float, sign: int, worst: float, best: float) -> _OneSided:
            # A bound at the edge of the range (`rate(V, C) > 0`) leaves no room below the
            # null: there, the null allows only d = bound, so x = 0 and any positive scale
            # is valid; the full range keeps x <= 1. Dividing by 0 never let such a test pass.
            scale = worst if worst > 0 else high - low
            return _OneSided(null, sign, scale, _ratio(best, scale))

        def up(null: float) -> _OneSided:  # against mean(d) <= null
            return side(null, +1, null - low, high - null)

        def down(null: float) -> _OneSided:  # against mean(d) >= null
            return side(null, -1, high - null, null - low)

        self._sides = {
            ">": lambda: [up(b)],
            "<": lambda: [down(b)],
            "!=": lambda: [up(b), down(b)],
            "==": lambda: [up(b - m), down(b + m)],
        }[self.hypothesis.op]()

    @property
    def e_value(self) -> float:
        """Current evidence against the null: the weakest side for `==`, else the mean."""
        wealths = [math.exp(side.log_w) for side in self._sides]
        return min(wealths) if self.hypothesis.op == "==" else sum(wealths) / len(wealths)

    @property
    def threshold(self) -> float:
        """Log wealth that rejects a side's null.

        A two-sided test gives each direction alpha / 2 (Bonferroni), so either
        side crossing 2/alpha rejects.
        """
        share = 2.0 if self.hypothesis.op == "!=" else 1.0
        return math.log(share / self.alpha)

    @property
    def decision(self) -> Decision:
        """Pass once rejected; fail once passing is impossible within the budget."""
        combine = all if self.hypothesis.op == "==" else any
        if combine(side.crossed for side in self._sides):
            return "pass"
        if self.budget is not None:
            remaining = max(0, self.budget - self.n)
            if not combine(
                side.can_cross(self.threshold, remaining, self.max_bet) for side in self._sides
            ):
                return "fail"
        return "continue"

    def update(self, values: Iterable[float]) -> Decision:
        """Feed the per-query values of new queries, in the order they were sampled."""
        d = [float(v) for v in values]
        self.n += len(d)
        for side in self._sides:
            side.feed(d, self.threshold, self.max_bet)
        return self.decision

    def update_from_labels(
        self,
        records: Iterable[LabelRecord | Mapping[str, Any]],
        model: str | None = None,
        training: str = "training",
        deployment: str = "deployment",
    ) -> Decision:
        """Feed the queries of `records` not seen before (records may be cumulative).

        Only queries present in every cell the hypothesis refers to are used;
        a query is consumed once, the first time it is complete.
        """
        from afdsl.stats.table import build_table

        return self.update_from_table(build_table(records), model, training, deployment)

    def update_from_table(
        self,
        table: LabelTable,
        model: str | None = None,
        training: str = "training",
        deployment: str = "deployment",
    ) -> Decision:
        """`update_from_labels` on labels already counted per query (other models' are ignored)."""
        from afdsl.stats.hypotheses import hypothesis_values

        data = hypothesis_values(table, model, self.hypothesis, training, deployment)
        new = [(q, v) for q, v in zip(data.queries, data.values, strict=True) if q not in self.seen]
        self.seen.update(q for q, _ in new)
        return self.update(v for _, v in new)

    def finish(self) -> Decision:
        """Final decision when sampling stops: "pass" or "fail"."""
        return "pass" if self.decision == "pass" else "fail"


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom > 0 else 0.0


def sequential_tests(
    hypotheses: Sequence[Hypothesis],
    alpha: float = 0.05,
    correction: str = "holm",
    budget: int | None = None,
) -> list[SequentialTest]:
    """One test per hypothesis; with a correction, Bonferroni alpha / k keeps the family valid.

    `budget` (the experiment's query count) enables the early "fail" of each test.
    """
    k = max(1, len(hypotheses))
    level = alpha if correction == "none" else alpha / k
    return [SequentialTest(h, level, budget=budget) for h in hypotheses]
