"""Lean reads of the store for reports: only the columns a report needs.

`Store.responses()` builds a full pydantic row (with the response text) per
sample, which costs seconds at 100,000 samples; a report needs nine short
columns and the label values. When the store exposes its SQLite connection
(`store.db`) these functions read those columns directly with the same join
the store uses; otherwise they fall back to the store's public methods.
`tests/report/test_rows.py` checks both paths agree on a real store, so a
change of the store's schema shows up as a test failure, not a wrong report.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple


class Cell(NamedTuple):
    """One experiment cell's response, as much as a report needs."""

    id: int
    model: str
    params_hash: str
    prompt_hash: str
    sample: int
    variant: str
    condition: str
    query_id: str
    status: str


_CELLS_SQL = (
    "SELECT r.id, r.model, r.params_hash, r.prompt_hash, r.sample, i.variant, i.condition, "
    "i.query_id, r.status FROM items i JOIN responses r ON r.prompt_hash = i.prompt_hash "
    "AND r.model = i.model AND r.params_hash = i.params_hash AND r.sample = i.sample "
    "WHERE i.purpose = 'model' AND i.experiment = ?"
)
_LABELS_SQL = "SELECT response_id, label FROM labels WHERE measure = ? AND definition_hash = ?"


def _connection(store: Any) -> sqlite3.Connection | None:
    db = getattr(store, "db", None)
    return db if isinstance(db, sqlite3.Connection) else None


def read_cells(store: Any, experiment: str) -> list[Cell]:
    """Every stored model response of `experiment`'s cells (ok and error)."""
    db = _connection(store)
    if db is not None:
        try:
            return [Cell(*row) for row in db.execute(_CELLS_SQL, (experiment,))]
        except sqlite3.OperationalError:
            pass  # a schema this module does not know: use the public API
    return [
        Cell(r.id, r.model, r.params_hash, r.prompt_hash, r.sample, r.variant, r.condition,
             r.query_id, r.status)
        for r in store.responses(experiment=experiment, purpose="model")
    ]  # fmt: skip


def read_labels(store: Any, measure: str, definition_hash: str) -> dict[int, int | None]:
    """Response id -> label (1, 0, or None for unparseable) of one measure definition."""
    db = _connection(store)
    if db is not None:
        try:
            return dict(db.execute(_LABELS_SQL, (measure, definition_hash)).fetchall())
        except sqlite3.OperationalError:
            pass
    return {rid: row.label for rid, row in store.labels(measure, definition_hash).items()}
