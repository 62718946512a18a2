"""`afdsl status`: how much of an experiment the store holds, per model and variant."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from afdsl.ir import Continuation, Experiment, Prompt
from afdsl.run.conversation import stopped_at_max
from afdsl.run.scheduler import group_of
from afdsl.run.types import items_from_prompts
from afdsl.store import Store, Turn


class StatusRow(BaseModel):
    model: str
    variant: str
    done: int = 0
    failed: int = 0
    missing: int = 0
    in_batch: int = 0  # missing, but in a submitted batch: the next run collects it, unpaid again
    error_kinds: dict[str, int] = Field(default_factory=dict)
    simulator: bool = False
    # Conversations (`continue`): one cell each, but several paid model calls.
    conversations: int = 0  # done: stored as one response
    turns: int = 0  # model calls made, finished conversations or not
    at_max: int = 0  # done, but stopped at `max` calls without the `until` text


def tally(experiment: Experiment, prompts: Iterable[Prompt], store: Store) -> list[StatusRow]:
    """Done / failed / missing cells per (model, variant) of the experiment's compiled
    `prompts`, in experiment order."""
    rows: dict[tuple[str, str], StatusRow] = {}
    statuses: dict[tuple[str, str], dict[tuple[str, int], str]] = {}
    errors: dict[tuple[str, str], dict[tuple[str, int], str]] = {}
    batched: dict[tuple[str, str], set[tuple[str, int]]] = {}
    turns: dict[tuple[str, str], dict[tuple[str, int], list[Turn]]] = {}
    for item in items_from_prompts(prompts, experiment):
        r = item.request
        group = group_of(r.model)
        if group not in statuses:
            statuses[group] = store.statuses(*group)
            errors[group] = store.error_kinds(*group)  # one query per model, not per failure
            open_batches = store.open_batches(*group).values()
            batched[group] = {key for entries in open_batches for key in entries.values()}
        row = rows.get((r.model.display, item.variant))
        if row is None:
            row = rows[(r.model.display, item.variant)] = StatusRow(
                model=r.model.display, variant=item.variant, simulator=r.model.provider == "sim"
            )
        status = statuses[group].get((r.prompt_hash, r.sample))
        if r.continuation is not None:
            if group not in turns:  # read only for models that hold conversations
                turns[group] = store.model_turns(*group)
            conversation = turns[group].get((r.prompt_hash, r.sample), [])
            _count_turns(row, r.continuation, status, conversation)
        if status == "ok":
            row.done += 1
        elif status == "error":
            row.failed += 1
            kind = errors[group].get((r.prompt_hash, r.sample), "other")
            row.error_kinds[kind] = row.error_kinds.get(kind, 0) + 1
        else:
            row.missing += 1
            row.in_batch += (r.prompt_hash, r.sample) in batched[group]
    return list(rows.values())


def _count_turns(
    row: StatusRow, continuation: Continuation, status: str | None, turns: list[Turn]
) -> None:
    """Add one conversation's calls to `row`; a finished one also counts as done, and as
    stopped at max when its last reply lacks the `until` text."""
    row.turns += len(turns)
    if status == "ok":
        row.conversations += 1
        row.at_max += stopped_at_max(continuation, turns)


def status_table(rows: list[StatusRow], path: Path) -> Any:
    """A rich table; prints as plain text when stdout is not a terminal."""
    from rich.table import Table

    conversations = any(r.conversations or r.turns for r in rows)
    caption = (
        "turns: model calls made for conversations; at max: conversations that ended "
        "after `max` calls without the `until` text"
        if conversations
        else None
    )
    table = Table(
        title=f"store {path}", title_justify="left", caption=caption, caption_justify="left"
    )
    for name in ("model", "variant"):
        table.add_column(name)
    # "in batch" only when a batch is open: submitted and paid for, collected by the next run.
    counts: tuple[str, ...] = ("done", "missing", "in_batch", "failed")
    if not any(r.in_batch for r in rows):
        counts = ("done", "missing", "failed")
    # Conversation columns only when the experiment has conversations (`continue`).
    if conversations:
        counts += ("conversations", "turns", "at_max")
    for name in counts:
        table.add_column(name.replace("_", " "), justify="right")
    table.add_column("errors")
    for r in rows:
        model = f"{r.model} [bold yellow]SIMULATOR[/]" if r.simulator else r.model
        errors = ", ".join(f"{k} {n}" for k, n in sorted(r.error_kinds.items()))
        table.add_row(model, r.variant, *(str(getattr(r, f)) for f in counts), errors)
    total = [sum(getattr(r, f) for r in rows) for f in counts]
    table.add_row("total", "", *(str(t) for t in total), "", style="bold")
    return table
