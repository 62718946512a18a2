"""`classify_experiment`: label every stored response of an experiment with every measure.

Only missing or stale labels are computed (see `afdsl.classify.measures` for
what makes a label stale). All judge calls of all measures go to the runner
in one batch, so they share its concurrency, rate limits and budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from afdsl.classify.measures import measure_spec, template_version
from afdsl.classify.models import ClassifySummary, MeasureSummary, Score
from afdsl.classify.score import (
    Plan,
    Target,
    judge_failure,
    plan_score,
    read_replies,
    resolve_score,
    run_judges,
)
from afdsl.ir import Experiment, Measure
from afdsl.run.conversation import unfinished_reason

if TYPE_CHECKING:
    from afdsl.run import RunOptions
    from afdsl.store import LabelRow, Store, StoredLabel, TextRow


# Responses whose judge replies are read at once: bounds the replies held in memory.
_RESOLVE_CHUNK = 1000


def effective_measures(experiment: Experiment) -> tuple[Measure, ...]:
    """The experiment's measures; `compliance = tag` when it declares none (as the docs say)."""
    return experiment.effective_measures()


def _is_current(stored: StoredLabel, version: str | None) -> bool:
    return version is None or stored.template == version


def _count(summary: MeasureSummary, label: int | None) -> None:
    if label is None:
        summary.unparseable += 1
    elif label == 1:
        summary.positive += 1
    else:
        summary.negative += 1


def _label_row(measure: Measure, response_id: int, score: Score) -> LabelRow:
    from afdsl.store import LabelRow

    return LabelRow(
        response_id=response_id,
        measure=measure.name,
        definition_hash=measure.definition_hash(),
        label=score.label,
        score=score.score,
        detail=score.detail,
    )


def classify_experiment(
    experiment: Experiment,
    store: Store,
    options: RunOptions | None = None,
    *,
    measures: tuple[Measure, ...] | None = None,
    models: Sequence[str] | None = None,
) -> ClassifySummary:
    """Label every ok response of `experiment` in `store`; never calls the model under test.

    Judge calls that fail or are cut off by the budget leave their responses
    unlabelled (`pending`), so a rerun picks them up. With `options.dry_run`
    nothing is sent or stored; the summary carries the judge calls' estimates.
    `models` (specs) restricts labelling to those models' responses.
    """
    from afdsl.run import RunOptions

    options = options or RunOptions()
    measures = measures if measures is not None else effective_measures(experiment)
    rows: dict[int, TextRow] = {}
    for row in store.ok_texts(experiment.name):
        if models is None or row.model in models:
            rows.setdefault(row.id, row)
    targets = _targets(experiment, rows)
    summary = ClassifySummary(experiment=experiment.name)
    waiting: list[_Waiting] = []
    for measure in measures:
        spec = measure_spec(measure)  # a bad parameter fails before any call
        counts = MeasureSummary(measure=measure.name, kind=measure.kind, responses=len(rows))
        summary.measures.append(counts)
        fresh, judge = _plan_measure(
            measure, template_version(spec), counts, targets, store, experiment.seed
        )
        waiting += judge
        if not options.dry_run:
            store.put_labels(fresh)
    run = run_judges([w.plan for w in waiting], store, options)
    if options.dry_run:
        for w in waiting:
            w.counts.pending += 1
        summary.dry_run = True
        summary.judge_estimates = run.estimates if run is not None else []
        summary.judge_cached = run.cached if run is not None else 0
        return summary
    if run is not None:
        summary.judge_calls = run.total
        summary.judge_cached = run.cached
        summary.judge_sent = run.sent
        summary.judge_failed = run.failed
        summary.judge_stopped = dict(run.stopped)
        summary.judge_cost_usd = run.cost_usd
        summary.budget_exhausted = run.budget_exhausted
    store.put_labels(_judged_labels(waiting, store, summary.pending_reasons))
    return summary


def _judged_labels(
    waiting: list[_Waiting], store: Store, pending_reasons: dict[str, int]
) -> list[LabelRow]:
    """Labels from the judges' stored replies; a response whose calls failed stays pending
    and its reason (the call's error, or "not sent") is counted in `pending_reasons`."""
    judged: list[LabelRow] = []
    for start in range(0, len(waiting), _RESOLVE_CHUNK):
        chunk = waiting[start : start + _RESOLVE_CHUNK]
        replies = read_replies([w.plan for w in chunk], store)
        for w in chunk:
            score = resolve_score(w.measure, w.plan, replies)
            if score is None:
                w.counts.pending += 1
                why = judge_failure(w.plan, replies)
                pending_reasons[why] = pending_reasons.get(why, 0) + 1
                continue
            judged.append(_label_row(w.measure, w.response_id, score))
            w.counts.labelled += 1
            _count(w.counts, score.label)
    return judged


class _Waiting(NamedTuple):
    """A response whose label waits for judge calls, and the summary it counts in."""

    measure: Measure
    counts: MeasureSummary
    response_id: int
    plan: Plan


def _targets(experiment: Experiment, rows: dict[int, TextRow]) -> dict[int, Target]:
    """What each response is scored as: its text, its query, and for a conversation
    that ended without its `until` text, why it has no output."""
    queries = {q.id: q.text for q in experiment.queries}
    protocols = {v.name: v.scenario.continuation for v in experiment.variants}
    targets: dict[int, Target] = {}
    for response_id, row in rows.items():
        protocol = protocols.get(row.variant)
        targets[response_id] = Target(
            text=row.text,
            request=queries.get(row.query_id, ""),
            experiment=row.experiment,
            variant=row.variant,
            condition=row.condition,
            query_id=row.query_id,
            unfinished=unfinished_reason(protocol, row.text) if protocol else None,
        )
    return targets


def _plan_measure(
    measure: Measure,
    version: str | None,
    counts: MeasureSummary,
    targets: dict[int, Target],
    store: Store,
    seed: int,
) -> tuple[list[LabelRow], list[_Waiting]]:
    """One measure's labels that need no model call, and the responses that wait for a judge.

    A stored label of the current definition and template is kept and counted.
    """
    existing = store.labels(measure.name, measure.definition_hash())
    fresh: list[LabelRow] = []
    waiting: list[_Waiting] = []
    for response_id, target in targets.items():
        stored = existing.get(response_id)
        if stored is not None and _is_current(stored, version):
            counts.already_labelled += 1
            _count(counts, stored.label)
            continue
        plan = plan_score(measure, target, seed=seed)
        if plan.score is not None:
            fresh.append(_label_row(measure, response_id, plan.score))
            counts.labelled += 1
            _count(counts, plan.score.label)
        else:
            waiting.append(_Waiting(measure, counts, response_id, plan))
    return fresh, waiting
