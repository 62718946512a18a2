"""Send what is missing from the store, as fast as the limits allow, saving as results arrive.

A fixed pool of `concurrency` worker coroutines pulls jobs from one queue (no
task per item: cheaper at thousands of items). Each job is one distinct store
key; cells that share a prompt share the job. Results go to the store in small
group commits scheduled on the event loop, so a kill loses at most what was in
flight. The one retry budget lives here (`retry.py` holds the policy).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

from afdsl.diagnostics import error
from afdsl.ir import ModelConfig
from afdsl.models import check_api_keys
from afdsl.models.base import Backend, BackendError, Completion, UnknownProvider, make_backend
from afdsl.redact import redact
from afdsl.run.conversation import (
    conversation_completion,
    further_call_cost,
    is_finished,
    next_request,
    possible_calls,
    response_key,
    turn_of,
)
from afdsl.run.cost import (
    OutputEstimate,
    PriceTable,
    cache_rule,
    estimate_tokens,
    expected_output,
    price_table,
)
from afdsl.run.interrupt import Interrupt
from afdsl.run.limits import Limits
from afdsl.run.progress import ProgressSink, make_progress
from afdsl.run.retry import stops_model, with_retries
from afdsl.run.types import ModelEstimate, RunItem, RunOptions, RunSummary
from afdsl.run.writer import ResultWriter
from afdsl.store import ItemKey, Outcome, Store, Turn

GroupKey = tuple[str, str]  # (model spec, params_hash)


@lru_cache(maxsize=256)
def params_hash(config: ModelConfig) -> str:
    """`ModelConfig.params_hash()`, computed once per model rather than once per response."""
    return config.params_hash()


def group_of(config: ModelConfig) -> GroupKey:
    """The (model spec, params_hash) a store keys `config`'s responses by."""
    return (config.spec, params_hash(config))


@dataclass
class Job:
    """One distinct request to make: a store key and the first item that asked for it."""

    item: RunItem
    est_input: int
    est_output: int
    est_cost: float
    est_cache_write: int = 0  # parts of est_input expected to be written to / read from the
    est_cache_read: int = 0  # provider's prompt cache (see `plan`)

    @property
    def config(self) -> ModelConfig:
        return self.item.request.model

    @property
    def group(self) -> GroupKey:
        """(model spec, params_hash): which backend sends it."""
        return group_of(self.config)


@dataclass
class Plan:
    jobs: list[Job]
    cached: int
    configs: dict[GroupKey, ModelConfig]
    outputs: dict[GroupKey, OutputEstimate] = field(default_factory=dict)
    # Per model with a cache rule: the minimum prefix, and whether any prompt reached it.
    cache_min: dict[GroupKey, int] = field(default_factory=dict)
    cache_counted: set[GroupKey] = field(default_factory=set)


@dataclass
class Budget:
    """Spend so far plus what in-flight requests may still cost (their upper-bound estimates)."""

    limit: float | None
    spent: float = 0.0
    reserved: float = 0.0
    exhausted: bool = False

    def reserve(self, amount: float) -> bool:
        if self.limit is not None and self.spent + self.reserved + amount > self.limit + 1e-12:
            self.exhausted = True
            return False
        self.reserved += amount
        return True

    def settle(self, reserved: float, actual: float) -> None:
        self.reserved -= reserved
        self.spent += actual


@dataclass
class RunState:
    """Shared by the workers and the batch runner of one run."""

    store: Store
    options: RunOptions
    prices: PriceTable
    progress: ProgressSink
    budget: Budget
    summary: RunSummary
    writer: ResultWriter
    interrupt: Interrupt = field(default_factory=Interrupt)
    last_answer: float = field(default_factory=time.monotonic)  # when a result last came

    def record(self, job: Job, result: Completion | Exception, *, batch: bool = False) -> float:
        """Queue one job's result for the store; returns its cost."""
        r = job.item.request
        return self.record_key(r.model, r.prompt_hash, r.sample, r.purpose, result, batch=batch)

    def record_key(
        self,
        config: ModelConfig,
        prompt_hash: str,
        sample: int,
        purpose: str,
        result: Completion | Exception,
        *,
        batch: bool = False,
        conversation: tuple[float, float] | None = None,
    ) -> float:
        """Queue one result (group commit on the next loop turn); returns its cost.

        A conversation passes (its cost over every turn, what this run spent on
        it): its turns were charged as they arrived (`record_reply`).
        """
        common = {
            "prompt_hash": prompt_hash,
            "model": config.spec,
            "params_hash": params_hash(config),
            "sample": sample,
            "purpose": purpose,
            "params": {"temperature": config.temperature, "max_tokens": config.max_tokens},
        }
        cost = 0.0
        if isinstance(result, Completion):
            cost = (
                self.completion_cost(config, result, batch=batch)
                if conversation is None
                else conversation[0]
            )
            outcome = Outcome(
                **common,  # type: ignore[arg-type]
                text=result.text,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                latency_s=result.latency_s,
                model_id=result.model_id,
                cost_usd=cost,
                cache_write_tokens=result.cache_write_tokens,
                cache_read_tokens=result.cache_read_tokens,
            )
            self.summary.succeeded += 1
            if self.prices.price(config.spec) is None and config.spec not in self.summary.unpriced:
                self.summary.unpriced.append(config.spec)  # its $0 is unknown, not free
        else:
            outcome = self._failure(common, config.spec, result)
        spent = cost if conversation is None else conversation[1]
        if conversation is None:
            self.summary.cost_usd += cost
        self.last_answer = time.monotonic()
        self.writer.add(outcome)
        self.progress.advance(ok=isinstance(result, Completion), cost_usd=spent)
        return cost

    def _failure(self, common: dict[str, Any], spec: str, result: Exception) -> Outcome:
        """The outcome of a failed request, counted in the summary."""
        kind = result.kind if isinstance(result, BackendError) else "other"
        message = (
            str(result)  # redacted when made
            if isinstance(result, BackendError)
            else redact(f"{type(result).__name__}: {result}")
        )
        self.summary.failed += 1
        self.summary.count_error(f"{spec}: {message[:300]}")
        return Outcome(**common, error_kind=kind, error_message=message[:1000])

    def completion_cost(self, config: ModelConfig, result: Completion, *, batch: bool) -> float:
        return self.prices.cost(
            config.spec, result.input_tokens, result.output_tokens, batch=batch,
            cache_write=result.cache_write_tokens, cache_read=result.cache_read_tokens,
        )  # fmt: skip

    def record_reply(
        self, job: Job, turns: list[Turn], reply: Completion, *, batch: bool = False
    ) -> float:
        """Queue a conversation call's reply as its next turn (`turns` grows by it; the
        store writes turns before responses); returns the call's cost."""
        cost = self.completion_cost(job.config, reply, batch=batch)
        turns.append(turn_of(len(turns) + 1, reply, cost))
        self.summary.cost_usd += cost
        self.last_answer = time.monotonic()
        self.writer.add_turn(response_key(job.item.request, params_hash(job.config)), turns[-1])
        return cost

    def record_conversation(self, job: Job, turns: list[Turn], spent: float) -> None:
        """Queue a finished conversation's response row: every turn, usage summed
        (`spent`: what this run paid for it, already counted turn by turn)."""
        r = job.item.request
        assert r.continuation is not None
        whole = conversation_completion(r.continuation, turns)
        cost = sum(t.cost_usd for t in turns)
        self.record_key(
            job.config, r.prompt_hash, r.sample, r.purpose, whole, conversation=(cost, spent)
        )

    def stop_if_fatal(self, config: ModelConfig, result: Completion | Exception) -> None:
        """After a bad key or unknown model, send nothing more to that model in this run."""
        if stops_model(result):
            self.summary.stopped.setdefault(config.spec, str(result))

    def sendable(self, job: Job, cost: float) -> bool:
        """Whether to send `job` (reserving `cost`); counts it as skipped when not."""
        if (
            self.interrupt.requested
            or self.writer.failed  # a commit failed: every answer from now on could be lost
            or job.config.spec in self.summary.stopped
            or self.budget.exhausted
            or not self.budget.reserve(cost)
        ):
            self.summary.skipped += 1
            return False
        return True

    def flush(self) -> bool:
        """Commit the results recorded so far (turns first: a conversation's row never lacks
        its turns); False, keeping them, when the store refuses."""
        return self.writer.flush()


def item_key(item: RunItem) -> ItemKey:
    r = item.request
    return ItemKey(
        item.experiment, r.model.spec, params_hash(r.model), item.variant, item.condition,
        item.query_id, r.sample, r.purpose, r.prompt_hash,
    )  # fmt: skip


def plan(
    items: Iterable[RunItem],
    store: Store | None,
    prices: PriceTable,
    options: RunOptions | None = None,
) -> Plan:
    """Distinct requests not yet answered ok, in item order, with token and cost estimates.

    Output tokens per request are `max_tokens` until the store holds a few of
    the model's responses, then their mean (see `cost.expected_output`).

    Prompt caching: of the requests sharing a model and system prompt, the
    first `concurrency` are counted as cache writes (requests in flight
    together cannot read what the others are still writing), the rest as
    reads. In a batch every one counts as a write: batch cache hits are best
    effort, so only the conservative figure is safe for a budget.
    """
    options = options or RunOptions()
    writers: dict[tuple[GroupKey, str], int] = {}
    cache_min: dict[GroupKey, int] = {}
    cache_counted: set[GroupKey] = set()
    statuses: dict[GroupKey, dict[tuple[str, int], str]] = {}
    configs: dict[GroupKey, ModelConfig] = {}
    outputs: dict[GroupKey, OutputEstimate] = {}
    seen: set[tuple[str, str, str, int]] = set()
    jobs: list[Job] = []
    cached = 0
    for item in items:
        r = item.request
        group = group_of(r.model)
        if group not in statuses:
            configs[group] = r.model
            statuses[group] = store.statuses(*group) if store is not None else {}
            seen_outputs = store.output_tokens_seen(*group) if store is not None else (0, 0)
            outputs[group] = expected_output(r.model.max_tokens, *seen_outputs)
        if statuses[group].get((r.prompt_hash, r.sample)) == "ok":
            cached += 1
            continue
        key = (*group, r.prompt_hash, r.sample)
        if key in seen:
            continue
        seen.add(key)
        est_in, est_out = estimate_tokens(r, outputs[group].tokens)
        write = read = 0
        rule = cache_rule(r, prices.price(r.model.spec), cache_prompts=options.cache_prompts)
        if rule is not None:
            cache_min[group] = rule.min_tokens
        if rule is not None and (cacheable := rule.cached_tokens(r)):
            cache_counted.add(group)
            n = writers.get((group, r.system), 0)
            writers[(group, r.system)] = n + 1
            if options.batch or n < options.concurrency:
                write = cacheable
            else:
                read = cacheable
        cost = prices.cost(r.model.spec, est_in, est_out, cache_write=write, cache_read=read)
        jobs.append(Job(item, est_in, est_out, cost, write, read))
    return Plan(jobs, cached, configs, outputs, cache_min, cache_counted)


def estimates(p: Plan, prices: PriceTable) -> list[ModelEstimate]:
    """Per model: requests, estimated tokens and cost (None when the model has no price)."""
    out: dict[str, ModelEstimate] = {}
    for group, config in p.configs.items():
        if config.spec in out:
            continue
        known = prices.price(config.spec) is not None
        out[config.spec] = ModelEstimate(
            model=config.spec, requests=0, input_tokens=0, output_tokens=0,
            cost_usd=0.0 if known else None, simulator=config.provider == "sim",
            output_basis=p.outputs[group].basis,
            cache_min_tokens=None if group in p.cache_counted else p.cache_min.get(group),
        )  # fmt: skip
    for job in p.jobs:
        e = out[job.config.spec]
        calls = possible_calls(job)  # one, or each call a conversation may make
        e.requests += len(calls)
        e.input_tokens += sum(tokens_in for tokens_in, _ in calls)
        e.output_tokens += sum(tokens_out for _, tokens_out in calls)
        e.cache_write_tokens += job.est_cache_write
        e.cache_read_tokens += job.est_cache_read
        if e.cost_usd is not None:
            further = (prices.cost(job.config.spec, i, o) for i, o in calls[1:])
            e.cost_usd += job.est_cost + sum(further)
    return list(out.values())


def run_label(configs: Iterable[ModelConfig]) -> str:
    """Model names for the progress line, SIMULATOR-tagged where they are simulated."""
    names = [f"{c.display} [SIMULATOR]" if c.provider == "sim" else c.display for c in configs]
    return ", ".join(dict.fromkeys(names)) or "afdsl run"


def _make_backends(configs: dict[GroupKey, ModelConfig]) -> dict[GroupKey, Backend]:
    backends: dict[GroupKey, Backend] = {}
    for group, config in configs.items():
        try:
            backends[group] = make_backend(config)
        except UnknownProvider as exc:
            raise error(
                str(exc), hint="model specs look like `anthropic:NAME`, `openai:NAME`, `sim:NAME`"
            ) from None
    return backends


async def _call(backend: Backend, item: RunItem) -> Completion:
    by_cell = backend.capabilities().by_cell
    if by_cell is not None:  # replay can also match on the experiment cell
        return await by_cell.complete_item(
            item.request, item.variant, item.condition, item.query_id
        )
    return await backend.complete(item.request)


Attempt = Callable[[Job], Awaitable[Completion | Exception]]


class NotSent(Exception):
    """An attempt not made because the run was interrupted (nothing to record or pay)."""


async def _attempt(
    backend: Backend, job: Job, state: RunState, rng: random.Random, limits: Limits
) -> Completion | Exception:
    """Call with retries; returns the completion or the final error (never raises)."""
    interrupt = state.interrupt

    async def limited_call() -> Completion:
        # Every attempt counts against the provider's limits, retries included.
        await limits.acquire(job.est_input + job.est_output)
        if interrupt.requested:
            raise NotSent
        interrupt.started()
        try:
            return await _call(backend, job.item)
        finally:
            interrupt.finished()

    try:
        return await with_retries(limited_call, state.options, rng, state.progress.retry)
    except Exception as exc:  # the final error, or a backend bug: record it, keep the run going
        return exc


async def run_jobs(
    jobs: Iterator[Job],
    backends: dict[GroupKey, Backend],
    state: RunState,
    size: int | None = None,
) -> None:
    """The worker pool: `concurrency` coroutines pulling from one iterator, or fewer when
    there are only `size` jobs (memory grows with workers, not with jobs)."""
    options = state.options
    limits = Limits(options.rpm, options.tpm)
    rng = random.Random()

    async def worker() -> None:
        for job in jobs:
            if not state.sendable(job, job.est_cost):
                continue
            state.summary.sent += 1
            if job.item.request.continuation is not None:
                await converse(
                    job,
                    state,
                    partial(_attempt, backends[job.group], state=state, rng=rng, limits=limits),
                )
                continue
            result = await _attempt(backends[job.group], job, state, rng, limits)
            if isinstance(result, NotSent):
                state.summary.skipped += 1
                state.budget.settle(job.est_cost, 0.0)
                continue
            cost = state.record(job, result)
            state.budget.settle(job.est_cost, cost)
            state.stop_if_fatal(job.config, result)

    workers = options.concurrency if size is None else min(options.concurrency, size)
    await asyncio.gather(*(worker() for _ in range(workers)))


async def watch_stalls(state: RunState) -> None:
    """Report (progress display and summary) each stretch of `stall_s` with no answer at all:
    a run whose every request waits on the provider must not look like one that works."""
    every = state.options.stall_s
    reported = 0.0
    while True:
        await asyncio.sleep(every / 4)
        now = time.monotonic()
        idle = now - state.last_answer
        if idle >= every and now - reported >= every:
            reported = now
            state.summary.stalled_s = max(state.summary.stalled_s, idle)
            state.progress.stalled(idle)


async def run_watched(jobs: list[Job], backends: dict[GroupKey, Backend], state: RunState) -> None:
    """`run_jobs` with `watch_stalls` beside it."""
    state.last_answer = time.monotonic()
    watcher = asyncio.create_task(watch_stalls(state))
    try:
        await run_jobs(iter(jobs), backends, state, len(jobs))
    finally:
        watcher.cancel()


async def converse(job: Job, state: RunState, attempt: Attempt) -> None:
    """Run one conversation to its end, storing each turn as it arrives (see
    `conversation.py`). `sendable` has reserved the first call's budget; each
    further call reserves its own, and a run stopped between calls leaves the
    stored turns for the next run to go on from."""
    request = job.item.request
    continuation = request.continuation
    assert continuation is not None
    turns = state.store.turns(response_key(request, params_hash(job.config)))
    spent = 0.0
    reserved: float | None = job.est_cost
    while not is_finished(continuation, turns):
        if reserved is None:
            reserved = further_call_cost(job, turns, state.prices)
            if state.interrupt.requested or not state.budget.reserve(reserved):
                state.summary.skipped += 1
                return
        turn_request = next_request(request, turns)
        result = await attempt(
            replace(job, item=job.item.model_copy(update={"request": turn_request}))
        )
        if not isinstance(result, Completion):
            state.budget.settle(reserved, 0.0)
            _conversation_failed(job, state, result, spent)
            return
        cost = state.record_reply(job, turns, result)
        state.budget.settle(reserved, cost)
        spent, reserved = spent + cost, None
    if reserved is not None:  # the stored turns had already ended it: nothing was sent
        state.budget.settle(reserved, 0.0)
    state.record_conversation(job, turns, spent)


def _conversation_failed(job: Job, state: RunState, error: Exception, spent: float) -> None:
    """A call of a conversation failed or was not sent: its stored turns stay for a rerun."""
    if isinstance(error, NotSent):
        state.summary.skipped += 1
        return
    r = job.item.request
    state.record_key(
        job.config, r.prompt_hash, r.sample, r.purpose, error, conversation=(0.0, spent)
    )
    state.stop_if_fatal(job.config, error)


async def arun_items(
    items: Iterable[RunItem], store: Store, options: RunOptions | None = None
) -> RunSummary:
    """`run_items` for callers already inside an event loop. Takes no lock (see run_items)."""
    from afdsl.run.batch import run_batches, supports_batch

    options = options or RunOptions()
    start = time.monotonic()
    items = list(items)
    prices = price_table()
    if options.dry_run:
        p = plan(items, store, prices, options)
        return RunSummary(total=len(items), cached=p.cached, estimates=estimates(p, prices))
    recovered = store.import_recovered()  # answers an earlier run could not store: not paid twice
    store.register_items(item_key(i) for i in items)
    p = plan(items, store, prices, options)
    if options.budget_usd is not None:
        unpriced = sorted({j.config.spec for j in p.jobs if prices.price(j.config.spec) is None})
        if unpriced:
            raise error(
                f"--budget needs a price for {', '.join(unpriced)}",
                hint="add it to a price file named by $AFDSL_PRICES (see afdsl/data/prices.json)",
            )
    summary = RunSummary(total=len(items), cached=p.cached, recovered=recovered)
    needed = {j.group for j in p.jobs}  # nothing to send: no client
    check_api_keys(c for g, c in p.configs.items() if g in needed)  # before anything is sent
    backends = _make_backends({g: c for g, c in p.configs.items() if g in needed})
    for backend in backends.values():
        cache = backend.capabilities().prompt_cache  # backends that mark prompts for caching
        if cache is not None:
            cache.cache_prompts = options.cache_prompts
    progress = make_progress(options.progress)
    writer = ResultWriter(store, options.store_retry_s)
    state = RunState(store, options, prices, progress, Budget(options.budget_usd), summary, writer)
    progress.start(len(p.jobs), run_label(p.configs.values()))
    state.interrupt.install()
    try:
        jobs = p.jobs
        if options.batch:
            batched: list[Job] = []
            direct: list[Job] = []
            for job in jobs:
                (batched if supports_batch(backends[job.group]) else direct).append(job)
            await run_batches(batched, backends, state)
            jobs = direct
        await run_watched(jobs, backends, state)
    finally:
        state.interrupt.remove()
        try:
            await writer.finish()  # raises `StoreGaveUp` once the rest is in a recovery file
        finally:
            progress.close()
            for backend in backends.values():
                await backend.aclose()
    if writer.failure is not None:
        summary.store_error = str(writer.failure)
    summary.budget_exhausted = state.budget.exhausted
    summary.elapsed_s = time.monotonic() - start
    return summary


def run_items(
    items: Iterable[RunItem], store: Store, options: RunOptions | None = None
) -> RunSummary:
    """Send every item not yet answered ok in `store`, store each result as it arrives.

    Holds the store's run lock for the duration (raises `StoreBusy` if another
    run holds it); a dry run takes no lock and sends nothing.
    """
    options = options or RunOptions()
    if options.dry_run:
        return asyncio.run(arun_items(items, store, options))
    with store.run_lock():
        try:
            return asyncio.run(arun_items(items, store, options))
        except asyncio.CancelledError:  # stopped by Ctrl-C (see `interrupt.py`)
            raise KeyboardInterrupt from None
