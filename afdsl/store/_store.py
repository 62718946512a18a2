"""`Store`: the SQLite file, its run lock, and every read and write of it."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from afdsl import __version__
from afdsl.diagnostics import error
from afdsl.store._health import damaged, is_sqlite_file, quick_check, remember
from afdsl.store._recovery import (
    StoreWriteError,
    clean_float,
    clean_int,
    is_write_fault,
    lossless,
    read_recovered,
    recovery_paths,
    save_recovered,
)
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
    ResponseRow,
    RunRecordRow,
    StoredLabel,
    TextRow,
    Turn,
)
from afdsl.store._sql import (
    ADDED_COLUMNS,
    CELL_COLUMNS,
    CELL_ORDER,
    FINISH_REASONS,
    JOIN,
    LOOKUP_COLUMNS,
    NAMES,
    PUT_OUTCOME,
    PUT_TURN,
    RESPONSE_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    TEXT_COLUMNS,
    UNPARSEABLE_REASONS,
    label_combinations_sql,
    query_counts_sql,
)

_TURN_COLUMNS = ", ".join(Turn._fields)
T = TypeVar("T")
# Keys per lookup in `replies`: 4 parameters each stays under SQLite's oldest limit of 999.
_KEYS_PER_QUERY = 200


class StoreBusy(Exception):
    """Another `afdsl run` holds this store's run lock."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# What one bad row raises (a value SQLite cannot bind or a column refuses), as opposed to a
# store that cannot be written at all (`is_write_fault` tells the two apart).
_BAD_ROW = (sqlite3.Error, ValueError, TypeError, OverflowError)


def _outcome_values(o: Outcome, now: str) -> tuple[Any, ...]:
    """`PUT_OUTCOME`'s parameters: text made storable, with a note of what was replaced."""
    text, in_text = lossless(o.text)
    message, in_message = lossless(o.error_message)
    model_id, in_model_id = lossless(o.model_id)
    replaced = {
        name: found
        for name, found in (("text", in_text), ("error_message", in_message),
                            ("model_id", in_model_id))
        if found
    }  # fmt: skip
    notes = json.dumps({"surrogates_replaced": replaced}) if replaced else None
    return (
        o.prompt_hash, o.model, o.params_hash, o.sample, o.purpose,
        "ok" if o.error_kind is None else "error", text, o.error_kind, message,
        clean_int(o.input_tokens), clean_int(o.output_tokens), clean_float(o.latency_s), model_id,
        clean_float(o.cost_usd), json.dumps(o.params, sort_keys=True), __version__, now,
        clean_int(o.cache_write_tokens), clean_int(o.cache_read_tokens), notes,
        lossless(o.finish_reason)[0], None if o.seed is None else clean_int(o.seed),
    )  # fmt: skip


def _turn_values(item: tuple[ResponseKey, Turn], now: str) -> tuple[Any, ...]:
    """`PUT_TURN`'s parameters: text made storable (the conversation's response row, which
    holds every turn's text, notes what was replaced)."""
    key, t = item
    return (
        *key, t.turn, lossless(t.text)[0], clean_int(t.input_tokens), clean_int(t.output_tokens),
        clean_int(t.cache_write_tokens), clean_int(t.cache_read_tokens),
        clean_float(t.latency_s), clean_float(t.cost_usd), lossless(t.model_id)[0],
        lossless(t.finish_reason)[0], now,
    )  # fmt: skip


def _row(values: tuple[Any, ...]) -> ResponseRow:
    doc = dict(zip(NAMES, values, strict=True))
    doc["params"] = json.loads(doc["params"] or "{}")
    return ResponseRow.model_validate(doc)


class Store:
    """Open (creating if needed) the store at `path`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._open()
        except (OSError, sqlite3.DatabaseError) as exc:  # a user's path, not our bug
            found = quick_check(self.path) if is_sqlite_file(self.path) else []
            if found:
                raise damaged(self.path, "; ".join(found[:2])) from None
            raise error(
                f"cannot open the store {self.path}: {exc}",
                hint="pass --store a new file name, or an afdsl store (.sqlite)",
            ) from None
        remember(self.path)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit, so each write commits when we say.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a killed process (the WAL is in the OS cache);
        # only a power cut can drop the last commits.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)
        self._refuse_newer()
        self._migrate()

    def _refuse_newer(self) -> None:
        """A store from a newer afdsl may have columns this one would leave wrong or empty."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            self.db.close()
            raise error(
                f"the store {self.path} was written by a newer afdsl (store schema {row[0]}; "
                f"this afdsl {__version__} knows schema {SCHEMA_VERSION})",
                hint="upgrade afdsl (pip install -U afdsl), or pass --store a new file",
            )

    def _migrate(self) -> None:
        """Bring a store written by an older afdsl up to this schema, in place.

        Only columns are ever added (with defaults), so older rows keep their
        meaning: a response stored before cache accounting read no cache.
        """
        version = (
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
            "WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)"
        )
        if not self._missing_columns():
            self.db.execute(version, (str(SCHEMA_VERSION),))
            return
        with self.transaction():  # checked again inside: another process may have migrated
            for table, name, decl in self._missing_columns():
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
            self.db.execute(version, (str(SCHEMA_VERSION),))

    def _missing_columns(self) -> list[tuple[str, str, str]]:
        missing = []
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            missing += [(table, name, decl) for name, decl in columns if name not in have]
        return missing

    # -- the run lock ---------------------------------------------------------------------

    def run_lock(self) -> AbstractContextManager[None]:
        """Hold the store's exclusive run lock; raises `StoreBusy` naming the holder."""
        return hold_run_lock(self.path)

    # -- items and responses ----------------------------------------------------------------

    def register_items(self, keys: Iterable[ItemKey], generation: str | None = None) -> None:
        """Link experiment cells to response keys (idempotent).

        With a `generation`, the cells are stamped with it so `prune_items` can
        drop the cells of an earlier version of the experiment.
        """
        rows = [
            (k.experiment, k.model, k.params_hash, k.variant, k.condition, k.query_id, k.sample,
             k.purpose, k.prompt_hash, generation or "")
            for k in keys
        ]  # fmt: skip
        conflict = (
            "DO NOTHING" if generation is None else "DO UPDATE SET generation = excluded.generation"
        )
        with self.transaction():
            self.db.executemany(
                f"INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT {conflict}", rows
            )

    def prune_items(self, experiment: str, model: str, purpose: str, generation: str) -> int:
        """Forget cells of an earlier version of the experiment; their responses stay cached."""
        with self.transaction():
            cur = self.db.execute(
                "DELETE FROM items WHERE experiment = ? AND model = ? AND purpose = ? "
                "AND generation != ?",
                (experiment, model, purpose, generation),
            )
        return cur.rowcount

    def statuses(self, model: str, params_hash: str) -> dict[tuple[str, int], str]:
        """(prompt_hash, sample) -> 'ok' | 'error' for one model and sampling params."""
        cur = self.db.execute(
            "SELECT prompt_hash, sample, status FROM responses WHERE model = ? AND params_hash = ?",
            (model, params_hash),
        )
        return {(h, s): status for h, s, status in cur}

    def put_outcomes(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Write results in one transaction. An ok row is never replaced by a later error.

        Returns the outcomes the database refused (a value no column can hold): one
        bad row costs only itself, never its batch. Raises `StoreWriteError` when
        the store cannot be written at all (disk full, I/O error, read-only).
        """
        return self._put_each(PUT_OUTCOME, outcomes, _outcome_values)

    def _put_each(
        self, sql: str, items: Sequence[T], values: Callable[[T, str], tuple[Any, ...]]
    ) -> list[T]:
        """Execute `sql` with `values(item, now)` of every item in one transaction; returns
        the items the database refused, retrying one at a time so a bad row costs only itself.
        Raises `StoreWriteError` when the store cannot be written at all."""
        if not items:
            return []
        now = _now()
        rows: list[tuple[T, tuple[Any, ...]]] = []
        rejected: list[T] = []
        for item in items:
            try:
                rows.append((item, values(item, now)))
            except (TypeError, ValueError, OverflowError):
                rejected.append(item)
        try:
            with self.transaction():
                self.db.executemany(sql, [row for _, row in rows])
            return rejected
        except _BAD_ROW:
            pass  # one row is bad (a write fault is a `StoreWriteError`): find it
        with self.transaction():
            for item, row in rows:
                try:
                    self.db.execute(sql, row)
                except _BAD_ROW as exc:
                    if is_write_fault(exc):
                        raise
                    rejected.append(item)
        return rejected

    def import_recovered(self) -> int:
        """Store the answers an earlier run could not write (its recovery files); how many
        responses and conversation turns.

        A file is removed once its answers are committed; answers the store still
        refuses stay in a recovery file. Importing twice stores nothing twice.
        """
        if str(self.path) == ":memory:":
            return 0
        imported = 0
        for path in recovery_paths(self.path):
            if not path.is_file():
                continue
            outcomes, turns = read_recovered(path)
            refused_turns = self.put_turns(turns)  # first, as a run writes them
            refused = self.put_outcomes(outcomes)
            path.unlink()
            if refused or refused_turns:
                save_recovered(self.path, refused, refused_turns)
            imported += len(outcomes) + len(turns) - len(refused) - len(refused_turns)
        return imported

    def responses(
        self, *, experiment: str | None = None, purpose: str = "model"
    ) -> list[ResponseRow]:
        """Every stored response (ok and error) for the experiment's cells, in a stable order."""
        sql = f"SELECT {RESPONSE_COLUMNS} {JOIN} WHERE i.purpose = ?"
        args: list[Any] = [purpose]
        if experiment is not None:
            sql += " AND i.experiment = ?"
            args.append(experiment)
        sql += f" {CELL_ORDER}"
        return [_row(v) for v in self.db.execute(sql, args)]

    def ok_texts(self, experiment: str, purpose: str = "model") -> list[TextRow]:
        """The ok responses of `experiment`'s cells with their text, in `responses()`'s order.

        The lean read for classifying: a tuple per cell instead of a validated
        `ResponseRow`, which holds several times the text's size in fields.
        """
        cur = self.db.execute(
            f"SELECT {TEXT_COLUMNS} {JOIN} WHERE i.purpose = ? AND i.experiment = ? "
            f"AND r.status = 'ok' {CELL_ORDER}",
            (purpose, experiment),
        )
        return list(map(TextRow._make, cur))

    def get_response(
        self, prompt_hash: str, model: str, params_hash: str, sample: int
    ) -> ResponseRow | None:
        """The response for one cache key (cell metadata from any cell that uses it)."""
        cur = self.db.execute(
            f"SELECT {LOOKUP_COLUMNS} FROM responses r LEFT JOIN items i ON "
            "r.prompt_hash = i.prompt_hash AND r.model = i.model AND r.params_hash = i.params_hash "
            "AND r.sample = i.sample WHERE r.prompt_hash = ? AND r.model = ? AND r.params_hash = ? "
            "AND r.sample = ? LIMIT 1",
            (prompt_hash, model, params_hash, sample),
        )
        values = cur.fetchone()
        return None if values is None else _row(values)

    def replies(self, keys: Sequence[ResponseKey]) -> dict[ResponseKey, Reply]:
        """Status, text and error stored under each cache key; a key never stored is absent.

        The bulk read of judge replies: one indexed query per few hundred keys
        and a tuple per row, where `get_response` costs a query and a validated
        row per key.
        """
        found: dict[ResponseKey, Reply] = {}
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            # A join with the keys as a table uses the unique index; `IN (VALUES ...)` scans.
            cur = self.db.execute(
                f"WITH k (h, m, p, s) AS (VALUES {','.join(['(?,?,?,?)'] * len(chunk))}) "
                "SELECT r.prompt_hash, r.model, r.params_hash, r.sample, r.status, r.text, "
                "r.error_kind, r.error_message FROM k CROSS JOIN responses r ON "
                "r.prompt_hash = k.h AND r.model = k.m AND r.params_hash = k.p AND r.sample = k.s",
                [value for key in chunk for value in key],
            )
            for h, m, p, s, *reply in cur:
                found[(h, m, p, s)] = Reply(*reply)
        return found

    def cells(self, experiment: str, purpose: str = "model") -> list[CellRow]:
        """Every stored response of `experiment`'s cells (ok and error), without text.

        The lean read for reports: a tuple per cell instead of a validated
        `ResponseRow`, in no particular order.
        """
        cur = self.db.execute(
            f"SELECT {CELL_COLUMNS} {JOIN} WHERE i.purpose = ? AND i.experiment = ?",
            (purpose, experiment),
        )
        return list(map(CellRow._make, cur))

    def _per_measure(
        self,
        sql: Callable[[int], str],
        experiment: str,
        measures: Sequence[tuple[str, str]],
        samples: int,
        purpose: str,
        *extra: Any,
    ) -> sqlite3.Cursor:
        """Run a query with one labels join per measure (`sql(len(measures))`): its
        parameters are each measure's name and definition hash, then the cell filter,
        then `extra`."""
        args: list[Any] = [value for measure in measures for value in measure]
        return self.db.execute(sql(len(measures)), [*args, purpose, experiment, samples, *extra])

    def query_counts(
        self,
        experiment: str,
        measures: Sequence[tuple[str, str]],
        samples: int,
        purpose: str = "model",
    ) -> list[QueryCounts]:
        """Responses, errors and labels of each query in each of `experiment`'s cells, counted.

        `measures` are (name, definition hash) pairs; only samples below
        `samples` are counted. The report's read: one row per query instead of
        one per sample.
        """
        cur = self._per_measure(query_counts_sql, experiment, measures, samples, purpose)
        rows = []
        for values in cur:  # the columns of `QueryCounts`, each measure's three flattened
            flat = values[8:-1]
            labels = tuple(LabelCounts(*flat[j : j + 3]) for j in range(0, len(flat), 3))
            rows.append(QueryCounts._make((*values[:8], labels, values[-1])))
        return rows

    def label_combinations(
        self,
        experiment: str,
        measures: Sequence[tuple[str, str]],
        samples: int,
        purpose: str = "model",
        queries: Collection[str] | None = None,
    ) -> list[LabelCombination]:
        """Ok responses of each query in each of `experiment`'s cells, counted per
        combination of their labels of `measures` ((name, definition hash) pairs): what
        measures derived from several labels of one response are computed from. Given
        `queries`: counted per cell over those queries (query id ''), far fewer rows."""
        if queries is None:
            cur = self._per_measure(label_combinations_sql, experiment, measures, samples, purpose)
        else:
            cur = self._per_measure(
                lambda n: label_combinations_sql(n, by_query=False),
                *(experiment, measures, samples, purpose, json.dumps(sorted(queries))),
            )
        rows = []
        for values in cur:
            flat = values[5:-1]
            labels = tuple(flat[j + 1] if flat[j] else NOT_LABELLED for j in range(0, len(flat), 2))
            rows.append(LabelCombination._make((*values[:5], labels, values[-1])))
        return rows

    def unparseable_reasons(
        self, experiment: str, measure: tuple[str, str], samples: int, purpose: str = "model"
    ) -> list[ReasonCount]:
        """Why one measure's labels (name, definition hash) are unparseable, counted per
        query, cell of `experiment` and reason (samples below `samples`)."""
        args = (*measure, purpose, experiment, samples)
        return list(map(ReasonCount._make, self.db.execute(UNPARSEABLE_REASONS, args)))

    def finish_reasons(
        self, experiment: str, samples: int, purpose: str = "model"
    ) -> list[ReasonCount]:
        """How the ok answers of `experiment` ended ("stop", "length", ...), counted per
        query, cell and finish reason (samples below `samples`)."""
        args = (purpose, experiment, samples)
        return list(map(ReasonCount._make, self.db.execute(FINISH_REASONS, args)))

    def error_kinds(self, model: str, params_hash: str) -> dict[tuple[str, int], str]:
        """(prompt_hash, sample) -> error kind of every failed response of one model and params."""
        cur = self.db.execute(
            "SELECT prompt_hash, sample, COALESCE(error_kind, 'other') FROM responses "
            "WHERE model = ? AND params_hash = ? AND status = 'error'",
            (model, params_hash),
        )
        return {(h, s): kind for h, s, kind in cur}

    def served_model_ids(self, model: str, params_hash: str) -> list[str]:
        """The model ids the provider reported answering as (a spec such as
        `anthropic:claude-sonnet-4-5` may name a dated release), sorted."""
        cur = self.db.execute(
            "SELECT DISTINCT model_id FROM responses WHERE model = ? AND params_hash = ? "
            "AND status = 'ok' AND model_id IS NOT NULL ORDER BY model_id",
            (model, params_hash),
        )
        return [model_id for (model_id,) in cur]

    def output_tokens_seen(self, model: str, params_hash: str) -> tuple[int, int]:
        """(number, total output tokens) of the ok responses stored for one model and params."""
        cur = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(output_tokens), 0) FROM responses "
            "WHERE model = ? AND params_hash = ? AND status = 'ok'",
            (model, params_hash),
        )
        count, total = cur.fetchone()
        return int(count), int(total)

    # -- conversations ------------------------------------------------------------------------

    def put_turns(
        self, turns: Sequence[tuple[ResponseKey, Turn]]
    ) -> list[tuple[ResponseKey, Turn]]:
        """Write conversation turns (keyed by response key and turn number) in one transaction;
        returns those the database refused (see `put_outcomes`)."""
        return self._put_each(PUT_TURN, turns, _turn_values)

    def turns(self, key: ResponseKey) -> list[Turn]:
        """The stored turns of one conversation, in order (empty when none was stored)."""
        cur = self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE prompt_hash = ? AND model = ? "
            "AND params_hash = ? AND sample = ? ORDER BY turn",
            key,
        )
        return list(map(Turn._make, cur))

    def model_turns(self, model: str, params_hash: str) -> dict[tuple[str, int], list[Turn]]:
        """(prompt_hash, sample) -> the turns of each of one model's conversations, in order."""
        cur = self.db.execute(
            f"SELECT prompt_hash, sample, {_TURN_COLUMNS} FROM turns WHERE model = ? "
            "AND params_hash = ? ORDER BY prompt_hash, sample, turn",
            (model, params_hash),
        )
        found: dict[tuple[str, int], list[Turn]] = {}
        for prompt_hash, sample, *turn in cur:
            found.setdefault((prompt_hash, sample), []).append(Turn._make(turn))
        return found

    # -- batches ------------------------------------------------------------------------------

    def add_batch(
        self, batch_id: str, provider: str, model: str, params_hash: str,
        entries: list[tuple[str, str, int]],
    ) -> None:  # fmt: skip
        """Record a created batch and its (custom_id, prompt_hash, sample) entries, at once."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO batches (id, provider, model, params_hash, created_at) "
                "VALUES (?,?,?,?,?)",
                (batch_id, provider, model, params_hash, _now()),
            )
            self.db.executemany(
                "INSERT INTO batch_items VALUES (?,?,?,?)",
                [(batch_id, cid, h, s) for cid, h, s in entries],
            )

    def open_batches(self, model: str, params_hash: str) -> dict[str, dict[str, tuple[str, int]]]:
        """batch id -> {custom_id: (prompt_hash, sample)} for batches not yet collected."""
        out: dict[str, dict[str, tuple[str, int]]] = {}
        cur = self.db.execute(
            "SELECT b.id, bi.custom_id, bi.prompt_hash, bi.sample FROM batches b "
            "JOIN batch_items bi ON bi.batch_id = b.id "
            "WHERE b.status = 'open' AND b.model = ? AND b.params_hash = ?",
            (model, params_hash),
        )
        for batch_id, cid, h, s in cur:
            out.setdefault(batch_id, {})[cid] = (h, s)
        return out

    def close_batch(self, batch_id: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE batches SET status = 'done' WHERE id = ?", (batch_id,))

    # -- labels -------------------------------------------------------------------------------

    def put_labels(self, rows: list[LabelRow]) -> None:
        """Insert or replace labels (keyed by response id, measure, definition hash)."""
        now = _now()
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO labels VALUES (?,?,?,?,?,?,?)",
                [
                    (r.response_id, r.measure, r.definition_hash, r.label, r.score,
                     json.dumps(r.detail, sort_keys=True), now)
                    for r in rows
                ],
            )  # fmt: skip

    def labels(self, measure: str, definition_hash: str) -> dict[int, StoredLabel]:
        """All labels of one measure definition, keyed by response id: the one read of labels.

        A tuple per label (no pydantic model, the detail decoded only when asked
        for), so a report reads 100,000 of them in well under a second; SQLite
        reads the judge template out of the detail.
        """
        cur = self.db.execute(
            "SELECT response_id, label, score, json_extract(detail, '$.template'), detail "
            "FROM labels WHERE measure = ? AND definition_hash = ?",
            (measure, definition_hash),
        )
        return {rid: StoredLabel(*rest) for rid, *rest in cur}

    # -- run records ----------------------------------------------------------------------------

    def put_run_record(self, experiment: str, format: int, record: str) -> None:
        """Add a run's record (a JSON document of the given format version)."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO run_records (experiment, format, record, created_at) VALUES (?,?,?,?)",
                (experiment, format, record, _now()),
            )

    def last_run_record(self, experiment: str | None = None) -> RunRecordRow | None:
        """The last run record of `experiment` (of any experiment when None)."""
        where, args = (
            ("WHERE experiment = ?", (experiment,)) if experiment is not None else ("", ())
        )
        cur = self.db.execute(
            f"SELECT experiment, format, record, created_at FROM run_records {where} "
            "ORDER BY id DESC LIMIT 1",
            args,
        )
        values = cur.fetchone()
        return None if values is None else RunRecordRow._make(values)

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, so a concurrent reader never sees half a write.

        A store that cannot take the write (disk full, I/O error, read-only) raises
        `StoreWriteError`, with the transaction rolled back, so the next write can try again.
        """
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()  # a failed COMMIT leaves the transaction open
            if is_write_fault(exc):
                raise StoreWriteError(f"cannot write to the store {self.path}: {exc}") from exc
            raise

    def _rollback(self) -> None:
        # When ROLLBACK itself fails, SQLite has rolled back by itself: nothing is half-written.
        with suppress(sqlite3.Error):
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def hold_run_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive run lock of the store at `path` (`<store>.lock`, released by the OS
    even on kill -9); raises `StoreBusy` naming the holder."""
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreBusy(
            f"another afdsl run (pid {holder}) is writing to {path}; "
            "wait for it to finish, or use a different --store"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    try:
        yield
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def default_store_path(afs_path: str | os.PathLike[str]) -> Path:
    """`.afdsl/<file stem>.sqlite` beside the .afs file."""
    path = Path(afs_path)
    return path.parent / ".afdsl" / f"{path.stem}.sqlite"
