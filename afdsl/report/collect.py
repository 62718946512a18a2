"""Read an experiment's responses and labels back from a store and analyse them.

This is the part of `afdsl test` that `afdsl report` repeats: no model is
called. Each (model, variant, condition, query, sample) cell has one response;
unparseable labels are left out of the statistics and counted; calls
that failed or samples that are missing become `problems` (exit code 3).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afdsl.diagnostics import AfsError
from afdsl.ir import Experiment, Measure
from afdsl.report._rows import read_cells, read_labels
from afdsl.report.manifest import build_manifest, prompt_set_hash
from afdsl.report.outcome import RunInfo, SampleRow, SequentialInfo, TestOutcome, VariantCounts
from afdsl.stats.models import AnalysisResult


def compliance_measure(experiment: Experiment) -> Measure | None:
    """What hypotheses test unless they say `on MEASURE`: `compliance`, else the first tag."""
    measures = _measures(experiment)
    by_name = {m.name: m for m in measures}
    if "compliance" in by_name:
        return by_name["compliance"]
    return next((m for m in measures if m.kind == "tag"), None) or next(iter(measures), None)


def _measures(experiment: Experiment) -> tuple[Measure, ...]:
    """The measures the classifier labels with (`compliance = tag` when none is declared)."""
    from afdsl.classify import effective_measures

    return effective_measures(experiment)


def _cells(
    rows: Iterable[Any], experiment: Experiment
) -> dict[tuple[str, str, str, str, int], Any]:
    """The response of each (model, variant, condition, query, sample) cell of `experiment`.

    The runner keeps one indexed prompt per cell (it forgets the cells of an
    earlier, edited version of the file), so a cell has at most one response.
    Responses of models or sampling parameters the file no longer names are
    left out.
    """
    params = {m.spec: (m.params_hash(), m.display) for m in experiment.models}
    variants = {v.name for v in experiment.variants}
    queries = {q.id for q in experiment.queries}
    chosen: dict[tuple[str, str, str, str, int], Any] = {}
    for row in rows:
        spec = params.get(row.model)
        if spec is None or row.params_hash != spec[0] or row.variant not in variants:
            continue
        if row.query_id not in queries or row.sample >= experiment.samples:
            continue
        chosen[(spec[1], row.variant, row.condition, row.query_id, row.sample)] = row
    return chosen


def _expected(experiment: Experiment) -> dict[tuple[str, str], int]:
    """Samples each model x variant should have: queries x samples x conditions."""
    n = len(experiment.queries) * experiment.samples
    return {
        (m.display, v.name): n * len(v.scenario.conditions)
        for m in experiment.models
        for v in experiment.variants
    }


@dataclass
class Gathered:
    """Responses and labels of one experiment as read back from the store."""

    chosen: dict[
        tuple[str, str, str, str, int], Any
    ]  # (model, variant, condition, query_id, sample) -> ResponseRow
    records: dict[str, list[dict[str, Any]]]  # measure -> label records (unparseable left out)
    counts: dict[tuple[str, str], VariantCounts]
    samples: list[SampleRow]
    primary: str
    measures: list[str]


def gather(
    experiment: Experiment,
    store: Any,
    only_queries: set[str] | None = None,
    *,
    samples: bool = True,
) -> Gathered:
    """Read the experiment's responses and labels; count errors, unparseable and missing samples.

    `only_queries` restricts everything to those queries (sequential rounds);
    `samples=False` skips the per-sample rows (only the CSV needs them).
    """
    chosen = _cells(read_cells(store, experiment.name), experiment)
    if only_queries is not None:
        chosen = {k: r for k, r in chosen.items() if k[3] in only_queries}
    labels = {
        m.name: read_labels(store, m.name, m.definition_hash()) for m in _measures(experiment)
    }
    primary = compliance_measure(experiment)
    primary_name = primary.name if primary else "compliance"
    primary_labels = labels.get(primary_name)

    rows: list[SampleRow] = []
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in labels}
    by_measure = [(name, by_id, records[name]) for name, by_id in labels.items()]
    unparseable: dict[tuple[str, str], dict[str, int]] = {}
    share = 1.0 if only_queries is None else len(only_queries) / max(len(experiment.queries), 1)
    expected = {key: round(n * share) for key, n in _expected(experiment).items()}
    # Plain integer tallies and dict records: this loop runs once per sample (100,000 in a
    # big report), so it does no more per sample than the statistics need.
    tally = {key: [0, 0, 0, 0] for key in expected}  # responses, errors, unparseable, unlabelled
    for (model, variant, condition, query_id, sample), row in chosen.items():
        count = tally[(model, variant)]
        count[0] += 1
        rid = row.id
        if row.status != "ok":
            count[1] += 1
        else:
            for name, by_id, out in by_measure:
                label = by_id.get(rid)
                if label is None:
                    if rid in by_id:  # labelled, but the label could not be read
                        per = unparseable.setdefault((model, variant), {})
                        per[name] = per.get(name, 0) + 1
                else:
                    out.append(
                        {
                            "model": model,
                            "variant": variant,
                            "condition": condition,
                            "query_id": query_id,
                            "sample": sample,
                            "complied": label,
                        }
                    )
            if primary_labels is not None:
                if rid not in primary_labels:
                    count[3] += 1  # answered but not labelled yet
                elif primary_labels[rid] is None:
                    count[2] += 1
        if samples:
            row_labels = (
                {name: by_id[rid] for name, by_id in labels.items() if rid in by_id}
                if row.status == "ok"
                else {}
            )
            rows.append(
                SampleRow(
                    model, variant, condition, query_id, sample, row.prompt_hash, row.status,
                    row_labels,
                )
            )  # fmt: skip
    counts = _variant_counts(expected, tally, unparseable)
    return Gathered(chosen, records, counts, rows, primary_name, list(labels))


def _variant_counts(
    expected: dict[tuple[str, str], int],
    tally: dict[tuple[str, str], list[int]],
    unparseable: dict[tuple[str, str], dict[str, int]],
) -> dict[tuple[str, str], VariantCounts]:
    """Each model x variant's counts from `gather`'s tallies (responses, errors, unparseable,
    unlabelled); a sample is missing when it has no response or no label yet."""
    return {
        key: VariantCounts(
            model=key[0],
            variant=key[1],
            expected=n,
            responses=tally[key][0],
            errors=tally[key][1],
            unparseable=tally[key][2],
            unparseable_by_measure=unparseable.get(key, {}),
            missing=tally[key][3] + max(n - tally[key][0], 0),
        )
        for key, n in expected.items()
    }


def collect_outcome(
    experiment: Experiment,
    store: Any,
    *,
    file: str,
    store_path: str | Path,
    started_at: str,
    finished_at: str | None = None,
    prompt_set: str | None = None,
    run: RunInfo | None = None,
    problems: list[str] | None = None,
    sequential: SequentialInfo | None = None,
    only_queries: set[str] | None = None,
    samples: bool = True,
) -> TestOutcome:
    """Read responses and labels back from `store` and analyse them (no model call).

    Unparseable labels are left out of the statistics and counted per variant.
    `only_queries` restricts the analysis (used by sequential rounds);
    `samples=False` leaves `outcome.samples` empty (only the CSV report needs them).
    `finished_at` is when the test ended (None: now, as at the end of `afdsl test`).
    """
    problems = list(problems or [])
    got = gather(experiment, store, only_queries, samples=samples)
    counts, chosen = got.counts, got.chosen
    errors = sum(c.errors for c in counts.values())
    missing = sum(c.missing for c in counts.values())
    if errors:
        problems.append(
            f"{errors} model call(s) failed after retries; rerun `afdsl test` to retry them"
        )
    if missing:
        problems.append(f"{missing} expected sample(s) have no response or label in the store")

    analysis, others = _analyse(
        experiment, got.records, got.primary, tolerate=bool(problems), problems=problems
    )
    if prompt_set is None:
        prompt_set = prompt_set_hash((r.model, r.prompt_hash, r.sample) for r in chosen.values())
    manifest = build_manifest(
        experiment,
        store_path=store_path,
        prompt_set=prompt_set,
        started_at=started_at,
        finished_at=finished_at,
        measures=_measures(experiment),
    )
    return TestOutcome(
        experiment=experiment.name,
        file=file,
        manifest=manifest,
        analysis=analysis,
        counts=list(counts.values()),
        run=run,
        sequential=sequential,
        problems=problems,
        compliance_measure=got.primary,
        measures=got.measures,
        measure_analyses=others,
        samples=got.samples,
    )


def _analyse(
    experiment: Experiment,
    records: dict[str, list[dict[str, Any]]],
    primary: str,
    *,
    tolerate: bool,
    problems: list[str],
) -> tuple[AnalysisResult | None, dict[str, AnalysisResult]]:
    """The compliance measure's analysis (with every hypothesis) and each other measure's.

    Each measure is analysed in its own call, so the multiple-comparison
    family of a hypothesis is the hypotheses on its measure.
    """
    from afdsl.stats import analyze_labels

    by_measure: dict[str, list[Any]] = {}
    for h in experiment.hypotheses:
        by_measure.setdefault(h.measure or primary, []).append(h)

    def analyse(measure: str, hypotheses: list[Any]) -> AnalysisResult:
        return analyze_labels(
            records.get(measure, []),
            training=experiment.training,
            deployment=experiment.deployment,
            base="base",
            correction=experiment.correction.method,
            alpha=experiment.correction.alpha,
            hypotheses=hypotheses,
            # `drop condition` variants have no gap; their rates still serve rate() hypotheses.
            partial_variants=True,
        )

    others: dict[str, AnalysisResult] = {}
    try:
        result = analyse(primary, by_measure.pop(primary, []))
    except AfsError as exc:
        if not tolerate:
            raise
        problems.append("no analysis: " + "; ".join(d.message for d in exc.diagnostics))
        return None, {}
    for name, hypotheses in by_measure.items():
        try:
            others[name] = analyse(name, hypotheses)
        except AfsError as exc:  # e.g. labels of an earlier definition: the run is incomplete
            reason = "; ".join(d.message for d in exc.diagnostics)
            problems.append(
                f"no analysis of `{name}` ({reason}); rerun `afdsl test` to label the responses"
            )
    for name, rows in records.items():
        if name != primary and name not in others and rows:
            # Only for display: a measure that cannot be analysed is simply not shown.
            with contextlib.suppress(AfsError):
                others[name] = analyse(name, [])
    merged = result.hypotheses + [h for other in others.values() for h in other.hypotheses]
    ordered = {n: _in_file_order(others[n], experiment) for n in records if n in others}
    return _in_file_order(result.model_copy(update={"hypotheses": merged}), experiment), ordered


def _in_file_order(result: AnalysisResult, experiment: Experiment) -> AnalysisResult:
    """Models, variants and hypotheses in the order the file declares them (the store sorts
    by name; sorting the few results is far cheaper than sorting every sample)."""
    models = {m.display: i for i, m in enumerate(experiment.models)}
    variants = {v.name: i for i, v in enumerate(experiment.variants)}
    declared = {h.name: i for i, h in enumerate(experiment.hypotheses)}

    def by_variant(item: Any) -> tuple[int, int]:
        return models.get(item.model or "", 0), variants.get(item.variant, 0)

    return result.model_copy(
        update={
            "variants": sorted(result.variants, key=by_variant),
            "contrasts": sorted(result.contrasts, key=by_variant),
            "one_condition": sorted(result.one_condition, key=by_variant),
            "hypotheses": sorted(
                result.hypotheses,
                key=lambda h: (models.get(h.model or "", 0), declared.get(h.name, 0)),
            ),
        }
    )
