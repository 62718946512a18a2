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

The store never holds API keys or request headers: only model ids, sampling
params, token counts, latency, cost and the afdsl version.

One `afdsl run` at a time per store: `run_lock()` takes an exclusive lock on
`<store>.lock` (released by the OS even on kill -9); readers never wait.
"""

from afdsl.store._rows import (
    CellRow,
    ItemKey,
    LabelCounts,
    LabelRow,
    Outcome,
    QueryCounts,
    Reply,
    ResponseKey,
    ResponseResult,
    ResponseRow,
    StoredLabel,
    TextRow,
    Turn,
)
from afdsl.store._sql import SCHEMA_VERSION
from afdsl.store._store import Store, StoreBusy, default_store_path

__all__ = [
    "SCHEMA_VERSION",
    "CellRow",
    "ItemKey",
    "LabelCounts",
    "LabelRow",
    "Outcome",
    "QueryCounts",
    "Reply",
    "ResponseKey",
    "ResponseResult",
    "ResponseRow",
    "Store",
    "StoreBusy",
    "StoredLabel",
    "TextRow",
    "Turn",
    "default_store_path",
]
