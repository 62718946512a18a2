"""The runner's and the classifier's summaries as the analysis stage records them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from afdsl.analysis._record import Problem, RunInfo

if TYPE_CHECKING:  # the runner loads only when a test runs, not for a report
    from afdsl.classify.models import ClassifySummary
    from afdsl.run.types import RunSummary


def budget_reached() -> Problem:
    """The --budget stopped the run (the runner's words for it)."""
    from afdsl.run.types import BUDGET_REACHED

    return Problem(kind="budget", detail=BUDGET_REACHED)


def run_info(rounds: Sequence[tuple[RunSummary, ClassifySummary]], elapsed_s: float) -> RunInfo:
    """Sum the runner's and the classifier's summaries over rounds (judge cost included)."""
    info = RunInfo(elapsed_s=elapsed_s)
    for summary, classified in rounds:
        info.total += summary.total
        info.cached += summary.cached
        info.sent += summary.sent
        info.succeeded += summary.succeeded
        info.failed += summary.failed
        info.cost_usd += summary.cost_usd + classified.judge_cost_usd
        info.budget_exhausted |= summary.budget_exhausted or classified.budget_exhausted
        info.unpriced += [spec for spec in summary.unpriced if spec not in info.unpriced]
    return info


def run_problems(summary: RunSummary) -> list[Problem]:
    """What stopped or failed in a run, in the provider's words."""
    return [Problem(kind="run", detail=text) for text in summary.problems()]


def classify_problems(classified: ClassifySummary) -> list[Problem]:
    """Why labels are still missing (a judge the provider stopped, failed judge calls)."""
    budget = budget_reached()
    return [
        budget if text == budget.detail else Problem(kind="classify", detail=text)
        for text in classified.problems()
    ]
