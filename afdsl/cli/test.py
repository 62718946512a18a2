"""`afdsl test` (check, run, classify, analyse, report) and `afdsl report` (re-render only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afdsl.analysis import TestRecord

EPILOG_TEST = """exit codes: 0 every hypothesis passed, 1 a hypothesis failed (or cannot be
tested: every label it needs came back unparseable, which a rerun would not
change), 2 language or usage error, 3 the run could not complete (calls failed
after retries, budget reached, data missing: a rerun can help)."""


EPILOG_REPORT = """exit codes: as `afdsl test` (0 every hypothesis passed, 1 a hypothesis failed,
2 language or usage error, 3 the stored run is incomplete), except that an export
(--csv, --labels) exits 0 once it is written, whatever the hypotheses say; add
--check to keep the test's exit codes."""

REPORT_FILES = ("json", "md", "html", "csv")  # the report file options, as in args


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("report files")
    group.add_argument("--json", metavar="PATH", help="analysis document with manifest and counts")
    group.add_argument("--md", metavar="PATH", help="Markdown report for a paper draft or a PR")
    group.add_argument("--html", metavar="PATH", help="self-contained HTML with a forest plot")
    group.add_argument("--csv", metavar="PATH", help="one row per sample, for R or pandas")
    group.add_argument(
        "--labels",
        metavar="PATH",
        help="labels JSONL in the input format of `afdsl analyze` (one line per labelled sample)",
    )
    group.add_argument(
        "--labels-measure",
        metavar="NAME",
        help="the measure --labels writes (default: the compliance measure)",
    )


def register(subparsers: Any) -> None:
    from afdsl.cli.run import add_run_options

    _register_report(subparsers)
    test = subparsers.add_parser(
        "test",
        help="run an experiment end to end and test its hypotheses",
        description="Check, compile, run what the store lacks, classify, analyse and report.",
        epilog=EPILOG_TEST,
    )
    test.add_argument("file", metavar="FILE", help="the .afs experiment")
    add_run_options(test)
    test.add_argument(
        "--sequential",
        action="store_true",
        help="add queries in rounds and stop once every hypothesis is decided (anytime-valid test)",
    )
    _add_outputs(test)
    test.set_defaults(func=cmd_test)


def _register_report(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report",
        help="re-render the last test's report from the store (no model call)",
        description="Re-render reports from a store without calling any model.",
        epilog=EPILOG_REPORT,
    )
    report.add_argument("target", metavar="FILE|STORE", help="the .afs file or its store")
    report.add_argument("--store", metavar="PATH", help="store of the .afs file (default: its own)")
    report.add_argument(
        "--check",
        action="store_true",
        help="exit as `afdsl test` would (1 when a hypothesis failed) even when exporting "
        "--csv or --labels",
    )
    _add_outputs(report)
    report.set_defaults(func=cmd_report)


def _write_files(outcome: TestRecord, args: argparse.Namespace) -> None:
    from afdsl.report import write_csv, write_html, write_json, write_markdown

    writers = dict(
        zip(REPORT_FILES, (write_json, write_markdown, write_html, write_csv), strict=True)
    )
    for option, write in writers.items():
        target = getattr(args, option, None)
        if target:
            try:
                write(outcome, target)
            except OSError as exc:
                from afdsl.diagnostics import error

                raise error(f"cannot write --{option} {target}: {exc.strerror}") from exc
    if getattr(args, "labels", None):
        _write_labels(outcome, args)


def _check_labels_options(args: argparse.Namespace, file: str | None) -> None:
    """Refuse `--labels-measure` without `--labels`, or naming no measure of the file,
    before any model is called."""
    from afdsl.diagnostics import error

    measure = getattr(args, "labels_measure", None)
    if measure and not getattr(args, "labels", None):
        raise error("--labels-measure needs --labels PATH (the file to write)")
    if measure and file is not None and file.endswith(".afs"):
        from afdsl.check import load_experiment
        from afdsl.report.labels_export import check_measure

        check_measure(measure, load_experiment(file).measure_names())


def _write_labels(outcome: TestRecord, args: argparse.Namespace) -> None:
    from afdsl.diagnostics import error
    from afdsl.report.labels_export import write_labels

    try:
        write_labels(outcome, args.labels, args.labels_measure)
    except OSError as exc:
        raise error(f"cannot write --labels {args.labels}: {exc.strerror}") from exc


def _finish(outcome: TestRecord, args: argparse.Namespace, command: str = "test") -> int:
    from rich.console import Console

    from afdsl.report import render_terminal
    from afdsl.report.terminal import PIPED_WIDTH, size_plain_console

    _write_files(outcome, args)
    console = Console()
    size_plain_console(console, lambda: PIPED_WIDTH)
    render_terminal(outcome, console, command)
    return outcome.exit_code


def cmd_test(args: argparse.Namespace) -> int:
    from rich.console import Console

    from afdsl.cli.run import run_options_from_args
    from afdsl.pipeline import TestOptions, test_experiment

    _check_labels_options(args, args.file)
    run_options = run_options_from_args(args)
    options = TestOptions(
        store=Path(args.store) if getattr(args, "store", None) else None,
        models=getattr(args, "model", None) or None,
        run=run_options,
        sequential=args.sequential,
        samples=_wants_samples(args),
    )
    if getattr(run_options, "dry_run", False):
        from afdsl.pipeline import dry_run

        dry_run(args.file, options)
        _say_no_report_files(args)
        return 0
    err = Console(stderr=True)
    quiet = not getattr(run_options, "progress", True) or not sys.stderr.isatty()

    def step(message: str) -> None:
        if not quiet:
            err.print(f"[dim]· {message}[/dim]")

    return _finish(test_experiment(args.file, options, on_step=step), args)


def _wants_samples(args: argparse.Namespace) -> bool:
    """Whether the outcome needs its per-sample rows: only --csv and --labels write them."""
    return bool(args.csv or args.labels)


def _say_no_report_files(args: argparse.Namespace) -> None:
    """A dry run analyses nothing, so the report files asked for are not written: say so,
    rather than leave the user looking for them."""
    asked = [f"--{name}" for name in (*REPORT_FILES, "labels") if getattr(args, name, None)]
    if asked:
        sys.stderr.write(
            f"note: --dry-run writes no report file (not written: {', '.join(asked)}); "
            "run without --dry-run to write them\n"
        )


def cmd_report(args: argparse.Namespace) -> int:
    from afdsl.pipeline import report_from_store

    _check_labels_options(args, args.target)
    outcome = report_from_store(args.target, store_path=args.store, samples=_wants_samples(args))
    return _export_code(_finish(outcome, args, "report"), args)


def _export_code(code: int, args: argparse.Namespace) -> int:
    """An export (--csv, --labels) that was written exits 0, so `afdsl report FILE --csv
    out.csv && ...` goes on whatever the hypotheses say; `--check` keeps `code`. (A file
    that cannot be written is a usage error, raised before this.)"""
    exporting = bool(args.csv or args.labels)
    return code if args.check or not exporting else 0
