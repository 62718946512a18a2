"""The terminal report: one tree of rich renderables, printed once.

Colour and width come from the `Console`: rich already drops colour when
NO_COLOR is set or stdout is not a terminal, and the tables shrink to the
width; below `NARROW` columns the interval glyph and rate intervals are left
out so the numbers stay on one line.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from afdsl.report import _format as f
from afdsl.report.outcome import TestOutcome, VariantCounts
from afdsl.stats.models import AnalysisResult, HypothesisResult

NARROW = 140
SIM_BADGE = " SIMULATOR "


def _model_label(outcome: TestOutcome, model: str | None) -> Text:
    text = Text(model or "model", style="bold")
    entry = next((m for m in outcome.manifest.models if model in (m.label, m.spec)), None)
    if entry is not None and entry.simulator:
        text.append("  ")
        text.append(SIM_BADGE, style="bold black on yellow")
    return text


def _header(outcome: TestOutcome) -> Panel:
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
    grid.add_column()
    grid.add_row("file", outcome.file)
    grid.add_row("models", models)
    size = f"{m.n_queries} queries x {m.samples} samples"
    grid.add_row("design", size)
    grid.add_row("seed", str(m.seed))
    grid.add_row("store", m.store_path)
    if outcome.run is not None:
        run = outcome.run
        grid.add_row(
            "run",
            f"{run.sent} sent, {run.cached} cached, {run.failed} failed · "
            f"${run.cost_usd:.2f} · {run.elapsed_s:.1f} s",
        )
    if outcome.sequential is not None:
        s = outcome.sequential
        how = "stopped early" if s.stopped_early else "ran to the end"
        grid.add_row(
            "sequential",
            f"{how} after {s.rounds} rounds, {s.queries_used}/{s.queries_available} queries",
        )
    return Panel(grid, title=f"[bold]afdsl test[/bold] · {outcome.experiment}", expand=False)


def _counts(outcome: TestOutcome, model: str | None) -> dict[str, VariantCounts]:
    return {c.variant: c for c in outcome.counts if model is None or c.model == model}


def _variant_table(outcome: TestOutcome, model: str | None, width: int) -> Table:
    analysis = outcome.analysis
    assert analysis is not None
    wide = width >= NARROW
    d = 1 if wide else 0  # fewer digits so a narrow terminal keeps one row per variant
    estimates = f.variants_for(analysis, model)
    contrasts = [c for c in analysis.contrasts if c.model == model]
    half = f.axis_for(c.ci for c in contrasts)
    counts = _counts(outcome, model)

    table = Table(
        title=_model_label(outcome, model),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
    )
    table.add_column("variant", no_wrap=True)
    for condition in (analysis.training, analysis.deployment):
        table.add_column(condition, justify="right", no_wrap=True, min_width=5)
    table.add_column("gap [95% CI]", justify="right", no_wrap=True)
    table.add_column(f"Δgap vs {analysis.base}", justify="right", no_wrap=True)
    table.add_column("p adj", justify="right", no_wrap=True, min_width=6)
    if wide:
        table.add_column(f"Δgap ±{100 * half:.0f} pp", no_wrap=True)
    if wide:
        table.add_column("n q", justify="right")
    table.add_column("unp", justify="right", no_wrap=True, min_width=3)
    table.add_column("err", justify="right", no_wrap=True, min_width=3)
    for est in estimates:
        rates = []
        for cond in (analysis.training, analysis.deployment):
            cell = f.pct(est.rate.get(cond))
            if wide and cond in est.rate_ci:
                cell += f" {f.ci(est.rate_ci[cond], points=False, digits=0)}"
            rates.append(cell)
        contrast = f.contrast_for(analysis, model, est.variant)
        if contrast is None:
            delta, padj, glyph = "—", "", ""
        else:
            delta = f"{f.pp(contrast.delta_gap, d)} {f.ci(contrast.ci, digits=d)}"
            padj = f.pval(contrast.p_adjusted)
            glyph = f.interval_glyph(contrast.ci[0], contrast.delta_gap, contrast.ci[1], half)
        count = counts.get(est.variant)
        row: list[str | Text] = [
            est.variant,
            *rates,
            f"{f.pp(est.gap, d)} {f.ci(est.gap_ci, digits=d)}",
            delta,
            padj,
            *([glyph, str(est.n_queries)] if wide else []),
            _warn(count.unparseable if count else 0),
            _warn(count.errors if count else 0),
        ]
        table.add_row(*row)
    return table


def _warn(n: int) -> Text:
    return Text(str(n), style="yellow" if n else "dim")


def _verdict(h: HypothesisResult) -> Text:
    if h.verdict == "pass":
        return Text(" PASS ", style="bold black on green")
    return Text(" FAIL ", style="bold white on red")


def _hypotheses(outcome: TestOutcome, analysis: AnalysisResult) -> RenderableType:
    """Each hypothesis as a test result: verdict, name and expression, then its numbers."""
    models = f.models_of(analysis)
    lines: list[RenderableType] = []
    for model in models:
        for h in f.hypotheses_for(analysis, model):
            head = Text.assemble(_verdict(h), " ", (h.name, "bold"), "  ", (h.expression, "cyan"))
            if len(models) > 1:
                head.append(f"  [{model}]", style="dim")
            detail = Text(
                f"       est {f.pp(h.estimate)} pp {f.ci(h.ci)} · p {f.pval(h.p_value)} · "
                f"p adj {f.pval(h.p_adjusted)} · {h.method}",
                style="dim",
            )
            lines += [head, detail]
    return Group(*lines)


def _grid(analysis: AnalysisResult) -> Table:
    """Models x hypotheses: one glance at which findings hold for which model."""
    models = f.models_of(analysis)
    table = Table(title="hypotheses x models", title_justify="left")
    table.add_column("hypothesis", no_wrap=True)
    for model in models:
        table.add_column(model or "model", justify="center")
    names = list(dict.fromkeys(h.name for h in analysis.hypotheses))
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


def _summary(outcome: TestOutcome) -> Text:
    parts = []
    if outcome.analysis is not None:
        parts.append(Text(f"{outcome.n_passed} passed", style="bold green"))
        if outcome.n_failed:
            parts.append(Text(f"{outcome.n_failed} failed", style="bold red"))
    if outcome.problems:
        parts.append(Text("run incomplete", style="bold red"))
    line = Text(", ").join(parts) if parts else Text("nothing to report")
    if outcome.run is not None:
        line.append(f" in {outcome.run.elapsed_s:.1f} s", style="dim")
    return line


def build_terminal(outcome: TestOutcome, width: int = 120) -> Group:
    """The whole report as one renderable (tests and the CLI print it the same way)."""
    parts: list[RenderableType] = [_header(outcome)]
    analysis = outcome.analysis
    if analysis is not None:
        models = f.models_of(analysis)
        for model in models:
            parts.append(_variant_table(outcome, model, width))
        if analysis.hypotheses:
            parts.append(Text("\nhypotheses", style="bold underline"))
            parts.append(_hypotheses(outcome, analysis))
            if len(models) > 1:
                parts.append(_grid(analysis))
    for problem in outcome.problems:
        parts.append(Text(f"error: {problem}", style="bold red"))
    parts.append(Text())
    parts.append(_summary(outcome))
    if analysis is not None:
        notes = Text(style="dim")
        for i, note in enumerate(f.method_footnote(analysis, _sequential_note(outcome)), 1):
            notes.append(f"[{i}] {note}\n")
        parts.append(notes)
    return Group(*parts)


def render_terminal(outcome: TestOutcome, console: Console | None = None) -> None:
    """Print the report once on `console` (a fresh stdout console by default)."""
    console = console or Console()
    console.print(build_terminal(outcome, console.width))


def _sequential_note(outcome: TestOutcome) -> str | None:
    return outcome.sequential.note if outcome.sequential and outcome.sequential.note else None
