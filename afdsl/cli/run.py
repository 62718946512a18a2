"""`afdsl run FILE` and `afdsl status FILE`.

Also exports `add_run_options(parser)` and `run_options_from_args(args)` so
`afdsl test` takes the same run options.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_INCOMPLETE = 0, 3

EPILOG_RUN = """\
examples:
  afdsl run examples/motivations.afs                      # everything missing from the store
  afdsl run exp.afs --model anthropic:claude-3-opus-20240229 --dry-run
  afdsl run exp.afs --budget 5 --concurrency 32           # stop before $5 (exit 3, resumable)
  afdsl run exp.afs --batch                               # provider batch APIs, half price

Only what the store lacks is sent; rerun after an interruption to continue.
Ctrl-C lets the requests in flight (already paid for) finish and be stored,
then stops (exit 130); a second Ctrl-C stops at once.
Keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY (or a model's api_key_env).
System prompts are marked for Anthropic prompt caching (cache writes cost 1.25x
input, reads 0.1x); OpenAI caches long prompts by itself. Cached tokens are
stored and priced as such. --no-cache-prompts or AFDSL_NO_PROMPT_CACHE=1 turns
the marking off.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _concurrency(text: str) -> int:
    from afdsl.run.types import MAX_CONCURRENCY

    value = _positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_CONCURRENCY}, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return value


def _dollars(text: str) -> float:
    try:
        value = float(text.lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in USD, got {text!r}") from None
    if not math.isfinite(value):  # float() reads "nan" and "inf"; neither is a budget
        raise argparse.ArgumentTypeError(f"expected a finite amount in USD, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError("the budget cannot be negative")
    return value


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options `afdsl run` and `afdsl test` share."""
    group = parser.add_argument_group("running")
    group.add_argument(
        "--model",
        action="append",
        metavar="SPEC",
        help="replace the experiment's models (repeatable), e.g. openai:gpt-4o",
    )
    group.add_argument("--store", metavar="PATH", help="store file (default: .afdsl/STEM.sqlite)")
    group.add_argument(
        "--concurrency",
        type=_concurrency,
        default=16,
        metavar="N",
        help="requests in flight, 1 to 1024 (default 16)",
    )
    group.add_argument("--rpm", type=_positive_int, metavar="N", help="requests per minute limit")
    group.add_argument("--tpm", type=_positive_int, metavar="N", help="tokens per minute limit")
    group.add_argument(
        "--budget",
        type=_dollars,
        metavar="USD",
        help="stop before the estimated spend would exceed this (exit 3; rerun to resume)",
    )
    group.add_argument(
        "--dry-run", action="store_true", help="print requests, tokens and cost; send nothing"
    )
    group.add_argument(
        "--batch", action="store_true", help="use the Anthropic/OpenAI batch APIs (slower, cheaper)"
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=6,
        metavar="N",
        help="retries per request on 429, 5xx, timeouts and connection errors (default 6)",
    )
    group.add_argument(
        "--max-retry-after",
        type=_seconds,
        default=120.0,
        metavar="S",
        help="honour a provider's Retry-After up to S seconds (default 120); a longer one "
        "is cut to S, and the usual backoff and jitter still apply",
    )
    group.add_argument(
        "--no-cache-prompts",
        action="store_true",
        help="do not mark system prompts for Anthropic prompt caching (also "
        "AFDSL_NO_PROMPT_CACHE=1); OpenAI caches long prompts regardless",
    )
    group.add_argument("--quiet", action="store_true", help="no progress display")


def run_options_from_args(args: argparse.Namespace) -> Any:
    """`RunOptions` from parsed `add_run_options` arguments."""
    from afdsl.run import RunOptions

    if args.max_retries < 0:
        from afdsl.diagnostics import error

        raise error("--max-retries cannot be negative")
    options = RunOptions(
        concurrency=args.concurrency,
        rpm=args.rpm,
        tpm=args.tpm,
        budget_usd=args.budget,
        max_retries=args.max_retries,
        max_retry_after_s=args.max_retry_after,
        dry_run=args.dry_run,
        batch=args.batch,
        progress=not args.quiet,
    )
    if args.no_cache_prompts:  # otherwise the default ($AFDSL_NO_PROMPT_CACHE)
        options.cache_prompts = False
    return options


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="send every prompt the store lacks to the models",
        description="Run an experiment's prompts against its models, saving each response.",
        epilog=EPILOG_RUN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("file", metavar="FILE", help="the .afs experiment")
    add_run_options(run)
    run.set_defaults(func=cmd_run)

    status = subparsers.add_parser(
        "status",
        help="done / missing / failed per variant and model",
        description="Show how much of an experiment the store holds.",
    )
    status.add_argument("file", metavar="FILE", help="the .afs experiment")
    status.add_argument("--model", action="append", metavar="SPEC", help="as for `afdsl run`")
    status.add_argument("--store", metavar="PATH", help="store file (default: .afdsl/STEM.sqlite)")
    status.set_defaults(func=cmd_status)


def _store_path(args: argparse.Namespace) -> Path:
    from afdsl.store import default_store_path

    return Path(args.store) if args.store else default_store_path(args.file)


def _load(args: argparse.Namespace) -> Any:
    from afdsl.check import load_experiment, with_models

    return with_models(load_experiment(args.file), args.model)


def cmd_run(args: argparse.Namespace) -> int:
    from afdsl.pipeline import run_experiment
    from afdsl.run.experiment import check_budget_prices
    from afdsl.run.types import BUDGET_REACHED
    from afdsl.store import Store, StoreBusy

    options = run_options_from_args(args)
    experiment = _load(args)
    check_budget_prices(experiment, options)  # before the store file is created
    path = _store_path(args)
    # A dry run against a store that does not exist yet must not create one.
    store = Store(":memory:") if options.dry_run and not path.exists() else Store(path)
    try:
        summary = run_experiment(experiment, store, options)
    except StoreBusy as exc:
        sys.stderr.write(f"afdsl: {exc}\n")
        return EXIT_INCOMPLETE
    finally:
        store.close()
    if options.dry_run:
        return EXIT_OK
    from afdsl.sanitize import for_terminal

    print(summary_text(experiment, summary, path))
    if summary.unpriced:
        sys.stderr.write(
            f"the cost excludes {', '.join(summary.unpriced)}: no known price "
            "(add one to a price file named by $AFDSL_PRICES)\n"
        )
    if summary.recovered:
        sys.stderr.write(
            f"stored {summary.recovered} answer(s) an earlier run could not write "
            "(from its recovery file)\n"
        )
    if summary.stall_note():
        sys.stderr.write(f"{summary.stall_note()}\n")
    if summary.budget_exhausted:
        sys.stderr.write(f"{BUDGET_REACHED}\n")
    for problem in summary.problems():  # may quote a provider's message: made inert
        sys.stderr.write(f"{for_terminal(problem)}\n")
    if summary.failed:
        sys.stderr.write(
            "failed requests are stored with their error and retried on the next run "
            "(see `afdsl status`)\n"
        )
    return EXIT_OK if summary.complete and not summary.failed else EXIT_INCOMPLETE


def summary_text(experiment: Any, summary: Any, path: Path) -> str:
    """The line `afdsl run` ends with; simulated models are marked SIMULATOR.

    A run of simulators only says `SIMULATOR run:`; a run that mixes them with
    real models first lists every model with its own mark, so real responses
    are never taken for simulated ones (or the other way round).
    """
    simulated = [m.provider == "sim" for m in experiment.models]
    counts = (
        f"{summary.total} prompts: {summary.cached} cached, "
        f"{summary.succeeded} new, {summary.failed} failed, {summary.skipped} not sent; "
        f"${summary.cost_usd:.4f} in {summary.elapsed_s:.1f}s -> {path}"
    )
    if simulated and all(simulated):
        return "SIMULATOR run: " + counts
    if not any(simulated):
        return counts
    from afdsl.run.scheduler import run_label

    return f"models: {run_label(experiment.models)}\n{counts}"


def cmd_status(args: argparse.Namespace) -> int:
    from rich.console import Console

    from afdsl.diagnostics import error
    from afdsl.pipeline import experiment_status
    from afdsl.run.status import status_table
    from afdsl.store import Store

    experiment = _load(args)
    path = _store_path(args)
    if not path.exists():
        raise error(
            f"no store at {path} yet", hint=f"run `afdsl run {args.file}` first, or pass --store"
        )
    store = Store(path)
    try:
        rows = experiment_status(experiment, store)
    finally:
        store.close()
    Console().print(status_table(rows, path))
    return EXIT_OK
