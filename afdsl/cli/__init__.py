"""The `afdsl` command: a thin layer over functions a notebook user can call too.

Each command group lives in its own module with `register(subparsers)`; this
module only wires them and turns errors into messages and exit codes:
0 ok, 1 a hypothesis failed, 2 language or usage error, 3 the run could not
complete, 4 internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from afdsl import __version__
from afdsl.diagnostics import AfsError, render

# Command modules, imported at start-up; they must keep heavy imports inside functions.
COMMAND_MODULES = (
    "afdsl.cli.language",  # check, compile, diff, list, perturbations
    "afdsl.cli.run",  # run, status
    "afdsl.cli.classify",  # classify, validate
    "afdsl.cli.stats",  # analyze, power
    "afdsl.cli.test",  # test, report
    "afdsl.cli.compare",  # compare
    "afdsl.cli.show",  # show (read stored transcripts), export-inspect
    "afdsl.cli.store",  # store repair
    "afdsl.cli.editor",  # lsp, fmt
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_INTERNAL = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="afdsl", description="Alignment-faking experiments as code.")
    parser.add_argument("--version", action="version", version=f"afdsl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet
        module.register(sub)
    return parser


def _one_blas_thread() -> None:
    """Run numpy's BLAS on one thread unless the user says otherwise.

    afdsl's numeric work is small vector operations, where a BLAS thread pool
    only spins: `afdsl report` on 100,000 samples used 2.1 s of CPU for 1.7 s
    of wall time on 2 cores, and 1.6 s for 1.6 s with one thread. Set before
    numpy is first imported (commands import it lazily), so it takes effect.
    """
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def main(argv: Sequence[str] | None = None) -> int:
    _one_blas_thread()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except AfsError as exc:
        sys.stderr.write(render(exc.diagnostics) + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; everything finished so far is saved\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the user must never see a traceback unless asked
        return _outside_error(exc, args)
    finally:  # a damaged store is looked for among this command's stores only
        health = sys.modules.get("afdsl.store._health")
        if health is not None:
            health.forget_opened()


def _outside_error(exc: Exception, args: argparse.Namespace) -> int:
    """Exit code for an exception no command handled: a store or disk at fault (3), a
    damaged store (2, with what to do), else an internal error (4)."""
    from afdsl.redact import redact
    from afdsl.sanitize import for_terminal
    from afdsl.store import StoreBusy, StoreWriteError, damage_error

    # Another run writes to the store (wait), or the disk refused a write (free space).
    damaged = damage_error(exc)
    if isinstance(exc, StoreBusy | StoreWriteError) or _disk_refused(exc):
        sys.stderr.write(f"afdsl: {for_terminal(redact(str(exc)))}\n")
        if damaged is not None:  # a write failed on a damaged page: say how to repair it
            sys.stderr.write(render(damaged.diagnostics) + "\n")
        return EXIT_INCOMPLETE
    if damaged is not None:
        sys.stderr.write(render(damaged.diagnostics) + "\n")
        return EXIT_USAGE
    if args.debug or os.environ.get("AFDSL_DEBUG"):
        import traceback

        # The traceback goes through the same redaction as every message: a key's value
        # may sit in an exception's text or in a request it carries.
        trace = "".join(traceback.format_exception(exc))
        sys.stderr.write(for_terminal(redact(trace), keep_newlines=True))
        return EXIT_INTERNAL
    sys.stderr.write(
        f"afdsl: internal error: {type(exc).__name__}: {for_terminal(redact(str(exc)))}\n"
        "rerun with --debug for the traceback, and please report it\n"
    )
    return EXIT_INTERNAL


def _disk_refused(exc: Exception) -> bool:
    """An OS error saying the disk cannot take a write: full, read-only, failing."""
    import errno

    codes = {errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT}
    return isinstance(exc, OSError) and exc.errno in codes


if __name__ == "__main__":
    raise SystemExit(main())
