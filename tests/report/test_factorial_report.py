"""`afdsl test` end to end on a 2^2 `cross` of library probes on the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afdsl.cli import main
from tests.report.schema import schema_errors

FIXTURES = Path(__file__).parent / "fixtures"
CELLS = ["base", "no_rlhf", "openai_trainer", "no_rlhf__openai_trainer"]


def test_a_two_by_two_cross_is_run_and_its_contrasts_are_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(FIXTURES)
    report = tmp_path / "r.json"
    args = ["test", "factorial.afs", "--store", str(tmp_path / "s.sqlite"), "--json", str(report)]
    assert main(args) == 1  # the interaction and the lab effect are not significant
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert schema_errors(doc) == []
    assert [v["variant"] for v in doc["variants"]] == CELLS
    gap = {v["variant"]: v["gap"] for v in doc["variants"]}
    hypotheses = {h["name"]: h for h in doc["hypotheses"]}
    assert [h["expression"] for h in doc["hypotheses"]] == [
        "effect(no_rlhf) < 0",
        "effect(openai_trainer) < 0",
        "interaction(no_rlhf, openai_trainer) != 0",
        "gap(no_rlhf__openai_trainer) < gap(base)",
    ]
    # Every query is answered in every cell, so each contrast of per-query gaps equals
    # the same contrast of the variants' mean gaps.
    base, a, b, ab = (gap[c] for c in CELLS)
    expected = {
        "rlhf_effect": (a + ab) / 2 - (base + b) / 2,
        "lab_effect": (b + ab) / 2 - (base + a) / 2,
        "together": (ab - b) - (a - base),
        "both_vs_base": ab - base,
    }
    for name, value in expected.items():
        h = hypotheses[name]
        assert h["estimate"] == pytest.approx(value, abs=1e-12)
        assert h["n_queries"] == 56 and h["ci"][0] < h["estimate"] < h["ci"][1]
    # sim:opus_like's drive shrinks without the RLHF explanation (docs/simulator.md).
    assert hypotheses["rlhf_effect"]["verdict"] == "pass"
    assert hypotheses["rlhf_effect"]["n_samples"] == 4 * 2 * 56 * 2
    out = capsys.readouterr().out
    assert "effect(no_rlhf) < 0" in out and "no_rlhf__openai_trainer" in out
