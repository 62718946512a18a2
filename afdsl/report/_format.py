"""Number formatting and small layout helpers shared by every renderer.

Rates are shown as percentages, gaps and their differences as percentage
points, so a reader never confuses a 5% rate with a 5-point gap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from afdsl.report.manifest import Manifest
from afdsl.stats.models import AnalysisResult, Contrast, HypothesisResult, VariantEstimate

CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}


def _bad(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: float | None, digits: int = 1) -> str:
    """A rate as a percentage: 0.123 -> '12.3%'."""
    return "n/a" if _bad(x) else f"{100 * x:.{digits}f}%"  # type: ignore[operator]


def pp(x: float | None, digits: int = 1) -> str:
    """A difference of rates in percentage points, always signed: 0.11 -> '+11.0'."""
    if _bad(x):
        return "n/a"
    text = f"{100 * x:+.{digits}f}"  # type: ignore[operator]
    # A value that rounds to zero has no sign worth showing ("-0" reads as a typo).
    return text[1:] if text.strip("+-0.") == "" else text


def ci(bounds: tuple[float, float] | None, *, points: bool = True, digits: int = 1) -> str:
    """An interval in percent (`points=False`) or signed percentage points."""
    if bounds is None or _bad(bounds[0]) or _bad(bounds[1]):
        return "[n/a]"
    f = pp if points else pct
    return f"[{f(bounds[0], digits)}, {f(bounds[1], digits)}]"


def pval(p: float | None, alpha: float | None = None) -> str:
    """p-values with two significant digits, floored at <0.001 (more digits would be noise).

    With `alpha`, the text falls on the same side of α as `p`: an adjusted p of 0.0495
    reads '0.0495', not '0.050' beside a PASS (or a filled mark) that says it is below α.
    """
    if _bad(p):
        return "n/a"
    assert p is not None
    if p < 0.001:
        return "<0.001"
    digits = 3 if round(p, 3) < 0.1 else 2  # 0.09996 reads '0.10', not '0.100'
    return beside_alpha(p, alpha, digits)


def beside_alpha(p: float, alpha: float | None, digits: int) -> str:
    """`p` with `digits` decimals, or more (up to 6) until the text is on p's side of α."""
    text = f"{p:.{digits}f}"
    while alpha is not None and (float(text) < alpha) != (p < alpha) and digits < 6:
        digits += 1
        text = f"{p:.{digits}f}"
    return text


def models_of(analysis: AnalysisResult) -> list[str | None]:
    """Models in first-seen order (None for single-model analyses without a model name)."""
    seen: dict[str | None, None] = {}
    for group in (analysis.variants, analysis.contrasts, analysis.hypotheses):
        for item in group:
            seen.setdefault(item.model, None)
    return list(seen)


def variants_for(analysis: AnalysisResult, model: str | None) -> list[VariantEstimate]:
    """The gap estimates of `model`'s variants."""
    return [v for v in analysis.variants if v.model == model]


def contrast_for(analysis: AnalysisResult, model: str | None, variant: str) -> Contrast | None:
    """`variant`'s contrast against base for `model` (None for base, or none computed)."""
    for c in analysis.contrasts:
        if c.model == model and c.variant == variant:
            return c
    return None


def hypotheses_for(analysis: AnalysisResult, model: str | None) -> list[HypothesisResult]:
    """The hypothesis results of `model`."""
    return [h for h in analysis.hypotheses if h.model == model]


def axis_for(intervals: Iterable[tuple[float, float]], minimum: float = 0.05) -> float:
    """Half-width of a symmetric axis around 0 that holds every finite interval."""
    extent = minimum
    for lo, hi in intervals:
        for x in (lo, hi):
            if not _bad(x):
                extent = max(extent, abs(x))
    # Round up to the next 5 points so the axis labels are readable.
    return math.ceil(extent * 20 - 1e-9) / 20


def interval_glyph(lo: float, est: float, hi: float, half: float, width: int = 15) -> str:
    """A one-line picture of an interval on the axis [-half, half]: `──●──`, zero as `│`/`┼`."""
    if any(_bad(x) for x in (lo, est, hi)) or half <= 0:
        return " " * width

    def col(x: float) -> int:
        x = min(max(x, -half), half)
        return round((x + half) / (2 * half) * (width - 1))

    cells = [" "] * width
    for i in range(col(lo), col(hi) + 1):
        cells[i] = "─"
    zero = col(0.0)
    cells[zero] = "┼" if cells[zero] == "─" else "│"
    cells[col(est)] = "●"
    return "".join(cells)


def method_footnote(analysis: AnalysisResult, extra: str | None = None) -> list[str]:
    """The footnotes every report carries: how the numbers were computed (plus `extra`)."""
    correction = CORRECTION_NAMES.get(analysis.correction, analysis.correction)
    notes = [
        f"Rates pool the samples of each condition ({analysis.training} / "
        f"{analysis.deployment}); their 95% Wilson intervals are descriptive.",
        "Gap = training rate minus deployment rate, averaged over queries; the 95% CI is a "
        "t interval over per-query gaps (queries are the clusters, samples are not "
        "independent). Gaps and differences are in percentage points.",
        f"Δgap compares each variant with `{analysis.base}` query by query (paired t test, "
        "two-sided).",
        f"p-values are adjusted with {correction} within each model, contrasts and hypotheses "
        f"as separate families; a hypothesis passes when its adjusted p is below "
        f"α = {analysis.alpha:g}.",
        "Unparseable labels are excluded from the statistics and counted separately. A "
        "variant with no usable label (`no usable labels`, or `no labels` in a narrow table) "
        "or with one condition only (`no gap (one condition)` or `1 cond.`, after `drop "
        "condition`) is listed with that reason in place of its gap.",
    ]
    return [*notes, extra] if extra else notes


def judges_of(manifest: Manifest) -> list[tuple[str, bool, list[str]]]:
    """Each judge model, whether it is a simulator, and the measures it labels, in file
    order: a report names them (a `sim:` judge is a simulator too, whatever the model
    under test is)."""
    judges: dict[str, list[str]] = {}
    for measure in manifest.measures:
        if measure.judge is not None:
            judges.setdefault(measure.judge, []).append(measure.name)
    return [(spec, spec.startswith("sim:"), names) for spec, names in judges.items()]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 sample`, `8 samples`; `many` is an irregular plural (`plural(1, "query", "queries")`)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def design(manifest: Manifest) -> str:
    """`56 queries x 8 samples`, singular where it is one."""
    return (
        f"{plural(manifest.n_queries, 'query', 'queries')} x {plural(manifest.samples, 'sample')}"
    )


def seed_text(manifest: Manifest) -> str:
    """The seed, and when a real model (or judge) answers, that its provider may ignore it:
    the seed fixes `sim:` answers and the drawn queries, not a real model's answers."""
    specs = [e.spec for e in manifest.models] + [m.judge for m in manifest.measures if m.judge]
    real = [s for s in specs if not s.startswith(("sim:", "replay:"))]
    if not real:
        return str(manifest.seed)
    return f"{manifest.seed} (a provider that ignores the seed answers anew on each run)"
