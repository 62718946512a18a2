"""The model matrix: how every report reads at paper scale (more than `MATRIX_FROM - 1` models).

With many models, one detailed table per model no longer compares anything: the
eye needs one grid of models x variants (Δgap against base in points, with `*`
where the adjusted p is below α), then one grid of models x hypotheses. This
module decides what each grid cell says, once, for every renderer: the terminal
(grids split into blocks of columns that fit the width), Markdown (one table per
measure) and HTML (`matrix_html`: a heatmap and small forest plots).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from afdsl.analysis import TestRecord
from afdsl.report import _format as f
from afdsl.report import _tables as t
from afdsl.stats.models import AnalysisResult, Contrast, HypothesisResult, VariantEstimate

MATRIX_FROM = 4  # models from which a report shows the matrix (three keep their tables)
MARK = "*"  # beside a Δgap whose adjusted p is below α
ACROSS = "(across models)"  # the grid row of hypotheses that name no single model


def is_matrix(analysis: AnalysisResult | None) -> bool:
    """Whether a report of `analysis` shows the model matrix (counting the models that
    have estimates: a hypothesis across models names none)."""
    return analysis is not None and len(_estimated_models(analysis)) >= MATRIX_FROM


def _estimated_models(analysis: AnalysisResult) -> list[str | None]:
    """The models with gap estimates or contrasts, in first-seen order."""
    found = [e.model for e in analysis.variants] + [c.model for c in analysis.contrasts]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Matrix:
    """One measure's models x variants: the base gap of each model and each variant's
    contrast against base (missing cells are absent from `cells`)."""

    measure: str
    analysis: AnalysisResult
    models: list[str | None]
    variants: list[str]
    base: dict[str | None, VariantEstimate]
    cells: dict[tuple[str | None, str], Contrast]

    @property
    def alpha(self) -> float:
        return self.analysis.alpha

    def significant(self, c: Contrast) -> bool:
        return c.p_adjusted == c.p_adjusted and c.p_adjusted < self.alpha


def build_matrix(measure: str, analysis: AnalysisResult) -> Matrix:
    """The grid of `analysis` (one measure), variants in first-seen order."""
    models = _estimated_models(analysis)
    variants = list(dict.fromkeys(c.variant for c in analysis.contrasts))
    base = {v.model: v for v in analysis.variants if v.variant == analysis.base}
    cells = {(c.model, c.variant): c for c in analysis.contrasts}
    return Matrix(measure, analysis, models, variants, base, cells)


def matrices(outcome: TestRecord) -> list[Matrix]:
    """The compliance measure's grid, then each other measure's that has contrasts."""
    analysis = outcome.analysis
    if analysis is None:
        return []
    named = [(outcome.compliance_measure, analysis), *outcome.measure_analyses.items()]
    return [build_matrix(name, a) for name, a in named if a.contrasts or a.variants]


def delta_cell(matrix: Matrix, model: str | None, variant: str, digits: int = 1) -> str:
    """`-12.3*`: a Δgap in points, `*` when its adjusted p is below α; `—` when none."""
    c = matrix.cells.get((model, variant))
    if c is None:
        return "—"
    return f.pp(c.delta_gap, digits) + (MARK if matrix.significant(c) else "")


def base_cell(matrix: Matrix, model: str | None, digits: int = 1) -> str:
    """The base gap of `model` in points (`—` when it has none)."""
    est = matrix.base.get(model)
    return "—" if est is None else f.pp(est.gap, digits)


def grid_headers(matrix: Matrix) -> list[str]:
    return ["model", f"gap {matrix.analysis.base}", *matrix.variants]


def grid_rows(matrix: Matrix, digits: int = 1) -> list[list[str]]:
    """One row per model matching `grid_headers`: base gap, then Δgap per variant."""
    return [
        [
            model or "model",
            base_cell(matrix, model, digits),
            *(delta_cell(matrix, model, v, digits) for v in matrix.variants),
        ]
        for model in matrix.models
    ]


def legend(matrix: Matrix) -> str:
    """What the grid's numbers and marks mean."""
    correction = f.CORRECTION_NAMES.get(matrix.analysis.correction, matrix.analysis.correction)
    return (
        f"gap {matrix.analysis.base}: training minus deployment; other columns: Δgap against "
        f"{matrix.analysis.base}, in percentage points; {MARK} adjusted p < "
        f"{matrix.alpha:g} ({correction} within each model)"
    )


def hypothesis_names(analysis: AnalysisResult) -> list[str]:
    return list(dict.fromkeys(h.name for h in analysis.hypotheses))


def hypothesis_for(analysis: AnalysisResult, model: str | None, name: str) -> HypothesisResult:
    """The result of hypothesis `name` for `model` (KeyError when it was not tested)."""
    for h in analysis.hypotheses:
        if h.model == model and h.name == name:
            return h
    raise KeyError(name)


def verdict_models(analysis: AnalysisResult) -> list[str | None]:
    """The rows of the models x hypotheses grid: each model, then None (read ACROSS) for
    the cross-model hypotheses, which belong to no one model."""
    models = f.models_of(analysis)
    return [*models, None] if f.cross_model(analysis) and None not in models else models


def verdict_cell(analysis: AnalysisResult, model: str | None, name: str) -> str:
    """`pass +12.3` or `fail -0.4`; `—` when the hypothesis was not tested on `model`."""
    try:
        h = hypothesis_for(analysis, model, name)
    except KeyError:
        return "—"
    return f"{h.verdict} {f.pp(h.estimate)}"


# --- the terminal -----------------------------------------------------------------------


def _cell_style(matrix: Matrix, model: str | None, variant: str) -> str:
    c = matrix.cells.get((model, variant))
    if c is None or not matrix.significant(c):
        return "dim" if c is None else ""
    return "bold red" if c.delta_gap > 0 else "bold cyan"


def _blocks(columns: list[int], label: int, widths: list[int], width: int) -> list[list[int]]:
    """Consecutive column indices split so each block (with the label column) fits `width`."""
    blocks: list[list[int]] = [[]]
    used = label
    for i, w in zip(columns, widths, strict=True):
        if blocks[-1] and used + w > width:
            blocks.append([])
            used = label
        blocks[-1].append(i)
        used += w
    return blocks


HEAD_WIDTH = 10  # a grid column's header wraps to this width at most


def _pieces(name: str) -> list[str]:
    """`name` cut after each `_` and before each space: where a header may wrap."""
    return re.findall(r"[^_ ]*_+| ?[^_ ]+", name)


def fold_name(name: str, width: int) -> str:
    """`name` on lines of at most `width` characters, broken after `_` or at a space
    (`paid_never_trained` -> `paid_` / `never_` / `trained`); a longer piece is cut."""
    lines = [""]
    for piece in _pieces(name):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
            piece = piece.lstrip()
        while len(piece) > width:
            lines[-1] += piece[:width]
            piece = piece[width:]
            lines.append("")
        lines[-1] += piece
    return "\n".join(line for line in lines if line)


def _column_width(header: str, cells: list[str]) -> int:
    """A column's width: its widest cell, or its header's longest piece (up to
    `HEAD_WIDTH`) if that is wider, so a name wraps between words, not inside them."""
    longest = max((len(p.strip()) for p in _pieces(header)), default=0)
    return max([min(longest, HEAD_WIDTH), *(len(c) for c in cells)])


def split_grid(
    title: Text, headers: list[str], rows: list[list[Text]], width: int
) -> list[RenderableType]:
    """A grid whose first column labels rows, as tables of as many columns as fit `width`
    (each repeats the label column), so nothing is cut or wraps inside a number."""
    plain = [[c.plain for c in row] for row in rows]
    widths = [_column_width(h, [r[i] for r in plain]) for i, h in enumerate(headers)]
    widths[0] = max(len(headers[0]), *(len(r[0]) for r in plain))
    headers = [headers[0], *(fold_name(h, w) for h, w in zip(headers[1:], widths[1:], strict=True))]
    label = widths[0] + 3
    columns = list(range(1, len(headers)))
    out: list[RenderableType] = []
    for n, block in enumerate(_blocks(columns, label, [widths[i] + 2 for i in columns], width)):
        table = Table(
            title=title if n == 0 else None,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            collapse_padding=True,
        )
        table.add_column(headers[0], no_wrap=True)
        for i in block:
            table.add_column(headers[i], justify="right", no_wrap=True)
        for row in rows:
            table.add_row(row[0], *(row[i] for i in block))
        out.append(table)
    return out


def delta_grid(matrix: Matrix, width: int) -> list[RenderableType]:
    """The models x variants grid of one measure for the terminal, with its legend."""
    rows = []
    for model, cells in zip(matrix.models, grid_rows(matrix, digits=0), strict=True):
        row = [Text(cells[0], style="bold"), Text(cells[1])]
        row += [
            Text(cell, style=_cell_style(matrix, model, v))
            for cell, v in zip(cells[2:], matrix.variants, strict=True)
        ]
        rows.append(row)
    title = Text.assemble(("models x variants", "bold"), (f"  {matrix.measure}", "dim"))
    tables = split_grid(title, grid_headers(matrix), rows, width)
    return [*tables, Text(legend(matrix), style="dim")]


def verdict_grid(analysis: AnalysisResult, width: int) -> list[RenderableType]:
    """Models x hypotheses: each cell the verdict and the estimate in points."""
    names = hypothesis_names(analysis)
    rows = []
    for model in verdict_models(analysis):
        row = [Text(model or ACROSS, style="bold")]
        for name in names:
            cell = verdict_cell(analysis, model, name)
            style = "green" if cell.startswith("pass") else "red" if cell != "—" else "dim"
            row.append(Text(cell, style=style))
        rows.append(row)
    title = Text("models x hypotheses", style="bold")
    return split_grid(title, ["model", *names], rows, width)


def counts_line(outcome: TestRecord) -> str:
    """`4000 responses in 500 model x variant cells: 4000 labelled, 0 unparseable, 0 errors`."""
    n = outcome.counts
    return (
        f"{sum(c.responses for c in n)} responses in {f.plural(len(n), 'model x variant cell')}: "
        f"{sum(c.labelled for c in n)} labelled, {sum(c.unparseable for c in n)} unparseable, "
        f"{sum(c.errors for c in n)} errors"
    )


def problem_count_rows(outcome: TestRecord) -> list[list[str]]:
    """The rows of `t.count_rows` with unparseable labels or errors."""
    return [row for row in t.count_rows(outcome) if row[4] != "0" or row[6] != "0"]


def condensed_counts(outcome: TestRecord) -> list[RenderableType]:
    """The responses in one line, then only the cells with unparseable labels or errors
    (500 rows of a 25 x 20 design would bury them)."""
    bad = problem_count_rows(outcome)
    line = Text(counts_line(outcome), style="yellow" if bad else "")
    if not bad:
        return [line]
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1))
    for head in t.COUNT_HEADERS:
        numeric = head not in ("model", "variant", "why")
        table.add_column(head, justify="right" if numeric else "left", overflow="fold")
    for row in bad:
        table.add_row(*row)
    return [line, table]


def terminal_matrix(outcome: TestRecord, width: int) -> list[RenderableType]:
    """What a terminal report shows in place of the per-model tables: a grid per measure,
    then the hypotheses grid, then where the details are."""
    analysis = outcome.analysis
    assert analysis is not None
    parts: list[RenderableType] = []
    for matrix in matrices(outcome):
        # A blank line before each grid's title: the line above is a legend or the counts.
        parts += [Text(), *delta_grid(matrix, width)]
    if analysis.hypotheses:
        parts.append(Text())
        parts += verdict_grid(analysis, width)
    parts.append(
        Text(
            f"{len(_estimated_models(analysis))} models: per-model tables, intervals and p-values "
            "are in the --md, --html and --json reports",
            style="dim",
        )
    )
    return parts


# --- Markdown ---------------------------------------------------------------------------


def markdown_matrix(outcome: TestRecord) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(heading, header, rows, legend) of each grid a Markdown report shows."""
    out = []
    for matrix in matrices(outcome):
        heading = f"Models x variants: {matrix.measure}"
        out.append((heading, grid_headers(matrix), grid_rows(matrix), legend(matrix)))
    analysis = outcome.analysis
    if analysis is not None and analysis.hypotheses:
        names = hypothesis_names(analysis)
        rows = [
            [model or ACROSS, *(verdict_cell(analysis, model, n) for n in names)]
            for model in verdict_models(analysis)
        ]
        out.append(("Models x hypotheses", ["model", *names], rows, ""))
    return out
