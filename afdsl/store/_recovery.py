"""Writes that cannot fail silently: clean values, a write error with a kind, a recovery file.

A paid answer must reach the store or a file. `StoreWriteError` is what every
write raises when SQLite refuses to commit (disk full, I/O error, read-only
file, a lock held too long); the runner then stops sending, keeps its answers
in memory and retries, and on giving up writes them with `save_recovered` to a
JSON Lines file beside the store, which the next run imports
(`Store.import_recovered`). When the store's own directory cannot take that
file either (the disk is full), it goes to the system's temporary directory
under a name made from the store's path, where the next run looks too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from afdsl.store._rows import Outcome, ResponseKey, Turn

RECOVERY_SUFFIX = ".recovery.jsonl"

# SQLite's primary result codes for a database that cannot take a write right now: the
# disk, the file or another process is at fault, not the row being written.
_WRITE_FAULTS = frozenset(
    {"SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_LOCKED",
     "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_NOMEM",
     "SQLITE_NOLFS", "SQLITE_PROTOCOL"}
)  # fmt: skip

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64 = (-(2**63), 2**63 - 1)


class StoreWriteError(Exception):
    """The store could not commit a write (disk full, I/O error, read-only, locked)."""


def is_write_fault(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be written, rather than that one row is bad."""
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.IntegrityError):
        return False
    name = getattr(exc, "sqlite_errorname", None)
    if name is None:  # raised by the module itself, not by SQLite: an unbindable value
        return False
    return "_".join(name.split("_")[:2]) in _WRITE_FAULTS


def lossless(text: str | None) -> tuple[str | None, list[tuple[int, int]]]:
    """`text` storable as UTF-8: each unpaired surrogate (a `"\\ud83d"` JSON escape with no
    partner) becomes U+FFFD, and its offset and code point are returned, so the original can
    be rebuilt from the note instead of the row being lost."""
    if text is None or not _LONE_SURROGATE.search(text):
        return text, []
    # A server's JSON may split a valid pair into two escapes: join them first. With a lone
    # half somewhere this fails, and pairs stay as they are (each half is replaced below).
    with contextlib.suppress(UnicodeDecodeError):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16")
    replaced = [(m.start(), ord(m.group())) for m in _LONE_SURROGATE.finditer(text)]
    return _LONE_SURROGATE.sub("\ufffd", text), replaced


def clean_int(value: int) -> int:
    """A token count SQLite can hold (a hostile server may report 10**30)."""
    return min(max(int(value), _INT64[0]), _INT64[1])


def clean_float(value: float) -> float:
    """A NaN would be stored as NULL and break a NOT NULL column; 0 says 'unknown'."""
    return 0.0 if math.isnan(value) else float(value)


def recovery_paths(store_path: Path) -> list[Path]:
    """Where a run that could not write `store_path` leaves its answers, in order of preference."""
    resolved = store_path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    return [
        resolved.with_name(resolved.name + RECOVERY_SUFFIX),
        Path(tempfile.gettempdir()) / f"afdsl-recovery-{digest}.jsonl",
    ]


TurnRecord = tuple[ResponseKey, Turn]  # a conversation turn and the response it belongs to


def _line(record: Outcome | TurnRecord) -> str:
    if isinstance(record, Outcome):
        return json.dumps(dataclasses.asdict(record), sort_keys=True)
    key, turn = record
    return json.dumps({"turn_of": list(key), "turn": turn._asdict()}, sort_keys=True)


def save_recovered(
    store_path: Path, outcomes: Iterable[Outcome], turns: Iterable[TurnRecord] = ()
) -> Path | None:
    """Append `outcomes` and conversation `turns` to the first recovery file that can take
    them; its path, or None when no place could (then the caller must say they are lost)."""
    # The leading newline ends a line an earlier, interrupted save may have left unfinished.
    records: list[Outcome | TurnRecord] = [*turns, *outcomes]
    lines = "\n" + "".join(_line(r) + "\n" for r in records)
    for path in recovery_paths(store_path):
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
            return path
        except OSError:
            continue  # a partial line is skipped on import; the next place gets every line
    return None


def read_recovered(path: Path) -> tuple[list[Outcome], list[TurnRecord]]:
    """The outcomes and turns in one recovery file; a line cut short by a full disk is skipped."""
    outcomes: list[Outcome] = []
    turns: list[TurnRecord] = []
    fields = {f.name for f in dataclasses.fields(Outcome)}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                doc: Any = json.loads(line)
                if "turn_of" in doc:
                    h, m, p, s = doc["turn_of"]
                    turns.append(((str(h), str(m), str(p), int(s)), Turn(**doc["turn"])))
                else:
                    outcomes.append(Outcome(**{k: v for k, v in doc.items() if k in fields}))
            except (ValueError, TypeError, AttributeError, KeyError):
                continue
    return outcomes, turns
