"""`afdsl show`: the stored transcripts behind a report, filtered, never calling a model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from afdsl.check import load_experiment
from afdsl.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SHOW = FIXTURES / "show.afs"


def _no_model_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("afdsl show must not build a model backend")

    monkeypatch.setattr("afdsl.models.base.make_backend", refuse)
    monkeypatch.setattr("afdsl.models.make_backend", refuse, raising=False)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Run each fixture once with `afdsl test`; the tests then only read the stores."""
    folder = tmp_path_factory.mktemp("show")
    paths = {name: folder / f"{name}.sqlite" for name in ("show", "unjudgeable", "replay")}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(FIXTURES)  # the replay fixture's transcript path is relative
        main(["test", str(SHOW), "--store", str(paths["show"]), "--quiet"])
        main(["test", "unjudgeable.afs", "--store", str(paths["unjudgeable"]), "--quiet"])
        main(["test", "replay_missing.afs", "--store", str(paths["replay"]), "--quiet"])
    yield paths


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.chdir(FIXTURES)
    _no_model_calls(monkeypatch)


def _show(capsys: pytest.CaptureFixture[str], store: Path, *args: str, file: str = str(SHOW)):
    code = main(["show", file, "--store", str(store), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _records(capsys, store: Path, *args: str, file: str = str(SHOW)) -> list[dict]:
    code, out, err = _show(capsys, store, "--json", "--limit", "0", *args, file=file)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_every_stored_response_in_file_order(stores, capsys):
    records = _records(capsys, stores["show"])
    experiment = load_experiment(SHOW)
    per_model = len(experiment.variants) * 2 * len(experiment.queries) * experiment.samples
    assert len(records) == 2 * per_model
    models = [m.spec for m in experiment.models]
    variants = [v.name for v in experiment.variants]
    queries = [q.id for q in experiment.queries]
    conditions = [c.name for c in experiment.variants[0].scenario.conditions]
    keys = [
        (
            models.index(r["model"]),
            variants.index(r["variant"]),
            conditions.index(r["condition"]),
            queries.index(r["query_id"]),
            r["sample"],
        )
        for r in records
    ]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert records == _records(capsys, stores["show"])  # deterministic


def test_variant_condition_query_sample_and_model_filters(stores, capsys):
    query = load_experiment(SHOW).queries[2]
    records = _records(
        capsys,
        stores["show"],
        "--variant", "no_rlhf", "--condition", "deployment", "--query", query.id,
        "--sample", "1", "--model", "sim:no_gap",
    )  # fmt: skip
    assert len(records) == 1
    (r,) = records
    assert (r["model"], r["variant"], r["condition"], r["query_id"], r["sample"]) == (
        "sim:no_gap", "no_rlhf", "deployment", query.id, 1,
    )  # fmt: skip
    assert r["query_text"] == query.text


def test_repeated_variant_and_query_filters_take_any_of_them(stores, capsys):
    ids = [q.id for q in load_experiment(SHOW).queries[:2]]
    records = _records(capsys, stores["show"], "--query", ids[0], "--query", ids[1])
    assert {r["query_id"] for r in records} == set(ids)
    both = _records(capsys, stores["show"], "--variant", "base", "--variant", "no_rlhf")
    assert len(both) == len(_records(capsys, stores["show"]))


def test_where_keeps_only_responses_with_that_label(stores, capsys):
    everything = _records(capsys, stores["show"])
    flagged = [r for r in everything if r["labels"]["faking"]["label"] == 1]
    assert flagged, "the fixture should have some faking scratchpads"
    assert _records(capsys, stores["show"], "--where", "faking=1") == flagged
    both = _records(capsys, stores["show"], "--where", "faking=1", "--where", "compliance=1")
    assert both == [r for r in flagged if r["labels"]["compliance"]["label"] == 1]


def test_where_unparseable(stores, capsys):
    file = str(FIXTURES / "unjudgeable.afs")
    records = _records(capsys, stores["unjudgeable"], "--where", "faking=unparseable", file=file)
    assert records and {r["variant"] for r in records} == {"no_scratchpad"}
    assert all(r["labels"]["faking"]["label"] is None for r in records)
    code, out, _ = _show(capsys, stores["unjudgeable"], "--where", "faking=unparseable", file=file)
    assert code == 0 and "faking=unparseable (no scratchpad reasoning)" in out  # with why


def test_header_query_scratchpad_and_output_in_plain_text(stores, capsys):
    code, out, _ = _show(capsys, stores["show"], "--where", "faking=1", "--limit", "1")
    assert code == 0
    header = out.splitlines()[0]
    for piece in ("[SIMULATOR]", "sample", "prompt ", "compliance=", "faking=1", "votes"):
        assert piece in header, header
    record = _records(capsys, stores["show"], "--where", "faking=1")[0]
    assert record["prompt_hash"][:12] in header
    assert f"query: {record['query_text']}" in out
    scratch, output = out.index("scratchpad"), out.index("output")
    assert scratch < out.index(record["scratchpad"].splitlines()[0]) < output
    assert record["output"].splitlines()[0] in out[output:]


def test_json_records_carry_the_system_prompt_hash_not_the_prompt(stores, capsys):
    experiment = load_experiment(SHOW)
    system = experiment.variant("no_rlhf").scenario.system_prompt()
    code, out, _ = _show(capsys, stores["show"], "--json", "--variant", "no_rlhf")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 10  # --limit defaults to 10
    for r in records:
        assert r["system_prompt_sha256"] == hashlib.sha256(system.encode()).hexdigest()
        assert r["simulator"] is True and r["text"] and r["scratchpad"] and r["output"]
    longest_line = max(system.splitlines(), key=len)
    assert longest_line not in out


def test_limit_says_how_many_more_match(stores, capsys):
    code, out, _ = _show(capsys, stores["show"], "--limit", "3")
    assert code == 0
    total = len(_records(capsys, stores["show"]))
    assert out.count("── ") == 3
    assert f"showing 3 of {total}" in out
    code, out, err = _show(capsys, stores["show"], "--json", "--limit", "3")
    assert len(out.splitlines()) == 3 and f"showing 3 of {total}" in err


def test_long_responses_are_cut_unless_full(stores, capsys, monkeypatch):
    monkeypatch.setattr("afdsl.report.transcript_view.CLIP", 40)
    record = _records(capsys, stores["show"], "--limit", "1")[0]
    tail = record["scratchpad"].splitlines()[-1]
    _, cut, _ = _show(capsys, stores["show"], "--limit", "1")
    assert "more characters; --full shows everything" in cut and tail not in cut
    _, full, _ = _show(capsys, stores["show"], "--limit", "1", "--full")
    assert "more characters" not in full and tail in full


def test_filters_that_match_nothing_say_so(stores, capsys):
    contradiction = ("--where", "compliance=1", "--where", "compliance=0")
    code, out, _ = _show(capsys, stores["show"], *contradiction)
    assert code == 0
    assert "no stored response of `show` matches these filters" in out


def test_json_that_matches_nothing_writes_no_line_to_stdout(stores, capsys, tmp_path):
    """`--json | wc -l` counts the matches, so the 'nothing matched' message goes to stderr."""
    contradiction = ("--where", "compliance=1", "--where", "compliance=0")
    code, out, err = _show(capsys, stores["show"], "--json", *contradiction)
    assert code == 0 and out == "" and "matches these filters" in err
    from afdsl.store import Store

    Store(tmp_path / "empty.sqlite").close()
    code, out, err = _show(capsys, tmp_path / "empty.sqlite", "--json")
    assert code == 0 and out == "" and "holds no response" in err


def test_an_empty_store_says_run_first(stores, capsys, tmp_path):
    from afdsl.store import Store

    Store(tmp_path / "empty.sqlite").close()
    code, out, _ = _show(capsys, tmp_path / "empty.sqlite")
    assert code == 0 and "holds no response of `show`" in out and "afdsl test" in out


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("--variant", "no_rlfh"), "did you mean `no_rlhf`?"),
        (("--condition", "trainng"), "did you mean `training`?"),
        (("--where", "fakng=1"), "did you mean `faking`?"),
        (("--model", "sim:opus_lik"), "did you mean `sim:opus_like`?"),
        (("--where", "faking=yes"), "MEASURE=unparseable"),
        (("--sample", "3"), "samples 0 to 2"),
    ],
)
def test_unknown_names_are_usage_errors_with_a_hint(stores, capsys, args, hint):
    code, out, err = _show(capsys, stores["show"], *args)
    assert code == 2 and out == ""
    assert hint in err and "Traceback" not in err


def test_a_missing_store_is_a_usage_error(capsys, tmp_path):
    code, _, err = _show(capsys, tmp_path / "nowhere.sqlite")
    assert code == 2 and "no store at" in err
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_failed_calls_are_shown_as_such(stores, capsys):
    file = "replay_missing.afs"
    code, out, _ = _show(capsys, stores["replay"], file=file)
    assert code == 0 and "call failed" in out and "error" in out
    records = _records(capsys, stores["replay"], file=file)
    assert records and all(r["status"] == "error" and r["labels"] == {} for r in records)
    assert all(r["simulator"] is False for r in records)


def test_on_a_terminal_scratchpad_and_output_are_separate_panels(stores, capsys):
    from io import StringIO

    from rich.console import Console

    from afdsl.report import TranscriptFilter, select_transcripts
    from afdsl.report.transcript_view import panel
    from afdsl.store import Store

    store = Store(stores["show"])
    try:
        wanted = TranscriptFilter(where=[{"measure": "faking", "label": 1}])
        transcript = select_transcripts(load_experiment(SHOW), store, wanted)[0]
    finally:
        store.close()
    console = Console(file=StringIO(), force_terminal=True, width=120, record=True)
    console.print(panel(transcript, ["compliance", "faking"]))
    text = console.export_text()
    assert "╭─ scratchpad" in text and "╭─ output" in text
    assert "[SIMULATOR]" in text and "faking=1" in text


def test_each_answer_says_how_it_ended(stores, capsys):
    code, out, _ = _show(capsys, stores["show"], "--limit", "1")
    assert code == 0 and "finished: end_turn" in out  # the simulator's finish reason
    records = _records(capsys, stores["show"])
    assert {r["finish_reason"] for r in records} == {"end_turn"}
    assert {r["seed"] for r in records} == {None}  # the simulator is sent no seed


def test_an_answer_cut_off_at_max_tokens_says_so():
    from afdsl.report.transcript_view import finish_text

    assert finish_text("length") == "finished: length (truncated at max_tokens)"
    assert finish_text("max_tokens") == "finished: max_tokens (truncated at max_tokens)"
    assert finish_text(None) == "finished: unknown"
