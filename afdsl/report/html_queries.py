"""The HTML report's per-query tables: the queries behind each hypothesis' estimate.

Each hypothesis (on each model) gets a section, linked from its row of the
hypotheses table, listing its largest and smallest per-query values with the
labels of every cell its expression reads; `afdsl show FILE --hypothesis
NAME` lists them all and opens their transcripts.
"""

from __future__ import annotations

from html import escape

from afdsl.report import _format as f
from afdsl.stats.contributions import HypothesisQueries, QueryContribution

SHOWN = 10  # the largest and the smallest values shown of each hypothesis


def anchor(hypothesis: str, model: str | None, models: list[str | None]) -> str:
    """The id of a hypothesis' section (model names may hold any character: their index)."""
    # A cross-model hypothesis (model None, not one of the models) has one section.
    index = models.index(model) if model in models else "all" if model is None else 0
    return f"queries-{hypothesis}-{index}"


def query_sections(
    found: list[HypothesisQueries], models: list[str | None], file: str
) -> list[str]:
    """A heading, then one section per hypothesis result that has per-query values."""
    shown = [h for h in found if h.queries]
    if not shown:
        return []
    out = [
        "<h2>Queries behind each hypothesis</h2>",
        '<p class="notes">A hypothesis is tested on one value per query (its expression on '
        "that query's samples); its estimate is their mean. Below, the "
        f"{SHOWN} largest and {SHOWN} smallest values, with each cell's labels as "
        "complied/samples. <code>afdsl show "
        f"{escape(file)} --hypothesis NAME</code> lists every query, and with "
        "<code>--query ID</code> opens its transcripts.</p>",
    ]
    for h in shown:
        out += _section(h, anchor(h.hypothesis, h.model, models))
    return out


def _section(found: HypothesisQueries, section_id: str) -> list[str]:
    cells = [f.cell_key(c) for c in found.queries[0].cells]
    n = len(found.queries)
    title = f"{found.hypothesis} on {f.queries_owner(found)}"
    headings = ["<br>".join(escape(line) for line in f.cell_heading(key)) for key in cells]
    head = "".join(f'<th class="num">{heading}</th>' for heading in headings)
    rows = found.queries
    hidden = max(n - 2 * SHOWN, 0)
    top, bottom = (rows[:SHOWN], rows[-SHOWN:]) if hidden else (rows, [])
    out = [
        f'<h3 id="{escape(section_id)}">{escape(title)}</h3>',
        f'<p class="notes">estimate {f.pp(found.estimate)} pp, the mean of '
        f"{f.plural(n, 'per-query value')}</p>",
        '<div class="scroll"><table class="queries">',
        f'<tr><th>query</th><th class="num">value pp</th>{head}</tr>',
    ]
    out += [_row(q, cells) for q in top]
    if hidden:
        out.append(f'<tr><td colspan="{2 + len(cells)}">… {hidden} more …</td></tr>')
        out += [_row(q, cells) for q in bottom]
    out.append("</table></div>")
    return out


def _row(query: QueryContribution, cells: list[f.CellKey]) -> str:
    counts = {f.cell_key(c): f"{c.complied}/{c.samples}" for c in query.cells}
    return (
        f'<tr><td>{escape(query.query_id)}</td><td class="num">{f.pp(query.value)}</td>'
        + "".join(f'<td class="num">{counts.get(cell, "—")}</td>' for cell in cells)
        + "</tr>"
    )
