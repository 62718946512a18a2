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
from afdsl.run.conversation import further_call_cost, is_finished, next_request, response_key
from afdsl.run.retry import with_retries
from afdsl.run.types import RunOptions


def supports_batch(backend: Backend) -> bool:
    """Backends with a batch API (anthropic, openai)."""
    return backend.capabilities().batch is not None


def custom_id(prompt_hash: str, sample: int, turn: int | None = None) -> str:
    """Unique per request in a batch; fits Anthropic's `[A-Za-z0-9_-]{1,64}`. A
    conversation's call also names its turn, so a result polled again after a kill
    is not taken for the next turn."""
    cid = f"{prompt_hash[:48]}-{sample}"
    return cid if turn is None else f"{cid}-t{turn}"


def _turn_in(cid: str) -> int | None:
    """The turn a conversation's custom id names (None for a single call)."""
    last = cid.rsplit("-", 1)[-1]
    return int(last[1:]) if last.startswith("t") and last[1:].isdigit() else None


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
    """Resume this model's open batches, then submit rounds until every job has an answer.

    A single call takes one round. A conversation (`continue`) takes one round
    per call: its turns are stored as each round ends, so the next round, or the
    next run, sends the conversation so far.
    """
    spec, params_hash = group
    rounds = _Rounds(jobs, state, settled)
    open_batches = state.store.open_batches(spec, params_hash)
    in_flight = {key for entries in open_batches.values() for key in entries.values()}
    todo = [j for key, j in rounds.by_key.items() if key not in in_flight and not rounds.ended(key)]
    while todo or open_batches:
        await _submit(todo, backend, rounds, open_batches, group)
        todo = await _collect(open_batches, backend, rounds)


class _Rounds:
    """What one model's batch rounds share: its jobs by key, each conversation's stored
    turns, and what this run reserved against the budget for each key in a batch."""

    def __init__(self, jobs: list[Any], state: Any, settled: set[tuple[str, int]]) -> None:
        self.state = state
        self.settled = settled
        self.by_key = {_key(j): j for j in jobs}
        self.config = jobs[0].config
        self.reserved: dict[tuple[str, int], float] = {}
        self.spent: dict[tuple[str, int], float] = {}
        self.turns = {
            key: state.store.turns(response_key(j.item.request, j.group[1]))
            for key, j in self.by_key.items()
            if j.item.request.continuation is not None
        }

    def ended(self, key: tuple[str, int]) -> bool:
        """Whether the stored turns already end this conversation (a run killed before it
        wrote the response row); if so, the row is written now and nothing is sent."""
        turns = self.turns.get(key)
        job = self.by_key[key]
        if turns is None or not is_finished(job.item.request.continuation, turns):
            return False
        self.state.record_conversation(job, turns, 0.0)
        self.settled.add(key)
        return True

    def estimate(self, job: Any) -> float:
        """A job's budget reservation in this round (batch prices)."""
        turns = self.turns.get(_key(job))
        cost = further_call_cost(job, turns, self.state.prices) if turns else job.est_cost
        return float(cost * self.state.prices.batch_discount)

    def custom_id(self, job: Any) -> str:
        turns = self.turns.get(_key(job))
        return custom_id(*_key(job), None if turns is None else len(turns) + 1)

    def request(self, job: Any) -> Any:
        """What this round sends for `job`: a conversation carries its turns so far."""
        return next_request(job.item.request, self.turns.get(_key(job), []))


async def _submit(
    todo: list[Any], backend: BatchApi, rounds: _Rounds, open_batches: dict[str, Any], group: Any
) -> None:
    """Submit `todo` in chunks, each batch id stored the moment the provider returns it."""
    state, options = rounds.state, rounds.state.options
    for start in range(0, len(todo), options.batch_size):
        chunk = []
        for job in todo[start : start + options.batch_size]:
            cost = rounds.estimate(job)
            if state.sendable(job, cost):
                chunk.append(job)
                rounds.reserved[_key(job)] = cost
            else:
                rounds.settled.add(_key(job))
        if not chunk:
            continue
        entries = [(rounds.custom_id(j), rounds.request(j)) for j in chunk]
        batch_id = await with_retries(partial(backend.submit_batch, entries), options)
        # Written before anything else can fail: this id is what prevents paying twice.
        rows = [(cid, req.prompt_hash, req.sample) for cid, req in entries]
        state.store.add_batch(batch_id, rounds.config.provider, *group, rows)
        open_batches[batch_id] = {cid: (h, s) for cid, h, s in rows}
        state.summary.sent += sum(_key(j) not in rounds.spent for j in chunk)


async def _collect(open_batches: dict[str, Any], backend: BatchApi, rounds: _Rounds) -> list[Any]:
    """Poll until every open batch has ended, recording each result; returns the
    conversations that need another round."""
    state, options = rounds.state, rounds.state.options
    again: list[Any] = []
    while open_batches:
        for batch_id in list(open_batches):
            results = await _poll(backend, batch_id, open_batches[batch_id], options)
            if results is None:
                continue
            for cid, key in open_batches.pop(batch_id).items():
                result = results.get(cid) or BackendError("server", "missing from the batch output")
                if _record(key, cid, result, rounds):
                    again.append(rounds.by_key[key])
            # The turns are stored before the next round is sent; a batch whose results the
            # store refused stays open, so the next run collects them again.
            if state.flush():
                state.store.close_batch(batch_id)
        if open_batches:
            await asyncio.sleep(options.batch_poll_s)
    return again


def _record(key: tuple[str, int], cid: str, result: Any, rounds: _Rounds) -> bool:
    """Record one batch entry's result; True when its conversation needs another call."""
    state = rounds.state
    job = rounds.by_key.get(key)
    reserved = rounds.reserved.pop(key, 0.0)
    turns = rounds.turns.get(key)
    if job is None or turns is None or not isinstance(result, Completion):
        purpose = job.item.request.purpose if job else "model"
        spent = (0.0, rounds.spent.get(key, 0.0)) if turns is not None else None
        cost = state.record_key(
            rounds.config, *key, purpose, result, batch=True, conversation=spent
        )
        state.budget.settle(reserved, cost)
        rounds.settled.add(key)
        return False
    turn = _turn_in(cid)
    cost = 0.0
    if turn is None or turn > len(turns):  # else stored before a kill: not a new turn
        cost = state.record_reply(job, turns, result, batch=True)
    state.budget.settle(reserved, cost)
    rounds.spent[key] = rounds.spent.get(key, 0.0) + cost
    if not is_finished(job.item.request.continuation, turns):
        return True
    state.record_conversation(job, turns, rounds.spent[key])
    rounds.settled.add(key)
    return False


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
