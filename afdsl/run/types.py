"""The runner's boundary models: what goes in (`RunItem`, `RunOptions`) and what comes out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from afdsl.ir import Experiment, ModelConfig, Prompt
from afdsl.models import prompt_cache_default
from afdsl.models.base import Request


class RunItem(BaseModel):
    """A request plus the experiment cell it answers.

    For judge calls (`request.purpose == "judge"`) the cell fields name the
    response being judged (experiment, variant, condition, query_id) so judge
    rows can be traced back; empty strings are allowed when there is none.
    """

    model_config = ConfigDict(frozen=True)

    request: Request
    experiment: str = ""
    variant: str = ""
    condition: str = ""
    query_id: str = ""


# The most requests in flight: past this a run gains nothing and costs memory per worker.
MAX_CONCURRENCY = 1024


class RunOptions(BaseModel):
    """How to run. `max_retries` is the one retry budget per request (the SDKs retry never)."""

    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)] = 16
    rpm: Annotated[int | None, Field(ge=1)] = None
    tpm: Annotated[int | None, Field(ge=1)] = None
    budget_usd: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None
    max_retries: Annotated[int, Field(ge=0)] = 6
    dry_run: bool = False
    batch: bool = False
    progress: bool = True
    retry_base_s: Annotated[float, Field(ge=0)] = 1.0  # first backoff step; doubles per attempt
    retry_cap_s: Annotated[float, Field(ge=0)] = 60.0
    # The longest a provider's Retry-After can make a request wait (`inf` or a day would
    # stall the run); and after how long with no answer the progress display says so.
    max_retry_after_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 120.0
    stall_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 60.0
    batch_poll_s: Annotated[float, Field(gt=0)] = 30.0
    # First wait before a failed store commit is tried again (then doubling, four retries).
    store_retry_s: Annotated[float, Field(ge=0)] = 0.25
    batch_size: Annotated[int, Field(ge=1)] = 10_000
    # Mark system prompts for provider prompt caching (Anthropic); OpenAI caches regardless.
    # On unless $AFDSL_NO_PROMPT_CACHE is set.
    cache_prompts: bool = Field(default_factory=prompt_cache_default)


class ModelEstimate(BaseModel):
    """What a run of one model would send and cost (dry run, budget check)."""

    model: str
    requests: int
    input_tokens: int
    output_tokens: int  # max_tokens per request, or the mean of stored responses (output_basis)
    cost_usd: float | None  # None when the price table does not know the model
    simulator: bool = False
    output_basis: str = "max_tokens"  # or "mean of N stored"
    cache_write_tokens: int = 0  # parts of input_tokens expected to be written to the prompt
    cache_read_tokens: int = 0  # cache, and read from it (priced as such in cost_usd)
    # Set when the model caches prompts but none here reaches its minimum length (tokens).
    cache_min_tokens: int | None = None


# What every command says when --budget stops it. The budget is per command, so a plain
# rerun continues; a run stops below it because requests in flight count at max_tokens.
BUDGET_REACHED = (
    "the --budget was reached (requests in flight count at their max_tokens, so a run stops "
    "below it); rerun to continue: each command has its own budget, and stored answers are "
    "not paid for again"
)


class RunSummary(BaseModel):
    total: int = 0  # items asked for
    cached: int = 0  # already ok in the store
    sent: int = 0  # distinct requests attempted this run
    succeeded: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    budget_exhausted: bool = False
    estimates: list[ModelEstimate] = Field(default_factory=list)  # filled by dry runs
    skipped: int = 0  # not sent (budget, interruption, a stopped model); a rerun sends them
    # Model spec -> the error that stopped it (bad key, unknown model: see `retry.stops_model`).
    stopped: dict[str, str] = Field(default_factory=dict)
    # Models answered in this run with no known price: their cost is not in `cost_usd`.
    unpriced: list[str] = Field(default_factory=list)
    # Error message -> how many requests failed with it this run (the first 20 distinct ones).
    errors: dict[str, int] = Field(default_factory=dict)
    # Answers an earlier run could not store, imported from its recovery file before sending.
    recovered: int = 0
    # Why a commit failed in this run (all was stored in the end, but sending stopped).
    store_error: str | None = None
    # The longest stretch with no answer, when it reached `RunOptions.stall_s` (else 0).
    stalled_s: float = 0.0

    def count_error(self, message: str) -> None:
        if message in self.errors or len(self.errors) < 20:
            self.errors[message] = self.errors.get(message, 0) + 1

    @property
    def complete(self) -> bool:
        return not self.budget_exhausted and self.skipped == 0 and self.store_error is None

    def stall_note(self) -> str | None:
        """What to say after a run that went a long time without an answer (not a failure)."""
        if not self.stalled_s:
            return None
        return (
            f"the run stalled: no answer came for {self.stalled_s:.0f} s at a time (a provider "
            "asking to wait is waited for at most --max-retry-after seconds, default 120)"
        )

    def problems(self, shown: int = 3) -> list[str]:
        """What stopped or failed, in the provider's words, most common error first
        (empty when nothing did): `afdsl run` and `afdsl test` both print these."""
        found = [
            f"{spec}: stopped after {message}; its other requests were not sent: check the "
            "model name and its API key, then rerun"
            for spec, message in self.stopped.items()
        ]
        if self.store_error is not None:
            found.append(
                f"{self.store_error}; sending stopped, and every answer received was stored "
                "on a later attempt: rerun to send the rest"
            )
        common = sorted(self.errors.items(), key=lambda kv: -kv[1])
        found += [f"{n} request(s) failed with {message}" for message, n in common[:shown]]
        if len(common) > shown:
            found.append(f"... and {len(common) - shown} other error message(s)")
        return found


def _config_for(spec: str, experiment: Experiment) -> ModelConfig:
    for model in experiment.models:
        if model.spec == spec:
            return model
    return ModelConfig(spec=spec)


def items_from_prompts(prompts: Iterable[Prompt], experiment: Experiment) -> Iterator[RunItem]:
    """Turn compiled prompts into run items, with each prompt's model configuration."""
    configs: dict[str, ModelConfig] = {}
    for prompt in prompts:
        config = configs.get(prompt.model)
        if config is None:
            config = configs[prompt.model] = _config_for(prompt.model, experiment)
        request = Request(
            prompt_hash=prompt.prompt_hash,
            system=prompt.system,
            messages=prompt.messages,
            model=config,
            sample=prompt.sample,
            seed=experiment.seed,
            continuation=prompt.continuation,
        )
        yield RunItem(
            request=request,
            experiment=prompt.experiment,
            variant=prompt.variant,
            condition=prompt.condition,
            query_id=prompt.query_id,
        )
