"""`afdsl test` on two simulated models with a cross-model and a `for` hypothesis: each
is reported once, in every format, and the JSON says which models a result is about."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from afdsl.cli import main
from afdsl.report import _format as f
from afdsl.report.matrix import verdict_cell, verdict_models
from afdsl.stats.models import AnalysisResult, HypothesisResult
from tests.report.schema import schema_errors

FIXTURES = Path(__file__).parent / "fixtures"
OPUS, SONNET = "sim:opus_like", "sim:sonnet_like"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cross")
    paths = {k: folder / f"r.{k}" for k in ("json", "md", "html")}
    args = [x for k, p in paths.items() for x in (f"--{k}", str(p))]
    store = str(folder / "s.sqlite")
    terminal = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(terminal):
        patch.setenv("NO_COLOR", "1")
        patch.setenv("COLUMNS", "140")
        code = main(["test", str(FIXTURES / "cross_model.afs"), "--store", store, *args])
    assert code in (0, 1)
    texts = {k: p.read_text(encoding="utf-8") for k, p in paths.items()}
    return {**texts, "terminal": terminal.getvalue(), "store": store}


def test_the_json_has_one_cross_model_result_and_the_for_result_under_its_model(reports):
    doc = json.loads(reports["json"])
    assert schema_errors(doc) == []
    by_name: dict[str, list[dict]] = {}
    for h in doc["hypotheses"]:
        by_name.setdefault(h["name"], []).append(h)
    (cross,) = by_name["opus_fakes_more"]
    assert cross["model"] is None and cross["models"] == [OPUS, SONNET]
    assert cross["pinned"] == ["opus_like", "sonnet_like"]
    assert cross["n_queries"] == 30 and cross["n_dropped"] == 0
    assert cross["verdict"] == "pass" and cross["estimate"] > 0
    assert "across models" in cross["method"]
    (mine,) = by_name["opus_has_a_gap"]
    assert mine["model"] == OPUS and mine["models"] == [] and mine["bound"] == pytest.approx(0.05)
    assert [h["model"] for h in by_name["rlhf_drives"]] == [OPUS, SONNET]
    # Families: the cross-model one alone is unadjusted; opus's two share a Holm family.
    assert cross["p_adjusted"] == cross["p_value"]
    (sonnet_rlhf,) = [h for h in by_name["rlhf_drives"] if h["model"] == SONNET]
    assert sonnet_rlhf["p_adjusted"] == sonnet_rlhf["p_value"]
    assert doc["passed"] + doc["failed"] == 4


def test_markdown_and_html_show_the_cross_model_result_once(reports):
    md_rows = [line for line in reports["md"].splitlines() if "| opus_fakes_more |" in line]
    assert len(md_rows) == 1 and f"{OPUS} vs {SONNET}" in md_rows[0]
    assert reports["html"].count('data-hypothesis="opus_fakes_more"') == 1
    assert "across models" in reports["html"]
    assert sum("| opus_has_a_gap |" in line for line in reports["md"].splitlines()) == 1


def test_the_terminal_prints_the_cross_model_result_once_and_for_only_under_its_model(reports):
    out = reports["terminal"]
    heads = [line for line in out.splitlines() if "opus_fakes_more" in line]
    assert len(heads) == 1 and f"[{OPUS} vs {SONNET}]" in heads[0], out
    listed, grid = [line for line in out.splitlines() if "opus_has_a_gap" in line]
    assert "PASS" in listed and f"[{OPUS}]" in listed
    assert "PASS" in grid and "—" in grid  # the models x hypotheses grid: not for sonnet
    assert not any("opus_fakes_more" in line and "—" in line for line in out.splitlines())
    assert "cross-model hypotheses are a family of their own" in out


def _result(name: str, model: str | None, models: list[str]) -> HypothesisResult:
    return HypothesisResult(
        model=model, name=name, expression="e", verdict="pass", estimate=0.1, ci=(0.0, 0.2),
        p_value=0.01, p_adjusted=0.01, method="m", n_queries=9, n_samples=9, models=models,
    )  # fmt: skip


def test_the_terminal_keeps_one_blank_line_between_blocks(reports):
    # The hypotheses grid's title stood right under the last hypothesis, and a table's
    # bottom edge plus a heading's leading newline made two blank lines.
    out = reports["terminal"]
    assert "\n\nhypotheses x models" in out
    assert "\n\n\n" not in out


def test_grids_give_cross_model_results_a_row_of_their_own():
    analysis = AnalysisResult(
        alpha=0.05,
        correction="holm",
        variants=[],
        contrasts=[],
        hypotheses=[_result("h", OPUS, []), _result("x", None, [OPUS, SONNET])],
    )
    assert f.models_of(analysis) == [OPUS]  # a cross-model result is no model's
    assert verdict_models(analysis) == [OPUS, None]
    assert verdict_cell(analysis, None, "x") == "pass +10.0"
    assert verdict_cell(analysis, OPUS, "x") == "—"


def test_show_opens_the_transcripts_of_the_models_a_hypothesis_reads(reports, capsys):
    def models(hypothesis: str) -> set[str]:
        args = ["show", str(FIXTURES / "cross_model.afs"), "--store", reports["store"]]
        args += ["--hypothesis", hypothesis, "--query", "fake_busy", "--json"]
        assert main(args) == 0
        return {json.loads(line)["model"] for line in capsys.readouterr().out.splitlines()}

    assert models("opus_has_a_gap") == {OPUS}  # `for opus_like`
    assert models("opus_fakes_more") == {OPUS, SONNET}


def test_a_hypothesis_naming_a_model_that_model_option_leaves_out_is_a_note_not_exit_3(
    reports, tmp_path, capsys
):
    # `--model sim:opus_like` runs one model: the cross-model hypothesis names sonnet_like,
    # which no rerun can bring; it is listed as not tested, and the exit code follows the
    # hypotheses that were tested.
    out = tmp_path / "one.json"
    args = ["--store", reports["store"], "--model", OPUS, "--json", str(out)]
    code = main(["test", str(FIXTURES / "cross_model.afs"), *args])
    doc = json.loads(out.read_text())
    assert code == doc["exit_code"] and code in (0, 1)
    assert doc["problems"] == []
    assert {h["name"] for h in doc["hypotheses"]} == {"opus_has_a_gap", "rlhf_drives"}
    (note,) = [n for n in doc["notes"] if "not tested in this run" in n]
    assert "opus_fakes_more" in note and "`sonnet_like`" in note
    assert "not tested in this run" in capsys.readouterr().out
    assert schema_errors(doc) == []
