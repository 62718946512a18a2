"""Editor commands: lsp (the language server), fmt (the formatter)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_CHANGED, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add the editor commands to the `afdsl` parser."""
    lsp = subparsers.add_parser(
        "lsp",
        help="run the .afs language server (stdio)",
        description="A Language Server Protocol server on stdin/stdout: diagnostics as "
        "you type, hover, completion, go to definition, document symbols. Needs the "
        "extra afdsl[lsp].",
    )
    lsp.set_defaults(func=run_lsp)

    fmt = subparsers.add_parser(
        "fmt",
        help="format .afs files in place (one canonical layout)",
        description="Rewrite each FILE in the canonical layout, keeping every comment and "
        "string byte for byte. With --check or --diff nothing is written.",
    )
    fmt.add_argument("files", nargs="+", metavar="FILE")
    fmt.add_argument("--check", action="store_true", help="exit 1 if a file would change")
    fmt.add_argument("--diff", action="store_true", help="print a unified diff of the changes")
    fmt.set_defaults(func=run_fmt)


def run_lsp(args: argparse.Namespace) -> int:
    """`afdsl lsp`."""
    from afdsl.lsp import serve

    serve()
    return EXIT_OK


def run_fmt(args: argparse.Namespace) -> int:
    """`afdsl fmt FILE... [--check] [--diff]`: 0 ok, 1 a file would change (--check),
    2 a file does not parse (nothing is written to it)."""
    import difflib
    from pathlib import Path

    from afdsl.diagnostics import AfsError, emit
    from afdsl.fmt import format_text
    from afdsl.syntax import read_source

    status = EXIT_OK
    for name in args.files:
        try:
            original = read_source(Path(name))
        except (OSError, UnicodeDecodeError) as exc:
            sys.stderr.write(f"afdsl fmt: cannot read {name}: {exc}\n")
            status = EXIT_USAGE
            continue
        try:
            formatted = format_text(original, name)
        except AfsError as exc:
            emit(exc.diagnostics, {name: original}, sys.stderr)
            status = EXIT_USAGE
            continue
        if formatted == original:
            continue
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    original.splitlines(keepends=True),
                    formatted.splitlines(keepends=True),
                    f"{name} (original)",
                    f"{name} (formatted)",
                )
            )
        if args.check or args.diff:
            sys.stderr.write(f"would reformat {name}\n")
            if args.check and status == EXIT_OK:
                status = EXIT_CHANGED
        else:
            Path(name).write_text(formatted, encoding="utf-8")
            sys.stderr.write(f"reformatted {name}\n")
    return status
