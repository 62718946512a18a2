"""Read an experiment's counts back from the store: what the statistics and the reports need.

Each (model, variant, condition, query, sample) cell has one response; the
store counts each query's responses and labels in SQL, so no row per sample is
read unless the CSV or the labels export asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from afdsl.analysis._derived import (
    Breakdown,
    count_derived,
    derive,
    faking_measure,
    operand_measures,
)
from afdsl.analysis._manifest import hash_prompt_lines
from afdsl.analysis._record import SampleRow, VariantCounts
from afdsl.analysis._untestable import CellCounts, CellKey, reason_key
from afdsl.ir import Experiment, Measure
from afdsl.registry import truncated
from afdsl.stats.table import LabelTable
from afdsl.store import CellRow, QueryCounts, Store


def compliance_measure(experiment: Experiment) -> Measure | None:
    """What hypotheses test unless they say `on MEASURE`: `compliance`, else the first tag."""
    measures = experiment.effective_measures()
    by_name = {m.name: m for m in measures}
    if "compliance" in by_name:
        return by_name["compliance"]
    return next((m for m in measures if m.kind == "tag"), None) or next(iter(measures), None)


def primary_measure(experiment: Experiment) -> str:
    """The name of `compliance_measure` ("compliance" when the file has no measure)."""
    primary = compliance_measure(experiment)
    return primary.name if primary else "compliance"


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
        return self.cell_model(spec, params_hash, variant) if query_id in self.queries else None

    def cell_model(self, spec: str, params_hash: str, variant: str) -> str | None:
        """`model` for counts over the design's queries only (any query id)."""
        wanted = self.models.get(spec)
        if wanted is None or params_hash != wanted[0] or variant not in self.variants:
            return None
        return wanted[1]


@dataclass
class _Tally:
    """One model x variant's samples as `gather` counts them."""

    expected: int
    responses: int = 0
    errors: int = 0
    unparseable: int = 0  # of the compliance measure
    unlabelled: int = 0  # answered but without a compliance label yet
    unparseable_by_measure: dict[str, int] = field(default_factory=dict)
    excluded_by_measure: dict[str, int] = field(default_factory=dict)
    labelled: int = 0  # readable compliance labels
    reasons: dict[str, int] = field(default_factory=dict)  # why compliance labels are unparseable
    truncated: int = 0  # answers that stopped at max_tokens

    def counts(self, model: str, variant: str) -> VariantCounts:
        """A sample is missing when it has no response or no label yet."""
        return VariantCounts(
            model=model,
            variant=variant,
            expected=self.expected,
            responses=self.responses,
            missing=self.unlabelled + max(self.expected - self.responses, 0),
            errors=self.errors,
            unparseable=self.unparseable,
            unparseable_by_measure=self.unparseable_by_measure,
            excluded_by_measure=self.excluded_by_measure,
            labelled=self.labelled,
            reasons=dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
            truncated=self.truncated,
        )


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
    # The compliance measure per model x variant x condition: what an untested hypothesis's
    # reason is worded from.
    cells: dict[CellKey, CellCounts] = field(default_factory=dict)
    # Complied with faking reasoning, complied without, refused: per model x variant x
    # condition, when the experiment has a compliance and a faking measure.
    breakdown: list[Breakdown] = field(default_factory=list)
    breakdown_measures: tuple[str, str] | None = None

    def prompt_set_hash(self) -> str:
        """`prompt_set_hash` of the stored responses counted here."""
        # One join and split of C strings instead of a tuple and a line per response.
        return hash_prompt_lines("\n".join(self.prompts).split("\n"))


def _expected(experiment: Experiment, only_queries: set[str] | None) -> dict[tuple[str, str], int]:
    """Samples each model x variant should have: queries x samples x conditions."""
    n = len(experiment.queries) * experiment.samples
    share = 1.0 if only_queries is None else len(only_queries) / max(len(experiment.queries), 1)
    return {
        (m.display, v.name): round(n * len(v.scenario.conditions) * share)
        for m in experiment.models
        for v in experiment.variants
    }


def gather(
    experiment: Experiment,
    store: Store,
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
    primary = primary_measure(experiment)
    first = names.index(primary) if primary in names else None
    tables = {name: LabelTable() for name in names}
    tallies = {key: _Tally(n) for key, n in _expected(experiment, only_queries).items()}
    prompts: list[str] = []
    duplicated = 0
    cells: dict[CellKey, CellCounts] = {}
    per_cell = experiment.samples * (
        len(experiment.queries) if only_queries is None else len(design.queries)
    )
    groups = store.query_counts(
        experiment.name, [(m.name, m.definition_hash()) for m in measures], experiment.samples
    )
    for group in groups:
        model = design.model(group.model, group.params_hash, group.variant, group.query_id)
        if model is None:
            continue
        tally = tallies[(model, group.variant)]
        tally.responses += group.responses
        tally.errors += group.errors
        duplicated += group.responses - group.samples
        prompts.append(group.prompts)
        _count_labels(group, model, names, tables, tally)
        if first is not None:
            labels = group.labels[first]
            tally.unparseable += labels.unparseable
            tally.unlabelled += group.responses - group.errors - labels.labelled
            tally.labelled += labels.labelled - labels.unparseable
            cell = cells.setdefault((model, group.variant, group.condition), CellCounts(per_cell))
            cell.add(group.responses - group.errors, group.errors, labels)
    if first is not None:
        _count_reasons(store, experiment, design, measures[first], tallies, cells)
    pair = _breakdown_pair(experiment, primary)
    breakdown: list[Breakdown] = []
    if experiment.derived or pair is not None:
        breakdown = _add_derived(store, experiment, design, pair, tables, tallies)
        names += [m.name for m in experiment.derived]
    counts = {key: tally.counts(*key) for key, tally in tallies.items()}
    rows = _sample_rows(store, experiment, design, measures) if samples else []
    return Gathered(
        tables, counts, rows, primary, names, prompts, duplicated, cells, breakdown, pair
    )


def _breakdown_pair(experiment: Experiment, primary: str) -> tuple[str, str] | None:
    """(compliance, faking) measure names when the experiment labels both."""
    faking = faking_measure(experiment, primary)
    classified = {m.name for m in experiment.effective_measures()}
    if faking is None or primary not in classified:
        return None
    return primary, faking.name


def _add_derived(
    store: Store,
    experiment: Experiment,
    design: _Design,
    pair: tuple[str, str] | None,
    tables: dict[str, LabelTable],
    tallies: dict[tuple[str, str], _Tally],
) -> list[Breakdown]:
    """Count the derived measures into `tables` and `tallies` from the combinations of
    their operands' labels (the store counts them per query); return the breakdown."""
    measures = operand_measures(experiment, pair or ())
    names = [m.name for m in measures]
    # Derived measures need each query's counts; the breakdown alone needs each cell's.
    queries = None if experiment.derived else design.queries
    found = store.label_combinations(
        experiment.name,
        [(m.name, m.definition_hash()) for m in measures],
        experiment.samples,
        queries=queries,
    )
    rows = []
    for row in found:
        model = (
            design.model(row.model, row.params_hash, row.variant, row.query_id)
            if queries is None
            else design.cell_model(row.model, row.params_hash, row.variant)
        )
        if model is not None:
            rows.append((model, row))
    derived = count_derived(experiment, rows, names, pair)
    tables.update(derived.tables)
    for key, per in derived.unparseable.items():
        if key in tallies:
            tallies[key].unparseable_by_measure.update(per)
    for key, per in derived.excluded.items():
        if key in tallies:
            tallies[key].excluded_by_measure.update(per)
    return [b.with_shares() for b in derived.breakdown.values()]


def _count_reasons(
    store: Store,
    experiment: Experiment,
    design: _Design,
    measure: Measure,
    tallies: dict[tuple[str, str], _Tally],
    cells: dict[CellKey, CellCounts],
) -> None:
    """Why the compliance labels are unparseable, per variant and cell, and how many answers
    stopped at max_tokens (the store counts both per query)."""
    key = (measure.name, measure.definition_hash())
    for row in store.unparseable_reasons(experiment.name, key, experiment.samples):
        model = design.model(row.model, row.params_hash, row.variant, row.query_id)
        if model is None:
            continue
        reason = reason_key(row.reason)
        for reasons in (
            tallies[(model, row.variant)].reasons,
            cells.setdefault((model, row.variant, row.condition), CellCounts()).reasons,
        ):
            reasons[reason] = reasons.get(reason, 0) + row.responses
    for row in store.finish_reasons(experiment.name, experiment.samples):
        model = design.model(row.model, row.params_hash, row.variant, row.query_id)
        if model is not None and truncated(row.reason):
            tallies[(model, row.variant)].truncated += row.responses


def _count_labels(
    group: QueryCounts, model: str, names: list[str], tables: dict[str, LabelTable], tally: _Tally
) -> None:
    """Add one query's parsed labels to each measure's table; count its unparseable ones."""
    for name, labels in zip(names, group.labels, strict=True):
        parsed = labels.labelled - labels.unparseable
        if group.responses > group.errors:
            tables[name].ask(model, group.query_id)
        if parsed:
            tables[name].add(
                model, group.variant, group.condition, group.query_id, labels.complied, parsed
            )
        if labels.unparseable:
            per = tally.unparseable_by_measure
            per[name] = per.get(name, 0) + labels.unparseable


def _sample_rows(
    store: Store, experiment: Experiment, design: _Design, measures: Iterable[Measure]
) -> list[SampleRow]:
    """One row per stored response of the design, with its labels by measure.

    Reads the store's lean API (`cells`, `labels`: tuples, never the response
    text) rather than a validated `ResponseRow` per sample.
    """
    labels = {m.name: store.labels(m.name, m.definition_hash()) for m in measures}
    chosen: dict[CellId, CellRow] = {}
    for row in store.cells(experiment.name, purpose="model"):
        model = design.model(row.model, row.params_hash, row.variant, row.query_id)
        if model is not None and row.sample < design.samples:
            chosen[(model, row.variant, row.condition, row.query_id, row.sample)] = row
    rows = []
    for (model, variant, condition, query_id, sample), row in chosen.items():
        by_measure = (
            {name: by_id[row.id].label for name, by_id in labels.items() if row.id in by_id}
            if row.status == "ok"
            else {}
        )
        if experiment.derived:  # unlabelled, or outside a `given` measure: no label
            derived = derive(experiment.derived, by_measure)
            by_measure = {k: v for k, v in derived.items() if not isinstance(v, str)}
        rows.append(
            SampleRow(
                model, variant, condition, query_id, sample, row.prompt_hash, row.status,
                by_measure,
            )
        )  # fmt: skip
    return rows
