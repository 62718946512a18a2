"""The queries behind a number, as `afdsl show --hypothesis` and `--by-query` print them.

A hypothesis' table lists its per-query values (what its test averages), the
largest first, with each cell's labels as `complied/samples`; a variant's
table lists each query's rates, gap and Δgap. Both are rich tables: the CLI
prints them on a terminal or a pipe alike; `--json` prints one record a query.
"""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from afdsl.report import _format as f
from afdsl.sanitize import for_terminal
from afdsl.stats.contributions import HypothesisQueries, VariantQuery


def hypothesis_table(found: HypothesisQueries, expression: str) -> Table:
    """`found`'s queries, the largest value first, with the labels of every cell read."""
    n = len(found.queries)
    title = Text.assemble(
        (found.hypothesis, "bold"),
        f" on {f.queries_owner(found)}",
        (f" [{found.measure}]" if found.measure else "", "dim"),
        "  ",
        (expression, "cyan"),
        f"\nestimate {f.pp(found.estimate)} pp: the mean of {f.plural(n, 'per-query value')}",
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("query", overflow="fold")
    table.add_column("value pp", justify="right", no_wrap=True)
    cells = [f.cell_key(c) for c in found.queries[0].cells] if found.queries else []
    for key in cells:
        table.add_column("\n".join(f.cell_heading(key)), justify="right", no_wrap=True)
    for query in found.queries:
        counts = {f.cell_key(c): f"{c.complied}/{c.samples}" for c in query.cells}
        table.add_row(
            for_terminal(query.query_id, keep_newlines=False),
            f.pp(query.value),
            *(counts.get(cell, "—") for cell in cells),
        )
    return table


def variant_table(
    rows: list[VariantQuery], title: str, training: str, deployment: str, base: str
) -> Table:
    """One variant's queries: each condition's rate (and labelled samples), gap, Δgap."""
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("query", overflow="fold")
    for condition in (training, deployment):
        table.add_column(condition, justify="right", no_wrap=True)
    table.add_column("gap pp", justify="right", no_wrap=True)
    table.add_column(f"Δgap vs {base} pp", justify="right", no_wrap=True)
    for row in rows:
        rates = [
            f"{f.pct(row.rates[c], 0)} of {row.samples[c]}" if c in row.rates else "—"
            for c in (training, deployment)
        ]
        table.add_row(
            for_terminal(row.query_id, keep_newlines=False),
            *rates,
            "—" if row.gap is None else f.pp(row.gap),
            "—" if row.delta_gap is None else f.pp(row.delta_gap),
        )
    return table


def by_contribution(rows: list[VariantQuery]) -> list[VariantQuery]:
    """Queries by Δgap (gap for base), the largest first; those with neither last."""

    def key(row: VariantQuery) -> tuple[bool, float]:
        value = row.delta_gap if row.delta_gap is not None else row.gap
        return (value is None, -(value or 0.0))

    return sorted(rows, key=key)
