"""Read an experiment's responses and labels back from a store and analyse them.

This is the part of `afdsl test` that `afdsl report` repeats: no model is
called. Each (model, variant, condition, query, sample) cell has one response;
unparseable labels are left out of the statistics and counted; calls
that failed or samples that are missing become `problems` (exit code 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from afdsl.diagnostics import AfsError
from afdsl.ir import Experiment, Measure
from afdsl.report.manifest import build_manifest, hash_prompt_lines
from afdsl.report.outcome import RunInfo, SampleRow, SequentialInfo, TestOutcome, VariantCounts
from afdsl.stats.contributions import tested_queries
from afdsl.stats.models import AnalysisResult
from afdsl.stats.table import LabelTable
from afdsl.store import CellRow


def _simulator_notes(experiment: Experiment) -> list[str]:
    """Where a `sim:` organism recognises none of a cue's wording (its numbers there do
    not follow its documented behaviour)."""
    if not any(m.provider == "sim" for m in experiment.models):
        return []
    from afdsl.models.sim_cues import CUE_HINT, cue_warnings

    return [f"{message} ({CUE_HINT})" for message in cue_warnings(experiment)]


def compliance_measure(experiment: Experiment) -> Measure | None:
    """What hypotheses test unless they say `on MEASURE`: `compliance`, else the first tag."""
    measures = experiment.effective_measures()
    by_name = {m.name: m for m in measures}
    if "compliance" in by_name:
        return by_name["compliance"]
    return next((m for m in measures if m.kind == "tag"), None) or next(iter(measures), None)


CellId = tuple[str, str, str, str, int]  # (model display name, variant, condition, query, sample)


@dataclass
class _Design:
    """Which stored cells belong to the experiment as its file now declares it.

    The runner keeps one indexed prompt per cell (it forgets the cells of an
    earlier, edited version of the file). Responses of models or sampling
    parameters the file no longer names are left out, and so are variants and
    queries it no longer has (or outside `only_queries`, when given).
    """

    models: dict[str, tuple[str, str]]  # spec -> (params hash, display name)
    variants: set[str]
    queries: set[str]
    samples: int

    @classmethod
    def of(cls, experiment: Experiment, only_queries: set[str] | None) -> _Design:
        queries = {q.id for q in experiment.queries}
        return cls(
            models={m.spec: (m.params_hash(), m.display) for m in experiment.models},
            variants={v.name for v in experiment.variants},
            queries=queries if only_queries is None else queries & only_queries,
            samples=experiment.samples,
        )

    def model(self, spec: str, params_hash: str, variant: str, query_id: str) -> str | None:
        """The display name of a stored cell's model; None if the cell is not in the design."""
        wanted = self.models.get(spec)
        if wanted is None or params_hash != wanted[0]:
            return None
        if variant not in self.variants or query_id not in self.queries:
            return None
        return wanted[1]


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

    tables: dict[str, LabelTable]  # measure -> per-query counts (unparseable left out)
    counts: dict[tuple[str, str], VariantCounts]
    samples: list[SampleRow]
    primary: str
    measures: list[str]
    prompts: list[str]  # QueryCounts.prompts of every counted query
    duplicated: int  # samples stored under two prompts (an index of an earlier file version)


def gather(
    experiment: Experiment,
    store: Any,
    only_queries: set[str] | None = None,
    *,
    samples: bool = True,
) -> Gathered:
    """Read the experiment's responses and labels; count errors, unparseable and missing samples.

    The statistics need only per-query counts, which the store computes (a row
    per query, not per sample). `only_queries` restricts everything to those
    queries (sequential rounds); `samples=False` skips the per-sample rows
    (only the CSV and the labels export need them).
    """
    design = _Design.of(experiment, only_queries)
    measures = experiment.effective_measures()
    names = [m.name for m in measures]
    primary = compliance_measure(experiment)
    primary_name = primary.name if primary else "compliance"
    first = names.index(primary_name) if primary_name in names else None
    tables = {name: LabelTable() for name in names}
    unparseable: dict[tuple[str, str], dict[str, int]] = {}
    share = 1.0 if only_queries is None else len(only_queries) / max(len(experiment.queries), 1)
    expected = {key: round(n * share) for key, n in _expected(experiment).items()}
    tally = {key: [0, 0, 0, 0] for key in expected}  # responses, errors, unparseable, unlabelled
    prompts: list[str] = []
    duplicated = 0
    groups = store.query_counts(
        experiment.name, [(m.name, m.definition_hash()) for m in measures], experiment.samples
    )
    for group in groups:
        model = design.model(group.model, group.params_hash, group.variant, group.query_id)
        if model is None:
            continue
        key = (model, group.variant)
        count = tally[key]
        count[0] += group.responses
        count[1] += group.errors
        duplicated += group.responses - group.samples
        prompts.append(group.prompts)
        for name, labels in zip(names, group.labels, strict=True):
            parsed = labels.labelled - labels.unparseable
            if parsed:
                tables[name].add(
                    model, group.variant, group.condition, group.query_id, labels.complied, parsed
                )
            if labels.unparseable:
                per = unparseable.setdefault(key, {})
                per[name] = per.get(name, 0) + labels.unparseable
        if first is not None:
            count[2] += group.labels[first].unparseable
            # answered but not labelled yet
            count[3] += group.responses - group.errors - group.labels[first].labelled
    counts = _variant_counts(expected, tally, unparseable)
    rows = _sample_rows(store, experiment, design, measures) if samples else []
    return Gathered(tables, counts, rows, primary_name, names, prompts, duplicated)


def _sample_rows(
    store: Any, experiment: Experiment, design: _Design, measures: Iterable[Measure]
) -> list[SampleRow]:
    """One row per stored response of the design, with its labels by measure.

    Reads the store's lean API (`cells`, `label_values`: tuples and plain dicts,
    never the response text) rather than a validated `ResponseRow` per sample.
    """
    labels = {m.name: store.label_values(m.name, m.definition_hash()) for m in measures}
    chosen: dict[CellId, CellRow] = {}
    for row in store.cells(experiment.name, purpose="model"):
        model = design.model(row.model, row.params_hash, row.variant, row.query_id)
        if model is not None and row.sample < design.samples:
            chosen[(model, row.variant, row.condition, row.query_id, row.sample)] = row
    rows = []
    for (model, variant, condition, query_id, sample), row in chosen.items():
        by_measure = (
            {name: by_id[row.id] for name, by_id in labels.items() if row.id in by_id}
            if row.status == "ok"
            else {}
        )
        rows.append(
            SampleRow(
                model, variant, condition, query_id, sample, row.prompt_hash, row.status,
                by_measure,
            )
        )  # fmt: skip
    return rows


def _stored_prompt_set_hash(prompts: list[str]) -> str:
    """`prompt_set_hash` of the stored responses `gather` counted (`Gathered.prompts`)."""
    # One join and split of C strings instead of a tuple and a line per response.
    return hash_prompt_lines("\n".join(prompts).split("\n"))


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
    counts = got.counts
    errors = sum(c.errors for c in counts.values())
    # `missing` counts samples never answered and answers not labelled yet; `afdsl status`
    # counts the answers as done, so the two are told apart here.
    unanswered = sum(max(c.expected - c.responses, 0) for c in counts.values())
    unlabelled = sum(c.missing for c in counts.values()) - unanswered
    if errors:
        problems.append(
            f"{errors} model call(s) failed after retries; rerun `afdsl test` to retry them"
        )
    if unanswered:
        problems.append(
            f"{unanswered} expected sample(s) have no response in the store; rerun "
            "`afdsl test` to send them"
        )
    if unlabelled:
        problems.append(
            f"{unlabelled} stored response(s) have no label yet; rerun `afdsl test` "
            "(or `afdsl classify`) to label them"
        )
    if got.duplicated:
        problems.append(
            f"{got.duplicated} sample(s) are stored under two prompts (the index of an earlier "
            "version of the file); rerun `afdsl test` to index the current prompts"
        )

    unreadable = {
        name: sum(c.unparseable_by_measure.get(name, 0) for c in counts.values())
        for name in got.measures
    }
    notes: list[str] = _simulator_notes(experiment)
    analysis, others = _analyse(
        experiment,
        got.tables,
        got.primary,
        problems=problems,
        notes=notes,
        unreadable=unreadable,
        file=file,
    )
    contributions = tested_queries(
        analysis.hypotheses if analysis else [],
        experiment.hypotheses,
        got.tables,
        got.primary,
        experiment.training,
        experiment.deployment,
    )
    if prompt_set is None:
        prompt_set = _stored_prompt_set_hash(got.prompts)
    manifest = build_manifest(
        experiment,
        store_path=store_path,
        prompt_set=prompt_set,
        started_at=started_at,
        finished_at=finished_at,
        measures=experiment.effective_measures(),
        served_ids={
            m.spec: store.served_model_ids(m.spec, m.params_hash()) for m in experiment.models
        },
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
        notes=notes,
        compliance_measure=got.primary,
        measures=got.measures,
        measure_analyses=others,
        query_contributions=contributions,
        samples=got.samples,
    )


def _analyse(
    experiment: Experiment,
    tables: dict[str, LabelTable],
    primary: str,
    *,
    problems: list[str],
    notes: list[str],
    unreadable: dict[str, int],
    file: str,
) -> tuple[AnalysisResult | None, dict[str, AnalysisResult]]:
    """The compliance measure's analysis (with every hypothesis) and each other measure's.

    Each measure is analysed in its own call, so the multiple-comparison
    family of a hypothesis is the hypotheses on its measure. The file has
    been checked, so a measure that cannot be analysed lacks data (labels
    missing or unparseable, calls failed): a problem (exit 3), not an error;
    for a measure no hypothesis uses, a note. `unreadable` is each measure's
    count of unparseable labels.
    """
    # Failed calls or missing samples, already listed, explain missing labels better than
    # a generic "rerun" (which does not help when, say, the model's key was refused).
    explained = bool(problems)

    def no_analysis(measure: str, exc: AfsError, hypotheses: list[Any]) -> str:
        reason = "; ".join(d.message for d in exc.diagnostics)
        # Its hypotheses have no verdict to list, so the reader learns here which ones.
        if hypotheses:
            reason += "; not tested: " + ", ".join(h.name for h in hypotheses)
        if unreadable.get(measure):
            return (
                f"no analysis of `{measure}` ({reason}): {unreadable[measure]} of its labels "
                f"are unparseable; see them with `afdsl show {file} --where "
                f"{measure}=unparseable`"
            )
        if explained:
            return f"no analysis of `{measure}` ({reason}): see the problems above"
        return f"no analysis of `{measure}` ({reason}); rerun `afdsl test` to label the responses"

    from afdsl.stats import analyze_table

    by_measure: dict[str, list[Any]] = {}
    for h in experiment.hypotheses:
        by_measure.setdefault(h.measure or primary, []).append(h)

    def analyse(measure: str, hypotheses: list[Any]) -> AnalysisResult:
        untested: list[str] = []
        result = analyze_table(
            tables.get(measure, LabelTable()),
            training=experiment.training,
            deployment=experiment.deployment,
            base="base",
            correction=experiment.correction.method,
            alpha=experiment.correction.alpha,
            hypotheses=hypotheses,
            # `drop condition` variants have no gap; their rates still serve rate() hypotheses.
            partial_variants=True,
            untested=untested,
        )
        problems.extend(
            f"not tested: {reason}; the labels it needs are missing or unparseable (see the "
            "counts above)"
            for reason in untested
        )
        return result

    others: dict[str, AnalysisResult] = {}
    primary_hypotheses = by_measure.pop(primary, [])
    try:
        result = analyse(primary, primary_hypotheses)
    except AfsError as exc:
        problems.append(no_analysis(primary, exc, primary_hypotheses))
        return None, {}
    for name, hypotheses in by_measure.items():
        try:
            others[name] = analyse(name, hypotheses)
        except AfsError as exc:
            problems.append(no_analysis(name, exc, hypotheses))
    for name in tables:
        if name == primary or name in by_measure:  # analysed above, or said why not
            continue
        try:
            others[name] = analyse(name, [])
        except AfsError as exc:  # no hypothesis uses it: a note, not a problem
            notes.append(no_analysis(name, exc, []))
    merged = result.hypotheses + [h for other in others.values() for h in other.hypotheses]
    ordered = {n: _in_file_order(others[n], experiment) for n in tables if n in others}
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
