"""`afdsl compare A B`: two runs side by side (JSON reports, .afs files or stores)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afdsl.report.compare import ReadReport

EPILOG = """A and B are `afdsl test --json` reports, .afs files (read from their stores,
as `afdsl report` does, without any model call) or stores. Differences are B
minus A. exit codes: 0 no hypothesis changed its verdict, 1 a verdict flipped,
2 usage error (a file that cannot be read or is no report)."""

SQLITE_MAGIC = b"SQLite format 3\x00"


def register(subparsers: Any) -> None:
    compare = subparsers.add_parser(
        "compare",
        help="compare two runs: estimates, verdict flips, manifest differences",
        description="Compare two reports of an experiment: per model, variant and measure "
        "both estimates and their difference, per hypothesis both verdicts, and what differs "
        "between their manifests.",
        epilog=EPILOG,
    )
    compare.add_argument("a", metavar="A", help="JSON report, .afs file or store (the before)")
    compare.add_argument("b", metavar="B", help="JSON report, .afs file or store (the after)")
    compare.add_argument("--json", metavar="PATH", help="write the comparison document here")
    compare.set_defaults(func=cmd_compare)


def load_report(target: str) -> ReadReport:
    """A report read from `target`: a JSON document, or rebuilt from a .afs file's store
    or a store (AfsError with one precise line when it is none of these)."""
    from pydantic import ValidationError

    from afdsl.diagnostics import error
    from afdsl.report.compare import read_report

    path = Path(target)
    if not path.is_file():
        raise error(f"no such file: {target}", hint="pass a JSON report, a .afs file or a store")
    try:
        data = _document(path)
    except OSError as exc:
        raise error(f"cannot read {target}: {exc.strerror}") from exc
    try:
        return read_report(data, target)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise error(
            f"{target} is not an afdsl report ({where}: {exc.errors()[0]['msg']})",
            hint="pass the file `afdsl test --json PATH` wrote",
        ) from None


def _document(path: Path) -> Any:
    """The report document of `path`: as it is (JSON) or built from the store."""
    import json

    from afdsl.diagnostics import error

    if path.suffix == ".afs" or path.read_bytes()[:16] == SQLITE_MAGIC:
        from afdsl.pipeline import report_from_store
        from afdsl.report import build_document

        return build_document(report_from_store(path, samples=False))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(
            f"{path} is neither a JSON report, a .afs file nor a store ({exc})",
            hint="pass the file `afdsl test --json PATH` wrote, a .afs file or its store",
        ) from None


def cmd_compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    from afdsl.diagnostics import error
    from afdsl.report.compare import build_comparison_view, compare_reports, write_comparison
    from afdsl.report.terminal import PIPED_WIDTH, print_trimmed, size_plain_console

    comparison = compare_reports(load_report(args.a), load_report(args.b), (args.a, args.b))
    if args.json:
        try:
            write_comparison(comparison, args.json)
        except OSError as exc:
            raise error(f"cannot write --json {args.json}: {exc.strerror}") from exc
    console = Console()
    size_plain_console(console, lambda: PIPED_WIDTH)
    print_trimmed(console, build_comparison_view(comparison))
    return comparison.exit_code
