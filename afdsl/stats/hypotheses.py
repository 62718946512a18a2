"""Evaluating the language's `hypothesis` statements on per-query values.

A hypothesis is `sum(coef * term) OP bound`. Each term is a per-query
quantity (a gap or a rate), so the left side is one number d[q] per query,
computed over the queries present in every cell the terms refer to; the test
is then a one-sample t test of mean(d) against the bound, with queries as the
clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.ir import Hypothesis, Term, short_name
from afdsl.stats.bounded import Alternative, degenerate_reason, value_range
from afdsl.stats.estimates import aligned, query_gaps, query_rates
from afdsl.stats.models import HypothesisResult
from afdsl.stats.paired import TTest, t_test, tost
from afdsl.stats.table import LabelTable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

CONFIDENCE = 0.95
_ALTERNATIVES: dict[str, Alternative] = {"<": "less", ">": "greater", "!=": "two-sided"}


@dataclass(frozen=True)
class HypothesisValues:
    """The per-query left-hand side of a hypothesis for one model (or, pinned, across
    models)."""

    queries: list[str]
    values: NDArray[np.float64]
    n_samples: int


Declared = tuple[Hypothesis, Span | None]
"""A hypothesis with where it was written (None: nowhere to point at, e.g. built in code)."""


def declared(items: Sequence[Hypothesis | Declared]) -> list[Declared]:
    """Each hypothesis with its span. Text (`NAME: EXPR`) is parsed by the caller (the
    language's `parse_option_hypothesis`): statistics import no parser."""
    if any(isinstance(item, str) for item in items):  # a caller written before the wall
        raise TypeError(
            "statistics take parsed hypotheses: parse text with afdsl.syntax.parse_hypothesis, "
            "or call afdsl.analysis.analyze_labels, which does"
        )
    return [item if isinstance(item, tuple) else (item, None) for item in items]


def _at_variant(span: Span | None, hypothesis: Hypothesis, variant: str) -> Span | None:
    """`span` (the start of a hypothesis's expression) narrowed to where `variant` is named."""
    import re

    found = re.search(rf"\b{re.escape(variant)}\b", hypothesis.expression)
    if span is None or found is None:
        return span
    return span.model_copy(
        update={"col": span.col + found.start(), "end_col": span.col + found.end()}
    )


def _cells(term: Term, training: str, deployment: str) -> list[tuple[str, str]]:
    if term.kind == "gap":
        return [(term.variant, training), (term.variant, deployment)]
    return [(term.variant, term.condition or "")]


def is_cross_model(hypothesis: Hypothesis) -> bool:
    """Whether the terms are pinned to models (`gap(a @ opus)`): one test across models."""
    return bool(hypothesis.pinned_models)


def names_model(name: str, model: str | None) -> bool:
    """Whether the labels' model `model` (a display name) is the model called `name`."""
    return model is not None and (model == name or short_name(model) == name)


def applies_to(hypothesis: Hypothesis, model: str | None) -> bool:
    """Whether an unpinned hypothesis is tested on `model` (all, or its `for` model)."""
    if is_cross_model(hypothesis):
        return False
    return hypothesis.model is None or names_model(hypothesis.model, model)


def resolve_model(table: LabelTable, hypothesis: Hypothesis, name: str, span: Span | None) -> str:
    """The labels' model a short name (`@ opus`, `for opus`) means; AfsError if none or
    several."""
    found = [m for m in table.models() if names_model(name, m)]
    if len(found) == 1 and found[0] is not None:
        return found[0]
    known = [short_name(m) for m in table.models() if m is not None]
    if not found:
        hint = _near(name, known) + f"models in the labels: {', '.join(known) or 'none named'}"
        raise _error(hypothesis, f"no model {name!r} in the labels", span, hint=hint)
    listed = ", ".join(str(m) for m in found)
    raise _error(hypothesis, f"{name!r} names several models in the labels: {listed}", span)


def _models_of(
    table: LabelTable, hypothesis: Hypothesis, span: Span | None
) -> list[tuple[str | None, Term]]:
    """(labels' model, term) for every model the hypothesis is tested on: its pins, its
    `for` model, or every model in the labels."""
    if is_cross_model(hypothesis):
        pins = {n: resolve_model(table, hypothesis, n, span) for n in hypothesis.pinned_models}
        return [(pins[w.term.model or ""], w.term) for w in hypothesis.terms]
    if hypothesis.model is not None:
        models: list[str | None] = [resolve_model(table, hypothesis, hypothesis.model, span)]
    else:
        models = table.models()
    return [(m, w.term) for m in models for w in hypothesis.terms]


def check_names(
    table: LabelTable,
    hypothesis: Hypothesis,
    span: Span | None,
    training: str,
    deployment: str,
) -> None:
    """Every referenced model, variant and condition must exist in the labels (for every
    model an unpinned hypothesis is tested on)."""
    if hypothesis.op == "==" and hypothesis.margin is None:
        raise _error(hypothesis, "an equivalence (==) needs `within MARGIN`", span)
    for model, term in _models_of(table, hypothesis, span):
        variants = table.variants(model)
        where = f" for model {model}" if model is not None else ""
        if term.variant not in variants:
            raise _error(
                hypothesis,
                f"unknown variant {term.variant!r}{where}",
                _at_variant(span, hypothesis, term.variant),
                hint=_near(term.variant, variants)
                + f"variants in the labels: {', '.join(variants)}",
            )
        for variant, condition in _cells(term, training, deployment):
            if table.cell(model, variant, condition) is None:
                conditions = table.conditions(model, variant)
                raise _error(
                    hypothesis,
                    f"variant {variant!r} has no condition {condition!r}{where}",
                    _at_variant(span, hypothesis, variant),
                    hint=f"conditions of {variant}: {', '.join(conditions)}",
                )


def _near(name: str, options: list[str]) -> str:
    """`did you mean X? ` for a near miss, else nothing (the full list follows)."""
    import difflib

    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _error(
    hypothesis: Hypothesis, message: str, span: Span | None, hint: str | None = None
) -> AfsError:
    return AfsError(
        Diagnostic(
            code="AFS603",
            message=f"hypothesis {hypothesis.name} ({hypothesis.expression}): {message}",
            span=span,
            hint=hint,
        )
    )


def hypothesis_values(
    table: LabelTable,
    model: str | None,
    hypothesis: Hypothesis,
    training: str = "training",
    deployment: str = "deployment",
) -> HypothesisValues:
    """d[q] = sum(coef * term[q]) over queries present in every referenced cell.

    A term pinned to a model (`gap(a @ opus)`) reads that model's cells, whatever
    `model` is (pass None for a cross-model hypothesis); so a cross-model d[q] is
    over the queries every pinned model answered.
    """
    series: list[dict[str, float]] = []
    cells: set[tuple[str | None, str, str]] = set()
    for weighted in hypothesis.terms:
        term = weighted.term
        at = resolve_model(table, hypothesis, term.model, None) if term.model else model
        if term.kind == "gap":
            series.append(query_gaps(table, at, term.variant, training, deployment))
        else:
            cell = table.cell(at, term.variant, term.condition or "")
            series.append(query_rates(cell) if cell is not None else {})
        cells.update((at, v, c) for v, c in _cells(term, training, deployment))
    queries, matrix = aligned(series)
    coefs = [w.coef for w in hypothesis.terms]
    values = (matrix * [[c] for c in coefs]).sum(axis=0) if series else matrix.sum(axis=0)
    n_samples = 0
    for at, variant, condition in cells:
        cell = table.cell(at, variant, condition)
        if cell is not None:
            n_samples += sum(cell.samples[q] for q in queries)
    return HypothesisValues(queries, values, n_samples)


def _method(hypothesis: Hypothesis, n: int, alpha: float, result: TTest) -> str:
    single = len(hypothesis.terms) == 1
    base = "one-sample t" if single else "paired t"
    if len(hypothesis.pinned_models) > 1:
        base += " across models"
    base += " (queries as clusters)"
    corrected = result.skew_corrected is not None and bool(result.skew_corrected)
    if corrected:
        base += ", skewness-corrected"
    if hypothesis.op == "==":
        # In points, as every report prints the estimate (the JSON keeps `margin` a proportion).
        margin = f"±{100 * (hypothesis.margin or 0.0):g}pp"
        text = f"TOST, {base}, margin {margin}, {100 * (1 - 2 * alpha):g}% CI"
    else:
        text = f"{base}, {'two-sided' if hypothesis.op == '!=' else 'one-sided'}"
    if n < 2:
        text += "; fewer than 2 queries, no test"
    elif bool(result.degenerate):
        text += "; " + degenerate_reason(float(result.estimate), n, float(result.p_value))
    return text


def _test(values: NDArray[np.float64], hypothesis: Hypothesis, alpha: float) -> TTest:
    """The test the hypothesis's operator calls for, on its per-query values."""
    bound = hypothesis.bound
    bounds = value_range(hypothesis)
    if hypothesis.op == "==":
        margin = hypothesis.margin or 0.0
        return tost(values, bound - margin, bound + margin, alpha, bounds=bounds, correct_skew=True)
    alternative = _ALTERNATIVES[hypothesis.op]
    return t_test(values, bound, alternative, CONFIDENCE, bounds=bounds, correct_skew=True)


def evaluate_hypothesis(
    table: LabelTable,
    model: str | None,
    hypothesis: Hypothesis,
    training: str = "training",
    deployment: str = "deployment",
    alpha: float = 0.05,
) -> HypothesisResult:
    """Unadjusted result (p_adjusted = p_value, verdict from p < alpha); the caller corrects.

    One-sided tests, and TOST's two, use Hall's skewness correction when the
    values are clearly skewed, so a bound near the edge of what a rate can be
    keeps its level; values with no spread get the exact bound of
    `afdsl.stats.bounded`. The TOST interval is the 1 - 2 * alpha one that
    matches its decision.
    """
    pinned = [resolve_model(table, hypothesis, n, None) for n in hypothesis.pinned_models]
    if pinned:
        model = None  # a cross-model result belongs to no one model
    read: list[str | None] = list(pinned) if pinned else [model]
    data = hypothesis_values(table, model, hypothesis, training, deployment)
    n = len(data.queries)
    if n == 0:
        raise _error(hypothesis, "no query is present in every cell it refers to", None)
    result = _test(data.values, hypothesis, alpha)
    p = float(result.p_value)
    return HypothesisResult(
        model=model,
        name=hypothesis.name,
        expression=hypothesis.expression,
        verdict="pass" if p < alpha else "fail",
        estimate=float(result.estimate),
        ci=(float(result.ci_low), float(result.ci_high)),
        p_value=p,
        p_adjusted=p,
        method=_method(hypothesis, n, alpha, result),
        n_queries=n,
        n_samples=data.n_samples,
        op=hypothesis.op,
        bound=hypothesis.bound,
        margin=hypothesis.margin,
        models=pinned,
        pinned=list(hypothesis.pinned_models),
        n_dropped=len(set().union(*(table.queries(m) for m in read)) - set(data.queries)),
    )
