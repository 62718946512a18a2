"""`afdsl compare A B`: two reports of one experiment side by side.

Each side is an `afdsl test --json` document (the CLI builds one from a store
the same way). The comparison lists, per model x variant x measure, both
estimates (gap, Δgap against base, the rate of each condition) and B minus A;
per hypothesis and model both verdicts and whether it flipped; and a warning
for each way the two manifests differ that can explain a difference (the
prompt set, the models, the input files, afdsl's version, the seed or the
design). Numbers are proportions, as in every JSON document; the terminal
shows points.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from afdsl.analysis import Manifest
from afdsl.report import _format as f

Bounds = tuple[float | None, float | None]


class _Read(BaseModel):
    """What the comparison reads of a report; numbers may be null (undefined) in JSON."""

    model_config = ConfigDict(extra="ignore")


class ReadEstimate(_Read):
    model: str | None = None
    variant: str
    n_queries: int = 0
    rate: dict[str, float | None] = Field(default_factory=dict)
    gap: float | None = None
    gap_ci: Bounds | None = None


class ReadContrast(_Read):
    model: str | None = None
    variant: str
    delta_gap: float | None = None
    ci: Bounds | None = None
    p_adjusted: float | None = None


class ReadHypothesis(_Read):
    model: str | None = None
    name: str
    expression: str = ""
    measure: str | None = None  # `on MEASURE` (None: the default); absent before 0.1 reports
    verdict: Literal["pass", "fail"]
    estimate: float | None = None
    p_adjusted: float | None = None


class ReadAnalysis(_Read):
    alpha: float = 0.05
    base: str = "base"
    variants: list[ReadEstimate] = Field(default_factory=list)
    contrasts: list[ReadContrast] = Field(default_factory=list)
    hypotheses: list[ReadHypothesis] = Field(default_factory=list)


class ReadReport(ReadAnalysis):
    """One side of a comparison: an `afdsl test --json` document."""

    experiment: str
    file: str = ""
    manifest: Manifest
    compliance_measure: str = "compliance"
    measure_analyses: dict[str, ReadAnalysis] = Field(default_factory=dict)

    def measures(self) -> dict[str, ReadAnalysis]:
        return {self.compliance_measure: self, **self.measure_analyses}


class Side(BaseModel):
    """Where a side came from, as the comparison names it."""

    source: str
    experiment: str
    file: str
    afdsl_version: str
    finished_at: str
    prompt_set_hash: str


class ManifestWarning(BaseModel):
    kind: Literal["prompt_set", "models", "files", "afdsl_version", "seed", "design", "experiment"]
    message: str


class CellSide(BaseModel):
    """One side's numbers for a model, variant and measure (None: not estimated there)."""

    n_queries: int
    rates: dict[str, float | None]
    gap: float | None
    delta_gap: float | None = None
    p_adjusted: float | None = None


class CellComparison(BaseModel):
    model: str | None
    measure: str
    variant: str
    a: CellSide | None
    b: CellSide | None
    gap_difference: float | None  # B minus A
    delta_gap_difference: float | None
    rate_difference: dict[str, float | None] = Field(default_factory=dict)


class HypothesisComparison(BaseModel):
    model: str | None
    name: str
    expression_a: str | None
    expression_b: str | None
    verdict_a: Literal["pass", "fail"] | None  # None: not in that report
    verdict_b: Literal["pass", "fail"] | None
    estimate_a: float | None
    estimate_b: float | None
    estimate_difference: float | None
    flipped: bool


class Comparison(BaseModel):
    """The `afdsl compare --json` document."""

    a: Side
    b: Side
    warnings: list[ManifestWarning]
    cells: list[CellComparison]
    hypotheses: list[HypothesisComparison]
    flipped: int
    exit_code: int


def read_report(data: JsonValue, source: str) -> ReadReport:
    """A report document as the comparison reads it (pydantic's ValidationError when it is
    not one)."""
    report = ReadReport.model_validate(data)
    report.file = report.file or source
    return report


def _minus(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _change(a: Any, b: Any, value: Callable[[Any], float | None]) -> float | None:
    """B's `value` minus A's, where either side may be absent (None)."""
    return _minus(None if b is None else value(b), None if a is None else value(a))


def _side(report: ReadReport, source: str) -> Side:
    m = report.manifest
    return Side(
        source=source,
        experiment=report.experiment,
        file=report.file,
        afdsl_version=m.afdsl_version,
        finished_at=m.finished_at,
        prompt_set_hash=m.prompt_set_hash,
    )


def _cells(analysis: ReadAnalysis) -> dict[tuple[str | None, str], CellSide]:
    """Each (model, variant) of one measure with its gap, rates and Δgap."""
    contrasts = {(c.model, c.variant): c for c in analysis.contrasts}
    out = {}
    for est in analysis.variants:
        c = contrasts.get((est.model, est.variant))
        out[(est.model, est.variant)] = CellSide(
            n_queries=est.n_queries,
            rates=dict(est.rate),
            gap=est.gap,
            delta_gap=None if c is None else c.delta_gap,
            p_adjusted=None if c is None else c.p_adjusted,
        )
    return out


def _compare_cells(a: ReadReport, b: ReadReport) -> list[CellComparison]:
    """Every model x variant x measure in either report, A's order first."""
    out = []
    measures_a, measures_b = a.measures(), b.measures()
    for measure in dict.fromkeys([*measures_a, *measures_b]):
        cells_a = _cells(measures_a[measure]) if measure in measures_a else {}
        cells_b = _cells(measures_b[measure]) if measure in measures_b else {}
        for key in dict.fromkeys([*cells_a, *cells_b]):
            ca, cb = cells_a.get(key), cells_b.get(key)
            conditions = dict.fromkeys([*(ca.rates if ca else {}), *(cb.rates if cb else {})])
            out.append(
                CellComparison(
                    model=key[0],
                    measure=measure,
                    variant=key[1],
                    a=ca,
                    b=cb,
                    gap_difference=_change(ca, cb, lambda side: side.gap),
                    delta_gap_difference=_change(ca, cb, lambda side: side.delta_gap),
                    rate_difference={c: _rate_change(ca, cb, c) for c in conditions},
                )
            )
    return out


def _rate_change(a: CellSide | None, b: CellSide | None, condition: str) -> float | None:
    return _change(a, b, lambda side: side.rates.get(condition))


def _test_text(h: ReadHypothesis | None, with_measure: bool) -> str | None:
    """What a hypothesis tests, as written: `on faking: gap(base) > 0` (the measure only
    when `with_measure`)."""
    if h is None:
        return None
    return f"on {h.measure}: {h.expression}" if with_measure and h.measure else h.expression


def _compare_hypotheses(a: ReadReport, b: ReadReport) -> list[HypothesisComparison]:
    """Each hypothesis and model in either report; a flip is a verdict that changed."""
    found_a = {(h.model, h.name): h for h in a.hypotheses}
    found_b = {(h.model, h.name): h for h in b.hypotheses}
    out = []
    for key in dict.fromkeys([*found_a, *found_b]):
        ha, hb = found_a.get(key), found_b.get(key)
        # A report written before hypotheses carried their measure cannot say which one it
        # tested: `on MEASURE` is compared only when both reports say.
        known = all(h is not None and "measure" in h.model_fields_set for h in (ha, hb))
        out.append(
            HypothesisComparison(
                model=key[0],
                name=key[1],
                expression_a=_test_text(ha, known),
                expression_b=_test_text(hb, known),
                verdict_a=None if ha is None else ha.verdict,
                verdict_b=None if hb is None else hb.verdict,
                estimate_a=None if ha is None else ha.estimate,
                estimate_b=None if hb is None else hb.estimate,
                estimate_difference=_change(ha, hb, lambda side: side.estimate),
                flipped=bool(ha and hb and ha.verdict != hb.verdict),
            )
        )
    return out


def _model_keys(m: Manifest) -> set[str]:
    return {
        f"{e.label} ({e.spec}, t={e.temperature:g}, max_tokens={e.max_tokens})" for e in m.models
    }


def _files(m: Manifest) -> dict[str, str | None]:
    return {s.path: s.sha256 for s in m.source_files}


def _served_changes(a: Manifest, b: Manifest) -> list[str]:
    """`label: id-1 -> id-2` for each model both runs name whose provider answered as
    other ids (a dated release replaced): one model on two dates."""
    ids_a = {e.label: sorted(e.served_ids) for e in a.models}
    return [
        f"{e.label}: {', '.join(ids_a[e.label]) or 'none'} -> {', '.join(sorted(e.served_ids))}"
        for e in b.models
        if e.label in ids_a and e.served_ids and ids_a[e.label] != sorted(e.served_ids)
    ]


def manifest_warnings(a: Manifest, b: Manifest) -> list[ManifestWarning]:
    """Each way the manifests differ that can move a number, in words."""
    out: list[ManifestWarning] = []

    def warn(kind: str, message: str) -> None:
        out.append(ManifestWarning(kind=kind, message=message))  # type: ignore[arg-type]

    if a.experiment != b.experiment:
        warn("experiment", f"different experiments: `{a.experiment}` and `{b.experiment}`")
    if a.prompt_set_hash != b.prompt_set_hash:
        warn(
            "prompt_set",
            f"the prompt sets differ (hash {a.prompt_set_hash[:12]} and "
            f"{b.prompt_set_hash[:12]}): the prompts, models or samples are not the same",
        )
    only_a, only_b = _model_keys(a) - _model_keys(b), _model_keys(b) - _model_keys(a)
    if only_a or only_b:
        parts = [f"only in A: {', '.join(sorted(only_a))}"] if only_a else []
        parts += [f"only in B: {', '.join(sorted(only_b))}"] if only_b else []
        warn("models", "the models differ: " + "; ".join(parts))
    served = _served_changes(a, b)
    if served:
        warn("models", f"the providers answered as other model ids: {'; '.join(served)}")
    files_a, files_b = _files(a), _files(b)
    changed = [p for p in dict.fromkeys([*files_a, *files_b]) if files_a.get(p) != files_b.get(p)]
    if changed:
        warn("files", f"input files differ (absent or another hash): {', '.join(changed)}")
    if a.afdsl_version != b.afdsl_version:
        warn("afdsl_version", f"afdsl versions differ: {a.afdsl_version} and {b.afdsl_version}")
    if a.seed != b.seed:
        warn("seed", f"seeds differ: {a.seed} and {b.seed} (sim: answers are drawn anew)")
    if (a.n_queries, a.samples) != (b.n_queries, b.samples):
        warn("design", f"designs differ: {f.design(a)} and {f.design(b)}")
    return out


def compare_reports(a: ReadReport, b: ReadReport, sources: tuple[str, str]) -> Comparison:
    """The comparison of report `a` with report `b` (differences are B minus A)."""
    hypotheses = _compare_hypotheses(a, b)
    flipped = sum(h.flipped for h in hypotheses)
    return Comparison(
        a=_side(a, sources[0]),
        b=_side(b, sources[1]),
        warnings=manifest_warnings(a.manifest, b.manifest),
        cells=_compare_cells(a, b),
        hypotheses=hypotheses,
        flipped=flipped,
        exit_code=1 if flipped else 0,
    )


def write_comparison(comparison: Comparison, path: str | Path) -> None:
    """Write the `--json` comparison document (NaN as null)."""
    data = json.loads(comparison.model_dump_json())
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


# --- the terminal -----------------------------------------------------------------------


def _pp(x: float | None) -> str:
    return "—" if x is None else f.pp(x)


def _diff(x: float | None) -> Text:
    """B minus A in points, bold when it is at least a point."""
    if x is None:
        return Text("—", style="dim")
    return Text(f.pp(x), style="bold" if abs(x) >= 0.01 else "dim")


def _table(title: Text, names: tuple[str, str], numbers: tuple[str, ...]) -> Table:
    """A compact table: two name columns that fold, then right-aligned numbers."""
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
        collapse_padding=True,
    )  # fmt: skip
    for head in names:
        table.add_column(head, overflow="fold")
    for head in numbers:
        table.add_column(head, justify="right", no_wrap=True)
    return table


def _cells_table(comparison: Comparison, measure: str) -> Table:
    """Gap and Δgap of each model and variant of `measure`, A, B and B - A."""
    title = Text.assemble(("estimates", "bold"), (f"  {measure}, points", "dim"))
    numbers = ("gap A", "gap B", "B-A", "Δgap A", "Δgap B", "B-A")
    table = _table(title, ("model", "variant"), numbers)
    for cell in comparison.cells:
        if cell.measure != measure:
            continue
        table.add_row(
            cell.model or "model",
            cell.variant,
            _pp(None if cell.a is None else cell.a.gap),
            _pp(None if cell.b is None else cell.b.gap),
            _diff(cell.gap_difference),
            _pp(None if cell.a is None else cell.a.delta_gap),
            _pp(None if cell.b is None else cell.b.delta_gap),
            _diff(cell.delta_gap_difference),
        )
    return table


def _verdict(v: str | None) -> Text:
    if v is None:
        return Text("absent", style="dim")
    return Text(v.upper(), style="green" if v == "pass" else "red")


def _hypotheses_table(comparison: Comparison) -> Table:
    numbers = ("A", "B", "est A", "est B", "B-A", "")
    table = _table(Text("hypotheses", style="bold"), ("hypothesis", "model"), numbers)
    for h in comparison.hypotheses:
        table.add_row(
            h.name,
            h.model or "(across models)",
            _verdict(h.verdict_a),
            _verdict(h.verdict_b),
            _pp(h.estimate_a),
            _pp(h.estimate_b),
            _diff(h.estimate_difference),
            Text("FLIPPED", style="bold black on yellow") if h.flipped else "",
        )
    return table


def _sides(comparison: Comparison) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, side in (("A", comparison.a), ("B", comparison.b)):
        grid.add_row(
            name,
            f"{side.source} · {side.experiment} · afdsl {side.afdsl_version} · "
            f"finished {side.finished_at}",
        )
    return grid


def build_comparison_view(comparison: Comparison) -> Group:
    """The comparison as one renderable: sides, warnings, estimates, hypotheses, summary."""
    parts: list[RenderableType] = [Text("afdsl compare", style="bold"), _sides(comparison)]
    for w in comparison.warnings:
        parts.append(Text(f"warning: {w.message}", style="yellow"))
    for measure in dict.fromkeys(c.measure for c in comparison.cells):
        parts.append(_cells_table(comparison, measure))
    if comparison.hypotheses:
        parts.append(_hypotheses_table(comparison))
    rewritten = {
        h.name: h
        for h in comparison.hypotheses
        if h.expression_a and h.expression_b and h.expression_a != h.expression_b
    }
    for h in rewritten.values():
        parts.append(
            Text(
                f"note: {h.name} is not the same test in A (`{h.expression_a}`) and B "
                f"(`{h.expression_b}`)",
                style="yellow",
            )
        )
    n = len(comparison.hypotheses)
    summary = f"{f.plural(n, 'hypothesis', 'hypotheses')} compared, {comparison.flipped} flipped"
    parts.append(Text(summary, style="bold red" if comparison.flipped else "bold green"))
    parts.append(Text("Differences are B minus A, in percentage points.", style="dim"))
    return Group(*parts)
