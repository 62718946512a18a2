"""Build the `TestRecord` of a run from the store: counts, problems, statistics, manifest.

This is the part of `afdsl test` that `afdsl report` repeats: no model is
called. Unparseable labels are left out of the statistics and counted; calls
that failed or samples that are missing become problems (exit code 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from afdsl.analysis._analyse import analyse, apply_verdicts
from afdsl.analysis._gather import Gathered, gather
from afdsl.analysis._manifest import Manifest, build_manifest
from afdsl.analysis._record import RUN_KINDS, Problem, RunRecord, TestRecord
from afdsl.ir import Experiment
from afdsl.stats.contributions import HypothesisQueries
from afdsl.stats.models import AnalysisResult
from afdsl.store import Store


def _simulator_notes(experiment: Experiment) -> list[Problem]:
    """Where a `sim:` organism recognises none of a cue's wording (its numbers there do
    not follow its documented behaviour)."""
    if not any(m.provider == "sim" for m in experiment.models):
        return []
    from afdsl.analysis.sim_cues import CUE_HINT, cue_warnings

    return [
        Problem(kind="simulator_cue", detail=f"{message} ({CUE_HINT})")
        for message in cue_warnings(experiment)
    ]


def _left_out_notes(experiment: Experiment) -> list[Problem]:
    """Hypotheses not tested because `--model` left out a model they name."""
    return [
        Problem(
            kind="left_out",
            hypothesis=name,
            detail=f"not tested in this run: hypothesis {name} names "
            + ", ".join(f"`{m}`" for m in models)
            + ", which --model left out",
        )
        for name, models in experiment.left_out
    ]


def _counted_problems(got: Gathered) -> list[Problem]:
    """What the store's counts say is missing: failed calls, unanswered samples, answers
    not labelled yet (`afdsl status` counts those as done, so they are told apart), and
    samples stored under two prompts."""
    counts = got.counts.values()
    unanswered = sum(max(c.expected - c.responses, 0) for c in counts)
    found = [
        Problem(kind="failed_calls", count=sum(c.errors for c in counts)),
        Problem(kind="unanswered", count=unanswered),
        Problem(kind="unlabelled", count=sum(c.missing for c in counts) - unanswered),
        Problem(kind="duplicated", count=got.duplicated),
    ]
    return [p for p in found if p.count]


def _manifest(
    experiment: Experiment, store: Store, facts: RunRecord, got: Gathered, store_path: str | Path
) -> Manifest:
    """The run's manifest: its times and prompt set (hashed from the store without a
    record), and the model ids each provider answered as."""
    return build_manifest(
        experiment,
        store_path=store_path,
        prompt_set=facts.prompt_set_hash or got.prompt_set_hash(),
        started_at=facts.started_at,
        finished_at=facts.finished_at,
        measures=experiment.effective_measures(),
        served_ids={
            m.spec: store.served_model_ids(m.spec, m.params_hash()) for m in experiment.models
        },
    )


def build_record(
    experiment: Experiment,
    store: Store,
    facts: RunRecord,
    *,
    store_path: str | Path,
    problems: Sequence[Problem] = (),
    samples: bool = True,
) -> TestRecord:
    """Read responses and labels back from `store` and analyse them (no model call).

    `facts` is what the run recorded (or, with no record, the file and the
    start time): its queries restrict the analysis (sequential rounds), its
    verdicts replace the fixed-sample ones, and its problems are kept while the
    store's counts are still the ones it recorded. `problems` come first.
    `samples=False` leaves `record.samples` empty (only the CSV and the labels
    export need them).
    """
    used = set(facts.queries_used) if facts.queries_used is not None else None
    got = gather(experiment, store, used, samples=samples)
    counts = list(got.counts.values())
    earlier = facts.problems
    if facts.counts and counts != facts.counts:  # a later run or classify changed the store
        earlier = [p for p in earlier if p.kind not in RUN_KINDS]
    counted = _counted_problems(got)
    found = [*problems, *earlier, *counted]
    analysed = analyse(
        experiment,
        got.tables,
        got.primary,
        explained=bool(problems or facts.problems or counted),
        unreadable=_unreadable(got),
        file=facts.file,
        cells=got.cells,
    )
    return TestRecord(
        # what was tested
        experiment=experiment.name,
        file=facts.file,
        manifest=_manifest(experiment, store, facts, got, store_path),
        run=facts.run,
        sequential=facts.sequential,
        # what the store holds
        counts=counts,
        problems=[*found, *analysed.problems],
        notes=[*_simulator_notes(experiment), *_left_out_notes(experiment), *analysed.notes],
        samples=got.samples,
        # what the statistics say (a sequential run's verdicts are its e-processes')
        compliance_measure=got.primary,
        measures=got.measures,
        analysis=apply_verdicts(analysed.analysis, facts.verdicts),
        measure_analyses=analysed.others,
        breakdown=got.breakdown,
        derived_measures={m.name: m.definition() for m in experiment.derived},
        breakdown_measures=got.breakdown_measures,
        verdicts=facts.verdicts,
        query_contributions=_contributions(experiment, got, analysed.analysis),
    )


def _unreadable(got: Gathered) -> dict[str, int]:
    """Each measure's count of unparseable labels over every cell."""
    counts = got.counts.values()
    return {
        name: sum(c.unparseable_by_measure.get(name, 0) for c in counts) for name in got.measures
    }


def _contributions(
    experiment: Experiment, got: Gathered, analysis: AnalysisResult | None
) -> list[HypothesisQueries]:
    """The per-query values behind each tested hypothesis (what the HTML's query tables show)."""
    from afdsl.stats.contributions import tested_queries

    return tested_queries(
        analysis.hypotheses if analysis else [],
        experiment.hypotheses,
        got.tables,
        got.primary,
        experiment.training,
        experiment.deployment,
    )
