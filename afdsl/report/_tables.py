"""The report's tables as plain strings, shared by every renderer.

Each renderer styles the same cells its own way (rich `Text`, Markdown pipes,
HTML cells); what a cell says is decided once, here. A `Style` picks how
much detail the numbers carry, so the terminal can shrink a table to fit a
narrow window while the files keep full precision.
"""

from __future__ import annotations

from dataclasses import dataclass

from afdsl.analysis import ModelEntry, TestRecord, VariantCounts, top_reasons
from afdsl.report import _format as f
from afdsl.stats.models import AnalysisResult, ConditionRates, HypothesisResult, VariantEstimate

# Condition names as table headers when there is little room.
SHORT_CONDITIONS = {"training": "train", "deployment": "deploy"}
# The gap cell of a variant that has only one of the two conditions (`drop condition`),
# and of a variant with responses but no usable label; the short forms keep a narrow
# table's gap column as wide as its numbers, so the table still fits 80 columns.
ONE_CONDITION, ONE_CONDITION_SHORT = "no gap (one condition)", "1 cond."
NO_LABELS, NO_LABELS_SHORT = "no usable labels", "no labels"


@dataclass(frozen=True)
class Style:
    """How much a variant table says: decimals, spacing, and which optional columns it has."""

    digits: int = 1  # decimals of rates, gaps and their intervals
    compact: bool = False  # `[26,33]` rate intervals and `±6` for symmetric t intervals
    rate_ci: bool = True  # the (descriptive) Wilson interval beside each rate
    short_headers: bool = False
    queries: bool = True  # the "queries" column
    counts: bool = True  # "unparseable" and "errors" columns
    short_counts: bool = False  # "unp" and "err" as their headers


FULL = Style()


def model_entry(outcome: TestRecord, model: str | None) -> ModelEntry | None:
    """The manifest entry of `model` (matched by label or spec)."""
    return next((m for m in outcome.manifest.models if model in (m.label, m.spec)), None)


def is_simulator(outcome: TestRecord, model: str | None) -> bool:
    """Whether `model` is a simulator, so its section can be marked as such."""
    entry = model_entry(outcome, model)
    return bool(entry and entry.simulator)


def sequential_note(outcome: TestRecord) -> str | None:
    """The footnote a `--sequential` run adds (None otherwise)."""
    return outcome.sequential.note if outcome.sequential and outcome.sequential.note else None


def rate_cell(est: VariantEstimate | ConditionRates, condition: str, style: Style = FULL) -> str:
    """`29.2% [25.5, 33.3]`: a pooled rate with its Wilson interval."""
    cell = f.pct(est.rate.get(condition), style.digits)
    bounds = est.rate_ci.get(condition)
    if bounds is None or not style.rate_ci:
        return cell
    if style.compact:
        lo, hi = (f.pct(b, style.digits).rstrip("%") for b in bounds)
        return f"{cell} [{lo},{hi}]"
    return f"{cell} {f.ci(bounds, points=False, digits=style.digits).replace('%', '')}"


def diff_cell(estimate: float, bounds: tuple[float, float], style: Style = FULL) -> str:
    """A gap or Δgap in points with its CI; `+22 ±6` when compact and the CI is symmetric."""
    text = f"{f.pp(estimate, style.digits)} "
    if style.compact:
        lo, hi = bounds
        half = (hi - lo) / 2
        # t intervals are symmetric; anything else keeps its bounds.
        if half == half and abs((lo + hi) / 2 - estimate) < 1e-9:
            return text + f"±{100 * half:.{style.digits}f}"
    return text + f.ci(bounds, digits=style.digits)


def extra_conditions(analysis: AnalysisResult) -> list[str]:
    """Conditions beyond training and deployment (e.g. `unmonitored`), in the order the
    variants have them: each gets a rate column; the gap stays training minus deployment."""
    named = {analysis.training, analysis.deployment}
    found = [c for e in analysis.variants for c in e.rate]
    found += [c for e in analysis.one_condition for c in e.rate]
    return [c for c in dict.fromkeys(found) if c not in named]


def headers(analysis: AnalysisResult, style: Style = FULL) -> list[str]:
    """Column headers of a variant table (first column "variant")."""
    conditions = [analysis.training, analysis.deployment, *extra_conditions(analysis)]
    if style.short_headers:
        conditions = [SHORT_CONDITIONS.get(c, c[:6]) for c in conditions]
        out = ["variant", *conditions, "gap", "Δgap", "p adj"]
    else:
        out = ["variant", *conditions, "gap pp [95% CI]", f"Δgap vs {analysis.base}", "p adj"]
    if style.queries:
        out.append("queries" if not style.short_headers else "n q")
    if style.counts:
        out += ["unp", "err"] if style.short_counts else ["unparseable", "errors"]
    return out


def variant_rows(
    analysis: AnalysisResult,
    model: str | None,
    counts: dict[tuple[str, str], VariantCounts] | None = None,
    style: Style = FULL,
    measure: str | None = None,
) -> list[list[str]]:
    """One row per variant of `model`, matching `headers(analysis, style)`.

    `measure` names the measure of `analysis` (None: the compliance measure);
    the unparseable column counts that measure's unreadable labels. A variant
    with responses but no usable label of this measure (e.g. every answer of a
    no-scratchpad variant is unjudgeable for faking) still gets a row, saying so,
    and so does a variant labelled under one condition only (`drop condition`).
    """
    rows = []
    estimated = set()
    extra = extra_conditions(analysis)
    for est in f.variants_for(analysis, model):
        estimated.add(est.variant)
        c = f.contrast_for(analysis, model, est.variant)
        row = [
            est.variant,
            rate_cell(est, analysis.training, style),
            rate_cell(est, analysis.deployment, style),
            *(_rate_or_dash(est, name, style) for name in extra),
            diff_cell(est.gap, est.gap_ci, style),
            "—" if c is None else diff_cell(c.delta_gap, c.ci, style),
            "" if c is None else f.pval(c.p_adjusted, analysis.alpha),
        ]
        n = (counts or {}).get((model or "", est.variant))
        rows.append(row + _extra_cells(style, str(est.n_queries), n, measure))
    for one in analysis.one_condition:
        if one.model != model:
            continue
        estimated.add(one.variant)
        row = [
            one.variant,
            *(_rate_or_dash(one, c, style) for c in (analysis.training, analysis.deployment)),
            *(_rate_or_dash(one, name, style) for name in extra),
            ONE_CONDITION_SHORT if style.short_headers else ONE_CONDITION,
            "",
            "",
        ]
        n = (counts or {}).get((model or "", one.variant))
        rows.append(row + _extra_cells(style, str(one.n_queries), n, measure))
    for n in (counts or {}).values():
        if n.model == (model or "") and n.variant not in estimated and n.responses:
            note = NO_LABELS_SHORT if style.short_headers else NO_LABELS
            row = [n.variant, "—", "—", *("—" for _ in extra), note, "", ""]
            rows.append(row + _extra_cells(style, "0", n, measure))
    return rows


def _rate_or_dash(est: VariantEstimate | ConditionRates, condition: str, style: Style) -> str:
    """The rate of `condition`, or a dash for a variant without it (`drop condition`)."""
    return rate_cell(est, condition, style) if condition in est.rate else "—"


def _extra_cells(
    style: Style, n_queries: str, n: VariantCounts | None, measure: str | None
) -> list[str]:
    """The optional query-count and unparseable/error cells `style` asks for."""
    cells = [n_queries] if style.queries else []
    if style.counts:
        cells += _count_cells(n, measure)
    return cells


def _count_cells(n: VariantCounts | None, measure: str | None) -> list[str]:
    if n is None:
        return ["0", "0"]
    unparseable = n.unparseable if measure is None else n.unparseable_by_measure.get(measure, 0)
    return [str(unparseable), str(n.errors)]


def counts_by_variant(outcome: TestRecord) -> dict[tuple[str, str], VariantCounts]:
    """The outcome's sample counts keyed by (model label, variant)."""
    return {(c.model, c.variant): c for c in outcome.counts}


COUNT_HEADERS = ["model", "variant", "responses", "labelled", "unparseable", "why", "errors"]


def summary_counts(outcome: TestRecord) -> str:
    """`2 passed, 1 failed`, with `, 1 untestable` when hypotheses could not be tested for
    want of readable labels."""
    text = f"{outcome.n_passed} passed, {outcome.n_failed} failed"
    return text + (f", {outcome.n_untestable} untestable" if outcome.n_untestable else "")


def count_rows(outcome: TestRecord) -> list[list[str]]:
    """Per model and variant: responses, labelled, unparseable with why, errors (matching
    `COUNT_HEADERS`). Shown whatever the analysis could say, so a report on a model that
    never follows the format still shows what came back."""
    return [
        [
            n.model, n.variant, str(n.responses), str(n.labelled), str(n.unparseable),
            top_reasons(n.reasons), str(n.errors),
        ]
        for n in outcome.counts
    ]  # fmt: skip


def truncation_lines(outcome: TestRecord) -> list[str]:
    """`smol: truncated at max_tokens: 10 of 64 answers`, for each model with any."""
    totals: dict[str, list[int]] = {}
    for n in outcome.counts:
        total = totals.setdefault(n.model, [0, 0])
        total[0] += n.truncated
        total[1] += n.responses - n.errors
    return [
        f"{model}: truncated at max_tokens: {cut} of {answers} answers"
        for model, (cut, answers) in totals.items()
        if cut
    ]


HYPOTHESIS_HEADERS = [
    "verdict",
    "hypothesis",
    "model",
    "expression",
    "estimate pp [CI]",
    "p",
    "p adj",
    "method",
]


def hypothesis_rows(analysis: AnalysisResult) -> list[list[str]]:
    """One row per hypothesis and model, matching `HYPOTHESIS_HEADERS` (verdict "pass"/"fail")."""
    return [
        [
            h.verdict,
            h.name,
            f.models_label(h),
            expression_text(h),
            f"{f.pp(h.estimate)} {f.ci(h.ci)}",
            f.pval(h.p_value, analysis.alpha),
            f.pval(h.p_adjusted, analysis.alpha),
            method_text(h),
        ]
        for h in analysis.hypotheses
    ]


def expression_text(h: HypothesisResult) -> str:
    """The expression as the file words it, after `on MEASURE` when the hypothesis names one."""
    return f"on {h.measure}: {h.expression}" if h.measure else h.expression


def method_text(h: HypothesisResult) -> str:
    """The test used, and how many of the model's queries it had to leave out (a query
    with no usable sample in a cell the hypothesis refers to)."""
    if not h.n_dropped:
        return h.method
    dropped = f.plural(h.n_dropped, "query", "queries")
    return f"{h.method}; {dropped} dropped (no usable sample in a cell it needs)"


def other_measures(outcome: TestRecord, model: str | None) -> list[tuple[str, AnalysisResult]]:
    """Measures other than the compliance one that have estimates for `model`, or rates
    under one condition only (a `given` measure whose condition never holds in another)."""
    return [
        (name, result)
        for name, result in outcome.measure_analyses.items()
        if f.variants_for(result, model) or any(o.model == model for o in result.one_condition)
    ]


def measure_title(outcome: TestRecord, name: str) -> str:
    """A measure's name, with its definition when it is derived (`fwc = faking given
    compliance`)."""
    definition = outcome.derived_measures.get(name)
    return f"{name} = {definition}" if definition else name


def measure_notes(
    outcome: TestRecord, result: AnalysisResult, model: str | None, name: str
) -> list[str]:
    """What a derived measure's table leaves out: samples outside a conditional measure,
    and queries with no usable sample in training or deployment (dropped from the gap)."""
    if name not in outcome.derived_measures:
        return []
    lines = []
    excluded = sum(
        c.excluded_by_measure.get(name, 0) for c in outcome.counts if c.model == (model or "")
    )
    if excluded:
        lines.append(
            f"{f.plural(excluded, 'sample')} outside `{name}` (its condition is 0): "
            "its rates are over the other samples"
        )
    dropped = [f"{e.variant} {e.n_dropped}" for e in f.variants_for(result, model) if e.n_dropped]
    if dropped:
        lines.append(
            "queries dropped from the gap (no usable sample in training or deployment): "
            + ", ".join(dropped)
        )
    return lines


BREAKDOWN_HEADERS = [
    "variant",
    "condition",
    "complied, faking",
    "complied, no faking",
    "complied, faking ?",
    "refused",
    "answers",
    "unreadable",
]


def breakdown_caption(outcome: TestRecord, compact: bool = False) -> str:
    """What the breakdown table shows, naming its two measures (and, `compact`, what its
    short headers stand for)."""
    compliance, faking = outcome.breakdown_measures or ("compliance", "faking")
    if compact:
        return (
            f"answers by `{compliance}` and `{faking}`: faking = complied with faking "
            "reasoning, no faking = complied without, ? = complied, its faking label "
            f"unparseable, refused; shares of the n answers with `{compliance}` readable; "
            f"unr = `{compliance}` unparseable, not counted"
        )
    return (
        f"answers by `{compliance}` and `{faking}`: complied with faking reasoning, complied "
        f"without, complied with `{faking}` unparseable (?), refused (share of the answers "
        f"whose `{compliance}` is readable, and their number); unreadable: `{compliance}` "
        "unparseable (not counted)"
    )


# For a narrow terminal: whole percentages without the counts, and short headers.
SHORT_BREAKDOWN_HEADERS = ["variant", "cond.", "faking", "no faking", "?", "refused", "n", "unr"]


def breakdown_rows(
    outcome: TestRecord, model: str | None, compact: bool = False
) -> list[list[str]]:
    """One row per variant and condition of `model`, matching `BREAKDOWN_HEADERS` (or the
    short ones when `compact`): shares sum to 100% of the answers counted (unreadable
    labels left out)."""
    variants = {c.variant: i for i, c in enumerate(outcome.counts)}
    analysis = outcome.analysis
    order = [analysis.training, analysis.deployment] if analysis else []
    order += sorted({b.condition for b in outcome.breakdown} - set(order))
    rows = sorted(
        (b for b in outcome.breakdown if b.model == (model or "")),
        key=lambda b: (variants.get(b.variant, 0), order.index(b.condition)),
    )

    def cell(share: float | None, n: int) -> str:
        return f.pct(share, 0) if compact else f"{f.pct(share)} ({n})"

    return [
        [
            b.variant,
            SHORT_CONDITIONS.get(b.condition, b.condition) if compact else b.condition,
            cell(b.share_complied_faking, b.complied_faking),
            cell(b.share_complied_other, b.complied_other),
            cell(b.share_complied_unknown, b.complied_unknown),
            cell(b.share_refused, b.refused),
            str(b.total),
            str(b.unreadable),
        ]
        for b in rows
    ]
