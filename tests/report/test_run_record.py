"""The run record `afdsl test` leaves in the store, read back typed by `afdsl report`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from afdsl import pipeline
from afdsl.analysis import Problem, RunRecord, load_run_record
from afdsl.pipeline import TestOptions
from afdsl.store import SCHEMA_VERSION, Store

QUERIES = Path(__file__).parents[2] / "examples" / "queries" / "demo.jsonl"

SOURCE = f"""use helpful_only

experiment recorded {{
  base    helpful_only
  model   sim:opus_like
  queries "{QUERIES}"
  samples 2
  seed    3

  variant probe = apply no_rlhf

  hypothesis has_gap: gap(base) > 0
}}
"""


def _tested(tmp_path: Path, *, sequential: bool = False) -> tuple[Path, Path]:
    afs, store = tmp_path / "recorded.afs", tmp_path / "s.sqlite"
    afs.write_text(SOURCE, encoding="utf-8")
    pipeline.test_experiment(afs, TestOptions(store=store, sequential=sequential, samples=False))
    return afs, store


def test_the_record_is_a_typed_row_of_the_store(tmp_path):
    afs, store_path = _tested(tmp_path, sequential=True)
    with Store(store_path) as store:
        record = load_run_record(store, "recorded")
        assert load_run_record(store, "another") is None
    assert isinstance(record, RunRecord)
    assert record.file == str(afs) and record.experiment.name == "recorded"
    assert record.sequential is not None and record.queries_used
    assert {v.hypothesis for v in record.verdicts} == {"has_gap"}
    assert not store_path.with_name(store_path.name + ".last-test.json").exists()


def test_a_store_written_before_run_records_is_migrated(tmp_path):
    _, store_path = _tested(tmp_path)
    with sqlite3.connect(store_path) as db:  # as an afdsl of schema 2 left it
        db.execute("DROP TABLE run_records")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with Store(store_path) as store:
        assert store.last_run_record() is None
    with sqlite3.connect(store_path) as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert int(version[0]) == SCHEMA_VERSION == 4


def _as_legacy_sidecar(store_path: Path) -> None:
    """Move the store's record into the JSON file an older afdsl wrote beside the store."""
    with Store(store_path) as store:
        record = load_run_record(store)
    assert record is not None
    doc = record.model_dump(mode="json")
    doc["run_problems"] = [p["detail"] for p in doc.pop("problems")]
    doc["verdicts"] = [[v["model"], v["hypothesis"], v["verdict"], v["e_value"]]
                       for v in doc["verdicts"]]  # fmt: skip
    sidecar = store_path.with_name(store_path.name + ".last-test.json")
    sidecar.write_text(json.dumps(doc), encoding="utf-8")
    with sqlite3.connect(store_path) as db:
        db.execute("DELETE FROM run_records")


def test_an_old_run_with_a_sidecar_still_reports_the_same(tmp_path):
    afs, store_path = _tested(tmp_path, sequential=True)
    before = pipeline.report_from_store(store_path, samples=False)
    _as_legacy_sidecar(store_path)
    for target in (store_path, afs):
        after = pipeline.report_from_store(target, store_path=store_path, samples=False)
        assert after.manifest.started_at == before.manifest.started_at
        assert after.manifest.prompt_set_hash == before.manifest.prompt_set_hash
        assert after.sequential == before.sequential and after.verdicts == before.verdicts
        assert after.analysis == before.analysis


def test_the_runs_problems_are_dropped_once_the_store_changed(tmp_path):
    afs, store_path = _tested(tmp_path)
    failed = Problem(kind="run", detail="3 request(s) failed with HTTP 500")
    with Store(store_path) as store:
        record = load_run_record(store)
        assert record is not None
        kept = record.model_copy(update={"problems": [failed]})
        store.put_run_record("recorded", 1, kept.model_dump_json())
    assert pipeline.report_from_store(afs, store_path=store_path).problems == [failed]
    with Store(store_path) as store:  # counts other than the recorded ones: the run is stale
        stale = kept.model_copy(update={"counts": kept.counts[:1]})
        store.put_run_record("recorded", 1, stale.model_dump_json())
    assert pipeline.report_from_store(afs, store_path=store_path).problems == []
