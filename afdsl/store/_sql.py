"""The store's SQL: the schema, and the column lists its reads select."""

from __future__ import annotations

from afdsl.store._rows import CellRow, TextRow

# 2: cache_write_tokens, cache_read_tokens; 3: finish_reason, seed, run_records;
# 4: turns.finish_reason
SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    prompt_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    sample INTEGER NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'model',
    status TEXT NOT NULL,
    text TEXT,
    error_kind TEXT,
    error_message TEXT,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    latency_s REAL NOT NULL DEFAULT 0,
    model_id TEXT,
    cost_usd REAL NOT NULL DEFAULT 0,
    params TEXT NOT NULL DEFAULT '{}',
    afdsl_version TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    finish_reason TEXT,
    seed INTEGER,
    notes TEXT,
    UNIQUE (prompt_hash, model, params_hash, sample)
);
CREATE INDEX IF NOT EXISTS responses_model ON responses (model, params_hash);
CREATE TABLE IF NOT EXISTS items (
    experiment TEXT NOT NULL,
    model TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    variant TEXT NOT NULL,
    condition TEXT NOT NULL,
    query_id TEXT NOT NULL,
    sample INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    generation TEXT NOT NULL DEFAULT '',
    UNIQUE (experiment, model, params_hash, variant, condition, query_id, sample, purpose,
            prompt_hash)
);
CREATE INDEX IF NOT EXISTS items_key ON items (prompt_hash, model, params_hash, sample);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_items (
    batch_id TEXT NOT NULL,
    custom_id TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    sample INTEGER NOT NULL,
    PRIMARY KEY (batch_id, custom_id)
);
CREATE TABLE IF NOT EXISTS turns (
    prompt_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    sample INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    latency_s REAL NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    model_id TEXT,
    created_at TEXT NOT NULL,
    finish_reason TEXT,
    PRIMARY KEY (prompt_hash, model, params_hash, sample, turn)
);
CREATE TABLE IF NOT EXISTS labels (
    response_id INTEGER NOT NULL,
    measure TEXT NOT NULL,
    definition_hash TEXT NOT NULL,
    label INTEGER,
    score REAL,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    PRIMARY KEY (response_id, measure, definition_hash)
);
CREATE TABLE IF NOT EXISTS run_records (
    id INTEGER PRIMARY KEY,
    experiment TEXT NOT NULL,
    format INTEGER NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_records_experiment ON run_records (experiment, id);
"""

# Columns added after version 1: `Store` adds each one missing from an older file.
ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "responses": (
        ("cache_write_tokens", "INTEGER NOT NULL DEFAULT 0"),
        ("cache_read_tokens", "INTEGER NOT NULL DEFAULT 0"),
        ("finish_reason", "TEXT"),
        ("seed", "INTEGER"),
        # JSON: what was changed to store the row losslessly (unpaired surrogates replaced).
        ("notes", "TEXT"),
    ),
    # Why each call of a conversation ended: a turn cut at max_tokens is told apart.
    "turns": (("finish_reason", "TEXT"),),
}

# One response written (`Store.put_outcomes`); an ok row is never replaced by a later error.
PUT_OUTCOME = (
    "INSERT INTO responses (prompt_hash, model, params_hash, sample, purpose, "
    "status, text, error_kind, error_message, input_tokens, output_tokens, latency_s, "
    "model_id, cost_usd, params, afdsl_version, created_at, cache_write_tokens, "
    "cache_read_tokens, notes, finish_reason, seed) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (prompt_hash, model, params_hash, sample) DO UPDATE SET "
    "status = excluded.status, text = excluded.text, error_kind = excluded.error_kind, "
    "error_message = excluded.error_message, input_tokens = excluded.input_tokens, "
    "output_tokens = excluded.output_tokens, latency_s = excluded.latency_s, "
    "model_id = excluded.model_id, cost_usd = excluded.cost_usd, "
    "cache_write_tokens = excluded.cache_write_tokens, "
    "cache_read_tokens = excluded.cache_read_tokens, notes = excluded.notes, "
    "finish_reason = excluded.finish_reason, seed = excluded.seed, "
    "afdsl_version = excluded.afdsl_version, created_at = excluded.created_at, "
    "attempts = responses.attempts + 1 WHERE responses.status != 'ok'"
)
# One conversation turn written (`Store.put_turns`); a turn stored before a kill is kept.
PUT_TURN = (
    "INSERT OR IGNORE INTO turns (prompt_hash, model, params_hash, sample, turn, text, "
    "input_tokens, output_tokens, cache_write_tokens, cache_read_tokens, latency_s, "
    "cost_usd, model_id, finish_reason, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)

FIELDS = (
    "r.id", "i.experiment", "r.model", "r.params_hash", "r.prompt_hash", "r.sample", "i.variant",
    "i.condition", "i.query_id", "i.purpose", "r.status", "r.text", "r.error_kind",
    "r.error_message", "r.input_tokens", "r.output_tokens", "r.latency_s", "r.model_id",
    "r.cost_usd", "r.created_at", "r.params", "r.afdsl_version", "r.attempts",
    "r.cache_write_tokens", "r.cache_read_tokens", "r.finish_reason", "r.seed", "r.notes",
)  # fmt: skip
NAMES = tuple(f.split(".")[1] for f in FIELDS)
QUALIFIED = dict(zip(NAMES, FIELDS, strict=True))
RESPONSE_COLUMNS = ", ".join(FIELDS)
# For a key looked up without a cell (a judge call with no items row), fill cell fields.
LOOKUP_COLUMNS = ", ".join(
    f"COALESCE({f}, '{'model' if f == 'i.purpose' else ''}')" if f.startswith("i.") else f
    for f in FIELDS
)
CELL_COLUMNS = ", ".join(QUALIFIED[name] for name in CellRow._fields)
TEXT_COLUMNS = ", ".join(QUALIFIED[name] for name in TextRow._fields)
# The stable order of cells that `responses` and `ok_texts` share.
CELL_ORDER = "ORDER BY i.experiment, i.model, i.variant, i.condition, i.query_id, i.sample"
JOIN = (
    "FROM items i JOIN responses r ON r.prompt_hash = i.prompt_hash AND r.model = i.model "
    "AND r.params_hash = i.params_hash AND r.sample = i.sample"
)


# Counts per experiment cell and reason; `{reason}` is a column of `r` or `l` (the labels).
REASON_COUNTS = (
    "SELECT i.model, i.params_hash, i.variant, i.condition, i.query_id, {reason}, COUNT(*) "
    "{join} {extra} "
    "WHERE i.purpose = ? AND i.experiment = ? AND i.sample < ? AND r.status = 'ok' {where} "
    "GROUP BY i.model, i.params_hash, i.variant, i.condition, i.query_id, {reason}"
)
UNPARSEABLE_REASONS = REASON_COUNTS.format(
    reason="json_extract(l.detail, '$.reason')",
    join=JOIN,
    extra="JOIN labels l ON l.response_id = r.id AND l.measure = ? AND l.definition_hash = ?",
    where="AND l.label IS NULL",
)
FINISH_REASONS = REASON_COUNTS.format(reason="r.finish_reason", join=JOIN, extra="", where="")


def query_counts_sql(measures: int) -> str:
    """`Store.query_counts`'s query: one row per (model, params, variant, condition, query).

    Each measure is a LEFT JOIN of `labels` (parameters: its name and definition
    hash, in order), counted only on ok responses. The GROUP BY follows the
    `items` unique index, so SQLite groups while it scans, without sorting.
    """
    joins = "".join(
        f" LEFT JOIN labels l{k} ON l{k}.response_id = r.id AND l{k}.measure = ? "
        f"AND l{k}.definition_hash = ? AND r.status = 'ok'"
        for k in range(measures)
    )
    counts = "".join(
        f", COUNT(l{k}.response_id), COALESCE(SUM(l{k}.label), 0), "
        f"COUNT(l{k}.response_id) - COUNT(l{k}.label)"
        for k in range(measures)
    )
    return (
        "SELECT i.model, i.params_hash, i.variant, i.condition, i.query_id, COUNT(*), "
        f"SUM(r.status != 'ok'), COUNT(DISTINCT i.sample){counts}, "
        "GROUP_CONCAT(i.model || char(9) || i.prompt_hash || char(9) || i.sample, char(10)) "
        f"{JOIN}{joins} "
        "WHERE i.purpose = ? AND i.experiment = ? AND i.sample < ? "
        "GROUP BY i.model, i.params_hash, i.variant, i.condition, i.query_id"
    )


def label_combinations_sql(measures: int, by_query: bool = True) -> str:
    """`Store.label_combinations`'s query: ok responses counted per cell, query and the
    combination of their labels (per measure: whether a label row exists, and its label).
    Not `by_query`: per cell over the queries of a JSON list (the last parameter), with
    query id '': a breakdown needs no per-query rows, and reading 30,000 of them for
    100,000 samples cost a report most of a second."""
    joins = "".join(
        f" LEFT JOIN labels l{k} ON l{k}.response_id = r.id AND l{k}.measure = ? "
        f"AND l{k}.definition_hash = ?"
        for k in range(measures)
    )
    labels = ", ".join(f"l{k}.response_id IS NOT NULL, l{k}.label" for k in range(measures))
    cell = "i.model, i.params_hash, i.variant, i.condition"
    cell, query, only = (
        (f"{cell}, i.query_id", "", "")
        if by_query
        else (cell, "'', ", " AND i.query_id IN (SELECT value FROM json_each(?))")
    )
    return (
        f"SELECT {cell}, {query}{labels}, COUNT(*) {JOIN}{joins} "
        f"WHERE i.purpose = ? AND i.experiment = ? AND i.sample < ? AND r.status = 'ok'{only} "
        f"GROUP BY {cell}, {labels}"
    )
