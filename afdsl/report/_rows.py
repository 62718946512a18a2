"""The report's reads of the store: thin names over the store's lean read API.

A report needs nine short columns per sample and the label values, never the
response text, so it reads `Store.cells` and `Store.label_values` (tuples and
plain dicts) rather than `Store.responses` (a validated row with text each).
"""

from __future__ import annotations

from afdsl.store import CellRow as Cell
from afdsl.store import Store

__all__ = ["Cell", "read_cells", "read_labels"]


def read_cells(store: Store, experiment: str) -> list[Cell]:
    """Every stored model response of `experiment`'s cells (ok and error)."""
    return store.cells(experiment, purpose="model")


def read_labels(store: Store, measure: str, definition_hash: str) -> dict[int, int | None]:
    """Response id -> label (1, 0, or None for unparseable) of one measure definition."""
    return store.label_values(measure, definition_hash)
