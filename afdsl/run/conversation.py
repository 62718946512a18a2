"""Conversations: the samples of a scenario with `continue with SEND until UNTIL max N`.

A conversation is one store key (one `responses` row once it ends) made of
several model calls. Each call's reply is stored as a turn the moment it
arrives (`Store.put_turns`), so a run killed mid-conversation resumes it: the
next call carries the stored turns and none of them is sent again. It ends
when a reply contains `until`, or after `max_calls` calls; the response row
then holds the whole conversation as one text, with tokens, cost and latency
summed over its turns, and the last turn's finish reason (each turn keeps its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from afdsl.ir import Continuation, Message
from afdsl.models.base import Completion, Request
from afdsl.store import ResponseKey, Turn

if TYPE_CHECKING:
    from afdsl.run.cost import PriceTable
    from afdsl.run.scheduler import Job


def response_key(request: Request, params_hash: str) -> ResponseKey:
    """The store key the conversation's turns and final response share."""
    return (request.prompt_hash, request.model.spec, params_hash, request.sample)


def is_finished(continuation: Continuation, turns: Sequence[Turn]) -> bool:
    """Whether the conversation has ended: its last reply has the `until` text, or the
    model has been called `max_calls` times."""
    if not turns:
        return False
    return continuation.until in turns[-1].text or len(turns) >= continuation.max_calls


def next_request(request: Request, turns: Sequence[Turn]) -> Request:
    """The request for the next call: the prompt, then each stored reply as an assistant
    turn followed by the `continue with` text as a user turn."""
    continuation = request.continuation
    if continuation is None or not turns:
        return request
    messages = list(request.messages)
    for turn in turns:
        messages.append(Message(role="assistant", content=turn.text))
        messages.append(Message(role="user", content=continuation.send))
    return request.model_copy(update={"messages": tuple(messages)})


def conversation_text(continuation: Continuation, turns: Sequence[Turn]) -> str:
    """The whole conversation after the prompt as one text, every turn in order: each
    reply, and between two replies the user turn that asked for the next.

    Classifiers read it as they read a single reply: every scratchpad block of
    every turn is scratchpad, and the output is what follows the last block.
    """
    return f"\n\n{continuation.send}\n\n".join(turn.text for turn in turns)


def conversation_completion(continuation: Continuation, turns: Sequence[Turn]) -> Completion:
    """The finished conversation as one completion: usage summed over its turns, and why
    its last call ended (an earlier turn cut at max_tokens is on that turn's row)."""
    return Completion(
        text=conversation_text(continuation, turns),
        model_id=turns[-1].model_id or "",
        finish_reason=turns[-1].finish_reason,
        input_tokens=sum(t.input_tokens for t in turns),
        output_tokens=sum(t.output_tokens for t in turns),
        cache_write_tokens=sum(t.cache_write_tokens for t in turns),
        cache_read_tokens=sum(t.cache_read_tokens for t in turns),
        latency_s=sum(t.latency_s for t in turns),
    )


def stopped_at_max(continuation: Continuation, turns: Sequence[Turn]) -> bool:
    """Whether a conversation ended by reaching `max_calls` without the `until` text."""
    return is_finished(continuation, turns) and continuation.until not in turns[-1].text


def unfinished_reason(continuation: Continuation, text: str | None) -> str | None:
    """Why a stored conversation has no output to label ("no output after 4 turns"), or
    None when it reached its `until` text.

    The `with` text never contains `until` (the checker refuses it), so `until`
    in the whole text means the last reply wrote it.
    """
    if text is not None and continuation.until in text:
        return None
    return f"no output after {continuation.max_calls} turns"


def turn_of(number: int, completion: Completion, cost: float) -> Turn:
    """A model call's reply as the conversation's turn `number` (from 1)."""
    return Turn(
        turn=number,
        text=completion.text,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cache_write_tokens=completion.cache_write_tokens,
        cache_read_tokens=completion.cache_read_tokens,
        latency_s=completion.latency_s,
        cost_usd=cost,
        model_id=completion.model_id,
        finish_reason=completion.finish_reason,
    )


def further_call_cost(job: Job, turns: Sequence[Turn], prices: PriceTable) -> float:
    """A further call's cost estimate: the first call's, with the turns so far as input."""
    continuation = job.item.request.continuation
    send = len(continuation.send) // 4 + 1 if continuation is not None else 0
    grown = job.est_input + sum(t.output_tokens + send for t in turns)
    return prices.cost(job.config.spec, grown, job.est_output)


def possible_calls(job: Job) -> list[tuple[int, int]]:
    """(input, output) token estimates of each call a job may make, for a dry run: one;
    for a conversation `max_calls`, each carrying the replies before it (an upper bound,
    as the budget's estimates are)."""
    continuation = job.item.request.continuation
    if continuation is None:
        return [(job.est_input, job.est_output)]
    send = len(continuation.send) // 4 + 1
    return [
        (job.est_input + k * (job.est_output + send), job.est_output)
        for k in range(continuation.max_calls)
    ]
