"""What the analysis stage hands to the renderers: one typed `TestRecord`.

These models sit between the pipeline and the report files, so every renderer
reads the same facts and the renderers can be tested with records built by
hand. Per-sample rows are plain dataclasses, not pydantic models: a report may
carry 100,000 of them and must still render in well under two seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from afdsl.analysis._derived import Breakdown
from afdsl.analysis._manifest import Manifest
from afdsl.ir import Experiment
from afdsl.stats.contributions import HypothesisQueries
from afdsl.stats.models import AnalysisResult

ProblemKind = Literal[
    "run",  # the runner's words for what stopped or failed (the provider's message)
    "classify",  # the classifier's: a judge the provider stopped, labels pending
    "budget",  # the --budget was reached
    "failed_calls",  # `count` model calls failed after retries
    "unanswered",  # `count` expected samples have no response
    "unlabelled",  # `count` stored responses have no label yet
    "duplicated",  # `count` samples are stored under two prompts
    "file_changed",  # the .afs file asks other prompts than the ones last tested
    "untested",  # a hypothesis could not be tested (`detail` says which and why)
    "no_analysis",  # a measure could not be analysed (`detail` says why)
    "simulator_cue",  # (a note) a `sim:` organism recognises none of a cue's wording
    "left_out",  # (a note) a hypothesis names a model `--model` left out
    # A hypothesis cannot be tested: every label it needs came back unparseable. A rerun
    # would not change that, so it fails (exit 1) rather than leaving the run incomplete.
    "unreadable",
]

# The sentence of each counted kind; other kinds carry their whole sentence in `detail`.
_COUNTED: dict[str, str] = {
    "failed_calls": "{n} model call(s) failed after retries; rerun `afdsl test` to retry them",
    "unanswered": "{n} expected sample(s) have no response in the store; rerun `afdsl test` "
    "to send them",
    "unlabelled": "{n} stored response(s) have no label yet; rerun `afdsl test` (or `afdsl "
    "classify`) to label them",
    "duplicated": "{n} sample(s) are stored under two prompts (the index of an earlier version "
    "of the file); rerun `afdsl test` to index the current prompts",
    "untested": "not tested: {detail}; the labels it needs are missing or unparseable (see the "
    "counts above)",
}

# Kinds that come from the run itself (the runner's and classifier's summaries): the store
# keeps only that calls failed, so these hold only while its counts are unchanged.
RUN_KINDS: frozenset[str] = frozenset({"run", "classify", "budget"})
# Kinds that fail the test (exit 1) instead of leaving it incomplete (exit 3): a rerun
# cannot change them.
FAILING_KINDS: frozenset[str] = frozenset({"unreadable"})


class Problem(BaseModel):
    """Why a run could not complete (exit 3), or, among `notes`, what a reader should know.

    A value with a kind, not a sentence: the pipeline merges and drops problems by
    kind; `text` words it for a report, the same in every format.
    """

    model_config = ConfigDict(frozen=True)

    kind: ProblemKind
    count: int = 0
    detail: str = ""
    hypothesis: str = ""  # the hypothesis and model an `unreadable` problem is about
    model: str = ""

    @property
    def text(self) -> str:
        template = _COUNTED.get(self.kind)
        return template.format(n=self.count, detail=self.detail) if template else self.detail

    def __str__(self) -> str:
        return self.text


def merge_problems(problems: list[Problem], more: list[Problem]) -> list[Problem]:
    """`problems` followed by those of `more` not already among them, in order."""
    return problems + [p for p in dict.fromkeys(more) if p not in problems]


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
    # Samples outside a conditional measure (`A given B` where B is 0): not unparseable,
    # simply not in its denominator.
    excluded_by_measure: dict[str, int] = {}
    errors: int = 0
    missing: int = 0
    labelled: int = 0  # responses with a readable compliance label
    # Why compliance labels are unparseable: reason ("neither tag in output",
    # "truncated", ...) -> responses, most common first.
    reasons: dict[str, int] = {}
    truncated: int = 0  # answers that stopped at max_tokens (finish reason "length")


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


class Verdict(BaseModel):
    """A `--sequential` run's verdict on one hypothesis of one model, from its e-process."""

    model: str
    hypothesis: str
    verdict: Literal["pass", "fail"]
    e_value: float


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


class TestRecord(BaseModel):
    """Everything one `afdsl test` (or `afdsl report`) established: what renderers read.

    `analysis` is None only when there was nothing to analyse (e.g. every call
    failed). `problems` say why the run could not complete; any problem makes
    the exit code 3.
    """

    __test__ = False  # not a pytest test class despite the name

    experiment: str
    file: str
    manifest: Manifest
    analysis: AnalysisResult | None
    counts: list[VariantCounts] = []
    run: RunInfo | None = None
    sequential: SequentialInfo | None = None
    problems: list[Problem] = []
    # What a reader should know but changes no verdict (e.g. a measure no hypothesis uses
    # could not be analysed); unlike `problems`, notes leave the exit code alone.
    notes: list[Problem] = []
    compliance_measure: str = "compliance"
    measures: list[str] = []
    # Variants, contrasts and hypotheses of each other measure (e.g. `faking`), shown as
    # small extra tables; `analysis` already carries their hypotheses.
    measure_analyses: dict[str, AnalysisResult] = {}
    # Complied with faking reasoning / complied without / refused per model x variant x
    # condition (when the experiment labels compliance and faking), and those two measures.
    breakdown: list[Breakdown] = []
    derived_measures: dict[str, str] = {}  # derived measure -> its definition as written
    breakdown_measures: tuple[str, str] | None = None
    # The e-process verdicts of a `--sequential` run (they replace the fixed-sample ones).
    verdicts: list[Verdict] = []
    # The per-query values behind each hypothesis result (for the HTML's per-query tables);
    # not in the JSON document, whose schema is a contract.
    query_contributions: list[HypothesisQueries] = Field(default_factory=list, exclude=True)
    # Not validated and not dumped: rows are built by the analysis and only the CSV writes them.
    samples: Annotated[list[SampleRow], SkipValidation] = Field(default_factory=list, exclude=True)

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def n_passed(self) -> int:
        return sum(h.verdict == "pass" for h in self.analysis.hypotheses) if self.analysis else 0

    @property
    def n_failed(self) -> int:
        return sum(h.verdict == "fail" for h in self.analysis.hypotheses) if self.analysis else 0

    @property
    def incomplete(self) -> bool:
        """Whether a rerun could change the result: calls failed, the budget stopped the run,
        data is missing (every problem but those of `FAILING_KINDS`), or nothing to analyse."""
        rerun = any(p.kind not in FAILING_KINDS for p in self.problems)
        return rerun or (self.analysis is None and not self.problems)

    @property
    def n_untestable(self) -> int:
        """Hypotheses (per model) that cannot be tested for want of readable labels."""
        return sum(p.kind in FAILING_KINDS for p in self.problems)

    @property
    def exit_code(self) -> int:
        """Like a test runner: 3 incomplete (a rerun can help), 1 a hypothesis failed or
        cannot be tested for want of readable labels, 0 all passed."""
        if self.incomplete:
            return 3
        return 1 if self.n_failed or self.n_untestable else 0


TestOutcome = TestRecord  # the name before the analysis stage had its own package


class RunRecord(BaseModel):
    """What `afdsl test` leaves in the store so `afdsl report` re-renders the same report.

    The store's answers and labels are re-read and re-analysed; this keeps what
    they cannot tell: the experiment as tested (models given with `--model`),
    the run's cost and time, its problems in the provider's words, which
    queries a sequential run used and its e-process verdicts.
    """

    file: str
    experiment: Experiment
    started_at: str
    finished_at: str | None = None  # None: not finished (a report made without a record)
    prompt_set_hash: str | None = None  # None: hash the stored responses instead
    run: RunInfo | None = None
    sequential: SequentialInfo | None = None
    queries_used: list[str] | None = None  # None: every query (not a sequential run)
    problems: list[Problem] = []  # of kinds in RUN_KINDS
    counts: list[VariantCounts] = []  # the counts the problems held for
    verdicts: list[Verdict] = []
