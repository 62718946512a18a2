"""What `afdsl test` and `afdsl report` hand to the renderers.

These models sit between the pipeline and the report files, so every renderer
reads the same facts and the renderers can be tested with outcomes built by
hand. Per-sample rows are plain dataclasses, not pydantic models: a report may
carry 100,000 of them and must still render in well under two seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from afdsl.report.manifest import Manifest
from afdsl.stats.contributions import HypothesisQueries
from afdsl.stats.models import AnalysisResult


class VariantCounts(BaseModel):
    """How many samples of one model x variant there are, and how many could not be used.

    `unparseable` responses were answered but the compliance label could not be
    read (excluded from statistics, counted here); `errors` are calls that
    failed after retries; `missing` are expected samples with no response or
    no label yet.
    """

    model: str
    variant: str
    expected: int = 0
    responses: int = 0
    unparseable: int = 0
    unparseable_by_measure: dict[str, int] = {}  # every measure's own unparseable count
    errors: int = 0
    missing: int = 0


class RunInfo(BaseModel):
    """The part of the runner's summary a report shows (cost, time, what was sent)."""

    total: int = 0
    cached: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    budget_exhausted: bool = False
    unpriced: list[str] = Field(default_factory=list)  # models whose cost is not in cost_usd

    def cost_text(self) -> str:
        """`$0.55`, saying which models it leaves out (no known price): never a false $0.00."""
        if not self.unpriced:
            return f"${self.cost_usd:.2f}"
        return f"${self.cost_usd:.2f} (excludes {', '.join(self.unpriced)}: no known price)"


class SequentialInfo(BaseModel):
    """How a `--sequential` run ended."""

    rounds: int
    queries_used: int
    queries_available: int
    stopped_early: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class SampleRow:
    """One stored response with its labels (`None` = unparseable, missing key = not labelled)."""

    model: str
    variant: str
    condition: str
    query_id: str
    sample: int
    prompt_hash: str
    status: str
    labels: dict[str, int | None] = field(default_factory=dict)


class TestOutcome(BaseModel):
    """Everything one `afdsl test` (or `afdsl report`) established.

    `analysis` is None only when there was nothing to analyse (e.g. every call
    failed). `problems` lists why the run could not complete; any problem
    makes the exit code 3.
    """

    __test__ = False  # not a pytest test class despite the name

    experiment: str
    file: str
    manifest: Manifest
    analysis: AnalysisResult | None
    counts: list[VariantCounts] = []
    run: RunInfo | None = None
    sequential: SequentialInfo | None = None
    problems: list[str] = []
    # What a reader should know but changes no verdict (e.g. a measure no hypothesis uses
    # could not be analysed); unlike `problems`, notes leave the exit code alone.
    notes: list[str] = []
    compliance_measure: str = "compliance"
    measures: list[str] = []
    # Variants, contrasts and hypotheses of each other measure (e.g. `faking`), shown as
    # small extra tables; `analysis` already carries their hypotheses.
    measure_analyses: dict[str, AnalysisResult] = {}
    # The per-query values behind each hypothesis result (for the HTML's per-query tables);
    # not in the JSON document, whose schema is a contract.
    query_contributions: list[HypothesisQueries] = Field(default_factory=list, exclude=True)
    # Not validated and not dumped: rows are built by the pipeline and only the CSV writes them.
    samples: Annotated[list[SampleRow], SkipValidation] = Field(default_factory=list, exclude=True)

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def n_passed(self) -> int:
        return sum(h.verdict == "pass" for h in self.analysis.hypotheses) if self.analysis else 0

    @property
    def n_failed(self) -> int:
        return sum(h.verdict == "fail" for h in self.analysis.hypotheses) if self.analysis else 0

    @property
    def exit_code(self) -> int:
        """Like a test runner: 3 incomplete, 1 a hypothesis failed, 0 all passed."""
        if self.problems or self.analysis is None:
            return 3
        return 1 if self.n_failed else 0
