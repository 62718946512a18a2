"""The run record in the store: written by `afdsl test`, read back typed by `afdsl report`.

Stores written before the record moved into the store kept it in a JSON file
beside them (`<store>.last-test.json`); that file is still read when the store
has no record, so old runs still report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from afdsl.analysis._record import Problem, RunRecord, Verdict
from afdsl.store import Store

RECORD_FORMAT = 1  # the version of `RunRecord` as stored; a newer one is not read
LEGACY_SUFFIX = ".last-test.json"  # the record beside the store, before it moved inside


def save_run_record(store: Store, record: RunRecord) -> None:
    """Add `record` to the store's run records (the last one is what `afdsl report` reads)."""
    store.put_run_record(record.experiment.name, RECORD_FORMAT, record.model_dump_json())


def load_run_record(store: Store, experiment: str | None = None) -> RunRecord | None:
    """The last run record of `experiment` (of any experiment when None), or None.

    Falls back on the JSON file an older afdsl left beside the store.
    """
    row = store.last_run_record(experiment)
    if row is not None and row.format <= RECORD_FORMAT:
        try:
            return RunRecord.model_validate_json(row.record)
        except ValidationError:
            pass  # written by a development version: report as if there were no record
    legacy = _legacy_record(store.path)
    if legacy is None or (experiment is not None and legacy.experiment.name != experiment):
        return None
    return legacy


def _legacy_record(store_path: Path) -> RunRecord | None:
    """The sidecar of an older afdsl, as a `RunRecord`; None when absent or unreadable."""
    path = store_path.with_name(store_path.name + LEGACY_SUFFIX)
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return RunRecord(
            file=doc["file"],
            experiment=doc["experiment"],
            started_at=doc["started_at"],
            finished_at=doc.get("finished_at"),
            prompt_set_hash=doc.get("prompt_set_hash"),
            run=doc.get("run"),
            sequential=doc.get("sequential"),
            queries_used=doc.get("queries_used"),
            # The sidecar kept the runner's sentences: their kind is "run" for what they say.
            problems=[Problem(kind="run", detail=text) for text in doc.get("run_problems") or []],
            counts=doc.get("counts") or [],
            verdicts=[
                Verdict(model=m, hypothesis=n, verdict=v, e_value=e)
                for m, n, v, e in doc.get("verdicts") or []
            ],
        )
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        return None
