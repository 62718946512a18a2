"""Result models of the statistics stage.

`AnalysisResult.model_dump(mode="json")` is exactly the `afdsl analyze --json`
document (keys may be added, never renamed). Reports render these models.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)


def _finite(value: Any) -> Any:
    """NaN and infinities as None, through lists, tuples and dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class FiniteResult(BaseModel):
    """A result whose JSON form never holds NaN (an undefined interval is `null`).

    `model_dump_json` already writes `null`; this makes `model_dump(mode="json")`,
    what a notebook user hands to `json.dumps`, agree with it.
    """

    @model_serializer(mode="wrap")
    def _json_without_nan(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        return _finite(data) if info.mode_is_json() else data


class LabelRecord(BaseModel):
    """One labelled sample: the input of every statistic."""

    model_config = ConfigDict(frozen=True)

    model: str | None = None
    variant: str
    condition: str
    query_id: str
    sample: int
    complied: bool


class VariantEstimate(FiniteResult):
    model: str | None
    variant: str
    n_queries: int
    n_samples: int
    rate: dict[str, float]  # condition name -> pooled rate (descriptive)
    rate_ci: dict[str, tuple[float, float]] = {}  # Wilson 95% on pooled samples (descriptive)
    gap: float
    gap_ci: tuple[float, float]
    # Queries of the model left out of the gap for want of labels in one of the two
    # conditions (e.g. a conditional measure's query with no sample where the condition holds).
    n_dropped: int = 0


class ConditionRates(FiniteResult):
    """A variant labelled under only one of the two conditions (`drop condition`): rates, no gap."""

    model: str | None
    variant: str
    n_queries: int
    n_samples: int
    rate: dict[str, float]
    rate_ci: dict[str, tuple[float, float]] = {}


class Contrast(FiniteResult):
    model: str | None
    variant: str
    against: str
    delta_gap: float
    ci: tuple[float, float]
    p_value: float
    p_permutation: float
    p_adjusted: float
    n_queries: int = 0
    # Why p is what it is when the t test cannot apply (all per-query differences equal).
    note: str | None = None


class HypothesisResult(FiniteResult):
    model: str | None
    name: str
    expression: str
    verdict: Literal["pass", "fail"]
    estimate: float
    ci: tuple[float, float]
    p_value: float
    p_adjusted: float
    method: str
    n_queries: int
    n_samples: int
    # What the estimate is tested against, so a figure can draw it: `estimate OP bound`,
    # and for `==` the equivalence margin either side of the bound (None: not recorded).
    op: Literal["<", ">", "!=", "=="] | None = None
    bound: float | None = None
    margin: float | None = None
    # A cross-model hypothesis (terms pinned with `@`): the models it compares, by their
    # name in the labels (`model` is then None), tested once on the queries all of them
    # answered. Empty for a hypothesis tested on each model (or on its `for` model).
    models: list[str] = []
    pinned: list[str] = []  # the same models by the names the hypothesis gives them
    # Queries of the model (of any model compared, across models) left out for want of
    # labels in a cell the hypothesis refers to.
    n_dropped: int = 0
    # The measure its `on MEASURE` names (None: the default, compliance). Set by the
    # analysis of an experiment; the statistics only see one measure's labels.
    measure: str | None = None


class AnalysisResult(FiniteResult):
    alpha: float
    correction: Literal["holm", "bh", "none"]
    training: str = "training"
    deployment: str = "deployment"
    base: str = "base"
    variants: list[VariantEstimate]
    contrasts: list[Contrast]
    hypotheses: list[HypothesisResult]
    # Only with `analyze_labels(..., partial_variants=True)`: variants with one condition.
    one_condition: list[ConditionRates] = []
