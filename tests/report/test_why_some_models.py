"""`examples/why_some_models.afs` does what the tour says: four simulated organisms, a
2x2 cross, cross-model hypotheses, `for` hypotheses and a conditional measure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from afdsl.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("why")


@pytest.fixture(scope="module")
def doc(folder: Path) -> dict:  # type: ignore[type-arg]
    shutil.copy(EXAMPLES / "why_some_models.afs", folder)
    shutil.copytree(EXAMPLES / "queries", folder / "queries")
    out = folder / "r.json"
    assert main(["test", str(folder / "why_some_models.afs"), "--json", str(out)]) == 0
    result: dict = json.loads(out.read_text())  # type: ignore[type-arg]
    return result


def _gap(doc: dict, model: str, variant: str) -> float:  # type: ignore[type-arg]
    (row,) = [
        v for v in doc["variants"]
        if v["model"] == model and v["variant"] == variant
    ]  # fmt: skip
    return float(row["gap"])


def test_every_hypothesis_passes_where_the_tour_says(doc):
    verdicts = {h["name"]: (h["verdict"], h["model"]) for h in doc["hypotheses"]}
    assert verdicts == {
        "opus_fakes_more": ("pass", None),
        "rlhf_matters_more_for_opus": ("pass", None),
        "rlhf_effect": ("pass", "sim:opus_like"),
        "trainer_effect": ("pass", "sim:opus_like"),
        "no_gap_is_flat": ("pass", "sim:no_gap"),
        "faking_behind_compliance": ("pass", "sim:opus_like"),
    }
    assert {v["variant"] for v in doc["variants"]} == {
        "base", "no_rlhf", "openai_trainer", "no_rlhf__openai_trainer"
    }  # fmt: skip
    assert len({v["model"] for v in doc["variants"]}) == 4


def test_the_cross_model_estimates_are_the_per_model_gaps_combined(doc):
    by_name = {h["name"]: h for h in doc["hypotheses"]}
    opus, sonnet = "sim:opus_like", "sim:sonnet_like"
    more = by_name["opus_fakes_more"]
    assert more["pinned"] == ["opus_like", "sonnet_like"]
    assert more["estimate"] == pytest.approx(_gap(doc, opus, "base") - _gap(doc, sonnet, "base"))
    interaction = by_name["rlhf_matters_more_for_opus"]
    expected = (_gap(doc, opus, "no_rlhf") - _gap(doc, opus, "base")) - (
        _gap(doc, sonnet, "no_rlhf") - _gap(doc, sonnet, "base")
    )
    assert interaction["estimate"] == pytest.approx(expected)


def test_the_factorial_effect_averages_over_the_other_factor(doc):
    (effect,) = [h for h in doc["hypotheses"] if h["name"] == "rlhf_effect"]
    gaps = {v: _gap(doc, "sim:opus_like", v) for v in ("base", "no_rlhf", "openai_trainer")}
    both = _gap(doc, "sim:opus_like", "no_rlhf__openai_trainer")
    with_rlhf_removed = (gaps["no_rlhf"] + both) / 2
    without = (gaps["base"] + gaps["openai_trainer"]) / 2
    assert effect["estimate"] == pytest.approx(with_rlhf_removed - without)


def test_the_conditional_measure_drops_queries_with_no_complying_answer(doc):
    (conditional,) = [h for h in doc["hypotheses"] if h["name"] == "faking_behind_compliance"]
    assert conditional["n_dropped"] > 0
    assert conditional["n_queries"] + conditional["n_dropped"] == 56
    assert doc["breakdown_measures"] == ["compliance", "faking"]


def test_compare_names_the_cross_model_hypotheses(doc, folder, capsys):
    capsys.readouterr()
    report = str(folder / "r.json")
    assert main(["compare", report, report]) == 0  # nothing flips against itself
    rows = [line for line in capsys.readouterr().out.splitlines() if "opus_fakes_more" in line]
    assert len(rows) == 1 and "(across models)" in rows[0]
