"""`afdsl show --hypothesis NAME` and `afdsl show --by-query`: the queries behind a number.

Both read the store's per-query counts (as a report does, no response text),
then print one table per model: a hypothesis' queries by their contribution
to its estimate, or a variant's per-query rates, gap and Δgap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType

    from afdsl.ir import Experiment, Hypothesis
    from afdsl.stats.table import LabelTable


def show_queries(
    args: argparse.Namespace,
    experiment: Experiment,
    store_path: Path,
    hypothesis: Hypothesis | None,
) -> int:
    """Print the per-query tables `args` ask for; 0 (a usage error is raised)."""
    from afdsl.analysis import gather
    from afdsl.store import Store

    store = Store(store_path)
    try:
        got = gather(experiment, store, samples=False)
    finally:
        store.close()
    measure = hypothesis.measure if hypothesis and hypothesis.measure else args.measure
    name = measure or got.primary
    if name not in got.tables:
        from afdsl.diagnostics import error

        raise error(
            f"no measure `{name}` in {experiment.name}", hint=f"measures: {', '.join(got.tables)}"
        )
    table = got.tables[name]
    models = _models(experiment, table, args.model)
    if hypothesis is not None:
        _hypothesis_tables(args, experiment, table, models, hypothesis)
    else:
        _variant_tables(args, experiment, table, models, name)
    return 0


def _models(experiment: Experiment, table: LabelTable, chosen: list[str]) -> list[str | None]:
    """The models of `table` (display names) that `--model` names, or all of them."""
    if not chosen:
        return table.models()
    wanted = {m.display for m in experiment.models if m.spec in chosen or m.display in chosen}
    return [m for m in table.models() if m in wanted]


def _hypothesis_tables(
    args: argparse.Namespace,
    experiment: Experiment,
    table: LabelTable,
    models: list[str | None],
    hypothesis: Hypothesis,
) -> None:
    from afdsl.report.query_view import hypothesis_table
    from afdsl.stats.contributions import hypothesis_queries
    from afdsl.stats.hypotheses import applies_to

    # A cross-model hypothesis has one set of values; a `for` one, its model's.
    if hypothesis.pinned_models:
        models = [None]
    else:
        models = [m for m in models if applies_to(hypothesis, m)]
    found = [
        hypothesis_queries(table, model, hypothesis, experiment.training, experiment.deployment)
        for model in models
    ]
    if args.json:
        _json_lines(
            q.model_dump() | {"model": h.model, "hypothesis": h.hypothesis}
            for h in found
            for q in h.queries
        )
        return
    _print([hypothesis_table(h, hypothesis.expression) for h in found if h.queries])
    if not any(h.queries for h in found):
        sys.stdout.write(f"no query has labels in every cell `{hypothesis.name}` reads\n")
        return
    sys.stdout.write(
        f"afdsl show {args.file} --hypothesis {hypothesis.name} --query ID opens a query's "
        "transcripts\n"
    )


def _variant_tables(
    args: argparse.Namespace,
    experiment: Experiment,
    table: LabelTable,
    models: list[str | None],
    measure: str,
) -> None:
    from afdsl.report.query_view import by_contribution, variant_table
    from afdsl.stats.contributions import variant_queries

    training, deployment = experiment.training, experiment.deployment
    found = [
        (
            model,
            variant,
            by_contribution(variant_queries(table, model, variant, training, deployment)),
        )
        for model in models
        for variant in (args.variant or ["base"])
    ]
    if args.json:
        _json_lines(
            row.model_dump() | {"model": model, "variant": variant, "measure": measure}
            for model, variant, rows in found
            for row in rows
        )
        return
    _print(
        [
            variant_table(
                rows, f"{variant} on {model or 'model'} [{measure}]", training, deployment, "base"
            )
            for model, variant, rows in found
        ]
    )


def _json_lines(records: Iterable[dict[str, Any]]) -> None:
    from afdsl.sanitize import json_line

    for record in records:
        sys.stdout.write(json_line(record) + "\n")


def _print(tables: list[RenderableType]) -> None:
    from rich.console import Console

    from afdsl.report.terminal import PIPED_WIDTH, print_trimmed, size_plain_console

    console = Console(highlight=False)
    size_plain_console(console, lambda: PIPED_WIDTH)
    for table in tables:
        print_trimmed(console, table)
