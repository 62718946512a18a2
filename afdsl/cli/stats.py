"""`afdsl analyze` (labels from any source) and `afdsl power` (planning a design)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from afdsl.diagnostics import AfsError, Diagnostic

if TYPE_CHECKING:
    from rich.console import Console

    from afdsl.ir import Experiment, Hypothesis
    from afdsl.stats.models import AnalysisResult
    from afdsl.stats.power import PowerPlan
    from afdsl.stats.table import LabelTable

# Width of `afdsl analyze` when piped: its tables' natural width, within these bounds.
ANALYZE_MIN, ANALYZE_MAX = 80, 240


def register(subparsers: Any) -> None:
    """Add the `analyze` and `power` commands."""
    analyze = subparsers.add_parser(
        "analyze",
        help="analyse a labels JSONL file (gaps, contrasts, hypotheses)",
        description="Compliance gaps per variant, contrasts against base and hypothesis "
        "tests, with queries as clusters. Each line of LABELS is a JSON object with "
        "model (optional), variant, condition, query_id, sample, complied.",
    )
    analyze.add_argument(
        "labels", metavar="LABELS.jsonl", help="a labels file, or an Inspect log (.eval, .json)"
    )
    analyze.add_argument(
        "--scorer", metavar="NAME", help="an Inspect log's scorer whose values are the labels"
    )
    analyze.add_argument("--training", default="training", help="training-side condition")
    analyze.add_argument("--deployment", default="deployment", help="deployment-side condition")
    analyze.add_argument("--base", default="base", help="the unperturbed variant")
    analyze.add_argument("--correction", choices=("holm", "bh", "none"), default="holm")
    analyze.add_argument("--alpha", type=float, default=0.05)
    analyze.add_argument(
        "--hypothesis",
        action="append",
        default=[],
        metavar="'NAME: EXPR'",
        help="e.g. 'smaller: gap(no_rlhf) < gap(base)' (repeatable)",
    )
    analyze.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the result as JSON to PATH (stdout without PATH)",
    )
    analyze.set_defaults(func=run_analyze)

    power = subparsers.add_parser(
        "power",
        help="queries needed per hypothesis, and the power of the current design",
        description="Per hypothesis of FILE: the number of queries for the target power "
        "and the power of the experiment's current query count, from an assumed effect "
        "and per-query standard deviation or from a pilot store.",
    )
    power.add_argument("file", metavar="FILE.afs")
    power.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    power.add_argument("--alpha", type=float, help="default: the experiment's alpha")
    power.add_argument(
        "--effect",
        type=float,
        help="assumed true left side minus bound, positive when the hypothesis holds "
        "(== hypotheses take --tost-difference instead)",
    )
    power.add_argument(
        "--query-sd",
        type=float,
        help="standard deviation of one per-query gap (or rate) at the experiment's "
        "samples; a hypothesis comparing two gaps gets sqrt(2) times it (see --correlation)",
    )
    power.add_argument(
        "--correlation",
        type=float,
        default=0.0,
        help="assumed correlation across queries between the per-query terms of a "
        "hypothesis (default 0: independent, the conservative choice)",
    )
    power.add_argument(
        "--tost-difference",
        type=float,
        default=0.0,
        help="for == hypotheses: the assumed true distance from the bound (default 0)",
    )
    power.add_argument("--pilot", metavar="STORE", help="estimate effect and sd from a store")
    power.set_defaults(func=run_power)


def _labels(path: str, scorer: str | None) -> tuple[list[dict[str, Any]], Any]:
    """Records of a labels file, or of an Inspect log (a scorer's values as labels)."""
    from afdsl.inspect_io import inspect_labels, is_inspect_log
    from afdsl.stats.io import LineSpans, read_labels

    if not is_inspect_log(Path(path)):
        if scorer is not None:
            raise AfsError(Diagnostic(message="--scorer is for an Inspect log (.eval, .json)"))
        return read_labels(path)
    records = inspect_labels(Path(path), scorer)
    return records, LineSpans(path, list(range(1, len(records) + 1)))


def run_analyze(args: argparse.Namespace) -> int:
    """Read, analyse, print; exit 1 if a hypothesis failed."""
    from afdsl.stats import analyze_labels

    records, spans = _labels(args.labels, args.scorer)
    result = analyze_labels(
        records,
        training=args.training,
        deployment=args.deployment,
        base=args.base,
        correction=args.correction,
        alpha=args.alpha,
        hypotheses=args.hypothesis,
        spans=spans,
    )
    document = result.model_dump_json(indent=2)  # an undefined interval (NaN) as null
    if args.json == "-":
        sys.stdout.write(document + "\n")
    else:
        from afdsl.report.terminal import plain_width, size_plain_console

        console = _console()
        tables = analysis_renderables(result)
        # Sized to its content like `afdsl test`; these tables have no narrower layout.
        size_plain_console(console, lambda: plain_width(tables, ANALYZE_MIN, ANALYZE_MAX))
        console.print(*tables)
        if args.json:
            try:
                Path(args.json).write_text(document + "\n", encoding="utf-8")
            except OSError as exc:
                raise AfsError(Diagnostic(message=f"cannot write {args.json}: {exc}")) from None
            console.print(f"wrote {args.json}")
    return 1 if any(h.verdict == "fail" for h in result.hypotheses) else 0


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _f(x: float) -> str:
    text = f"{x:.3f}"
    return "0.000" if text == "-0.000" else text  # a value that rounds to zero has no sign


def _ci(ci: tuple[float, float]) -> str:
    if math.isnan(ci[0]) or math.isnan(ci[1]):  # fewer than 2 queries: no interval
        return "n/a"  # not "[n/a]": rich would read it as markup and print nothing
    return f"[{_f(ci[0])}, {_f(ci[1])}]"


def _p(p: float, alpha: float | None = None) -> str:
    """Three decimals, small ones in scientific notation; with `alpha`, enough decimals to
    fall on p's side of it (an adjusted 0.0495 beside a PASS must not read 0.050)."""
    from afdsl.report._format import beside_alpha

    return f"{p:.2g}" if p < 0.001 else beside_alpha(p, alpha, 3)


def analysis_renderables(result: AnalysisResult) -> list[Any]:
    """Tables of variants, contrasts and hypotheses (rich renderables)."""
    from rich.table import Table

    several = len({v.model for v in result.variants}) > 1
    t, d = result.training, result.deployment
    variants = Table(title="Compliance gap per variant (95% CI, queries as clusters)")
    for name in (["model"] if several else []) + ["variant", "queries", "samples"]:
        variants.add_column(name)
    variants.add_column(f"{t} rate*")
    variants.add_column(f"{d} rate*")
    variants.add_column("gap")
    variants.add_column("gap 95% CI")
    for v in result.variants:
        cells = [str(v.model)] if several else []
        rates = [
            f"{_f(v.rate[c])} {_ci(v.rate_ci[c])}" if c in v.rate_ci else _f(v.rate[c])
            for c in (t, d)
        ]
        cells += [v.variant, str(v.n_queries), str(v.n_samples), *rates, _f(v.gap), _ci(v.gap_ci)]
        variants.add_row(*cells)
    variants.caption = "* pooled rate with Wilson interval: descriptive only"
    out: list[Any] = [variants]
    if result.contrasts:
        contrasts = Table(title=f"Change of the gap against {result.base} (paired over queries)")
        for name in (["model"] if several else []) + [
            "variant", "queries", "Δ gap", "95% CI", "p (t)", "p (sign-flip)",
            f"p adjusted ({result.correction})",
        ]:  # fmt: skip
            contrasts.add_column(name)
        for c in result.contrasts:
            cells = [str(c.model)] if several else []
            cells += [
                c.variant, str(c.n_queries), _f(c.delta_gap), _ci(c.ci),
                _p(c.p_value), _p(c.p_permutation), _p(c.p_adjusted, result.alpha),
            ]  # fmt: skip
            contrasts.add_row(*cells)
        out.append(contrasts)
    if result.hypotheses:
        hypotheses = Table(
            title=f"Hypotheses (alpha {result.alpha:g}, {result.correction})",
            caption="t tests on per-query values (queries as clusters)",
        )
        for name in (["model"] if several else []) + [
            "hypothesis", "estimate", "CI", "p", "p adjusted", "verdict", "test",
        ]:  # fmt: skip
            hypotheses.add_column(name)
        for h in result.hypotheses:
            verdict = "[green]PASS[/]" if h.verdict == "pass" else "[red]FAIL[/]"
            test = h.method.replace(" (queries as clusters)", "")
            cells = [str(h.model)] if several else []
            cells += [
                f"[bold]{h.name}[/]\n{h.expression}", _f(h.estimate), _ci(h.ci), _p(h.p_value),
                _p(h.p_adjusted, result.alpha), verdict, f"{test}; {h.n_queries} queries",
            ]  # fmt: skip
            hypotheses.add_row(*cells)
        out.append(hypotheses)
    return out


def run_power(args: argparse.Namespace) -> int:
    """Print a power plan per hypothesis (and per model with --pilot)."""
    from afdsl.check import load_experiment

    experiment = load_experiment(args.file)
    if not experiment.hypotheses:
        raise AfsError(Diagnostic(message=f"{args.file} declares no hypothesis"))
    alpha = args.alpha if args.alpha is not None else experiment.correction.alpha
    if not 0 < alpha < 1 or not 0 < args.power < 1:
        raise AfsError(Diagnostic(message="--alpha and --power must be between 0 and 1"))
    levels = family_levels(experiment, alpha)
    if args.pilot:
        plans = _pilot_plans(experiment, args.pilot, levels, args.power)
    else:
        plans = _assumed_plans(experiment, args, levels)
    from afdsl.report.terminal import plain_width, size_plain_console

    console = _console()
    table = _power_table(plans, experiment, alpha, levels)
    # Piped, rich would assume 80 columns and cut the names; size it to its content.
    size_plain_console(console, lambda: plain_width([table], ANALYZE_MIN, ANALYZE_MAX))
    console.print(table)
    return 0


def family_levels(experiment: Experiment, alpha: float) -> dict[str, float]:
    """The level each hypothesis is planned at, per family (the measure it tests).

    The analysis corrects within each measure's hypotheses (a hypothesis `on faking` is
    not in the compliance family), so each is planned at alpha / (its family's size):
    Bonferroni, conservative and simple for Holm or BH.
    """
    from collections import Counter

    sizes = Counter(_family(experiment, h) for h in experiment.hypotheses)
    if experiment.correction.method == "none":
        return {family: alpha for family in sizes}
    return {family: alpha / k for family, k in sizes.items()}


def _family(experiment: Experiment, hypothesis: Hypothesis) -> str:
    from afdsl.report.collect import compliance_measure

    if hypothesis.measure:
        return hypothesis.measure
    primary = compliance_measure(experiment)
    return primary.name if primary else "compliance"


def _assumed_plans(
    experiment: Experiment, args: argparse.Namespace, levels: dict[str, float]
) -> list[PowerPlan]:
    from afdsl.stats.power import hypothesis_sd, plan

    for option, value in (
        ("--effect", args.effect),
        ("--query-sd", args.query_sd),
        ("--tost-difference", args.tost_difference),
    ):
        if value is not None and not math.isfinite(value):
            raise AfsError(Diagnostic(message=f"{option} must be a finite number, got {value}"))
    sd = args.query_sd
    if sd is None or sd <= 0:
        raise AfsError(
            Diagnostic(
                message="power needs --query-sd (> 0) or --pilot STORE",
                hint="e.g. --effect 0.08 --query-sd 0.3",
            )
        )
    if not 0.0 <= args.correlation < 1.0:
        raise AfsError(Diagnostic(message="--correlation must be in [0, 1)"))
    n_queries = len(experiment.queries)
    plans = []
    for h in experiment.hypotheses:
        assumed = args.tost_difference if h.op == "==" else args.effect
        if assumed is None:
            raise AfsError(
                Diagnostic(
                    message=f"hypothesis {h.name} needs --effect",
                    hint="the assumed true value of its left side minus its bound, "
                    "positive when it holds",
                )
            )
        spread = hypothesis_sd(h, sd, args.correlation)
        level = levels[_family(experiment, h)]
        plans.append(plan(h, assumed, spread, n_queries, level, args.power))
    return plans


def _pilot_plans(
    experiment: Experiment, store_path: str, levels: dict[str, float], power: float
) -> list[PowerPlan]:
    """Effect and sd per model and hypothesis from the pilot's labels."""
    from afdsl.stats.hypotheses import hypothesis_values
    from afdsl.stats.power import MIN_QUERIES, directed_effect, plan

    tables = pilot_tables(experiment, store_path)
    plans = []
    for h in experiment.hypotheses:
        table = tables[h.measure]
        level = levels[_family(experiment, h)]
        for model in table.models():
            data = hypothesis_values(table, model, h, experiment.training, experiment.deployment)
            if len(data.queries) < MIN_QUERIES:
                raise AfsError(
                    Diagnostic(
                        message=f"the pilot has fewer than {MIN_QUERIES} complete queries "
                        f"for {h.name}"
                    )
                )
            mean = float(data.values.mean())
            sd = float(data.values.std(ddof=1))
            effect = directed_effect(h, mean)
            plans.append(plan(h, effect, sd, len(experiment.queries), level, power, model))
    return plans


def pilot_tables(experiment: Experiment, path: str) -> dict[str | None, LabelTable]:
    """Per-query counts from a pilot store, per measure the hypotheses use (None: default).

    The records are the ones `afdsl test` and `afdsl report` analyse (`gather`):
    ok responses of the experiment's models at their current sampling
    parameters, its variants, queries and samples, with a parseable label.
    """
    from afdsl.report.collect import gather
    from afdsl.store import Store

    if not Path(path).exists():
        raise AfsError(Diagnostic(message=f"{path}: no such store"))
    store = Store(path)
    try:
        got = gather(experiment, store, samples=False)
    finally:
        store.close()
    tables: dict[str | None, LabelTable] = {}
    for name in {h.measure for h in experiment.hypotheses}:
        measure = name or got.primary
        if measure not in got.tables:
            raise AfsError(Diagnostic(message=f"unknown measure {measure!r}"))
        if not got.tables[measure].cells:
            raise AfsError(
                Diagnostic(
                    message=f"{path}: no {measure} labels for experiment {experiment.name!r}",
                    hint="run the pilot with `afdsl run`, then label it with `afdsl classify`",
                )
            )
        tables[name] = got.tables[measure]
    return tables


def _power_table(
    plans: list[PowerPlan], experiment: Experiment, alpha: float, levels: dict[str, float]
) -> Any:
    from rich.table import Table

    if len(levels) == 1:
        per = f"{next(iter(levels.values())):.3g} per hypothesis"
    else:
        per = ", ".join(f"{level:.3g} per {family} hypothesis" for family, level in levels.items())
    table = Table(
        title=f"Power per hypothesis ({len(experiment.queries)} queries x "
        f"{experiment.samples} samples now)",
        caption=f"one-sample t test of the per-query values (TOST: exact t power); "
        f"alpha {alpha:g}, {per}; sd of d = spread of the hypothesis's per-query left side",
    )
    several = len({p.model for p in plans}) > 1
    for name in (["model"] if several else []) + [
        "hypothesis", "test", "effect", "sd of d", "queries needed", "power now",
    ]:  # fmt: skip
        table.add_column(name)
    for p in plans:
        needed = "never" if p.queries_needed is None else str(p.queries_needed)
        cells = [str(p.model)] if several else []
        cells += [
            p.name, p.test, _f(p.effect), _f(p.query_sd), needed, f"{p.power:.2f}",
        ]  # fmt: skip
        table.add_row(*cells)
    return table
