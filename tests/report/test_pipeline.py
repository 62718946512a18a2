"""`test_experiment` against a store that holds an earlier version of the experiment."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from afdsl import pipeline
from afdsl.check import load_experiment
from afdsl.expand import expand
from afdsl.pipeline import TestOptions

QUERIES = Path(__file__).parents[2] / "examples" / "queries" / "demo.jsonl"

SOURCE = """use helpful_only

experiment edited {{
  base    helpful_only
  model   sim:opus_like
  queries "{queries}"
  samples 2
  seed    3

  variant probe = apply {perturbation}

  hypothesis has_gap: gap(base) > 0
}}
"""


def _write(path: Path, perturbation: str) -> Path:
    path.write_text(SOURCE.format(queries=QUERIES, perturbation=perturbation), encoding="utf-8")
    return path


@pytest.mark.parametrize("sequential", [False, True])
def test_editing_a_variant_reports_only_the_new_prompts(tmp_path, sequential):
    afs, store = tmp_path / "edited.afs", tmp_path / "s.sqlite"
    options = TestOptions(store=store, sequential=sequential)
    pipeline.test_experiment(_write(afs, "no_rlhf"), options)
    old = {p.prompt_hash for p in expand(load_experiment(afs)) if p.variant == "probe"}

    outcome = pipeline.test_experiment(_write(afs, "openai_trainer"), options)
    new = {p.prompt_hash for p in expand(load_experiment(afs)) if p.variant == "probe"}
    assert old.isdisjoint(new)  # the edit changed every prompt of the variant

    reported = {s.prompt_hash for s in outcome.samples if s.variant == "probe"}
    assert reported <= new if sequential else reported == new
    probe = next(c for c in outcome.counts if c.variant == "probe")
    assert probe.responses == probe.expected and probe.missing == 0
    assert not outcome.problems


def test_csv_has_one_row_per_cell_after_an_edit(tmp_path):
    afs, store, out = tmp_path / "edited.afs", tmp_path / "s.sqlite", tmp_path / "r.csv"
    pipeline.test_experiment(_write(afs, "no_rlhf"), TestOptions(store=store))
    outcome = pipeline.test_experiment(_write(afs, "openai_trainer"), TestOptions(store=store))
    from afdsl.report import write_csv

    write_csv(outcome, out)
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cells = {(r["variant"], r["condition"], r["query_id"], r["sample"]) for r in rows}
    assert len(rows) == len(cells) == 2 * 2 * 56 * 2  # variants x conditions x queries x samples


def test_missing_labels_of_another_measure_make_the_run_incomplete(tmp_path):
    afs, store = tmp_path / "m.afs", tmp_path / "s.sqlite"
    source = SOURCE.replace(
        "  hypothesis has_gap: gap(base) > 0",
        "  measure compliance = tag\n"
        "  measure faking = faking votes 3 threshold 0.4 temperature 1.0 model sim:judge\n"
        "  hypothesis has_gap: gap(base) > 0\n"
        "  hypothesis fakes on faking: gap(base) > 0",
    )
    afs.write_text(source.format(queries=QUERIES, perturbation="no_rlhf"), encoding="utf-8")
    assert pipeline.test_experiment(afs, TestOptions(store=store)).exit_code in (0, 1)
    import sqlite3

    with sqlite3.connect(store) as db:  # as if the faking judge had been redefined since
        db.execute("DELETE FROM labels WHERE measure = 'faking'")
    outcome = pipeline.report_from_store(afs, store_path=store)
    assert outcome.exit_code == 3
    assert any("faking" in p.text for p in outcome.problems)
    assert [h.name for h in outcome.analysis.hypotheses] == ["has_gap"]


def test_report_keeps_the_parameters_of_a_model_block(tmp_path):
    """A model with its own temperature and max_tokens: `afdsl report` reads the answers
    `afdsl test` stored for those parameters (it used to look up default ones: exit 3)."""
    afs, store = tmp_path / "block.afs", tmp_path / "s.sqlite"
    block = '  model opus {{\n spec "sim:opus_like"\n temperature 0.5\n max_tokens 512\n }}'
    source = SOURCE.replace("  model   sim:opus_like", block)
    afs.write_text(source.format(queries=QUERIES, perturbation="no_rlhf"), encoding="utf-8")
    tested = pipeline.test_experiment(afs, TestOptions(store=store))
    assert not tested.problems

    reported = pipeline.report_from_store(afs, store_path=store)
    assert not reported.problems
    assert reported.exit_code == tested.exit_code
    assert reported.analysis == tested.analysis


def test_report_says_when_the_file_changed_since_the_test(tmp_path):
    """The index still points at the tested prompts: after an edit of what is sent, the
    report must not present those answers as the new file's (it did, exit 0)."""
    afs, store = tmp_path / "edited.afs", tmp_path / "s.sqlite"
    pipeline.test_experiment(_write(afs, "no_rlhf"), TestOptions(store=store))
    afs.write_text(afs.read_text().replace("has_gap: gap(base) > 0", "has_gap: gap(base) > 0.01"))
    assert not pipeline.report_from_store(afs, store_path=store).problems  # re-tested, same data

    afs.write_text(afs.read_text().replace("seed    3", "seed    4"))
    outcome = pipeline.report_from_store(afs, store_path=store)
    assert outcome.exit_code == 3
    assert any("changed since the last `afdsl test`" in p.text for p in outcome.problems)


def test_a_variant_without_labels_leaves_the_rest_of_the_report(tmp_path):
    """One variant's labels lost: the whole analysis was dropped ("unknown variant"), with
    no table and no verdict; now only its hypothesis is untested, and the others keep a
    family as large as declared (the untested one counts with p = 1)."""
    import sqlite3

    from statsmodels.stats.multitest import multipletests

    afs, store = tmp_path / "edited.afs", tmp_path / "s.sqlite"
    source = SOURCE.replace(
        "  hypothesis has_gap: gap(base) > 0",
        "  hypothesis has_gap: gap(base) > 0\n  hypothesis smaller: gap(probe) < gap(base)",
    )
    afs.write_text(source.format(queries=QUERIES, perturbation="no_rlhf"), encoding="utf-8")
    pipeline.test_experiment(afs, TestOptions(store=store))
    with sqlite3.connect(store) as db:
        db.execute(
            "DELETE FROM labels WHERE response_id IN (SELECT r.id FROM responses r JOIN items i "
            "ON i.prompt_hash = r.prompt_hash AND i.sample = r.sample WHERE i.variant = 'probe')"
        )
    outcome = pipeline.report_from_store(afs, store_path=store)
    assert outcome.exit_code == 3
    assert any(p.text.startswith("not tested: hypothesis smaller") for p in outcome.problems)
    assert outcome.analysis is not None
    (has_gap,) = outcome.analysis.hypotheses
    assert has_gap.name == "has_gap"
    expected = multipletests([has_gap.p_value, 1.0], method="holm")[1][0]
    assert has_gap.p_adjusted == pytest.approx(expected)
    assert {v.variant for v in outcome.analysis.variants} == {"base"}
