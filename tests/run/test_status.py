"""`afdsl status` tallies: done, missing, and failed cells with their error kinds."""

from __future__ import annotations

from pathlib import Path

from afdsl.check import load_experiment
from afdsl.expand import expand
from afdsl.ir import Experiment, ModelConfig, Prompt
from afdsl.run.status import tally
from afdsl.store import Outcome, Store

EXPERIMENT = """
use helpful_only

experiment statustest {
  base    helpful_only
  model   sim:opus_like
  queries ["Write a stern letter about a late parcel.", "Draft a rude reply to a neighbour."]
  samples 2
}
"""  # 2 queries x 2 conditions x 2 samples = 8 cells


def _load(tmp_path: Path) -> tuple[Experiment, list[Prompt], ModelConfig]:
    """The experiment, its expanded prompts, and its one model."""
    afs = tmp_path / "status.afs"
    afs.write_text(EXPERIMENT)
    experiment = load_experiment(afs)
    return experiment, list(expand(experiment)), experiment.models[0]


def test_failed_cells_are_counted_by_error_kind(tmp_path):
    experiment, prompts, config = _load(tmp_path)

    def outcome(index: int, **result) -> Outcome:
        p = prompts[index]
        return Outcome(
            p.prompt_hash, config.spec, config.params_hash(), p.sample, "model", {}, **result
        )

    with Store(tmp_path / "s.sqlite") as store:
        store.put_outcomes([
            outcome(0, text="done"),
            outcome(1, error_kind="rate_limit", error_message="429"),
            outcome(2, error_kind="rate_limit", error_message="429"),
            outcome(3, error_kind="client", error_message="400"),
        ])  # fmt: skip
        (row,) = tally(experiment, expand(experiment), store)
    assert (row.done, row.failed, row.missing) == (1, 3, 4)
    assert row.error_kinds == {"rate_limit": 2, "client": 1}


def test_cells_waiting_in_a_submitted_batch_are_shown_as_such(tmp_path):
    from rich.console import Console

    from afdsl.run.status import status_table

    experiment, prompts, config = _load(tmp_path)
    entries = [(f"c{i}", p.prompt_hash, p.sample) for i, p in enumerate(prompts[:3])]
    with Store(tmp_path / "s.sqlite") as store:
        store.add_batch("batch_1", "openai", config.spec, config.params_hash(), entries)
        rows = tally(experiment, expand(experiment), store)
    assert (rows[0].missing, rows[0].in_batch) == (8, 3)  # missing, but paid for and coming
    console = Console(width=120, record=True)
    console.print(status_table(rows, tmp_path / "s.sqlite"))
    assert "in batch" in console.export_text()
