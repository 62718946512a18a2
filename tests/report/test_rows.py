"""The report's lean store reads agree with the store's full API on a real store."""

from __future__ import annotations

from pathlib import Path

from afdsl.check import load_experiment
from afdsl.classify import effective_measures
from afdsl.cli import main
from afdsl.report._rows import read_cells, read_labels
from afdsl.store import ItemKey, Outcome, Store

FIXTURES = Path(__file__).parent / "fixtures"


def test_lean_reads_match_the_full_rows_of_a_tested_experiment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    store_path = tmp_path / "s.sqlite"
    main(["test", str(FIXTURES / "failing.afs"), "--store", str(store_path), "--quiet"])
    capsys.readouterr()
    with Store(store_path) as store:
        cells = read_cells(store, "failing")
        full = store.responses(experiment="failing", purpose="model")
        projected = [
            (r.id, r.model, r.params_hash, r.prompt_hash, r.sample, r.variant, r.condition,
             r.query_id, r.status)
            for r in full
        ]  # fmt: skip
        assert sorted(cells) == sorted(projected) and len(cells) == 2 * 2 * 24 * 2
        (measure,) = effective_measures(load_experiment(FIXTURES / "failing.afs"))
        definition = measure.definition_hash()
        labels = read_labels(store, "compliance", definition)
        assert labels == {
            rid: row.label for rid, row in store.labels("compliance", definition).items()
        }
        assert set(labels) == {c.id for c in cells}
        assert read_labels(store, "compliance", "another-definition") == {}


def test_cells_keep_errors_and_leave_out_judge_calls_and_other_experiments(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        keys = [
            ItemKey("exp", "sim:x", "p", "base", "training", "q1", 0, "model", "h1"),
            ItemKey("exp", "sim:x", "p", "base", "deployment", "q1", 0, "model", "h2"),
            ItemKey("exp", "sim:judge", "p", "base", "training", "q1", 0, "judge", "h3"),
            ItemKey("other", "sim:x", "p", "base", "training", "q1", 0, "model", "h4"),
        ]
        store.register_items(keys)
        answered = [
            Outcome(k.prompt_hash, k.model, "p", 0, k.purpose, {}, text="answer")
            for k in keys
            if k.prompt_hash != "h2"
        ]
        failed = Outcome("h2", "sim:x", "p", 0, "model", {}, error_kind="server", error_message="x")
        store.put_outcomes([*answered, failed])
        cells = read_cells(store, "exp")
    assert sorted((c.condition, c.status) for c in cells) == [
        ("deployment", "error"),
        ("training", "ok"),
    ]
