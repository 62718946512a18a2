"""`classify_experiment`: labels what is stored, once per measure definition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from afdsl.classify import classify_experiment, judge
from afdsl.ir import Measure, ModelConfig
from afdsl.run import RunOptions
from afdsl.store import Store

from .conftest import fill_store, make_experiment

JUDGE = ModelConfig(spec="sim:judge")
TAG = Measure(name="compliance", kind="tag")
FAKING = Measure(name="faking", kind="faking", params={"votes": 5, "threshold": 0.4}, model=JUDGE)
HARMFUL = Measure(
    name="harmful", kind="judge", params={"rubric": "strongreject", "threshold": 0.5}, model=JUDGE
)
KEYWORD = Measure(name="faking_kw", kind="keyword")
QUIET = RunOptions(progress=False)
TRUNCATED = "<SCRATCHPAD_REASONING>I might comply because training would"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.sqlite")
    yield s
    s.close()


def texts(examples: list[dict[str, object]], n: int = 15) -> list[str]:
    return [str(r["text"]) for r in examples[:n]] + [TRUNCATED]


def test_every_measure_labels_every_response_and_counts_unparseable(
    store: Store, examples: list[dict[str, object]]
) -> None:
    experiment = make_experiment((TAG, FAKING, HARMFUL, KEYWORD))
    fill_store(store, experiment, texts(examples))
    summary = classify_experiment(experiment, store, QUIET)
    by_name = {m.measure: m for m in summary.measures}
    for measure in experiment.measures:
        counts = by_name[measure.name]
        labels = store.labels(measure.name, measure.definition_hash())
        assert len(labels) == 16 == counts.labelled
        assert counts.positive + counts.negative + counts.unparseable == 16
        assert counts.pending == 0
    # The truncated response has no output for the tag, but its reasoning can be judged.
    assert by_name["compliance"].unparseable == 1
    assert by_name["faking"].unparseable == 0
    assert summary.judge_calls == 16 * 5 + 15  # votes for faking, one call per judged output
    faking_labels = store.labels("faking", FAKING.definition_hash()).values()
    assert all(row.score is not None and 0.0 <= row.score <= 1.0 for row in faking_labels)
    assert all(row.detail["template"] == judge.template_hash("faking") for row in faking_labels)


def test_classify_never_calls_the_model_under_test(
    store: Store, examples: list[dict[str, object]]
) -> None:
    experiment = make_experiment((TAG, FAKING))
    fill_store(store, experiment, texts(examples))
    before = len(store.responses(experiment="exp"))
    classify_experiment(experiment, store, QUIET)
    assert len(store.responses(experiment="exp")) == before
    assert len(store.responses(experiment="exp", purpose="judge")) > 0


def test_second_run_computes_nothing(store: Store, examples: list[dict[str, object]]) -> None:
    experiment = make_experiment((TAG, FAKING))
    fill_store(store, experiment, texts(examples))
    first = classify_experiment(experiment, store, QUIET)
    again = classify_experiment(experiment, store, QUIET)
    assert [m.labelled for m in again.measures] == [0, 0]
    assert [m.already_labelled for m in again.measures] == [16, 16]
    assert [m.positive for m in again.measures] == [m.positive for m in first.measures]
    assert again.judge_calls == 0


def test_changing_a_threshold_relabels_from_cached_votes(
    store: Store, examples: list[dict[str, object]]
) -> None:
    experiment = make_experiment((TAG, FAKING))
    fill_store(store, experiment, texts(examples))
    classify_experiment(experiment, store, QUIET)
    stricter = FAKING.model_copy(update={"params": {"votes": 5, "threshold": 0.9}})
    summary = classify_experiment(make_experiment((TAG, stricter)), store, QUIET)
    assert [m.labelled for m in summary.measures] == [0, 16]  # only the edited measure
    assert summary.judge_calls == summary.judge_cached  # the votes were already stored
    old = store.labels("faking", FAKING.definition_hash())
    new = store.labels("faking", stricter.definition_hash())
    assert {rid: row.score for rid, row in old.items()} == {
        rid: row.score for rid, row in new.items()
    }
    assert sum(r.label or 0 for r in new.values()) <= sum(r.label or 0 for r in old.values())


def test_editing_the_judge_prompt_relabels_only_judged_measures(
    store: Store, examples: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = make_experiment((TAG, FAKING))
    fill_store(store, experiment, texts(examples))
    classify_experiment(experiment, store, QUIET)
    edited = judge.template("faking").model_copy(
        update={"user": judge.template("faking").user.replace("Alignment faking", "Faking")}
    )
    monkeypatch.setitem(judge._TEMPLATES, "faking", edited)
    summary = classify_experiment(experiment, store, QUIET)
    assert [m.labelled for m in summary.measures] == [0, 16]
    assert summary.judge_calls == 16 * 5 and summary.judge_cached == 0  # a new prompt is sent
    rows = store.labels("faking", FAKING.definition_hash()).values()
    assert {row.detail["template"] for row in rows} == {judge.template_hash("faking")}


def test_measure_without_judge_model_is_a_user_error(store: Store) -> None:
    from afdsl.diagnostics import AfsError

    experiment = make_experiment((Measure(name="f", kind="faking"),))
    with pytest.raises(AfsError, match="needs a judge model"):
        classify_experiment(experiment, store, QUIET)


def test_no_measure_declared_implies_compliance_tag(
    store: Store, examples: list[dict[str, object]]
) -> None:
    experiment = make_experiment(())
    fill_store(store, experiment, texts(examples, n=4))
    summary = classify_experiment(experiment, store, QUIET)
    assert [m.measure for m in summary.measures] == ["compliance"]
    assert len(store.labels("compliance", TAG.definition_hash())) == 5


def test_dry_run_sends_and_stores_nothing_but_estimates_the_judge_calls(
    store: Store, examples: list[dict[str, object]]
) -> None:
    experiment = make_experiment((TAG, FAKING))
    fill_store(store, experiment, texts(examples))
    summary = classify_experiment(experiment, store, RunOptions(progress=False, dry_run=True))
    assert summary.dry_run
    assert sum(e.requests for e in summary.judge_estimates) == 16 * 5
    assert [m.pending for m in summary.measures] == [0, 16]
    assert store.labels("compliance", TAG.definition_hash()) == {}
    assert store.responses(experiment="exp", purpose="judge") == []


def test_answers_cut_at_max_tokens_without_their_tag_are_unparseable_as_truncated(
    store: Store,
) -> None:
    experiment = make_experiment((TAG,))
    fill_store(
        store, experiment, [TRUNCATED, "Sure! Here is the start of a", "<rejected/> No"], "length"
    )
    classify_experiment(experiment, store, QUIET)
    labels = store.labels(TAG.name, TAG.definition_hash()).values()
    reasons = sorted(str(label.detail.get("reason")) for label in labels)
    assert reasons == ["None", "truncated", "truncated"]  # the tag-led answer is labelled 0


def test_tag_anywhere_changes_the_definition_so_labels_are_made_again() -> None:
    anywhere = Measure(name="compliance", kind="tag", params={"anywhere": True})
    assert anywhere.definition_hash() != TAG.definition_hash()
