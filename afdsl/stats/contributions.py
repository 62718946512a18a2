"""Which queries drive a number: the per-query values a hypothesis' test averages, and a
variant's per-query rates and gaps.

A hypothesis is tested on d[q] = sum(coef * term[q]) over queries (see
`hypotheses.hypothesis_values`); its estimate is the mean of d. Listing the
queries by d, with the label counts of each cell the terms read, answers
"which transcripts drove this number?" without re-deriving anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel

from afdsl.ir import Hypothesis
from afdsl.stats.estimates import query_gaps
from afdsl.stats.models import HypothesisResult
from afdsl.stats.table import LabelTable


class CellLabels(BaseModel):
    """How many of one query's samples in one variant x condition complied (were labelled 1)."""

    variant: str
    condition: str
    complied: int
    samples: int
    model: str | None = None  # set for a cross-model hypothesis: whose cell it is


class QueryContribution(BaseModel):
    """One query's value of a hypothesis' expression, and the labels it was computed from."""

    query_id: str
    value: float  # sum(coef * term) on this query: the estimate is the mean over queries
    cells: list[CellLabels]


class HypothesisQueries(BaseModel):
    """A hypothesis' per-query values for one model, largest first."""

    model: str | None
    hypothesis: str
    measure: str | None
    estimate: float  # the mean of the values (the hypothesis' estimate)
    queries: list[QueryContribution]
    models: list[str] = []  # a cross-model hypothesis: the models it compares (model None)


def hypothesis_queries(
    table: LabelTable,
    model: str | None,
    hypothesis: Hypothesis,
    training: str = "training",
    deployment: str = "deployment",
) -> HypothesisQueries:
    """Each query's contribution to `hypothesis` on `model`, from the largest value down."""
    from afdsl.stats.hypotheses import hypothesis_values, resolve_model

    pins = {n: resolve_model(table, hypothesis, n, None) for n in hypothesis.pinned_models}
    if pins:
        model = None  # a cross-model hypothesis has one set of values, over its models
    data = hypothesis_values(table, model, hypothesis, training, deployment)
    cells = _cells_read(hypothesis, training, deployment, pins)
    queries = [
        QueryContribution(
            query_id=query,
            value=float(value),
            cells=_labels(table, model, cells, query),
        )
        for query, value in zip(data.queries, data.values, strict=True)
    ]
    queries.sort(key=lambda q: -q.value)
    estimate = sum(q.value for q in queries) / len(queries) if queries else float("nan")
    return HypothesisQueries(
        model=model,
        hypothesis=hypothesis.name,
        measure=hypothesis.measure,
        estimate=estimate,
        queries=queries,
        models=list(dict.fromkeys(pins.values())),
    )


_Read = tuple[str | None, str, str]  # (pinned model or None, variant, condition)


def _cells_read(
    hypothesis: Hypothesis, training: str, deployment: str, pins: Mapping[str, str]
) -> list[_Read]:
    """The cells the hypothesis' terms read, in order, once each; a pinned term's with the
    labels' name of its model (`pins`), an unpinned one's with None (the model tested)."""
    cells: dict[_Read, None] = {}
    for weighted in hypothesis.terms:
        term = weighted.term
        at = pins[term.model] if term.model is not None else None
        if term.kind == "gap":
            cells.update({(at, term.variant, training): None, (at, term.variant, deployment): None})
        else:
            cells[(at, term.variant, term.condition or "")] = None
    return list(cells)


def _labels(
    table: LabelTable, model: str | None, cells: list[_Read], query: str
) -> list[CellLabels]:
    out = []
    for at, variant, condition in cells:
        cell = table.cell(at or model, variant, condition)
        if cell is not None and query in cell.samples:
            out.append(
                CellLabels(
                    variant=variant,
                    condition=condition,
                    complied=cell.complied[query],
                    samples=cell.samples[query],
                    model=at,
                )
            )
    return out


class VariantQuery(BaseModel):
    """One query of a variant: its rate under each condition, its gap and its Δgap."""

    query_id: str
    rates: dict[str, float]  # condition -> the share of this query's samples that complied
    samples: dict[str, int]  # condition -> this query's labelled samples
    gap: float | None  # training minus deployment (None: a condition is missing)
    delta_gap: float | None  # gap minus base's gap on this query (None for base, or missing)


def variant_queries(
    table: LabelTable,
    model: str | None,
    variant: str,
    training: str = "training",
    deployment: str = "deployment",
    base: str = "base",
) -> list[VariantQuery]:
    """The per-query table of one variant, in the order queries were first counted."""
    gaps = query_gaps(table, model, variant, training, deployment)
    base_gaps = query_gaps(table, model, base, training, deployment) if variant != base else {}
    cells = {c: table.cell(model, variant, c) for c in table.conditions(model, variant)}
    queries = dict.fromkeys(q for cell in cells.values() if cell for q in cell.samples)
    out = []
    for query in queries:
        present = {c: cell for c, cell in cells.items() if cell and query in cell.samples}
        gap = gaps.get(query)
        base_gap = base_gaps.get(query)
        out.append(
            VariantQuery(
                query_id=query,
                rates={
                    c: cell.complied[query] / cell.samples[query] for c, cell in present.items()
                },
                samples={c: cell.samples[query] for c, cell in present.items()},
                gap=gap,
                delta_gap=None if gap is None or base_gap is None else gap - base_gap,
            )
        )
    return out


def tested_queries(
    results: Iterable[HypothesisResult],
    hypotheses: Sequence[Hypothesis],
    tables: Mapping[str, LabelTable],
    primary: str,
    training: str = "training",
    deployment: str = "deployment",
) -> list[HypothesisQueries]:
    """The per-query values behind each hypothesis result (a hypothesis on a model), read
    from the table of the hypothesis' measure (`primary` when it names none)."""
    by_name = {h.name: h for h in hypotheses}
    out = []
    for result in results:
        hypothesis = by_name.get(result.name)
        table = tables.get((hypothesis.measure or primary) if hypothesis else "")
        if hypothesis is not None and table is not None:
            out.append(hypothesis_queries(table, result.model, hypothesis, training, deployment))
    return out
