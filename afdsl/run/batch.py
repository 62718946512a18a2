"""`--batch`: the Anthropic Message Batches API and the OpenAI Batch API.

A batch id goes into the store the moment the provider returns it, with the
(prompt_hash, sample) of every entry. A later run first polls the open
batches of each model and never resubmits anything they contain, so an
interrupted batch run resumes by polling and never pays twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from functools import partial
from typing import Any

from afdsl.models.base import Backend, BackendError, BatchApi, Completion
from afdsl.run.retry import with_retries
from afdsl.run.types import RunOptions


def supports_batch(backend: Backend) -> bool:
    """Backends with a batch API (anthropic, openai)."""
    return backend.capabilities().batch is not None


def custom_id(prompt_hash: str, sample: int) -> str:
    """Unique per request in a batch; fits Anthropic's `[A-Za-z0-9_-]{1,64}`."""
    return f"{prompt_hash[:48]}-{sample}"


async def run_batches(
    jobs: list[Any], backends: dict[tuple[str, str], Backend], state: Any
) -> None:
    """Resume open batches, submit the rest in chunks, poll until every batch has ended."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for job in jobs:
        groups[job.group].append(job)
    runs = []
    for group, grouped in groups.items():
        api = backends[group].capabilities().batch
        if api is None:  # the scheduler sends here only models with `supports_batch`
            raise ValueError(f"{group[0]} has no batch API")
        runs.append(_run_group(group, grouped, api, state))
    await asyncio.gather(*runs)


async def _run_group(
    group: tuple[str, str], jobs: list[Any], backend: BatchApi, state: Any
) -> None:
    """Submit and collect one model's batches; a provider failure stops only this model.

    When submitting or polling still fails after retries (an outage, a rejected
    key), what was submitted stays open in the store, so the next run polls it
    again and never pays twice; the rest of this model's requests are not sent.
    """
    spec = group[0]
    settled: set[tuple[str, int]] = set()  # recorded or skipped in this run
    try:
        await _submit_and_collect(group, jobs, backend, state, settled)
    except BackendError as exc:
        state.summary.stopped.setdefault(spec, f"batch API: {exc}")
        state.summary.skipped += sum(1 for j in jobs if _key(j) not in settled)


def _key(job: Any) -> tuple[str, int]:
    return (job.item.request.prompt_hash, job.item.request.sample)


async def _submit_and_collect(
    group: tuple[str, str],
    jobs: list[Any],
    backend: BatchApi,
    state: Any,
    settled: set[tuple[str, int]],
) -> None:
    spec, params_hash = group
    options: RunOptions = state.options
    config = jobs[0].config
    by_key = {_key(j): j for j in jobs}
    open_batches = state.store.open_batches(spec, params_hash)
    in_flight = {key for entries in open_batches.values() for key in entries.values()}
    todo = [j for key, j in by_key.items() if key not in in_flight]
    discount = state.prices.batch_discount
    submitted: set[tuple[str, int]] = set()  # reserved against the budget in this run

    for start in range(0, len(todo), options.batch_size):
        chunk = []
        for job in todo[start : start + options.batch_size]:
            if state.sendable(job, job.est_cost * discount):
                chunk.append(job)
            else:
                settled.add(_key(job))
        if not chunk:
            continue
        entries = [
            (custom_id(j.item.request.prompt_hash, j.item.request.sample), j.item.request)
            for j in chunk
        ]
        batch_id = await with_retries(partial(backend.submit_batch, entries), options)
        # Written before anything else can fail: this id is what prevents paying twice.
        rows = [(cid, req.prompt_hash, req.sample) for cid, req in entries]
        state.store.add_batch(batch_id, config.provider, spec, params_hash, rows)
        open_batches[batch_id] = {cid: (h, s) for cid, h, s in rows}
        submitted.update((h, s) for _, h, s in rows)
        state.summary.sent += len(chunk)

    while open_batches:
        for batch_id in list(open_batches):
            results = await _poll(backend, batch_id, open_batches[batch_id], options)
            if results is None:
                continue
            for cid, (prompt_hash, sample) in open_batches.pop(batch_id).items():
                result = results.get(cid) or BackendError("server", "missing from the batch output")
                job = by_key.get((prompt_hash, sample))
                purpose = job.item.request.purpose if job else "model"
                cost = state.record_key(config, prompt_hash, sample, purpose, result, batch=True)
                settled.add((prompt_hash, sample))
                if job is not None and (prompt_hash, sample) in submitted:
                    state.budget.settle(job.est_cost * discount, cost)
                else:
                    state.budget.settle(0.0, cost)
            state.flush()
            state.store.close_batch(batch_id)
        if open_batches:
            await asyncio.sleep(options.batch_poll_s)


async def _poll(
    backend: BatchApi, batch_id: str, custom_ids: Iterable[str], options: RunOptions
) -> dict[str, Completion | BackendError] | None:
    """The results of an ended batch, None while it runs.

    A batch the provider does not know (404: expired, deleted, or made with
    another account) has no results: every entry is then recorded as failed,
    so the next run sends it again instead of polling the missing batch forever.
    """
    try:
        if not await with_retries(partial(backend.batch_done, batch_id), options):
            return None
        results: dict[str, Completion | BackendError] = await with_retries(
            partial(backend.batch_results, batch_id), options
        )
    except BackendError as exc:
        if exc.status != 404:
            raise
        gone = BackendError("client", f"batch {batch_id} is unknown to the provider: {exc}")
        return dict.fromkeys(custom_ids, gone)
    return results
