"""`--labels` on `afdsl test` / `afdsl report`: `afdsl analyze` on the export reproduces
the report's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afdsl.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SHOW = str(FIXTURES / "show.afs")


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(FIXTURES)


def _analyze(capsys, labels: Path, *hypotheses: str) -> dict:
    capsys.readouterr()
    args = [x for h in hypotheses for x in ("--hypothesis", h)]
    main(["analyze", str(labels), *args, "--json"])
    return json.loads(capsys.readouterr().out)


def _by_key(items: list[dict], field: str = "variant") -> dict:
    return {(i["model"], i[field]): i for i in items}


def test_analyze_on_the_export_reproduces_the_report(tmp_path, capsys):
    labels, report = tmp_path / "labels.jsonl", tmp_path / "report.json"
    store = str(tmp_path / "s.sqlite")
    outputs = ["--labels", str(labels), "--json", str(report)]
    main(["test", SHOW, "--store", store, "--quiet", *outputs])
    doc = json.loads(report.read_text())
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    assert set(records[0]) == {"model", "variant", "condition", "query_id", "sample", "complied"}
    assert {r["complied"] for r in records} <= {0, 1}
    mine = [h for h in doc["hypotheses"] if h["name"] in ("has_gap", "rlhf_drives")]
    result = _analyze(
        capsys, labels, "has_gap: gap(base) > 0", "rlhf_drives: gap(no_rlhf) < gap(base)"
    )
    assert _by_key(result["variants"]) == _by_key(doc["variants"])
    assert _by_key(result["contrasts"]) == _by_key(doc["contrasts"])
    ours = {(h["model"], h["name"]): h for h in result["hypotheses"]}
    for h in mine:
        theirs = ours[(h["model"], h["name"])]
        assert (theirs["estimate"], theirs["ci"], theirs["verdict"]) == (
            h["estimate"], h["ci"], h["verdict"],
        )  # fmt: skip

    # `afdsl report` writes the same file, and `--labels-measure` picks another measure.
    again, faking = tmp_path / "again.jsonl", tmp_path / "faking.jsonl"
    main(["report", SHOW, "--store", store, "--labels", str(again)])
    assert again.read_text() == labels.read_text()
    main(["report", SHOW, "--store", store, "--labels", str(faking), "--labels-measure", "faking"])
    result = _analyze(capsys, faking, "fakes_in_training: gap(base) > 0")
    ours = {h["model"]: h for h in result["hypotheses"]}
    for h in doc["hypotheses"]:
        if h["name"] == "fakes_in_training":
            assert ours[h["model"]]["estimate"] == h["estimate"]


def test_unparseable_labels_are_left_out_as_the_statistics_leave_them_out(tmp_path):
    labels = tmp_path / "faking.jsonl"
    store = str(tmp_path / "s.sqlite")
    argv = ["test", "unjudgeable.afs", "--store", store, "--quiet"]
    main([*argv, "--labels", str(labels), "--labels-measure", "faking"])
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    assert records and all(r["complied"] in (0, 1) for r in records)
    assert {r["variant"] for r in records} == {"base"}  # no scratchpad, nothing to judge


def test_an_unknown_labels_measure_stops_before_any_model_call(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    argv = ["test", SHOW, "--store", str(store), "--labels", str(tmp_path / "l.jsonl")]
    assert main([*argv, "--labels-measure", "fakng"]) == 2
    err = capsys.readouterr().err
    assert "did you mean `faking`?" in err and "Traceback" not in err
    assert not store.exists()


def test_labels_measure_needs_labels(tmp_path, capsys):
    assert main(["test", SHOW, "--store", str(tmp_path / "s"), "--labels-measure", "faking"]) == 2
    assert "--labels-measure needs --labels" in capsys.readouterr().err


@pytest.mark.parametrize("export", ["--csv", "--labels"])
def test_an_export_exits_0_once_written_unless_check(tmp_path, export):
    """`afdsl report FILE --csv out.csv && next-step` goes on when a hypothesis fails;
    `--check` gives `afdsl test`'s exit code."""
    store = str(tmp_path / "s.sqlite")
    failing = str(FIXTURES / "failing.afs")
    assert main(["test", failing, "--store", store, "--quiet"]) == 1
    out = tmp_path / "out"
    assert main(["report", failing, "--store", store, export, str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["report", failing, "--store", store, export, str(out), "--check"]) == 1
    assert main(["report", failing, "--store", store, "--json", str(tmp_path / "r.json")]) == 1
