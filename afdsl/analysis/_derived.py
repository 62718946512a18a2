"""Measures computed from other measures' labels, and the first paper's breakdown.

A derived measure (`faking given compliance`, `compliance and not faking`) costs
no model call and stores no label: each response's label is computed here from
its operands' stored labels, counted per query like a classifier's. The
breakdown splits each variant x condition's responses into complied with
faking reasoning, complied without, and refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from afdsl.ir import DerivedMeasure, Experiment, Measure, MeasureOperand
from afdsl.stats.table import LabelTable
from afdsl.store import NOT_LABELLED, LabelCombination

MISSING: Literal["missing"] = "missing"  # an operand has no label yet
EXCLUDED: Literal["excluded"] = "excluded"  # `A given B` where B is 0: outside the measure
Value = int | None | Literal["missing", "excluded"]  # 1, 0, None (unparseable), or why not


def derive(measures: Sequence[DerivedMeasure], labels: Mapping[str, Value]) -> dict[str, Value]:
    """Each derived measure's label of one response, from `labels` (classifier measure ->
    1, 0 or None; a measure without a label is absent). Operands come first in
    `measures`, so a derived measure may read another."""
    out: dict[str, Value] = dict(labels)
    for measure in measures:
        out[measure.name] = _given(measure, out) if measure.kind == "given" else _and(measure, out)
    return out


def _operand(operand: MeasureOperand, labels: Mapping[str, Value]) -> Value:
    value = labels.get(operand.measure, MISSING)
    if operand.negated and isinstance(value, int):
        return 1 - value
    return value


def _and(measure: DerivedMeasure, labels: Mapping[str, Value]) -> Value:
    """1 when every operand is 1; an unreadable operand makes the result unreadable."""
    values = [_operand(o, labels) for o in measure.operands]
    for unusable in (None, MISSING, EXCLUDED):
        if unusable in values:
            return unusable
    return int(all(values))


def _given(measure: DerivedMeasure, labels: Mapping[str, Value]) -> Value:
    """The target's label where the condition is 1; outside the measure where it is 0."""
    target, condition = measure.operands
    holds = _operand(condition, labels)
    if not isinstance(holds, int):
        return holds
    return _operand(target, labels) if holds else EXCLUDED


def faking_measure(experiment: Experiment, compliance: str | None) -> Measure | None:
    """The measure the breakdown splits complying answers by: the first of kind `faking`,
    else one named `faking`; never the compliance measure itself."""
    measures = [m for m in experiment.measures if m.name != compliance]
    return next((m for m in measures if m.kind == "faking"), None) or next(
        (m for m in measures if m.name == "faking"), None
    )


def operand_measures(experiment: Experiment, extra: Sequence[str] = ()) -> list[Measure]:
    """The classifier measures the derived measures (and `extra` names) read, in file order."""
    wanted = set(extra) | {o.measure for m in experiment.derived for o in m.operands}
    return [m for m in experiment.effective_measures() if m.name in wanted]


class Breakdown(BaseModel):
    """One model x variant x condition's answers: complied with faking reasoning, complied
    without, complied with its faking label unparseable, refused. Shares are over the
    answers whose compliance is readable; they sum to 1. An answer that complied but whose
    faking label could not be read (no scratchpad, say) keeps its place as a share of its
    own: leaving it out would make a variant where nothing can be judged read as refusing."""

    model: str
    variant: str
    condition: str
    complied_faking: int = 0
    complied_other: int = 0
    complied_unknown: int = 0  # complied, faking label unparseable
    refused: int = 0
    unreadable: int = 0  # compliance unparseable (not counted in the shares)
    share_complied_faking: float | None = None
    share_complied_other: float | None = None
    share_complied_unknown: float | None = None
    share_refused: float | None = None

    @property
    def total(self) -> int:
        return self.complied_faking + self.complied_other + self.complied_unknown + self.refused

    def with_shares(self) -> Breakdown:
        total = self.total
        if not total:
            return self
        return self.model_copy(
            update={
                "share_complied_faking": self.complied_faking / total,
                "share_complied_other": self.complied_other / total,
                "share_complied_unknown": self.complied_unknown / total,
                "share_refused": self.refused / total,
            }
        )


@dataclass
class DerivedCounts:
    """What `count_derived` adds up: derived tables, their unusable labels, the breakdown."""

    tables: dict[str, LabelTable]
    unparseable: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    excluded: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    breakdown: dict[tuple[str, str, str], Breakdown] = field(default_factory=dict)

    def bump(
        self, which: dict[tuple[str, str], dict[str, int]], key: tuple[str, str], name: str, n: int
    ) -> None:
        per = which.setdefault(key, {})
        per[name] = per.get(name, 0) + n


def count_derived(
    experiment: Experiment,
    rows: Sequence[tuple[str, LabelCombination]],
    names: Sequence[str],
    pair: tuple[str, str] | None,
) -> DerivedCounts:
    """Count each derived measure per query from `rows` ((model display name, counts of a
    combination of the labels of `names`)), and the breakdown by `pair` (compliance,
    faking) when given."""
    counts = DerivedCounts({m.name: LabelTable() for m in experiment.derived})
    for model, row in rows:
        labels: dict[str, Value] = {
            name: value
            for name, value in zip(names, row.labels, strict=True)
            if value != NOT_LABELLED
        }
        values = derive(experiment.derived, labels)
        key = (model, row.variant)
        for measure in experiment.derived:
            table = counts.tables[measure.name]
            table.ask(model, row.query_id)
            value = values[measure.name]
            if isinstance(value, int):
                n = row.responses
                table.add(model, row.variant, row.condition, row.query_id, n * value, n)
            elif value is None:
                counts.bump(counts.unparseable, key, measure.name, row.responses)
            elif value == EXCLUDED:
                counts.bump(counts.excluded, key, measure.name, row.responses)
        if pair is not None:
            _add_breakdown(
                counts.breakdown,
                model,
                row,
                labels.get(pair[0], MISSING),
                labels.get(pair[1], MISSING),
            )
    return counts


def _add_breakdown(
    found: dict[tuple[str, str, str], Breakdown],
    model: str,
    row: LabelCombination,
    complied: Value,
    faking: Value,
) -> None:
    if complied == MISSING or (complied == 1 and faking == MISSING):
        return  # not labelled yet: the counts table says so
    cell = found.setdefault(
        (model, row.variant, row.condition),
        Breakdown(model=model, variant=row.variant, condition=row.condition),
    )
    n = row.responses
    if complied == 0:
        cell.refused += n
    elif complied == 1 and faking == 1:
        cell.complied_faking += n
    elif complied == 1 and faking == 0:
        cell.complied_other += n
    elif complied == 1:
        cell.complied_unknown += n
    else:
        cell.unreadable += n
