"""Result models of the classify stage: one score per text, summaries per run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from afdsl.run.types import BUDGET_REACHED, ModelEstimate


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
    judge_calls: int = 0  # asked for; identical judge prompts share one call
    judge_cached: int = 0
    judge_sent: int = 0  # distinct calls sent now (what was paid for)
    judge_failed: int = 0
    judge_cost_usd: float = 0.0
    budget_exhausted: bool = False
    dry_run: bool = False  # nothing was sent or stored; `judge_estimates` says what would be
    judge_estimates: list[ModelEstimate] = Field(default_factory=list)
    # Judge spec -> the error that stopped it (bad key, unknown model): a rerun alone won't help.
    judge_stopped: dict[str, str] = Field(default_factory=dict)
    # Why labels are pending: a failed judge call's error (or "not sent") -> responses.
    pending_reasons: dict[str, int] = Field(default_factory=dict)

    @property
    def pending(self) -> int:
        return sum(m.pending for m in self.measures)

    def problems(self) -> list[str]:
        """Why some responses have no label yet, each with what to do; empty when all labelled."""
        found = [
            f"judge {spec} stopped after: {error}; its other calls were not sent. Check the "
            "judge's model name and API key, then rerun"
            for spec, error in self.judge_stopped.items()
        ]
        if self.budget_exhausted:
            found.append(BUDGET_REACHED)
        if self.pending:
            reasons = "; ".join(f"{n} x {why}" for why, n in self.pending_reasons.items())
            found.append(
                f"{self.pending} labels are pending ({reasons}); rerun to send the missing "
                "judge calls (stored replies are not paid for again)"
            )
        return found
