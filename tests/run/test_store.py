"""The SQLite store: keys, cells, labels, the run lock."""

from __future__ import annotations

import pytest

from afdsl.diagnostics import AfsError
from afdsl.store import ItemKey, LabelRow, Outcome, Store, StoreBusy, default_store_path


def _outcome(h: str, sample: int = 0, **kw) -> Outcome:
    return Outcome(
        prompt_hash=h,
        model="sim:x",
        params_hash="p",
        sample=sample,
        purpose="model",
        params={},
        **kw,
    )


def _cell(variant: str, h: str, sample: int = 0) -> ItemKey:
    return ItemKey("exp", "sim:x", "p", variant, "training", "q1", sample, "model", h)


def test_ok_is_never_overwritten_by_a_later_error(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.register_items([_cell("base", "h1")])
    store.put_outcomes([_outcome("h1", error_kind="server", error_message="boom")])
    store.put_outcomes([_outcome("h1", text="answer", input_tokens=3)])
    store.put_outcomes([_outcome("h1", error_kind="timeout", error_message="late")])
    row = store.get_response("h1", "sim:x", "p", 0)
    assert row is not None and row.status == "ok" and row.text == "answer" and row.attempts == 2


def test_identical_prompts_in_two_variants_share_one_response(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.register_items(
        [_cell("base", "same"), _cell("no_rlhf", "same"), _cell("no_rlhf", "other")]
    )
    store.put_outcomes([_outcome("same", text="a"), _outcome("other", text="b")])
    rows = store.responses(experiment="exp")
    assert sorted((r.variant, r.text) for r in rows) == [
        ("base", "a"),
        ("no_rlhf", "a"),
        ("no_rlhf", "b"),
    ]
    assert len({r.id for r in rows if r.text == "a"}) == 1  # one label applies to both cells
    assert store.responses(experiment="other") == []


def test_prune_forgets_cells_of_an_edited_experiment(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.register_items([_cell("base", "old")], generation="g1")
    store.register_items([_cell("base", "new")], generation="g2")
    store.prune_items("exp", "sim:x", "model", "g2")
    store.put_outcomes([_outcome("old", text="x"), _outcome("new", text="y")])
    assert [r.text for r in store.responses(experiment="exp")] == ["y"]
    assert store.get_response("old", "sim:x", "p", 0) is not None  # still cached


def test_labels_round_trip_with_unparseable(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.put_labels([
        LabelRow(response_id=1, measure="compliance", definition_hash="d", label=1, score=1.0),
        LabelRow(response_id=2, measure="compliance", definition_hash="d", label=None,
                 detail={"why": "no tag"}),
        LabelRow(response_id=1, measure="compliance", definition_hash="other", label=0),
    ])  # fmt: skip
    labels = Store(tmp_path / "s.sqlite").labels("compliance", "d")
    assert (
        labels[1].label == 1 and labels[2].label is None and labels[2].detail == {"why": "no tag"}
    )


def test_second_run_on_the_same_store_is_refused_with_a_clear_message(tmp_path):
    a, b = Store(tmp_path / "s.sqlite"), Store(tmp_path / "s.sqlite")
    busy = pytest.raises(StoreBusy, match=r"another afdsl run \(pid \d+\)")
    with a.run_lock(), busy, b.run_lock():
        pass
    with b.run_lock():  # released
        pass


def test_default_store_path_is_beside_the_file(tmp_path):
    assert (
        default_store_path(tmp_path / "exp" / "demo.afs")
        == tmp_path / "exp" / ".afdsl" / "demo.sqlite"
    )


@pytest.mark.parametrize("name", ["notes.txt", "folder"])
def test_a_path_that_is_not_a_store_is_a_user_error(tmp_path, name):
    path = tmp_path / name
    if name == "folder":
        path.mkdir()
    else:
        path.write_text("my notes, not a database\n" * 100)
    with pytest.raises(AfsError, match=f"cannot open the store {path}"):
        Store(path)


def test_a_store_from_a_newer_afdsl_is_refused_not_written(tmp_path):
    import sqlite3

    path = tmp_path / "s.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(AfsError, match="written by a newer afdsl"):
        Store(path)


def test_replies_reads_many_keys_at_once_and_leaves_out_those_never_stored(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.put_outcomes([_outcome("h", sample=s, text=f"vote {s}") for s in range(450)])
    store.put_outcomes([_outcome("bad", error_kind="server", error_message="boom")])
    keys = [("h", "sim:x", "p", s) for s in range(450)] + [
        ("bad", "sim:x", "p", 0),
        ("never", "sim:x", "p", 0),
    ]
    replies = store.replies(keys)
    assert len(replies) == 451  # more keys than one query takes
    assert replies[("h", "sim:x", "p", 449)].text == "vote 449"
    bad = replies[("bad", "sim:x", "p", 0)]
    assert bad.status == "error" and bad.error_message == "boom"
    assert ("never", "sim:x", "p", 0) not in replies


def test_ok_texts_lists_the_ok_cells_with_their_text_in_cell_order(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.register_items([_cell("b", "h2"), _cell("a", "h1"), _cell("c", "h3")])
    store.put_outcomes([_outcome("h1", text="one"), _outcome("h2", text="two")])
    store.put_outcomes([_outcome("h3", error_kind="server", error_message="boom")])
    rows = store.ok_texts("exp")
    assert [(r.variant, r.text) for r in rows] == [("a", "one"), ("b", "two")]


def test_stored_labels_give_each_label_and_its_judge_template(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    judged = {"template": "t1"}
    store.put_labels(
        [
            LabelRow(response_id=1, measure="m", definition_hash="d", label=1),
            LabelRow(response_id=2, measure="m", definition_hash="d", label=None, detail=judged),
        ]
    )
    stored = store.labels("m", "d")
    assert stored[1].label == 1 and stored[1].template is None
    assert stored[2].label is None and stored[2].template == "t1"
    assert store.labels("m", "other") == {}
