"""The report's lean store reads agree with the store's public API on a real store."""

from __future__ import annotations

from pathlib import Path

from afdsl.cli import main
from afdsl.report._rows import read_cells, read_labels
from afdsl.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


class _PublicOnly:
    """The store seen through its public methods only (no SQLite connection)."""

    def __init__(self, store: Store) -> None:
        self.responses = store.responses
        self.labels = store.labels


def test_fast_reads_match_the_public_api(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    store_path = tmp_path / "s.sqlite"
    main(["test", str(FIXTURES / "failing.afs"), "--store", str(store_path), "--quiet"])
    capsys.readouterr()
    store = Store(store_path)
    try:
        fast = sorted(read_cells(store, "failing"))
        slow = sorted(read_cells(_PublicOnly(store), "failing"))
        assert fast == slow and len(fast) == 2 * 2 * 24 * 2
        from afdsl.check import load_experiment
        from afdsl.classify import effective_measures

        (measure,) = effective_measures(load_experiment(FIXTURES / "failing.afs"))
        definition = measure.definition_hash()
        labels = read_labels(store, "compliance", definition)
        assert labels == read_labels(_PublicOnly(store), "compliance", definition)
        assert set(labels) == {c.id for c in fast}
    finally:
        store.close()
