"""The terminal report: one tree of rich renderables, printed once.

Colour and width come from the `Console`: rich already drops colour when
NO_COLOR is set or stdout is not a terminal; a pipe or a file gets 100
columns (`PIPED_WIDTH`) unless COLUMNS says otherwise, and no line ends in
spaces. Every measure's table has Δgap bars, and the bars of one measure
share one scale across models, so two models compare by eye. Each variant
table takes the most detailed layout that fits the width (`LAYOUTS`): first
decimals and long headers go, then intervals are written compactly (100
columns keep the bars); then the bars go, so an 80-column terminal still shows
every number on one line; below that the rates lose their descriptive
intervals, and variant names wrap rather than numbers being cut short (60
columns).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from afdsl.analysis import TestRecord, VariantCounts
from afdsl.report import _format as f
from afdsl.report import _tables as t
from afdsl.report import matrix as mx
from afdsl.sanitize import for_terminal
from afdsl.stats.models import AnalysisResult, HypothesisResult

SIM_BADGE = " SIMULATOR "
MIN_PLAIN_WIDTH, MAX_PLAIN_WIDTH = 100, 160
PIPED_WIDTH = 100  # what `afdsl test` and `afdsl report` print to a pipe or a file
# Spaces at a line's end, before any colour codes that close it.
_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)
_BLANKS = re.compile(r"\n{3,}")


def _model_label(outcome: TestRecord, model: str | None, measure: str) -> Text:
    text = Text(model or "model", style="bold")
    if t.is_simulator(outcome, model):
        text.append("  ")
        text.append(SIM_BADGE, style="bold black on yellow")
    text.append(f"  {measure}", style="dim")
    return text


def _header(outcome: TestRecord, command: str) -> Panel:
    """File, models, judges, design, seed and store, then the run: `afdsl report` shows
    the stored run's, with when it finished, since it ran nothing itself."""
    m = outcome.manifest
    models = Text()
    for i, entry in enumerate(m.models):
        if i:
            models.append(", ")
        models.append(entry.label, style="bold")
        if entry.simulator:
            models.append(" ")
            models.append(SIM_BADGE, style="bold black on yellow")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")  # a long store path wraps rather than losing its end
    grid.add_row("file", outcome.file)
    grid.add_row("models", models)
    for spec, simulator, measures in f.judges_of(m):
        judge = Text(spec, style="bold")
        if simulator:
            judge.append(" ")
            judge.append(SIM_BADGE, style="bold black on yellow")
        judge.append(f"  labels {', '.join(measures)}", style="dim")
        grid.add_row("judge", judge)
    grid.add_row("design", f.design(m))
    grid.add_row("seed", f.seed_text(m))
    grid.add_row("store", m.store_path)
    if outcome.run is not None:
        run = outcome.run
        text = (
            f"{run.sent} sent, {run.cached} cached, {run.failed} failed · "
            f"{run.cost_text()} · {run.elapsed_s:.1f} s"
        )
        if command == "report":
            grid.add_row("stored run", f"finished {_when(m.finished_at)} · {text}")
        else:
            grid.add_row("run", text)
    if outcome.sequential is not None:
        s = outcome.sequential
        how = "stopped early" if s.stopped_early else "ran to the end"
        grid.add_row(
            "sequential",
            f"{how} after {f.plural(s.rounds, 'round')}, {s.queries_used}/"
            f"{f.plural(s.queries_available, 'query', 'queries')}",
        )
    title = Text.assemble((f"afdsl {command}", "bold"), f" · {outcome.experiment}")
    return Panel(grid, title=title, expand=False)


def _when(iso: str) -> str:
    """`2026-12-06 04:20 UTC` from a manifest's ISO time (as it is, if it is not one)."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# From most to least detailed: the first layout whose table fits the width is used.
_TERMINAL = t.Style(queries=False, short_counts=True)  # the header already gives the queries
_SHORT = replace(_TERMINAL, digits=0, short_headers=True)
_COMPACT = replace(_SHORT, compact=True)
LAYOUTS = (
    (_TERMINAL, True),  # with the Δgap bar (the interval glyph column)
    (_SHORT, True),
    (_COMPACT, True),  # what a 100-column pipe gets: every number, and the bars
    (_TERMINAL, False),
    (_SHORT, False),
    (_COMPACT, False),  # an 80-column terminal
    (replace(_COMPACT, rate_ci=False), False),
)


def _variant_table(
    title: Text,
    analysis: AnalysisResult,
    model: str | None,
    style: t.Style,
    glyph: bool,
    counts: dict[tuple[str, str], VariantCounts] | None = None,
    measure: str | None = None,
    wrap: bool = False,
) -> Table:
    """One model's variants on one measure, laid out in `style`; `wrap` lets variant names
    take several lines, so that a narrow window keeps every number whole."""
    half = f.axis_for(c.ci for c in analysis.contrasts)  # one scale for every model
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
    )
    heads = t.headers(analysis, style)
    # When rich must shrink a table, it shrinks the columns that may wrap first: the names.
    table.add_column(heads[0], no_wrap=not wrap, overflow="fold" if wrap else "ellipsis")
    for head in heads[1:]:
        table.add_column(head, justify="right", no_wrap=True)
    if glyph:
        table.add_column(f"Δgap ±{100 * half:.0f} pp", no_wrap=True)
    for row in t.variant_rows(analysis, model, counts, style, measure):
        cells: list[str | Text] = [Text(cell) for cell in row]  # plain text: "[n/a]" is no markup
        if style.counts:  # unparseable and errors stand out when not zero
            cells[-2:] = [_warn(int(row[-2])), _warn(int(row[-1]))]
        if glyph:
            c = f.contrast_for(analysis, model, row[0])
            cells.append("" if c is None else f.interval_glyph(c.ci[0], c.delta_gap, c.ci[1], half))
        table.add_row(*cells)
    return table


def _fitted_table(
    width: int,
    title: Text,
    analysis: AnalysisResult,
    model: str | None,
    counts: dict[tuple[str, str], VariantCounts] | None = None,
    measure: str | None = None,
) -> Table:
    """The most detailed layout of a variant table that fits `width` columns.

    `measure` names a measure other than compliance: its unparseable column
    counts that measure. Without `counts` there are no unparseable/error
    columns, and no glyph.
    """
    for style, glyph in LAYOUTS:
        if counts is None:
            style = replace(style, counts=False)
            glyph = False
        table = _variant_table(title, analysis, model, style, glyph, counts, measure)
        if table_width(table) <= width:
            return table
    # Unparseable and error columns of zeros say nothing the counts above do not: dropped
    # before the names wrap (three conditions and wide intervals folded them a letter a line).
    rows = t.variant_rows(analysis, model, counts, style, measure)
    if style.counts and all(row[-2:] == ["0", "0"] for row in rows):
        bare = replace(style, counts=False)
        table = _variant_table(title, analysis, model, bare, False, counts, measure)
        if table_width(table) <= width:
            return table
    # Narrower than the most compact layout: names wrap, since a cut number reads as another.
    return _variant_table(title, analysis, model, style, glyph, counts, measure, wrap=True)


def table_width(table: RenderableType) -> int:
    """The width `table` (or any renderable) takes when nothing limits it."""
    console = Console(width=1000, file=io.StringIO())
    return Measurement.get(console, console.options, table).maximum


def _narrowest(table: RenderableType) -> int:
    """The width `table` needs at least, its wrapping columns wrapped."""
    console = Console(width=1000, file=io.StringIO())
    return Measurement.get(console, console.options, table).minimum


def plain_width(
    renderables: Iterable[RenderableType],
    minimum: int = MIN_PLAIN_WIDTH,
    maximum: int = MAX_PLAIN_WIDTH,
) -> int:
    """A width for output that is not a terminal: the widest renderable, within bounds."""
    widest = max((table_width(r) for r in renderables), default=0)
    return max(minimum, min(maximum, widest))


def size_plain_console(console: Console, width: Callable[[], int]) -> None:
    """Rich assumes 80 columns for a pipe or a file, which squeezes wide tables; such a
    console gets `width()` instead. A terminal keeps its width, and COLUMNS still wins."""
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = width()


def _warn(n: int) -> Text:
    return Text(str(n), style="yellow" if n else "dim")


def _verdict(h: HypothesisResult) -> Text:
    if h.verdict == "pass":
        return Text(" PASS ", style="bold black on green")
    return Text(" FAIL ", style="bold white on red")


def _hypotheses(analysis: AnalysisResult) -> RenderableType:
    """Each hypothesis as a test result: verdict, name and expression, then its numbers.

    A grid keeps wrapped lines indented under the name on a narrow window.
    """
    models = f.models_of(analysis)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    shown = [(h, len(models) > 1) for m in models for h in f.hypotheses_for(analysis, m)]
    # A cross-model hypothesis is one test: printed once, after every model's.
    shown += [(h, True) for h in f.cross_model(analysis)]
    for h, tagged in shown:
        head = Text.assemble((h.name, "bold"), "  ", (t.expression_text(h), "cyan"))
        if tagged:
            head.append(f"  [{f.models_label(h)}]", style="dim")
        detail = Text(
            f"est {f.pp(h.estimate)} pp {f.ci(h.ci)} · p {f.pval(h.p_value, analysis.alpha)} · "
            f"p adj {f.pval(h.p_adjusted, analysis.alpha)} · {t.method_text(h)}",
            style="dim",
        )
        grid.add_row(_verdict(h), head)
        grid.add_row("", detail)
    return grid


def _grid(analysis: AnalysisResult) -> Table:
    """Models x hypotheses: one glance at which findings hold for which model."""
    models = f.models_of(analysis)
    table = Table(title="hypotheses x models", title_justify="left")
    table.add_column("hypothesis", no_wrap=True)
    for model in models:
        table.add_column(model or "model", justify="center")
    names = list(dict.fromkeys(h.name for h in f.own_hypotheses(analysis)))
    for name in names:
        cells: list[Text | str] = [name]
        for model in models:
            h = next((x for x in analysis.hypotheses if x.model == model and x.name == name), None)
            if h is None:
                cells.append("—")
            else:
                cell = _verdict(h)
                cell.append(f" {f.pp(h.estimate)}")
                cells.append(cell)
        table.add_row(*cells)
    return table


def _summary(outcome: TestRecord, command: str) -> Text:
    parts = []
    if outcome.analysis is not None:
        parts.append(Text(f"{outcome.n_passed} passed", style="bold green"))
        if outcome.n_failed:
            parts.append(Text(f"{outcome.n_failed} failed", style="bold red"))
    if outcome.n_untestable:
        parts.append(Text(f"{outcome.n_untestable} untestable", style="bold red"))
    if outcome.incomplete:
        parts.append(Text("run incomplete", style="bold red"))
    line = Text(", ").join(parts) if parts else Text("nothing to report")
    if outcome.run is not None and command == "test":  # a re-render took no run's time
        line.append(f" in {outcome.run.elapsed_s:.1f} s", style="dim")
    return line


def _measure_tables(outcome: TestRecord, model: str | None, width: int) -> list[RenderableType]:
    """The compliance table of `model`, then one small table per other measure."""
    analysis = outcome.analysis
    assert analysis is not None
    counts = t.counts_by_variant(outcome)
    title = _model_label(outcome, model, outcome.compliance_measure)
    tables: list[RenderableType] = [_fitted_table(width, title, analysis, model, counts)]
    for measure, result in t.other_measures(outcome, model):
        title = _model_label(outcome, model, t.measure_title(outcome, measure))
        tables.append(_fitted_table(width, title, result, model, counts, measure))
        notes = t.measure_notes(outcome, result, model, measure)
        if notes:
            tables.append(Text("\n".join(notes) + "\n", style="dim"))
    if t.breakdown_rows(outcome, model):
        table = _breakdown_table(outcome, model, compact=False)
        if table_width(table) > width:
            table = _breakdown_table(outcome, model, compact=True)
        tables.append(table)
    return tables


def _breakdown_table(outcome: TestRecord, model: str | None, compact: bool) -> Table:
    """Complied with faking reasoning / without / refused, per variant and condition;
    `compact`: whole percentages without counts, for a narrow window."""
    rows = t.breakdown_rows(outcome, model, compact)
    heads = t.SHORT_BREAKDOWN_HEADERS if compact else t.BREAKDOWN_HEADERS
    title = _model_label(outcome, model, "answers")
    table = Table(
        title=title,
        title_justify="left",
        # A blank line after, as after a measure's notes: the next model's tables follow.
        caption=t.breakdown_caption(outcome, compact) + "\n",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    table.add_column(heads[0], overflow="fold")
    table.add_column(heads[1], overflow="fold")
    for head in heads[2:]:
        table.add_column(head, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


SHORT_COUNT_HEADERS = {
    "responses": "resp", "labelled": "lab", "unparseable": "unp", "errors": "err",
}  # fmt: skip


def _counts_table(outcome: TestRecord, short: bool) -> Table:
    """Responses per model and variant; `short` headers, and names that wrap, for a narrow
    window (numbers never wrap, so none is cut)."""
    title = Text("responses", style="bold")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for head in t.COUNT_HEADERS:
        numeric = head not in ("model", "variant", "why")
        table.add_column(
            SHORT_COUNT_HEADERS.get(head, head) if short else head,
            justify="right" if numeric else "left",
            no_wrap=numeric or (head != "why" and not short),
            overflow="fold",
        )
    for row in t.count_rows(outcome):
        table.add_row(*row[:4], _warn(int(row[4])), row[5], _warn(int(row[6])))
    return table


def _counts(outcome: TestRecord, width: int) -> list[RenderableType]:
    """What came back per model and variant, whatever the analysis could say."""
    table = _counts_table(outcome, short=False)
    if _narrowest(table) > width:  # even with the reasons wrapped
        table = _counts_table(outcome, short=True)
    lines = [Text(line, style="yellow") for line in t.truncation_lines(outcome)]
    return [table, *lines]


def build_terminal(outcome: TestRecord, width: int = 120, command: str = "test") -> Group:
    """The whole report as one renderable (tests and the CLI print it the same way);
    `command` is `test`, or `report` for a re-render from the store."""
    parts: list[RenderableType] = [_header(outcome, command)]
    analysis = outcome.analysis
    wide = mx.is_matrix(analysis)
    if outcome.counts:
        parts += mx.condensed_counts(outcome) if wide else _counts(outcome, width)
    if analysis is not None and wide:
        parts += mx.terminal_matrix(outcome, width)
    elif analysis is not None:
        models = f.models_of(analysis)
        for model in models:
            parts += _measure_tables(outcome, model, width)
        if analysis.hypotheses:
            parts.append(Text("\nhypotheses", style="bold underline"))
            parts.append(_hypotheses(analysis))
            if len(models) > 1 and f.own_hypotheses(analysis):
                parts += [Text(), _grid(analysis)]
    for problem in outcome.problems:  # may quote a provider's message: made inert
        parts.append(Text(f"error: {for_terminal(problem.text)}", style="bold red"))
    for remark in outcome.notes:
        parts.append(Text(f"note: {for_terminal(remark.text)}", style="yellow"))
    parts.append(Text())
    parts.append(_summary(outcome, command))
    if analysis is not None:
        notes = Text(style="dim")
        for i, note in enumerate(f.method_footnote(analysis, t.sequential_note(outcome)), 1):
            notes.append(f"[{i}] {note}\n")
        parts.append(notes)
    return Group(*parts)


def render_terminal(
    outcome: TestRecord, console: Console | None = None, command: str = "test"
) -> None:
    """Print the report once on `console` (a fresh stdout console by default), every
    line without trailing spaces (rich pads table cells and panels to their width)."""
    console = console or Console()
    print_trimmed(console, build_terminal(outcome, console.width, command))


def print_trimmed(console: Console, renderable: RenderableType) -> None:
    """Print `renderable` on `console` with no line ending in spaces."""
    with console.capture() as captured:
        console.print(renderable)
    # One blank line between blocks at most: a block that ends with one (a table's
    # bottom edge, a caption) may be followed by one that starts with one.
    console.file.write(_BLANKS.sub("\n\n", _TRAILING.sub(r"\1", captured.get())))
