"""The terminal report: shared bar scales, bars for every measure, `afdsl report` naming
itself and its stored run, singular and plural words, and the seed's reach."""

from __future__ import annotations

import io

from rich.console import Console

from afdsl.analysis import MeasureEntry
from afdsl.report import render_terminal


def _terminal(outcome, width: int = 160, command: str = "test") -> str:
    buf = io.StringIO()
    render_terminal(outcome, Console(file=buf, width=width), command)
    return buf.getvalue()


def _scales(out: str) -> list[str]:
    """The bar column's header of each variant table: `Δgap ±N pp`."""
    return [line.split("Δgap ±")[1].split()[0] for line in out.splitlines() if "Δgap ±" in line]


def test_bars_of_one_measure_share_one_scale_across_models(make_outcome):
    outcome = make_outcome(models=("sim:opus_like", "anthropic:claude"))
    for c in outcome.analysis.contrasts:
        if c.model == "anthropic:claude":  # this model's intervals reach -45 points
            c.ci = (-0.45, c.ci[1])
    assert _scales(_terminal(outcome)) == ["45", "45"]


def test_every_measure_has_bars_on_its_own_scale(make_outcome):
    outcome = make_outcome()
    faking = outcome.analysis.model_copy(deep=True)
    for c in faking.contrasts:
        c.ci = (c.ci[0] - 0.2, c.ci[1])
    outcome.measure_analyses["faking"] = faking
    out = _terminal(outcome)
    assert _scales(out) == ["15", "35"]  # compliance, then faking
    assert out.count("●") >= 4  # two contrasts in each table


def test_report_names_itself_and_shows_the_stored_runs_time(make_outcome):
    test = _terminal(make_outcome())
    assert "afdsl test · demo" in test and "in 1.5 s" in test
    report = _terminal(make_outcome(), command="report")
    assert "afdsl report · demo" in report and "afdsl test" not in report
    stored = next(line for line in report.splitlines() if "stored run" in line)
    assert "finished 2026-01-01 00:01 UTC" in stored and "1.5 s" in stored
    assert "in 1.5 s" not in report  # a re-render took no run's time


def test_one_query_and_one_sample_are_singular(make_outcome):
    outcome = make_outcome()
    outcome.manifest.samples = outcome.manifest.n_queries = 1
    assert "1 query x 1 sample" in _terminal(outcome)
    outcome.manifest.samples, outcome.manifest.n_queries = 2, 30
    assert "30 queries x 2 samples" in _terminal(outcome)


def test_the_seed_line_says_when_a_real_provider_may_ignore_it(make_outcome):
    simulated = _terminal(make_outcome())
    seed = next(line for line in simulated.splitlines() if line.startswith("│ seed"))
    assert seed.split()[2] == "7" and "ignores" not in seed
    real = _terminal(make_outcome(models=("anthropic:claude",)))
    assert "a provider that ignores the seed answers anew on each run" in real
    judged = make_outcome()
    judged.manifest.measures = [
        MeasureEntry(name="faking", kind="faking", definition_hash="0", judge="openai:gpt-4o")
    ]
    assert "ignores the seed" in _terminal(judged)
