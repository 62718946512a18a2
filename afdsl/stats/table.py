"""Per-query counts: the single pass over the labels every statistic starts from.

Records arrive as `LabelRecord`s or plain mappings (a JSONL line, a notebook
dict). They are validated here, field by field, instead of through pydantic:
an analysis may read several hundred thousand labels and must stay fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from afdsl.diagnostics import AfsError, Diagnostic, Note, Span
from afdsl.stats.models import LabelRecord

REQUIRED_FIELDS = ("variant", "condition", "query_id", "sample", "complied")

CellKey = tuple[str | None, str, str]  # (model, variant, condition)


@dataclass
class Cell:
    """Compliance counts of one model x variant x condition, per query."""

    complied: dict[str, int] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)


@dataclass
class LabelTable:
    """Counts per (model, variant, condition) and query, plus where each variant was first seen.

    `spans` remembers the first record of each (model, variant) so that errors
    about a variant's design can point at a line of the user's file.
    """

    cells: dict[CellKey, Cell] = field(default_factory=dict)
    spans: dict[tuple[str | None, str], Span | None] = field(default_factory=dict)
    # Queries each model answered, labelled in a cell or not (`ask`): what a statistic's
    # dropped queries are counted against. A query of a conditional measure may have no
    # sample in the measure's denominator, and so no count in any cell.
    asked: dict[str | None, set[str]] = field(default_factory=dict)

    def ask(self, model: str | None, query_id: str) -> None:
        """Note that `model` answered `query_id` (whether or not it has labels here)."""
        self.asked.setdefault(model, set()).add(query_id)

    def queries(self, model: str | None) -> set[str]:
        """Every query of `model`: those asked, and those with labels in any of its cells."""
        found = set(self.asked.get(model, ()))
        for (m, _, _), cell in self.cells.items():
            if m == model:
                found.update(cell.samples)
        return found

    def models(self) -> list[str | None]:
        """Models in order of first appearance."""
        return list(dict.fromkeys(m for m, _ in self.spans))

    def variants(self, model: str | None) -> list[str]:
        """Variants of one model in order of first appearance."""
        return [v for m, v in self.spans if m == model]

    def conditions(self, model: str | None, variant: str) -> list[str]:
        return [c for m, v, c in self.cells if m == model and v == variant]

    def cell(self, model: str | None, variant: str, condition: str) -> Cell | None:
        return self.cells.get((model, variant, condition))

    def add(
        self,
        model: str | None,
        variant: str,
        condition: str,
        query_id: str,
        complied: int,
        samples: int = 1,
    ) -> None:
        """Count `samples` labels of one query, `complied` of them 1, trusted as valid.

        `build_table` validates each record and rejects duplicates before it
        adds one; a report adds each query's counts straight from the store.
        """
        cell = self.cells.get((model, variant, condition))
        if cell is None:
            cell = self.cells[(model, variant, condition)] = Cell()
            self.spans.setdefault((model, variant), None)
        cell.complied[query_id] = cell.complied.get(query_id, 0) + complied
        cell.samples[query_id] = cell.samples.get(query_id, 0) + samples


def _record_error(message: str, index: int, span: Span | None, hint: str | None = None) -> AfsError:
    where = "" if span is not None else f"record {index + 1}: "
    return AfsError(Diagnostic(code="AFS601", message=where + message, span=span, hint=hint))


def _label_value(value: Any) -> int | None:
    """0/1 for a valid label (bool, or a number equal to 0 or 1), None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    return None


Fields = tuple[str | None, str, str, str, int, int]


def _fields(record: Mapping[str, Any], index: int, span: Span | None) -> Fields:
    """Validate one mapping; returns (model, variant, condition, query_id, sample, complied)."""
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise _record_error(
            f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            index,
            span,
            hint="each record needs variant, condition, query_id, sample and complied",
        )
    model = record.get("model")
    if model is not None and not isinstance(model, str):
        raise _record_error("`model` must be a string or null", index, span)
    for name in ("variant", "condition"):
        if not isinstance(record[name], str) or not record[name]:
            raise _record_error(f"`{name}` must be a non-empty string", index, span)
    query_id = record["query_id"]
    if isinstance(query_id, bool) or not isinstance(query_id, str | int):
        raise _record_error("`query_id` must be a string or an integer", index, span)
    sample = record["sample"]
    if isinstance(sample, bool) or not isinstance(sample, int):
        raise _record_error("`sample` must be an integer", index, span)
    complied = _label_value(record["complied"])
    if complied is None:
        raise _record_error(
            f"`complied` is {record['complied']!r}; a label must be 0, 1, true or false",
            index,
            span,
            hint="drop unparseable responses before the analysis instead of labelling them",
        )
    return model, record["variant"], record["condition"], str(query_id), sample, complied


def _fast_fields(record: dict[str, Any]) -> Fields | None:
    """The common case (a well-formed dict) without per-field error handling; None if unsure."""
    try:
        variant, condition = record["variant"], record["condition"]
        query_id, sample, complied = record["query_id"], record["sample"], record["complied"]
    except KeyError:
        return None
    model = record.get("model")
    if (
        type(variant) is str
        and type(condition) is str
        and variant
        and condition
        and type(sample) is int
        and (model is None or type(model) is str)
        and (
            complied is True or complied is False or (type(complied) is int and 0 <= complied <= 1)
        )
    ):
        if type(query_id) is str:
            return model, variant, condition, query_id, sample, int(complied)
        if type(query_id) is int:
            return model, variant, condition, str(query_id), sample, int(complied)
    return None


def _checked_fields(record: object, index: int, span: Span | None) -> Fields:
    if isinstance(record, LabelRecord):
        return (
            record.model,
            record.variant,
            record.condition,
            record.query_id,
            record.sample,
            int(record.complied),
        )
    if isinstance(record, Mapping):
        return _fields(record, index, span)
    raise _record_error(f"expected an object, got {type(record).__name__}", index, span)


def build_table(
    records: Iterable[LabelRecord | Mapping[str, Any]],
    spans: Sequence[Span] | None = None,
) -> LabelTable:
    """Validate the records and count compliance per cell and query.

    `spans[i]`, when given, is where record i came from (used in error messages).
    A sample recorded twice for the same cell and query is an error: it would
    silently weigh that query twice.
    """
    table = LabelTable()
    seen: dict[tuple[Any, ...], int] = {}

    # Spans are looked up only when needed: `spans` may build them on demand.
    def span_at(index: int) -> Span | None:
        return spans[index] if spans is not None else None

    for index, record in enumerate(records):
        key = _fast_fields(record) if type(record) is dict else None
        if key is None:
            key = _checked_fields(record, index, span_at(index))
        model, variant, condition, query_id, sample, complied = key
        identity = key[:5]
        if identity in seen:
            span = span_at(index)
            first = seen[identity]
            first_span = span_at(first)
            raise AfsError(
                Diagnostic(
                    code="AFS602",
                    message=(
                        f"{'' if span else f'record {index + 1}: '}duplicate sample "
                        f"{sample} of query {query_id!r} ({variant}, {condition})"
                    ),
                    span=span,
                    notes=[Note(span=first_span, message=f"first recorded as record {first + 1}")],
                )
            )
        seen[identity] = index
        if (model, variant) not in table.spans:
            table.spans[(model, variant)] = span_at(index)
        table.add(model, variant, condition, query_id, complied)
    return table
