"""The response store: one SQLite file (WAL mode), standard library only.

Tables:
- `responses`: one row per (prompt_hash, model spec, params_hash, sample), the
  cache key. Status `ok` or `error` (with `error_kind`); an ok row is never
  overwritten, an error row is retried by the next run.
- `items`: which experiment cells (variant, condition, query_id) use which
  response. Identical prompts in two variants share one response row, and
  `responses(experiment=...)` returns one row per cell.
- `batches` / `batch_items`: provider batch ids, written the moment a batch is
  created so an interrupted run polls it instead of paying twice.
- `turns`: each model call of a conversation (a scenario with `continue`), written
  as it arrives; the finished conversation is one `responses` row.
- `labels`: classifier output keyed by (response_id, measure, definition_hash).
- `run_records`: what each `afdsl test` recorded for `afdsl report` (a versioned JSON
  document the analysis stage reads back typed).

The store never holds API keys or request headers: only model ids, sampling
params, token counts, latency, cost and the afdsl version.

Writes that cannot fail silently: every write raises `StoreWriteError` when
the store cannot take it (disk full, I/O error, read-only), answers a run
could not store go to a recovery file the next run imports (`_recovery`), and
a damaged file is named with what to do, or rebuilt by `repair` (`_health`).

One `afdsl run` at a time per store: `run_lock()` takes an exclusive lock on
`<store>.lock` (released by the OS even on kill -9); readers never wait.
"""

from afdsl.store._health import TableRepair, damage_error, quick_check, repair
from afdsl.store._recovery import StoreWriteError, recovery_paths, save_recovered
from afdsl.store._rows import (
    NOT_LABELLED,
    CellRow,
    ItemKey,
    LabelCombination,
    LabelCounts,
    LabelRow,
    Outcome,
    QueryCounts,
    ReasonCount,
    Reply,
    ResponseKey,
    ResponseResult,
    ResponseRow,
    RunRecordRow,
    StoredLabel,
    TextRow,
    Turn,
)
from afdsl.store._sql import SCHEMA_VERSION
from afdsl.store._store import Store, StoreBusy, default_store_path

__all__ = [
    "NOT_LABELLED",
    "SCHEMA_VERSION",
    "CellRow",
    "ItemKey",
    "LabelCombination",
    "LabelCounts",
    "LabelRow",
    "Outcome",
    "QueryCounts",
    "ReasonCount",
    "Reply",
    "ResponseKey",
    "ResponseResult",
    "ResponseRow",
    "RunRecordRow",
    "Store",
    "StoreBusy",
    "StoreWriteError",
    "StoredLabel",
    "TableRepair",
    "TextRow",
    "Turn",
    "damage_error",
    "default_store_path",
    "quick_check",
    "recovery_paths",
    "repair",
    "save_recovered",
]
