"""The model matrix in HTML: a heatmap of models x variants and a forest plot per model.

The heatmap's colours diverge from white at 0 (blue: the variant shrinks the
gap, red: it widens it) on a scale symmetric around 0 and shared by every cell,
with a legend; each cell also writes its value (and `*` for an adjusted p below
α) and has a `<title>` tooltip with the interval, so the numbers never depend on
colour. Each cell is a `<g class="heat-cell">` with `data-model`, `data-variant`,
`data-measure` and `data-value` (Δgap in points), so tests and scripts can find
it. The small forest plots share one x axis, so intervals compare across models;
their marks are the usual `forest-mark` groups.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from afdsl.report import _format as f
from afdsl.report import _svg as svg
from afdsl.report.matrix import MARK, Matrix, base_cell, delta_cell
from afdsl.stats.models import Contrast

_CELL_W, _CELL_H, _LABEL_W, _HEAD_H = 44, 20, 120, 120
_BASE_GAP = 8  # space between the base-gap column and the variants
_LEGEND_H = 70

CSS = """
.matrix-plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
                gap: .4rem 1rem; }
.matrix-plots figure { margin: 0; } figure.matrix { max-width: 100%; }
svg.heatmap text { font-size: 11px; } svg.small-forest text { font-size: 10px; }
"""


def _colour(value: float, half: float) -> str:
    """A diverging colour for `value` points on [-half, half]: blue below 0, red above."""
    if not math.isfinite(value):
        return "#eeeeee"
    t = max(-1.0, min(1.0, value / half)) if half > 0 else 0.0
    end = (33, 102, 172) if t < 0 else (178, 24, 43)  # ColorBrewer RdBu ends
    mix = [round(255 + (c - 255) * abs(t)) for c in end]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def _ink(value: float, half: float) -> str:
    """Text colour that reads on the cell: white on the darker colours."""
    return "#fff" if math.isfinite(value) and half > 0 and abs(value) / half > 0.6 else "#1d232b"


def scale_half(matrix: Matrix) -> float:
    """Half the colour scale, in points: the largest |value| shown, to a round step."""
    values = [abs(100 * c.delta_gap) for c in matrix.cells.values()]
    values += [abs(100 * e.gap) for e in matrix.base.values()]
    finite = [v for v in values if math.isfinite(v)]
    top = max([5.0, *finite])
    step = svg.nice_step(top)
    return step * math.ceil(top / step - 1e-9)


def _cell(x: float, y: float, value: float, text: str, tip: str, half: float) -> list[str]:
    return [
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{_CELL_W - 2}" height="{_CELL_H - 2}" '
        f'fill="{_colour(value, half)}"/>',
        f'<text x="{x + _CELL_W / 2 - 1:.1f}" y="{y + _CELL_H / 2 + 3:.1f}" '
        f'text-anchor="middle" fill="{_ink(value, half)}">{escape(text)}</text>',
        f"<title>{escape(tip)}</title>",
    ]


def _heads(matrix: Matrix) -> list[str]:
    """Column headings, turned 45 degrees so long variant names fit."""
    names = [f"gap {matrix.analysis.base}", *matrix.variants]
    out = []
    for i, name in enumerate(names):
        cx = _column_x(i) + _CELL_W / 2
        out.append(
            f'<text transform="translate({cx:.1f},{_HEAD_H - 6}) rotate(-45)" '
            f'class="heat-head">{escape(name)}</text>'
        )
    return out


def _column_x(i: int) -> float:
    """Left edge of column `i` (0: the base gap, then the variants after a small space)."""
    return _LABEL_W + i * _CELL_W + (_BASE_GAP if i else 0)


def _row(matrix: Matrix, model: str | None, y: float, half: float) -> list[str]:
    """One model's row: its name, base gap, then one cell per variant."""
    name = model or "model"
    out = [f'<text x="{_LABEL_W - 6}" y="{y + _CELL_H / 2 + 3:.1f}" text-anchor="end">'
           f"{escape(name)}</text>"]  # fmt: skip
    est = matrix.base.get(model)
    gap = math.nan if est is None else 100 * est.gap
    tip = f"{name} · gap {matrix.analysis.base}: {base_cell(matrix, model)} pp"
    if est is not None:
        tip += f" {f.ci(est.gap_ci)}"
    out += ['<g class="heat-base">', *_cell(_column_x(0), y, gap, base_cell(matrix, model, 0),
            tip, half), "</g>"]  # fmt: skip
    for i, variant in enumerate(matrix.variants, 1):
        c = matrix.cells.get((model, variant))
        value = math.nan if c is None else 100 * c.delta_gap
        tip = f"{name} · {variant}: Δgap {delta_cell(matrix, model, variant)} pp"
        if c is not None:
            tip += f" {f.ci(c.ci)}, p adj {f.pval(c.p_adjusted, matrix.alpha)}"
        attributes = (
            f'data-model="{escape(name)}" data-variant="{escape(variant)}" '
            f'data-measure="{escape(matrix.measure)}" data-value="{value:.2f}"'
        )
        text = delta_cell(matrix, model, variant, 0)
        out += [f'<g class="heat-cell" {attributes}>',
                *_cell(_column_x(i), y, value, text, tip, half), "</g>"]  # fmt: skip
    return out


def _legend(y: float, half: float, alpha: float) -> list[str]:
    """A gradient bar from -half to +half points, and what the `*` means."""
    steps, width = 40, 240
    out = []
    for i in range(steps):
        value = -half + (i + 0.5) * 2 * half / steps
        out.append(
            f'<rect x="{_LABEL_W + i * width / steps:.1f}" y="{y:.1f}" '
            f'width="{width / steps + 0.5:.1f}" height="10" fill="{_colour(value, half)}"/>'
        )
    for value, anchor in ((-half, "start"), (0.0, "middle"), (half, "end")):
        x = _LABEL_W + (value + half) / (2 * half) * width
        label = "0" if value == 0 else f"{value:+g}"
        out.append(f'<text x="{x:.1f}" y="{y + 24:.1f}" text-anchor="{anchor}">{label}</text>')
    out.append(
        f'<text x="{_LABEL_W}" y="{y + 42:.1f}">Δgap (and gap) in points · '
        f"{MARK} adjusted p &lt; {alpha:g} · blue: smaller gap than base</text>"
    )
    return out


def heatmap_svg(matrix: Matrix, simulator: bool) -> str:
    """The models x variants heatmap of one measure."""
    half = scale_half(matrix)
    # Long model names push the grid right (about 6.5 px a character at 11 px).
    longest = max((len(m or "model") for m in matrix.models), default=0)
    shift = max(0.0, 6.5 * longest + 12 - _LABEL_W)
    width = _column_x(len(matrix.variants) + 1) + 80 + shift  # the last heading leans right
    body_h = _CELL_H * len(matrix.models)
    height = _HEAD_H + body_h + _LEGEND_H
    width = max(width, _LABEL_W + shift + 460)  # room for the legend's text
    title = f"Δgap against {matrix.analysis.base} by model and variant, {matrix.measure}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="100%" '
        f'style="max-width: {width:.0f}px" '  # a small grid is not blown up to the page
        f'viewBox="0 0 {width:.0f} {height}" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-label="{escape(title)}" data-measure="{escape(matrix.measure)}">',
        f"<title>{escape(title)}{' (SIMULATOR)' if simulator else ''}</title>",
        f'<text x="4" y="16" font-weight="700" style="font-size: 13px">{escape(title)}</text>',
    ]
    if simulator:
        out += [
            '<g class="sim-mark"><rect x="4" y="26" width="80" height="18" rx="3" fill="#f6c343"/>',
            '<text x="44" y="39" text-anchor="middle" font-weight="700" fill="#000">'
            "SIMULATOR</text></g>",
        ]
    out += [f'<g transform="translate({shift:.1f},0)">', *_heads(matrix)]
    for r, model in enumerate(matrix.models):
        out += _row(matrix, model, _HEAD_H + r * _CELL_H, half)
    out += _legend(_HEAD_H + body_h + 14, half, matrix.alpha)
    out.append("</g></svg>")
    return "\n".join(out)


_SMALL_W, _SMALL_LABEL, _SMALL_ROW, _SMALL_TOP, _SMALL_BOTTOM = 300, 104, 13, 22, 22
_SMALL_PLOT = _SMALL_W - _SMALL_LABEL - 18  # room for the last tick's label


def small_forests(matrix: Matrix, simulator: bool) -> list[str]:
    """One small forest plot per model, every one on the axis that holds them all
    (intervals are clipped to it: a single query's interval is unbounded)."""
    values = [100 * c.delta_gap for c in matrix.cells.values()]
    values += [100 * v for c in matrix.cells.values() for v in c.ci if abs(v) <= 1]
    axis = svg.nice_axis(values)
    return [_small_forest(matrix, model, axis, simulator) for model in matrix.models]


def _small_forest(
    matrix: Matrix, model: str | None, axis: tuple[float, float, float], simulator: bool
) -> str:
    """One model's Δgap intervals, one thin row per variant, on `axis` (points)."""
    low, high, step = axis

    def x(v: float) -> float:
        return _SMALL_LABEL + (min(max(100 * v, low), high) - low) / (high - low) * _SMALL_PLOT

    rows = len(matrix.variants)
    bottom = _SMALL_TOP + rows * _SMALL_ROW
    height = bottom + _SMALL_BOTTOM
    name = model or "model"
    title = f"{name}: Δgap against {matrix.analysis.base}, {matrix.measure}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="small-forest" width="100%" '
        f'viewBox="0 0 {_SMALL_W} {height}" role="img" aria-label="{escape(title)}" '
        f'data-model="{escape(name)}">',
        f"<title>{escape(title)}{' (SIMULATOR)' if simulator else ''}</title>",
        f'<text x="2" y="14" font-weight="700">{escape(name)}</text>',
    ]
    for i in range(round((high - low) / step) + 1):
        tick = low + i * step
        tx = x(tick / 100)
        stroke = "#555" if abs(tick) < step / 1000 else "#e2e5e9"
        out.append(f'<line x1="{tx:.1f}" y1="{_SMALL_TOP - 2}" x2="{tx:.1f}" y2="{bottom}" '
                   f'stroke="{stroke}"/>')  # fmt: skip
        label = "0" if abs(tick) < step / 1000 else f"{tick:+g}"
        out.append(f'<text x="{tx:.1f}" y="{bottom + 12}" text-anchor="middle">{label}</text>')
    for r, variant in enumerate(matrix.variants):
        c = matrix.cells.get((model, variant))
        if c is not None:
            out += _small_mark(matrix, c, _SMALL_TOP + r * _SMALL_ROW + _SMALL_ROW / 2, x)
    out.append("</svg>")
    return "\n".join(out)


def _small_mark(matrix: Matrix, c: Contrast, cy: float, x: Callable[[float], float]) -> list[str]:
    """One variant's row: its name, interval and point (filled: adjusted p below α)."""
    colour = "#0b5cad" if matrix.significant(c) else "#8a96a3"
    name = c.variant if len(c.variant) <= 17 else c.variant[:16] + "…"
    tip = (
        f"{c.model or 'model'} · {c.variant}: Δgap {f.pp(c.delta_gap)} pp {f.ci(c.ci)}, "
        f"p adj {f.pval(c.p_adjusted, matrix.alpha)}"
    )
    attributes = (
        f'data-model="{escape(c.model or "")}" data-variant="{escape(c.variant)}" '
        f'data-measure="{escape(matrix.measure)}"'
    )
    out = [
        f'<g class="forest-mark" {attributes}><title>{escape(tip)}</title>',
        f'<text x="2" y="{cy + 3.5:.1f}">{escape(name)}</text>',
    ]
    lo, hi = (v if math.isfinite(v) else s for v, s in zip(c.ci, (-1.0, 1.0), strict=True))
    if math.isfinite(c.delta_gap):
        fill = colour if matrix.significant(c) else "#fff"
        out += [
            f'<line x1="{x(lo):.1f}" y1="{cy:.1f}" x2="{x(hi):.1f}" y2="{cy:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>',
            f'<circle cx="{x(c.delta_gap):.1f}" cy="{cy:.1f}" r="3.2" fill="{fill}" '
            f'stroke="{colour}" stroke-width="1.5"/>',
        ]
    return [*out, "</g>"]


def matrix_sections(matrices: list[Matrix], simulator: bool) -> list[str]:
    """The HTML of each measure's heatmap and small forest plots."""
    out = []
    for matrix in matrices:
        out.append(f"<h2>Models x variants: {escape(matrix.measure)}</h2>")
        out.append(f'<figure class="matrix">{heatmap_svg(matrix, simulator)}</figure>')
        if matrix.cells:
            out.append('<div class="matrix-plots">')
            out += [f"<figure>{plot}</figure>" for plot in small_forests(matrix, simulator)]
            out.append("</div>")
            out.append(
                '<p class="notes">One plot per model, all on the same axis (percentage '
                "points): filled marks have an adjusted p below α.</p>"
            )
    return out
