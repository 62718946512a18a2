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

    from afdsl.ir import Experiment
    from afdsl.stats.power import PowerPlan

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
        type=points_or_proportion,
        help="assumed true left side minus bound, positive when the hypothesis holds "
        "(== hypotheses take --tost-difference instead); a proportion (0.08) or points (8pp), "
        "as are --query-sd and --tost-difference",
    )
    power.add_argument(
        "--query-sd",
        type=points_or_proportion,
        help="standard deviation of one per-query gap (or rate) at the experiment's "
        "samples; a hypothesis comparing two gaps gets sqrt(2) times it, a weighted sum "
        "(effect(), interaction()) sqrt(sum of squared weights) times it (see --correlation)",
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
        type=points_or_proportion,
        default=0.0,
        help="for == hypotheses: the assumed true distance from the bound (default 0)",
    )
    power.add_argument("--pilot", metavar="STORE", help="estimate effect and sd from a store")
    power.set_defaults(func=run_power)


def points_or_proportion(text: str) -> float:
    """`0.08` or `8pp`, as a hypothesis's bounds: the table prints points, so a bare `8`
    (800 points) is refused with the two spellings that mean what was likely meant."""
    points = text.strip().lower().endswith("pp")
    try:
        value = float(text.strip()[:-2] if points else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.08 or 8pp)") from None
    if points:
        return value / 100
    if math.isfinite(value) and not -1 <= value <= 1:  # nan and inf: refused further on
        raise argparse.ArgumentTypeError(
            f"{text} is outside [-1, 1]: values are proportions unless written in points; "
            f"write {text}pp (points) or {value / 100:g} (a proportion)"
        )
    return value


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
    from afdsl.analysis import analyze_labels

    records, spans = _labels(args.labels, args.scorer)
    result = analyze_labels(
        records,
        args.hypothesis,  # text, parsed as the i-th --hypothesis
        spans=spans,
        training=args.training,
        deployment=args.deployment,
        base=args.base,
        correction=args.correction,
        alpha=args.alpha,
    )
    document = result.model_dump_json(indent=2)  # an undefined interval (NaN) as null
    if args.json == "-":
        sys.stdout.write(document + "\n")
    else:
        from afdsl.report.stats_tables import analysis_tables
        from afdsl.report.terminal import plain_width, size_plain_console

        console = _console()
        tables = analysis_tables(result)
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


def run_power(args: argparse.Namespace) -> int:
    """Print a power plan per hypothesis (and per model with --pilot)."""
    from afdsl.analysis import family_levels, pilot_plans
    from afdsl.check import load_experiment

    experiment = load_experiment(args.file)
    if not experiment.hypotheses:
        raise AfsError(Diagnostic(message=f"{args.file} declares no hypothesis"))
    alpha = args.alpha if args.alpha is not None else experiment.correction.alpha
    if not 0 < alpha < 1 or not 0 < args.power < 1:
        raise AfsError(Diagnostic(message="--alpha and --power must be between 0 and 1"))
    levels = family_levels(experiment, alpha)
    if args.pilot:
        plans = pilot_plans(experiment, args.pilot, levels, args.power)
    else:
        plans = _assumed_plans(experiment, args, levels)
    from afdsl.report.stats_tables import power_table
    from afdsl.report.terminal import plain_width, size_plain_console

    console = _console()
    table = power_table(plans, experiment, alpha, levels)
    # Piped, rich would assume 80 columns and cut the names; size it to its content.
    size_plain_console(console, lambda: plain_width([table], ANALYZE_MIN, ANALYZE_MAX))
    console.print(table)
    return 0


def _assumed_plans(
    experiment: Experiment, args: argparse.Namespace, levels: dict[str, float]
) -> list[PowerPlan]:
    from afdsl.analysis import family_of
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
        level = levels[family_of(experiment, h)]
        plans.append(plan(h, assumed, spread, n_queries, level, args.power))
    return plans
