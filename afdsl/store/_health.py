"""A damaged store: what is wrong (`PRAGMA quick_check`), and a repair keeping every readable row.

SQLite reports a damaged page only when a read reaches it, so a command learns
of it in the middle of a report. `damage_message` is asked then (the CLI maps
the error to exit 2 with it); `repair` copies each table into a fresh store by
rowid, stepping over the pages it cannot read, and keeps the damaged file.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from afdsl.diagnostics import AfsError, error

DAMAGED_SUFFIX = ".damaged"
_opened: dict[Path, None] = {}  # stores this process opened, in order: checked when a read fails
_DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_CHUNK = 500  # rows copied per statement
_MAX_ROWID = 2**63 - 1
# Key columns whose values are hashes or names: a control byte in one means the row's
# page was overwritten but still parses (its cells point at garbage), so it is dropped.
_KEY_COLUMNS = frozenset({"prompt_hash", "params_hash", "definition_hash", "model", "measure"})


def remember(path: Path) -> None:
    """Note a store this process opened, so a failed read can be traced to it."""
    if str(path) != ":memory:":
        _opened[path] = None


def forget_opened() -> None:
    """Forget the stores opened so far (the CLI does, after each command)."""
    _opened.clear()


def is_sqlite_file(path: Path) -> bool:
    """Whether `path` is an SQLite database (which may be damaged), not some other file."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def quick_check(path: Path) -> list[str]:
    """What `PRAGMA quick_check` finds wrong in the store at `path` (empty: nothing)."""
    try:
        with closing(sqlite3.connect(path)) as db:
            found = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if found == ["ok"] else found


def damaged(path: Path, detail: str) -> AfsError:
    """The usage error for a damaged store: what is wrong and the two ways forward."""
    return error(
        f"the store {path} is damaged ({detail})",
        hint=f"`afdsl store repair {path}` copies every readable row into a new store and "
        f"keeps the damaged file as {path.name}{DAMAGED_SUFFIX}; or pass --store a new file",
        code="AFS900",
    )


def damage_error(exc: BaseException) -> AfsError | None:
    """If `exc` came from a damaged store this process opened, the error to show; else None."""
    root: BaseException | None = exc
    while root is not None and not isinstance(root, sqlite3.DatabaseError):
        root = root.__cause__  # a `StoreWriteError` wraps SQLite's error
    if root is None:
        return None
    code = "_".join((getattr(root, "sqlite_errorname", None) or "").split("_")[:2])
    if root is not exc and code not in _DAMAGE_CODES:
        return None  # a write refused for want of space or permission, not for damage
    for path in reversed(_opened):
        found = quick_check(path) if is_sqlite_file(path) else []
        if found or (code in _DAMAGE_CODES and len(_opened) == 1):
            return damaged(path, "; ".join(found[:2]) or str(root))
    return None


@dataclass
class TableRepair:
    """One table's rows copied, and the rowid ranges that could not be read."""

    table: str
    kept: int = 0
    unreadable: list[tuple[int, int]] = field(default_factory=list)  # (after, up to) rowids
    garbled: int = 0  # rows read whole whose keys hold damage (control bytes): dropped


def repair(path: Path) -> list[TableRepair]:
    """Copy every readable row of the store at `path` into a fresh store and put it in place;
    the damaged file is kept as `<name>.damaged`. Raises `StoreBusy` while a run writes to it."""
    from afdsl.store._store import hold_run_lock

    with hold_run_lock(path):  # a run writing meanwhile would write to the file set aside
        return _rebuild(path)


def _rebuild(path: Path) -> list[TableRepair]:
    from afdsl.store._store import Store

    fresh = path.with_name(path.name + ".repairing")
    for leftover in (fresh, *_sidefiles(fresh)):
        leftover.unlink(missing_ok=True)
    Store(fresh).close()  # this afdsl's schema
    report = []
    with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(fresh)) as dst:
        src.text_factory = lambda raw: raw.decode("utf-8", "replace")  # a garbled text survives
        tables = dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (table,) in tables:
            columns = [row[1] for row in dst.execute(f"PRAGMA table_info({table})")]
            report.append(_copy_table(src, dst, table, _shared(src, table, columns)))
        dst.commit()
    os.replace(path, path.with_name(path.name + DAMAGED_SUFFIX))
    for side in _sidefiles(path):
        side.unlink(missing_ok=True)  # the damaged file's WAL must not meet the fresh file
    os.replace(fresh, path)
    return report


def _sidefiles(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def _shared(src: sqlite3.Connection, table: str, columns: list[str]) -> list[str]:
    """The columns of `table` both files have (an older store lacks the newer ones)."""
    try:
        have = {row[1] for row in src.execute(f"PRAGMA table_info({table})")}
    except sqlite3.DatabaseError:
        return columns  # the damaged schema cannot say: try this afdsl's columns
    return [c for c in columns if c in have]


def _copy_table(
    src: sqlite3.Connection, dst: sqlite3.Connection, table: str, columns: list[str]
) -> TableRepair:
    """Copy `table` in rowid order; past a page that cannot be read, resume at the first
    rowid that can (found by doubling, then halving the step)."""
    done = TableRepair(table)
    if not columns:
        return done
    names = ", ".join(columns)
    keys = [i + 1 for i, name in enumerate(columns) if name in _KEY_COLUMNS]  # +1: rowid
    select = f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {_CHUNK}"
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    after = -_MAX_ROWID - 1
    while after < _MAX_ROWID:
        rows, failed = _read_from(src, select, after)
        intact = [row[1:] for row in rows if not _garbled(row, keys)]
        dst.executemany(insert, intact)
        done.kept += len(intact)
        done.garbled += len(rows) - len(intact)
        after = int(rows[-1][0]) if rows else after  # type: ignore[call-overload]
        if not failed:
            if len(rows) < _CHUNK:
                break
            continue
        resume = _next_readable(src, table, after)
        done.unreadable.append((after, resume))
        after = resume
    return done


def _garbled(row: tuple[object, ...], keys: list[int]) -> bool:
    """Whether a key column of `row` holds a control byte (no hash or name ever does)."""
    values = [row[i] for i in keys]
    return any(isinstance(v, str) and any(ord(c) < 32 for c in v) for v in values)


def _read_from(
    src: sqlite3.Connection, select: str, after: int
) -> tuple[list[tuple[object, ...]], bool]:
    """The rows read after rowid `after` (up to a chunk), and whether a damaged page stopped it."""
    rows: list[tuple[object, ...]] = []
    try:
        for row in src.execute(select, (after,)):
            rows.append(row)
    except sqlite3.DatabaseError:
        return rows, True
    return rows, False


def _readable_after(src: sqlite3.Connection, table: str, after: int) -> bool:
    try:
        src.execute(
            f"SELECT * FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1", (after,)
        ).fetchall()
        return True
    except sqlite3.DatabaseError:
        return False


def _next_readable(src: sqlite3.Connection, table: str, bad: int) -> int:
    """The smallest rowid after `bad` from which reading works again (or the largest rowid)."""
    step = 1
    good = bad
    while good < _MAX_ROWID:
        good = min(bad + step, _MAX_ROWID)
        if _readable_after(src, table, good):
            break
        step *= 2
    while good - bad > 1:  # the first row after `bad` is unreadable, after `good` readable
        middle = (bad + good) // 2
        if _readable_after(src, table, middle):
            good = middle
        else:
            bad = middle
    return good
