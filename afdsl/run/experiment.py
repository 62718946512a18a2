"""Run an experiment's prompts: what the store lacks, with its cell index; dry-run estimates."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Sequence
from typing import TextIO

from afdsl.ir import Experiment, Prompt
from afdsl.run.cost import MIN_OBSERVED
from afdsl.run.scheduler import item_key, run_items
from afdsl.run.types import ModelEstimate, RunItem, RunOptions, RunSummary, items_from_prompts
from afdsl.store import Store


def run_prompts(
    experiment: Experiment,
    prompts: Iterable[Prompt],
    store: Store,
    options: RunOptions | None = None,
) -> RunSummary:
    """Run every prompt of `experiment` (all of them, as `expand` compiled them) not yet
    answered in `store`.

    The store's cell index for each model is replaced by this version of the
    experiment (cells of an earlier, edited version are forgotten; their
    responses stay cached). A dry run prints the estimates to stdout.
    """
    options = options or RunOptions()
    items = list(items_from_prompts(prompts, experiment))
    if options.dry_run:
        summary = run_items(items, store, options)
        print_estimates(summary)
        return summary
    index_cells(experiment, items, store)
    return run_items(items, store, options)


def index_cells(experiment: Experiment, items: Sequence[RunItem], store: Store) -> None:
    """Index this version's cells and forget those of an earlier, edited version of the
    file (their responses stay cached), so reports read only answers to current prompts."""
    generation = uuid.uuid4().hex
    store.register_items((item_key(i) for i in items), generation=generation)
    for spec in dict.fromkeys(i.request.model.spec for i in items):
        store.prune_items(experiment.name, spec, "model", generation)


def _money(value: float | None) -> str:
    return "no price" if value is None else f"${value:,.4f}"


def format_estimates(estimates: list[ModelEstimate], cached: int) -> str:
    """A plain table: model, requests, input tokens (of which cache writes and reads),
    output tokens, what the output rests on, cost."""
    header = (
        "model", "requests", "input tok", "cache write", "cache read", "output tok",
        "output from", "est. cost",
    )  # fmt: skip
    rows = [
        (
            e.model + (" [SIMULATOR]" if e.simulator else ""),
            f"{e.requests:,}",
            f"{e.input_tokens:,}",
            f"{e.cache_write_tokens:,}",
            f"{e.cache_read_tokens:,}",
            f"{e.output_tokens:,}",
            e.output_basis,
            _money(e.cost_usd),
        )
        for e in estimates
    ]
    known = [e.cost_usd for e in estimates if e.cost_usd is not None]
    total = ("total", f"{sum(e.requests for e in estimates):,}", "", "", "", "", "")
    rows.append((*total, _money(sum(known))))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    ]
    lines.append(f"dry run: nothing sent; {cached:,} already in the store")
    if any(e.output_basis == "max_tokens" for e in estimates):
        lines.append(
            f"max_tokens: fewer than {MIN_OBSERVED} stored answers of the model, "
            "so each request is counted at its output limit"
        )
    if any(e.cache_write_tokens or e.cache_read_tokens for e in estimates):
        lines.append(
            "cache write/read: prompt tokens of input expected to be written to / read from the "
            "provider's prompt cache, priced as such; per model and system prompt, the first "
            "--concurrency requests count as writes (in --batch, all of them), the rest as reads"
        )
    for e in estimates:
        if e.cache_min_tokens is not None and e.requests:
            lines.append(
                f"no prompt caching counted for {e.model}: its system prompts are estimated "
                f"too short for the provider's {e.cache_min_tokens:,}-token cache minimum"
            )
    if any(e.cost_usd is None for e in estimates):
        lines.append("models without a price are left out of the total; add them via $AFDSL_PRICES")
    return "\n".join(lines)


def print_estimates(summary: RunSummary, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(format_estimates(summary.estimates, summary.cached) + "\n")
