"""Result models of the classify stage: one score per text, summaries per run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from afdsl.run.types import ModelEstimate


class Score(BaseModel):
    """What a measure says about one response.

    `label` is 1 (yes), 0 (no) or None (unparseable: counted, never dropped).
    `score` is the continuous quantity behind the label (judge score, vote
    fraction, keyword fraction, or the label itself for `tag`), None when unparseable.
    """

    label: int | None
    score: float | None
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def unparseable(self) -> bool:
        return self.label is None


class MeasureSummary(BaseModel):
    """Counts for one measure after `classify_experiment`."""

    measure: str
    kind: str
    responses: int = 0
    already_labelled: int = 0
    labelled: int = 0
    positive: int = 0
    negative: int = 0
    unparseable: int = 0
    pending: int = 0  # judge calls that failed or were not sent (budget): retried next time


class ClassifySummary(BaseModel):
    """What `classify_experiment` did, per measure, plus the judge calls it made."""

    experiment: str
    measures: list[MeasureSummary] = Field(default_factory=list)
    judge_calls: int = 0
    judge_cached: int = 0
    judge_failed: int = 0
    judge_cost_usd: float = 0.0
    budget_exhausted: bool = False
    dry_run: bool = False  # nothing was sent or stored; `judge_estimates` says what would be
    judge_estimates: list[ModelEstimate] = Field(default_factory=list)
