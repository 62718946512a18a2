"""Forest plots as inline SVG: intervals on one axis in percentage points.

A plot is drawn in its own coordinates (`viewBox`) and scales to the width of
its container, so it is never cut on a narrow screen. Each plot carries its
title and, for simulated numbers, a SIMULATOR mark inside the SVG itself: a
figure cropped out of the page still says what it shows. The axis is chosen
so that zero is on it and the ticks fall on round values (1, 2 or 5 times a
power of ten, in points).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape

from afdsl.report import _format as f

_WIDTH, _LABEL_W, _VALUE_W, _ROW_H = 600, 180, 56, 22
_TOP, _BOTTOM = 42, 48  # title band above the rows; ticks and axis title below
_PLOT_W = _WIDTH - _LABEL_W - _VALUE_W - 10
_LABEL_CHARS = 26  # what fits in the label column at 12 px


@dataclass(frozen=True)
class Mark:
    """One interval row: a point estimate with its bounds (proportions, not points).

    `bound` draws the value a hypothesis is tested against and `band` its equivalence
    margin; the row's `<g>` has the class `kind` and `attributes` as `data-*` attributes.
    """

    label: str
    estimate: float
    low: float
    high: float
    filled: bool
    tip: str
    kind: str = "forest-mark"
    attributes: dict[str, str] = field(default_factory=dict)
    bound: float | None = None
    band: tuple[float, float] | None = None


@dataclass(frozen=True)
class Group:
    """Rows under one heading (a model)."""

    heading: str
    marks: list[Mark]


def nice_step(span: float) -> float:
    """A round tick step (1, 2 or 5 x 10^k) giving about four intervals over `span`."""
    raw = max(span, 1e-9) / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw - 1e-12)


def nice_axis(values: Iterable[float], minimum: float = 5.0) -> tuple[float, float, float]:
    """(low, high, step) in points: holds every finite value and zero, ends on ticks."""
    finite = [v for v in values if math.isfinite(v)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if high - low < minimum:  # (almost) nothing to show: widen away from zero
        if high > 0 and low == 0:
            high = minimum
        elif low < 0 and high == 0:
            low = -minimum
        else:
            pad = (minimum - (high - low)) / 2
            low, high = low - pad, high + pad
    step = nice_step(high - low)
    return step * math.floor(low / step + 1e-9), step * math.ceil(high / step - 1e-9), step


def forest(groups: Sequence[Group], title: str, *, simulator: bool, css_class: str) -> str:
    """An SVG forest plot of `groups`, titled `title`, marked SIMULATOR when `simulator`."""
    rows = sum(len(g.marks) + 1 for g in groups)
    height = _TOP + _ROW_H * max(rows, 1) + _BOTTOM
    values = [
        100 * v for g in groups for m in g.marks for v in (m.low, m.high, m.estimate, *_extras(m))
    ]
    low, high, step = nice_axis(values)

    def x(v: float) -> float:
        return _LABEL_W + (min(max(100 * v, low), high) - low) / (high - low) * _PLOT_W

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" width="100%" '
        f'viewBox="0 0 {_WIDTH} {height}" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}{' (SIMULATOR)' if simulator else ''}</title>",
        f'<text x="4" y="18" font-weight="700">{escape(title)}</text>',
    ]
    if simulator:
        out += _simulator_mark()
    bottom = height - _BOTTOM + 6
    out += _axis(x, low, high, step, bottom)
    row = 0
    for group in groups:
        cy = _TOP + row * _ROW_H + _ROW_H / 2
        out.append(f'<text x="4" y="{cy + 4:.1f}" font-weight="700">{escape(group.heading)}</text>')
        row += 1
        for mark in group.marks:
            out += _mark(mark, _TOP + row * _ROW_H + _ROW_H / 2, x)
            row += 1
    out.append("</svg>")
    return "\n".join(out)


def _extras(mark: Mark) -> list[float]:
    """The bound and margin of a hypothesis row, which the axis must hold too."""
    extra = [] if mark.bound is None else [mark.bound]
    return extra + (list(mark.band) if mark.band else [])


def _simulator_mark() -> list[str]:
    """The yellow SIMULATOR badge in the top right corner."""
    left = _WIDTH - 96
    return [
        f'<g class="sim-mark"><rect x="{left}" y="4" width="92" height="20" rx="3" '
        'fill="#f6c343"/>',
        f'<text x="{left + 46}" y="18" text-anchor="middle" font-weight="700" '
        'fill="#000">SIMULATOR</text></g>',
    ]


def _axis(
    x: Callable[[float], float], low: float, high: float, step: float, bottom: float
) -> list[str]:
    """Gridlines and round tick labels from `low` to `high` points; zero is the dark line."""
    out = []
    for i in range(round((high - low) / step) + 1):
        tick = low + i * step
        tx = x(tick / 100)
        zero = abs(tick) < step / 1000
        kind = ' class="zero" stroke="#555"' if zero else ' stroke="#e2e5e9"'
        out.append(
            f'<line x1="{tx:.1f}" y1="{_TOP - 4}" x2="{tx:.1f}" y2="{bottom}"{kind} '
            'stroke-width="1"/>'
        )
        label = "0" if zero else f"{tick:+g}"
        out.append(
            f'<text class="tick" x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle">{label}</text>'
        )
    out.append(
        f'<text x="{_LABEL_W + _PLOT_W / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
        'fill="#555">percentage points</text>'
    )
    return out


def _mark(mark: Mark, cy: float, x: Callable[[float], float]) -> list[str]:
    """One row: label, the margin band and bound (hypotheses), interval, point, value."""
    attributes = "".join(f' data-{k}="{escape(v)}"' for k, v in mark.attributes.items())
    colour = "#0b5cad" if mark.filled else "#8a96a3"
    label = mark.label if len(mark.label) <= _LABEL_CHARS else mark.label[: _LABEL_CHARS - 1] + "…"
    out = [
        f'<g class="{mark.kind}"{attributes}><title>{escape(mark.tip)}</title>',
        f'<text x="18" y="{cy + 4:.1f}">{escape(label)}</text>',
    ]
    if mark.band is not None:
        lo, hi = x(mark.band[0]), x(mark.band[1])
        out.append(
            f'<rect class="margin" x="{lo:.1f}" y="{cy - 8:.1f}" width="{hi - lo:.1f}" '
            'height="16" fill="#d7e8d0"/>'
        )
    if mark.bound is not None:
        bx = x(mark.bound)
        out.append(
            f'<line class="bound" x1="{bx:.1f}" y1="{cy - 9:.1f}" x2="{bx:.1f}" '
            f'y2="{cy + 9:.1f}" stroke="#cf222e" stroke-width="2"/>'
        )
    if all(math.isfinite(v) for v in (mark.low, mark.high, mark.estimate)):
        out.append(
            f'<line x1="{x(mark.low):.1f}" y1="{cy:.1f}" x2="{x(mark.high):.1f}" '
            f'y2="{cy:.1f}" stroke="{colour}" stroke-width="2"/>'
        )
        fill = colour if mark.filled else "#fff"
        out.append(
            f'<circle cx="{x(mark.estimate):.1f}" cy="{cy:.1f}" r="4.5" fill="{fill}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
    value_x = _WIDTH - _VALUE_W + 4
    out.append(f'<text x="{value_x}" y="{cy + 4:.1f}">{f.pp(mark.estimate)}</text>')
    out.append("</g>")
    return out
