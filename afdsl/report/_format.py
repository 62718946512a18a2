"""Small layout helpers shared by every renderer; numbers are written by `numbers`."""

from __future__ import annotations

import math
from collections.abc import Iterable

from afdsl.analysis import Manifest
from afdsl.ir import short_name
from afdsl.report.numbers import beside_alpha as beside_alpha
from afdsl.report.numbers import ci as ci
from afdsl.report.numbers import is_undefined
from afdsl.report.numbers import pct as pct
from afdsl.report.numbers import pp as pp
from afdsl.report.numbers import pval as pval
from afdsl.stats.contributions import CellLabels, HypothesisQueries
from afdsl.stats.models import AnalysisResult, Contrast, HypothesisResult, VariantEstimate

CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}


def models_of(analysis: AnalysisResult) -> list[str | None]:
    """Models in first-seen order (None for single-model analyses without a model name)."""
    seen: dict[str | None, None] = {}
    for group in (analysis.variants, analysis.contrasts, own_hypotheses(analysis)):
        for item in group:
            seen.setdefault(item.model, None)
    return list(seen)


def own_hypotheses(analysis: AnalysisResult) -> list[HypothesisResult]:
    """The results of hypotheses tested on one model (not the cross-model ones)."""
    return [h for h in analysis.hypotheses if not h.models]


def cross_model(analysis: AnalysisResult) -> list[HypothesisResult]:
    """The results of cross-model hypotheses (terms pinned with `@`), one each."""
    return [h for h in analysis.hypotheses if h.models]


def models_label(h: HypothesisResult) -> str:
    """Which model a result is about: its model, or the models it compares."""
    return " vs ".join(h.models) if h.models else (h.model or "")


CellKey = tuple[str | None, str, str]  # (model of a pinned term or None, variant, condition)


def cell_key(cell: CellLabels) -> CellKey:
    return cell.model, cell.variant, cell.condition


def cell_heading(key: CellKey) -> list[str]:
    """A per-query table's column heading, a line each: `base`, `training`, and for a
    pinned term `@ opus_like`."""
    model, variant, condition = key
    return [variant, condition] + ([f"@ {short_name(model)}"] if model else [])


def queries_owner(found: HypothesisQueries) -> str:
    """Whose per-query values these are: the model, or the models compared."""
    return " vs ".join(found.models) if found.models else (found.model or "model")


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
    """The hypothesis results of `model` (cross-model ones belong to none)."""
    return [h for h in own_hypotheses(analysis) if h.model == model]


def axis_for(intervals: Iterable[tuple[float, float]], minimum: float = 0.05) -> float:
    """Half-width of a symmetric axis around 0 that holds every finite interval."""
    extent = minimum
    for lo, hi in intervals:
        for x in (lo, hi):
            if not is_undefined(x):
                extent = max(extent, abs(x))
    # Round up to the next 5 points so the axis labels are readable.
    return math.ceil(extent * 20 - 1e-9) / 20


def interval_glyph(lo: float, est: float, hi: float, half: float, width: int = 15) -> str:
    """A one-line picture of an interval on the axis [-half, half]: `──●──`, zero as `│`/`┼`."""
    if any(is_undefined(x) for x in (lo, est, hi)) or half <= 0:
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
    named = {analysis.training, analysis.deployment}
    others = [
        c for c in dict.fromkeys(c for v in analysis.variants for c in v.rate) if c not in named
    ]
    conditions = " / ".join([analysis.training, analysis.deployment, *others])
    notes = [
        f"Rates pool the samples of each condition ({conditions}); their 95% Wilson "
        "intervals are descriptive.",
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
    if cross_model(analysis):
        notes.append(
            "A cross-model hypothesis (terms pinned with `@ MODEL`) is one paired test over "
            "the queries every model it names answered (the others are dropped and counted); "
            "the cross-model hypotheses are a family of their own for the correction."
        )
    notes += [f"Δgap {c.variant} vs {c.against}: {c.note}." for c in analysis.contrasts if c.note]
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
