"""The `--html` report: one self-contained file (inline CSS and SVG, no script, no network).

It reads on a phone (viewport meta tag; figures scale to the page; wide tables
scroll sideways in their own box) and prints on A4. Figures (`_svg`): one of
the hypotheses' estimates against their bounds, then one Δgap forest plot per
measure. Each contrast is a `<g class="forest-mark">` with `data-model`,
`data-variant` and `data-measure`, each hypothesis a `<g class="hypothesis-mark">`
with `data-model`, `data-hypothesis` and `data-verdict`, so tests and scripts
can find them.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from afdsl.analysis import TestRecord
from afdsl.report import _format as f
from afdsl.report import _svg as svg
from afdsl.report import _tables as t
from afdsl.report import html_queries as q
from afdsl.report import matrix as mx
from afdsl.report.matrix_html import CSS as MATRIX_CSS
from afdsl.report.matrix_html import matrix_sections
from afdsl.stats.models import AnalysisResult, Contrast, HypothesisResult

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #555; overflow-wrap: anywhere; } .meta code { color: #1d232b; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #e2e5e9; text-align: left; }
th { background: #f4f6f8; font-weight: 600; }
caption { text-align: left; font-weight: 600; color: #555; padding: .2rem 0; }
.num { text-align: right; white-space: nowrap; }
td.expr { font-family: ui-monospace, monospace; text-align: left; min-width: 12em; }
td.method { min-width: 16em; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .75rem;
         font-weight: 700; letter-spacing: .04em; vertical-align: middle; }
.sim { background: #f6c343; color: #000; }
.pass { background: #1f883d; color: #fff; } .fail { background: #cf222e; color: #fff; }
.error { color: #cf222e; font-weight: 600; } .note { color: #9a6700; }
.summary { font-size: 1.1rem; font-weight: 600; }
.notes { color: #555; font-size: .9rem; } details pre { background: #f4f6f8; padding: .8rem;
         overflow-x: auto; font-size: .8rem; }
figure { margin: 1rem 0; max-width: 780px; } svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #1d232b; }
@page { size: A4; margin: 15mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  figure, svg, table, tr { break-inside: avoid; page-break-inside: avoid; }
  .scroll { overflow: visible; } td.method, td.expr { min-width: 0; }
  table { font-size: 8pt; } th, td { padding: .15rem .3rem; } .num { white-space: normal; }
  figure { max-width: 100%; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
"""


def _badge(kind: str, text: str) -> str:
    return f'<span class="badge {kind}">{escape(text)}</span>'


def _with_code(text: str) -> str:
    """`text` escaped, its `backticked` names set as code (how footnotes write them)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _simulated(outcome: TestRecord, models: list[str | None], measure: str | None) -> bool:
    """Whether a figure of `models` on `measure` (None: any) shows simulated numbers:
    a model under test or the measure's judge is a simulator."""
    judges = {e.name: e.judge for e in outcome.manifest.measures}
    judge_sim = any(
        (judge or "").startswith("sim:")
        for name, judge in judges.items()
        if measure is None or name == measure
    )
    return judge_sim or any(t.is_simulator(outcome, m) for m in models)


def forest_svg(outcome: TestRecord, analysis: AnalysisResult, measure: str | None = None) -> str:
    """An SVG forest plot of `measure`'s contrasts (Δgap with its 95% CI), by model."""
    name = measure or outcome.compliance_measure
    groups = []
    for model in f.models_of(analysis):
        marks = [
            _contrast_mark(c, name, analysis.alpha) for c in analysis.contrasts if c.model == model
        ]
        if marks:
            groups.append(svg.Group(model or "model", marks))
    title = f"Δgap against {analysis.base}, {name} (95% CI)"
    simulated = _simulated(outcome, f.models_of(analysis), name)
    return svg.forest(groups, title, simulator=simulated, css_class="forest")


def _contrast_mark(c: Contrast, measure: str, alpha: float) -> svg.Mark:
    label = f"{c.variant} vs {c.against}"
    return svg.Mark(
        label=label,
        estimate=c.delta_gap,
        low=c.ci[0],
        high=c.ci[1],
        filled=c.p_adjusted < alpha,
        tip=f"{label}: {f.pp(c.delta_gap)} pp {f.ci(c.ci)}, p adj {f.pval(c.p_adjusted, alpha)}",
        attributes={"model": c.model or "", "variant": c.variant, "measure": measure},
    )


def hypotheses_svg(outcome: TestRecord, analysis: AnalysisResult) -> str:
    """An SVG of each hypothesis' estimate and CI, with the bound it is tested against
    (a red tick) and an equivalence margin (a green band); filled marks pass."""
    groups = []
    for model in f.models_of(analysis):
        marks = [_hypothesis_mark(h) for h in f.hypotheses_for(analysis, model)]
        if marks:
            groups.append(svg.Group(model or "model", marks))
    cross = [_hypothesis_mark(h) for h in f.cross_model(analysis)]
    if cross:
        groups.append(svg.Group("across models", cross))
    title = "Hypotheses: estimate (CI) against its bound"
    simulated = _simulated(outcome, f.models_of(analysis), None)
    return svg.forest(groups, title, simulator=simulated, css_class="forest hypotheses")


def _hypothesis_mark(h: HypothesisResult) -> svg.Mark:
    band = None
    if h.op == "==" and h.bound is not None and h.margin is not None:
        band = (h.bound - h.margin, h.bound + h.margin)
    verdict = h.verdict.upper()
    return svg.Mark(
        label=h.name,
        estimate=h.estimate,
        low=h.ci[0],
        high=h.ci[1],
        filled=h.verdict == "pass",
        tip=f"{verdict} {h.name}: {h.expression}; {f.pp(h.estimate)} pp {f.ci(h.ci)}",
        kind="hypothesis-mark",
        attributes={"model": f.models_label(h), "hypothesis": h.name, "verdict": h.verdict},
        bound=h.bound,
        band=band,
    )


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    """A table whose first column is text and the others numbers."""
    out = ['<div class="scroll"><table>']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append(
        f"<tr><th>{escape(header[0])}</th>"
        + "".join(f'<th class="num">{escape(h)}</th>' for h in header[1:])
        + "</tr>"
    )
    for row in rows:
        out.append(
            f"<tr><td>{escape(row[0])}</td>"
            + "".join(f'<td class="num">{escape(x)}</td>' for x in row[1:])
            + "</tr>"
        )
    out.append("</table></div>")
    return "\n".join(out)


def _tables(outcome: TestRecord, analysis: AnalysisResult) -> list[str]:
    out: list[str] = []
    counts = t.counts_by_variant(outcome)
    for model in f.models_of(analysis):
        badge = " " + _badge("sim", "SIMULATOR") if t.is_simulator(outcome, model) else ""
        out.append(f"<h2>{escape(model or 'model')}{badge}</h2>")
        rows = t.variant_rows(analysis, model, counts)
        out.append(_table(t.headers(analysis), rows, outcome.compliance_measure))
        for measure, result in t.other_measures(outcome, model):
            rows = t.variant_rows(result, model, counts, measure=measure)
            out.append(_table(t.headers(result), rows, t.measure_title(outcome, measure)))
            notes = t.measure_notes(outcome, result, model, measure)
            out += [f'<p class="notes">{_with_code(line)}</p>' for line in notes]
        rows = t.breakdown_rows(outcome, model)
        if rows:
            caption = t.breakdown_caption(outcome).replace("`", "")  # captions are plain text
            out.append(_table(t.BREAKDOWN_HEADERS, rows, caption))
    return out


_NUMERIC = {"estimate pp [CI]", "p", "p adj"}


def _hypotheses(analysis: AnalysisResult, linked: dict[tuple[str, str], str]) -> list[str]:
    """The hypotheses table; a name in `linked` ((model, name) -> section id) is a link
    to the queries behind its estimate."""
    heads = t.HYPOTHESIS_HEADERS
    out = [
        "<h2>Hypotheses</h2>",
        '<div class="scroll"><table><tr>'
        + "".join(
            f'<th class="num">{escape(h)}</th>' if h in _NUMERIC else f"<th>{escape(h)}</th>"
            for h in heads
        )
        + "</tr>",
    ]
    for row in t.hypothesis_rows(analysis):
        verdict = row[0]
        cells = [_badge(verdict, verdict.upper())]
        for head, value in zip(heads[1:], row[1:], strict=True):
            target = linked.get((row[2], value)) if head == "hypothesis" else None
            if target is not None:
                cells.append(f'<td><a href="#{escape(target)}">{escape(value)}</a></td>')
                continue
            kind = (
                ' class="num"'
                if head in _NUMERIC
                else ' class="expr"'
                if head == "expression"
                else ' class="method"'
                if head == "method"
                else ""
            )
            cells.append(f"<td{kind}>{escape(value)}</td>")
        out.append(
            f'<tr class="hypothesis" data-verdict="{verdict}"><td>{cells[0]}</td>'
            + "".join(cells[1:])
            + "</tr>"
        )
    out.append("</table></div>")
    return out


def render_html(outcome: TestRecord) -> str:
    """The whole report as one HTML document."""
    body = [f"<h1>afdsl test: {escape(outcome.experiment)}</h1>", _meta(outcome)]
    if outcome.counts and mx.is_matrix(outcome.analysis):  # 500 rows: the problems first
        body += _condensed_counts(outcome)
    elif outcome.counts:
        body.append("<h2>Responses</h2>")
        body.append(_counts_table(t.count_rows(outcome)))
        body += [f'<p class="note">{escape(line)}</p>' for line in t.truncation_lines(outcome)]
    body += [f'<p class="error">error: {escape(p.text)}</p>' for p in outcome.problems]
    body += [f'<p class="note">note: {escape(n.text)}</p>' for n in outcome.notes]
    if outcome.analysis is not None:
        body += _results(outcome, outcome.analysis)
    manifest = json.dumps(outcome.manifest.model_dump(mode="json"), indent=2)
    body.append(f"<details><summary>Manifest</summary><pre>{escape(manifest)}</pre></details>")
    simulated = (
        " · SIMULATOR"
        if _simulated(outcome, [e.label for e in outcome.manifest.models], None)
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>afdsl: {escape(outcome.experiment)}{simulated}</title>"
        f"<style>{_CSS}{MATRIX_CSS}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _meta(outcome: TestRecord) -> str:
    """The line under the title: file, models, judges, design, store and the run."""
    m = outcome.manifest
    models = ", ".join(
        f"<code>{escape(e.label)}</code>"
        + (" " + _badge("sim", "SIMULATOR") if e.simulator else "")
        for e in m.models
    )
    text = (
        f'<p class="meta">file <code>{escape(outcome.file)}</code> · models {models} · '
        + "".join(
            f"judge <code>{escape(spec)}</code>"
            + (" " + _badge("sim", "SIMULATOR") if simulator else "")
            + f" ({escape(', '.join(measures))}) · "
            for spec, simulator, measures in f.judges_of(m)
        )
        + f"{f.design(m)} · seed {escape(f.seed_text(m))} · "
        f"store <code>{escape(m.store_path)}</code>"
    )
    if outcome.run is not None:
        r = outcome.run
        text += (
            f" · {r.sent} sent, {r.cached} cached, {r.failed} failed · "
            f"{escape(r.cost_text())} · {r.elapsed_s:.1f} s"
        )
    return text + "</p>"


def _counts_table(rows: list[list[str]]) -> str:
    """Model, variant, then counts; the reasons are text."""
    heads = t.COUNT_HEADERS
    kinds = ["" if h in ("model", "variant", "why") else ' class="num"' for h in heads]
    out = ['<div class="scroll"><table class="counts"><tr>']
    out += [f"<th{k}>{escape(h)}</th>" for h, k in zip(heads, kinds, strict=True)]
    out.append("</tr>")
    for row in rows:
        cells = "".join(f"<td{k}>{escape(c)}</td>" for c, k in zip(row, kinds, strict=True))
        out.append(f"<tr>{cells}</tr>")
    out.append("</table></div>")  # a narrow window scrolls the table, not the page
    return "".join(out)


def _condensed_counts(outcome: TestRecord) -> list[str]:
    """The responses of a model matrix: one line, the cells with problems, and every cell
    behind a disclosure."""
    out = ["<h2>Responses</h2>", f"<p>{escape(mx.counts_line(outcome))}</p>"]
    bad = mx.problem_count_rows(outcome)
    if bad:
        out.append(_counts_table(bad))
    out.append("<details><summary>Every model and variant</summary>")
    out += [_counts_table(t.count_rows(outcome)), "</details>"]
    return out


def _results(outcome: TestRecord, analysis: AnalysisResult) -> list[str]:
    """Hypotheses (table and figure), the Δgap figure of each measure, the tables, notes."""
    body = []
    models = f.models_of(analysis)
    found = [h for h in outcome.query_contributions if h.queries]
    linked = {
        (f.queries_owner(h) if h.models else h.model or "", h.hypothesis): q.anchor(
            h.hypothesis, h.model, models
        )
        for h in found
    }
    measures = [(outcome.compliance_measure, analysis), *outcome.measure_analyses.items()]
    if mx.is_matrix(analysis):  # one forest plot of 500 rows reads as nothing: a grid, first
        body += matrix_sections(mx.matrices(outcome), _simulated(outcome, models, None))
        measures = []
    if analysis.hypotheses:
        body += _hypotheses(analysis, linked)
        body.append(f"<figure>{hypotheses_svg(outcome, analysis)}</figure>")
        body.append(
            '<p class="notes">Filled marks: the hypothesis passes. Red tick: the bound it is '
            "tested against; green band: an equivalence margin. Axis in percentage points.</p>"
        )
    body.append(f'<p class="summary">{escape(t.summary_counts(outcome))}</p>')
    figures = [forest_svg(outcome, a, name) for name, a in measures if a.contrasts]
    if figures:
        body.append(f"<h2>Δgap against {escape(analysis.base)} (95% CI)</h2>")
        body += [f"<figure>{figure}</figure>" for figure in figures]
        body.append(
            '<p class="notes">Filled marks: adjusted p below α. Axis in percentage points.</p>'
        )
    body += _tables(outcome, analysis)
    body += q.query_sections(found, models, outcome.file)
    notes = f.method_footnote(analysis, t.sequential_note(outcome))
    body += ['<ol class="notes">', *(f"<li>{_with_code(n)}</li>" for n in notes), "</ol>"]
    return body


def write_html(outcome: TestRecord, path: str | Path) -> None:
    """Write the `--html` report to `path`."""
    Path(path).write_text(render_html(outcome), encoding="utf-8")
