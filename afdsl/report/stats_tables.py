"""The tables of `afdsl analyze` (labels from any source) and `afdsl power` (a plan).

They print the unit `afdsl test` prints: rates in percent, gaps, their changes and
hypothesis estimates in signed percentage points (their JSON keeps proportions).
"""

from __future__ import annotations

from rich.table import Table

from afdsl.ir import Experiment
from afdsl.report._format import plural
from afdsl.report.numbers import ci, is_undefined, p_short, pct, pp
from afdsl.stats.models import AnalysisResult, HypothesisResult
from afdsl.stats.power import PowerPlan


def _table(title: str, columns: list[str], several: bool, caption: str | None = None) -> Table:
    """A table with a leading "model" column when the result has several models."""
    table = Table(title=title, caption=caption)
    for name in (["model"] if several else []) + columns:
        table.add_column(name)
    return table


def _points_ci(bounds: tuple[float, float]) -> str:
    """`[+1.0, +25.0]` in points; `n/a` without an interval (these cells are rich markup,
    where `[n/a]` would read as a tag and print nothing)."""
    return "n/a" if is_undefined(bounds[0]) or is_undefined(bounds[1]) else ci(bounds)


def _rate_ci(bounds: tuple[float, float]) -> str:
    """`[10.0%, 30.0%]`; `n/a` without an interval."""
    return "n/a" if is_undefined(bounds[0]) or is_undefined(bounds[1]) else ci(bounds, points=False)


def analysis_tables(result: AnalysisResult) -> list[Table]:
    """`afdsl analyze`'s tables of variants, contrasts and hypotheses."""
    several = len({v.model for v in result.variants}) > 1
    out = [_variants(result, several)]
    if result.contrasts:
        out.append(_contrasts(result, several))
    if result.hypotheses:
        out.append(_hypotheses(result, several))
    return out


def _variants(result: AnalysisResult, several: bool) -> Table:
    t, d = result.training, result.deployment
    columns = ["variant", "queries", "samples", f"{t} rate*", f"{d} rate*", "gap pp",
               "gap 95% CI"]  # fmt: skip
    table = _table("Compliance gap per variant (95% CI, queries as clusters)", columns, several)
    for v in result.variants:
        rates = [
            f"{pct(v.rate[c])} {_rate_ci(v.rate_ci[c])}" if c in v.rate_ci else pct(v.rate[c])
            for c in (t, d)
        ]
        cells = [str(v.model)] if several else []
        cells += [v.variant, str(v.n_queries), str(v.n_samples), *rates, pp(v.gap),
                  _points_ci(v.gap_ci)]  # fmt: skip
        table.add_row(*cells)
    table.caption = "* pooled rate with Wilson interval: descriptive only"
    return table


def _contrasts(result: AnalysisResult, several: bool) -> Table:
    columns = ["variant", "queries", "Δ gap pp", "95% CI", "p (t)", "p (sign-flip)",
               f"p adjusted ({result.correction})"]  # fmt: skip
    title = f"Change of the gap against {result.base} (paired over queries)"
    table = _table(title, columns, several)
    for c in result.contrasts:
        cells = [str(c.model)] if several else []
        cells += [
            c.variant, str(c.n_queries), pp(c.delta_gap), _points_ci(c.ci),
            p_short(c.p_value), p_short(c.p_permutation), p_short(c.p_adjusted, result.alpha),
        ]  # fmt: skip
        table.add_row(*cells)
    notes = [f"{c.variant}: {c.note}" for c in result.contrasts if c.note]
    table.caption = "\n".join(notes) or None  # why a p value is exact (equal differences)
    return table


def _hypotheses(result: AnalysisResult, several: bool) -> Table:
    columns = ["hypothesis", "estimate pp", "CI", "p", "p adjusted", "verdict", "test"]
    title = f"Hypotheses (alpha {result.alpha:g}, {result.correction})"
    table = _table(title, columns, several, "t tests on per-query values (queries as clusters)")
    for h in result.hypotheses:
        verdict = "[green]PASS[/]" if h.verdict == "pass" else "[red]FAIL[/]"
        test = dropped_note(h) + h.method.replace(" (queries as clusters)", "")
        cells = [" vs ".join(h.models) if h.models else str(h.model)] if several else []
        cells += [
            f"[bold]{h.name}[/]\n{h.expression}", pp(h.estimate), _points_ci(h.ci),
            p_short(h.p_value), p_short(h.p_adjusted, result.alpha), verdict,
            f"{test}; {plural(h.n_queries, 'query', 'queries')}",
        ]  # fmt: skip
        table.add_row(*cells)
    return table


def power_table(
    plans: list[PowerPlan], experiment: Experiment, alpha: float, levels: dict[str, float]
) -> Table:
    """`afdsl power`'s table: per hypothesis (and model), the queries needed and the power
    of the current design."""
    if len(levels) == 1:
        per = f"{next(iter(levels.values())):.3g} per hypothesis"
    else:
        per = ", ".join(f"{level:.3g} per {family} hypothesis" for family, level in levels.items())
    several = len({p.model for p in plans}) > 1
    dropping = any(p.usable_share < 1 for p in plans)
    table = _table(
        f"Power per hypothesis ({plural(len(experiment.queries), 'query', 'queries')} x "
        f"{plural(experiment.samples, 'sample')} now)",
        ["hypothesis", "test", "effect pp", "sd of d pp", "queries needed", "power now"],
        several,
        caption=f"one-sample t test of the per-query values (TOST: exact t power); "
        f"alpha {alpha:g}, {per}; sd of d = spread of the hypothesis's per-query left side"
        + (
            "; * only this share of the pilot's queries enter the test (the others lack a "
            "usable sample in a cell it needs, e.g. no answer that complied): allowed for"
            if dropping
            else ""
        ),
    )
    for p in plans:
        needed = "never" if p.queries_needed is None else str(p.queries_needed)
        if p.usable_share < 1:
            needed += f" ({p.usable_share:.0%}*)"
        cells = [str(p.model) if p.model is not None else "across models"] if several else []
        cells += [
            p.name, _test(p), pp(p.effect), _points(p.query_sd), needed, f"{p.power:.2f}",
        ]  # fmt: skip
        table.add_row(*cells)
    return table


def _test(plan: PowerPlan) -> str:
    """The test's name, a TOST margin in points like every other number printed."""
    return plan.test if plan.margin is None else f"TOST ±{100 * plan.margin:g}pp"


def _points(x: float) -> str:
    """A spread in percentage points, unsigned (it is never negative)."""
    return "n/a" if is_undefined(x) else f"{100 * x:.1f}"


def dropped_note(h: HypothesisResult) -> str:
    """`2 queries dropped; ` before the test of a result that left queries out (for want of
    labels in a cell it reads; across models, queries not answered by every model)."""
    return f"{plural(h.n_dropped, 'query', 'queries')} dropped; " if h.n_dropped else ""
