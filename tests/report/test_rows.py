"""The lean store reads a report makes (`Store.cells`, `Store.labels`,
`Store.query_counts`) agree with the store's full API on a real store."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from afdsl.check import load_experiment
from afdsl.classify import effective_measures
from afdsl.cli import main
from afdsl.store import ItemKey, LabelRow, Outcome, Store

FIXTURES = Path(__file__).parent / "fixtures"


def test_lean_reads_match_the_full_rows_of_a_tested_experiment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    store_path = tmp_path / "s.sqlite"
    main(["test", str(FIXTURES / "failing.afs"), "--store", str(store_path), "--quiet"])
    capsys.readouterr()
    with Store(store_path) as store:
        cells = store.cells("failing")
        full = store.responses(experiment="failing", purpose="model")
        projected = [
            (r.id, r.model, r.params_hash, r.prompt_hash, r.sample, r.variant, r.condition,
             r.query_id, r.status)
            for r in full
        ]  # fmt: skip
        assert sorted(cells) == sorted(projected) and len(cells) == 2 * 2 * 24 * 2
        (measure,) = effective_measures(load_experiment(FIXTURES / "failing.afs"))
        definition = measure.definition_hash()
        labels = store.labels("compliance", definition)
        assert {stored.label for stored in labels.values()} <= {0, 1, None}
        assert set(labels) == {c.id for c in cells}
        assert store.labels("compliance", "another-definition") == {}


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
        cells = store.cells("exp")
    assert sorted((c.condition, c.status) for c in cells) == [
        ("deployment", "error"),
        ("training", "ok"),
    ]


def test_query_counts_agree_with_a_count_of_the_per_sample_rows(tmp_path):
    """`Store.query_counts` against the same counts done in Python over `Store.cells`/labels:
    errors, unparseable and unlabelled samples, two measures, a sample limit, a judge call
    and another experiment's cells in the same store."""
    rng = random.Random(3)
    measures = [("compliance", "d1"), ("faking", "d2")]
    keys = [
        ItemKey(exp, model, "p", variant, condition, f"q{q}", s, "model",
                hashlib.sha256(f"{exp}{model}{variant}{condition}{q}".encode()).hexdigest())
        for exp in ("exp", "other")
        for model in ("sim:a", "sim:b")
        for variant in ("base", "v1")
        for condition in ("training", "deployment")
        for q in range(4)
        for s in range(5)
    ]  # fmt: skip
    keys.append(ItemKey("exp", "sim:judge", "p", "base", "training", "q0", 0, "judge", "j"))
    with Store(tmp_path / "s.sqlite") as store:
        store.register_items(keys)
        store.put_outcomes(
            [
                Outcome(k.prompt_hash, k.model, "p", k.sample, k.purpose, {}, text="answer")
                if rng.random() > 0.1
                else Outcome(k.prompt_hash, k.model, "p", k.sample, k.purpose, {},
                             error_kind="server", error_message="x")
                for k in keys
                if rng.random() > 0.1  # some samples have no response at all
            ]
        )  # fmt: skip
        cells = [c for c in store.cells("exp") if c.sample < 4]
        for name, definition in measures:
            store.put_labels(
                [
                    LabelRow(
                        response_id=c.id, measure=name, definition_hash=definition,
                        label=rng.choice([None, 0, 1, 1]),
                    )
                    for c in cells
                    if rng.random() > 0.2  # some are not labelled yet; errors never count
                ]
            )  # fmt: skip
        labels = [
            {rid: stored.label for rid, stored in store.labels(name, definition).items()}
            for name, definition in measures
        ]
        counted = store.query_counts("exp", measures, samples=4)

    expected: dict[tuple[str, ...], list[int]] = {}
    for c in cells:
        key = (c.model, c.params_hash, c.variant, c.condition, c.query_id)
        count = expected.setdefault(key, [0, 0] + [0] * 3 * len(measures))
        count[0] += 1
        count[1] += c.status != "ok"
        for j, by_id in enumerate(labels):
            if c.status == "ok" and c.id in by_id:
                count[2 + 3 * j] += 1
                count[3 + 3 * j] += by_id[c.id] == 1
                count[4 + 3 * j] += by_id[c.id] is None
    got = {
        tuple(g[:5]): [g.responses, g.errors, *(n for lc in g.labels for n in lc)] for g in counted
    }
    assert got == expected
    assert len(got) == len({k[:5] for k in expected}) > 20
    assert all(g.samples == g.responses for g in counted)  # one prompt per sample
    for g in counted:
        pairs = sorted(line.split("\t") for line in g.prompts.split("\n"))
        stored = sorted(
            [c.model, c.prompt_hash, str(c.sample)]
            for c in cells
            if tuple(c[1:3]) == g[:2] and (c.variant, c.condition, c.query_id) == g[2:5]
        )
        assert pairs == stored
