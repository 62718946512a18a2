"""`afdsl store repair STORE`: rebuild a damaged store from every row it can still read."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
Copies every readable row of each table into a fresh store, stepping over the
pages SQLite cannot read, puts it in place and keeps the damaged file as
STORE.damaged. While an `afdsl run` writes to the store it refuses (exit 3).
Responses that were lost are sent again by the next run. sqlite3's own
`.recover` is the alternative (see docs/durability.md).
exit codes: 0 repaired (or nothing to repair), 2 no such store, 3 a run holds it."""


def register(subparsers: Any) -> None:
    """Add the `store` command group (`store repair`)."""
    store = subparsers.add_parser(
        "store",
        help="maintain a store file (repair a damaged one)",
        description="Maintain an afdsl store file.",
    )
    actions = store.add_subparsers(dest="action", metavar="ACTION", required=True)
    repair = actions.add_parser(
        "repair",
        help="copy every readable row of a damaged store into a new one",
        description="Rebuild a damaged store from every row it can still read.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    repair.add_argument("store", metavar="STORE", help="the store file (.sqlite)")
    repair.add_argument(
        "--force",
        action="store_true",
        help="rebuild even when `PRAGMA quick_check` finds no damage",
    )
    repair.set_defaults(func=cmd_repair)


def cmd_repair(args: argparse.Namespace) -> int:
    from afdsl.diagnostics import error
    from afdsl.store import quick_check, repair

    path = Path(args.store)
    if not path.is_file():
        raise error(f"no store at {path}")
    found = quick_check(path)
    if not found and not args.force:
        print(f"{path}: PRAGMA quick_check finds no damage; nothing to repair (--force rebuilds)")
        return 0
    print(f"{path}: {'; '.join(found[:3]) or 'rebuilding on request'}")
    for table in repair(path):
        lost = ", ".join(f"rowids {a + 1}..{b}" for a, b in table.unreadable)
        print(
            f"  {table.table}: {table.kept} rows kept" + (f"; unreadable: {lost}" if lost else "")
        )
    print(f"repaired {path}; the damaged file is kept as {path.name}.damaged")
    return 0
