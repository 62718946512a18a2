"""The `--html` report: one self-contained file (inline CSS and SVG, no network).

The forest plot draws one `<g class="forest-mark">` per contrast (a variant's
Δgap against base, per model) with `data-model` and `data-variant`
attributes, so tests and scripts can find each mark.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from pathlib import Path

from afdsl.analysis import TestRecord
from afdsl.report import _format as f
from afdsl.report import _tables as t
from afdsl.stats.models import AnalysisResult, Contrast

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #555; } .meta code { color: #1d232b; }
table { border-collapse: collapse; margin: .6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #e2e5e9; text-align: left; }
th { background: #f4f6f8; font-weight: 600; }
caption { text-align: left; font-weight: 600; color: #555; padding: .2rem 0; }
.num { text-align: right; white-space: nowrap; }
td.expr { font-family: ui-monospace, monospace; text-align: left; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .75rem;
         font-weight: 700; letter-spacing: .04em; vertical-align: middle; }
.sim { background: #f6c343; color: #000; }
.pass { background: #1f883d; color: #fff; } .fail { background: #cf222e; color: #fff; }
.error { color: #cf222e; font-weight: 600; } .note { color: #9a6700; }
.summary { font-size: 1.1rem; font-weight: 600; }
.notes { color: #555; font-size: .9rem; } details pre { background: #f4f6f8; padding: .8rem;
         overflow-x: auto; font-size: .8rem; }
svg text { font: 12px system-ui, sans-serif; fill: #1d232b; }
"""

_ROW_H, _LABEL_W, _PLOT_W, _PAD = 24, 260, 560, 30


def _badge(kind: str, text: str) -> str:
    return f'<span class="badge {kind}">{escape(text)}</span>'


def forest_svg(analysis: AnalysisResult, alpha: float) -> str:
    """An SVG forest plot of every contrast's Δgap with its 95% CI, grouped by model."""
    # A heading row (contrast None) per model, then one row per contrast.
    rows: list[tuple[str | None, Contrast | None]] = []
    for model in f.models_of(analysis):
        contrasts = [c for c in analysis.contrasts if c.model == model]
        if contrasts:
            rows.append((model, None))
            rows += [(model, c) for c in contrasts]
    half = f.axis_for(c.ci for c in analysis.contrasts)
    height = _PAD * 2 + 20 + _ROW_H * max(len(rows), 1)
    width = _LABEL_W + _PLOT_W + 90

    def x(v: float) -> float:
        v = min(max(v, -half), half)
        return _LABEL_W + (v + half) / (2 * half) * _PLOT_W

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="forest" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Δgap against base with 95% confidence intervals">'
    ]
    bottom = height - _PAD - 20
    out += _axis(x, half, bottom)
    for i, (model, c) in enumerate(rows):
        cy = _PAD + i * _ROW_H + _ROW_H / 2
        if c is None:
            out.append(
                f'<text x="4" y="{cy + 4:.1f}" font-weight="700">{escape(model or "model")}</text>'
            )
        else:
            out += _mark(c, model, cy, x, alpha)
    out.append("</svg>")
    return "\n".join(out)


def _axis(x: Callable[[float], float], half: float, bottom: float) -> list[str]:
    """Gridlines and tick labels (percentage points) from -half to +half, zero darker."""
    out = []
    for tick in (-half, -half / 2, 0.0, half / 2, half):
        tx = x(tick)
        stroke = "#777" if tick == 0 else "#e2e5e9"
        out.append(
            f'<line x1="{tx:.1f}" y1="{_PAD - 8}" x2="{tx:.1f}" y2="{bottom}" '
            f'stroke="{stroke}" stroke-width="1"/>'
        )
        label = f"{100 * tick:+.1f}".removesuffix(".0") if tick else "0"
        out.append(f'<text x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle">{label}</text>')
    out.append(
        f'<text x="{x(0.0):.1f}" y="{bottom + 34}" text-anchor="middle" fill="#555">'
        "Δgap, percentage points</text>"
    )
    return out


def _mark(
    c: Contrast, model: str | None, cy: float, x: Callable[[float], float], alpha: float
) -> list[str]:
    """One contrast's row: its label, interval and point (filled when significant), value."""
    lo, hi, est = c.ci[0], c.ci[1], c.delta_gap
    significant = c.p_adjusted < alpha
    colour = "#0b5cad" if significant else "#8a96a3"
    label = f"{c.variant} vs {c.against}"
    tip = f"{label}: {f.pp(est)} pp {f.ci(c.ci)}, p adj {f.pval(c.p_adjusted, alpha)}"
    out = [
        f'<g class="forest-mark" data-model="{escape(model or "")}" '
        f'data-variant="{escape(c.variant)}"><title>{escape(tip)}</title>',
        f'<text x="18" y="{cy + 4:.1f}">{escape(label)}</text>',
    ]
    if all(v == v for v in (lo, hi, est)):  # NaN-safe: skip drawing an undefined interval
        out.append(
            f'<line x1="{x(lo):.1f}" y1="{cy:.1f}" x2="{x(hi):.1f}" y2="{cy:.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        fill = colour if significant else "#fff"
        out.append(
            f'<circle cx="{x(est):.1f}" cy="{cy:.1f}" r="4.5" fill="{fill}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
    out.append(f'<text x="{_LABEL_W + _PLOT_W + 10}" y="{cy + 4:.1f}">{f.pp(est)}</text>')
    out.append("</g>")
    return out


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    """A table whose first column is text and the others numbers."""
    out = ["<table>"]
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
    out.append("</table>")
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
            out.append(_table(t.headers(result), rows, measure))
    return out


_NUMERIC = {"estimate pp [CI]", "p", "p adj"}


def _hypotheses(analysis: AnalysisResult) -> list[str]:
    heads = t.HYPOTHESIS_HEADERS
    out = [
        "<h2>Hypotheses</h2>",
        "<table><tr>"
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
            kind = (
                ' class="num"'
                if head in _NUMERIC
                else ' class="expr"'
                if head == "expression"
                else ""
            )
            cells.append(f"<td{kind}>{escape(value)}</td>")
        out.append(
            f'<tr class="hypothesis" data-verdict="{verdict}"><td>{cells[0]}</td>'
            + "".join(cells[1:])
            + "</tr>"
        )
    out.append("</table>")
    return out


def render_html(outcome: TestRecord) -> str:
    """The whole report as one HTML document."""
    m = outcome.manifest
    models = ", ".join(
        f"<code>{escape(e.label)}</code>"
        + (" " + _badge("sim", "SIMULATOR") if e.simulator else "")
        for e in m.models
    )
    body = [
        f"<h1>afdsl test: {escape(outcome.experiment)}</h1>",
        f'<p class="meta">file <code>{escape(outcome.file)}</code> · models {models} · '
        + "".join(
            f"judge <code>{escape(spec)}</code>"
            + (" " + _badge("sim", "SIMULATOR") if simulator else "")
            + f" ({escape(', '.join(measures))}) · "
            for spec, simulator, measures in f.judges_of(m)
        )
        + f"{m.n_queries} queries x {m.samples} samples · seed {m.seed} · "
        f"store <code>{escape(m.store_path)}</code>",
    ]
    if outcome.run is not None:
        r = outcome.run
        body.append(
            f" · {r.sent} sent, {r.cached} cached, {r.failed} failed · "
            f"{escape(r.cost_text())} · {r.elapsed_s:.1f} s"
        )
    body.append("</p>")
    body += [f'<p class="error">error: {escape(p.text)}</p>' for p in outcome.problems]
    body += [f'<p class="note">note: {escape(n.text)}</p>' for n in outcome.notes]
    analysis = outcome.analysis
    if analysis is not None:
        if analysis.hypotheses:
            body += _hypotheses(analysis)
        body.append(f'<p class="summary">{outcome.n_passed} passed, {outcome.n_failed} failed</p>')
        if analysis.contrasts:
            body.append(f"<h2>Δgap against {escape(analysis.base)} (95% CI)</h2>")
            body.append(forest_svg(analysis, analysis.alpha))
            body.append(
                '<p class="notes">Filled marks: adjusted p below α. Axis in percentage points.</p>'
            )
        body += _tables(outcome, analysis)
        body.append('<ol class="notes">')
        body += [
            f"<li>{escape(note)}</li>"
            for note in f.method_footnote(analysis, t.sequential_note(outcome))
        ]
        body.append("</ol>")
    manifest = json.dumps(m.model_dump(mode="json"), indent=2)
    body.append(f"<details><summary>Manifest</summary><pre>{escape(manifest)}</pre></details>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>afdsl: {escape(outcome.experiment)}</title><style>{_CSS}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_html(outcome: TestRecord, path: str | Path) -> None:
    """Write the `--html` report to `path`."""
    Path(path).write_text(render_html(outcome), encoding="utf-8")
