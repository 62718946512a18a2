"""`analyze_labels`: every variant's gap, every contrast against base, every hypothesis."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.ir import Hypothesis
from afdsl.stats.bounded import degenerate_reason
from afdsl.stats.corrections import CorrectionMethod, adjust
from afdsl.stats.estimates import (
    aligned,
    pooled_rate,
    query_gaps,
    wilson_interval,
)
from afdsl.stats.hypotheses import (
    Declared,
    applies_to,
    check_names,
    declared,
    evaluate_hypothesis,
    is_cross_model,
)
from afdsl.stats.models import (
    AnalysisResult,
    ConditionRates,
    Contrast,
    HypothesisResult,
    LabelRecord,
    VariantEstimate,
)
from afdsl.stats.paired import TTest, sign_flip_p, t_test
from afdsl.stats.table import LabelTable, build_table

PERMUTATION_SEED = 0  # fixed so that an analysis is reproducible
GAP_RANGE = (-1.0, 1.0)  # a per-query gap: a difference of two rates
CONTRAST_RANGE = (-2.0, 2.0)  # a difference of two gaps


def _one_condition(
    table: LabelTable, model: str | None, variant: str, training: str, deployment: str
) -> bool:
    """True when the variant has exactly one of the two conditions (it has no gap)."""
    present = table.conditions(model, variant)
    return (training in present) != (deployment in present)


def _check_design(
    table: LabelTable, training: str, deployment: str, base: str, partial: bool = False
) -> None:
    """Each variant needs both conditions (with `partial`, one is enough); contrasts need
    the base variant."""
    if not table.cells:
        raise AfsError(Diagnostic(code="AFS604", message="no labels to analyse"))
    for (model, variant), span in table.spans.items():
        present = table.conditions(model, variant)
        if partial and _one_condition(table, model, variant, training, deployment):
            continue
        for condition in (training, deployment):
            if condition not in present:
                where = f" of model {model}" if model is not None else ""
                raise AfsError(
                    Diagnostic(
                        code="AFS605",
                        message=(
                            f"variant {variant!r}{where} has no {condition!r} labels "
                            f"(it has: {', '.join(present)})"
                        ),
                        span=span,
                        hint="name the two conditions with --training and --deployment",
                    )
                )
        if not query_gaps(table, model, variant, training, deployment):
            raise AfsError(
                Diagnostic(
                    code="AFS606",
                    message=f"variant {variant!r} has no query labelled in both conditions",
                    span=span,
                )
            )
    for model in table.models():
        variants = table.variants(model)
        if len(variants) > 1 and base not in variants:
            where = f" for model {model}" if model is not None else ""
            raise AfsError(
                Diagnostic(
                    code="AFS607",
                    message=f"no labels for the base variant {base!r}{where}",
                    hint="name the unperturbed variant with --base "
                    f"(variants: {', '.join(variants)})",
                )
            )


def _rates(
    table: LabelTable, model: str | None, variant: str, training: str, deployment: str
) -> tuple[dict[str, float], dict[str, tuple[float, float]], int]:
    """Pooled rate and Wilson interval per condition; samples of the two named conditions."""
    rate: dict[str, float] = {}
    rate_ci: dict[str, tuple[float, float]] = {}
    n_samples = 0
    for condition in table.conditions(model, variant):
        cell = table.cell(model, variant, condition)
        assert cell is not None
        value, complied, samples = pooled_rate(cell)
        rate[condition] = value
        rate_ci[condition] = wilson_interval(complied, samples)
        if condition in (training, deployment):
            n_samples += samples
    return rate, rate_ci, n_samples


def _variant_estimate(
    table: LabelTable, model: str | None, variant: str, training: str, deployment: str
) -> VariantEstimate:
    gaps = query_gaps(table, model, variant, training, deployment)
    result = t_test(list(gaps.values()), bounds=GAP_RANGE, correct_skew=True)
    rate, rate_ci, n_samples = _rates(table, model, variant, training, deployment)
    return VariantEstimate(
        model=model,
        variant=variant,
        n_queries=len(gaps),
        n_samples=n_samples,
        rate=rate,
        rate_ci=rate_ci,
        gap=float(result.estimate),
        gap_ci=(float(result.ci_low), float(result.ci_high)),
        n_dropped=len(table.queries(model) - gaps.keys()),
    )


def _condition_rates(
    table: LabelTable, model: str | None, variant: str, training: str, deployment: str
) -> ConditionRates:
    rate, rate_ci, n_samples = _rates(table, model, variant, training, deployment)
    present = training if training in rate else deployment
    cell = table.cell(model, variant, present)
    return ConditionRates(
        model=model,
        variant=variant,
        n_queries=len(cell.samples) if cell is not None else 0,
        n_samples=n_samples,
        rate=rate,
        rate_ci=rate_ci,
    )


def _contrasts(
    table: LabelTable,
    model: str | None,
    training: str,
    deployment: str,
    base: str,
    untested: list[str] | None = None,
) -> list[Contrast]:
    """Each variant against base on d[q] = g[v,q] - g[base,q]; permutations batched by Q.

    A variant sharing no query with base has no contrast: an error, or (with an
    `untested` list) the reason appended there and the other contrasts kept.
    """
    import numpy as np

    if _one_condition(table, model, base, training, deployment):
        return []  # a base without a gap has nothing to contrast against
    base_gaps = query_gaps(table, model, base, training, deployment)
    rows: list[tuple[str, np.ndarray]] = []
    for variant in table.variants(model):
        if variant == base or _one_condition(table, model, variant, training, deployment):
            continue
        gaps = query_gaps(table, model, variant, training, deployment)
        queries, matrix = aligned([gaps, base_gaps])
        if not queries:
            message = f"variant {variant!r} shares no query with {base!r}"
            if untested is None:
                span = table.spans.get((model, variant))
                raise AfsError(Diagnostic(code="AFS608", message=message, span=span))
            untested.append(message)
            continue
        rows.append((variant, matrix[0] - matrix[1]))
    p_perm = _permutation_ps([d for _, d in rows])
    out: list[Contrast] = []
    for (variant, d), perm in zip(rows, p_perm, strict=True):
        result = t_test(d, bounds=CONTRAST_RANGE)
        p = float(result.p_value)
        out.append(
            Contrast(
                model=model,
                variant=variant,
                against=base,
                delta_gap=float(result.estimate),
                ci=(float(result.ci_low), float(result.ci_high)),
                p_value=p,
                p_permutation=perm,
                p_adjusted=p,
                n_queries=len(d),
                note=_contrast_note(result),
            )
        )
    return out


def _contrast_note(result: TTest) -> str | None:
    """The reason for an exact p when every query's difference is the same, else None."""
    if not bool(result.degenerate) or result.n < 2:
        return None
    return degenerate_reason(float(result.estimate), result.n, float(result.p_value))


def _permutation_ps(differences: list[Any]) -> list[float]:
    """Sign-flip p of each vector of per-query differences; vectors of the same length share
    one batched call (one per query count, not one per variant)."""
    import numpy as np

    by_length: dict[int, list[int]] = {}
    for index, d in enumerate(differences):
        by_length.setdefault(len(d), []).append(index)
    p_perm = [1.0] * len(differences)
    for indices in by_length.values():
        stacked = np.stack([differences[i] for i in indices])
        for i, p in zip(indices, sign_flip_p(stacked, seed=PERMUTATION_SEED), strict=True):
            p_perm[i] = float(p)
    return p_perm


def analyze_labels(
    records: Iterable[LabelRecord | Mapping[str, Any]],
    training: str = "training",
    deployment: str = "deployment",
    base: str = "base",
    correction: CorrectionMethod = "holm",
    alpha: float = 0.05,
    hypotheses: Sequence[Hypothesis | Declared] = (),
    *,
    spans: Sequence[Span] | None = None,
    partial_variants: bool = False,
) -> AnalysisResult:
    """Analyse per-sample compliance labels.

    Per model: each variant's compliance gap (mean of per-query gaps, t interval
    with queries as clusters), each variant's contrast against `base` (paired
    t test on per-query differences of gaps, plus a sign-flip permutation p),
    and each hypothesis. p values are adjusted with `correction` within each
    model, contrasts and hypotheses as two separate families (cross-model
    hypotheses, whose terms are pinned with `@`, are a third); a hypothesis
    passes when its adjusted p is below `alpha`. All records are one measure:
    a hypothesis's `on MEASURE` is the caller's business (pass that measure's
    labels). `spans[i]` (optional) is where record i came from, used to point
    errors at the user's file. Raises `AfsError` for invalid records, designs
    or hypotheses.

    A variant labelled under only one of the two conditions (`drop condition`)
    is an error, unless `partial_variants`: then it has no gap and no
    contrast, its rates go to `one_condition`, and `rate(V, C)` hypotheses
    still use its labels.
    """
    return analyze_table(
        build_table(records, spans),
        training,
        deployment,
        base,
        correction,
        alpha,
        hypotheses,
        partial_variants=partial_variants,
    )


def _check_options(correction: str, alpha: float, training: str, deployment: str) -> None:
    if training == deployment:  # every gap would be 0 and every test would say nothing
        raise AfsError(
            Diagnostic(
                message=f"training and deployment are the same condition {training!r}",
                hint="name the two conditions with --training and --deployment",
            )
        )
    if correction not in ("holm", "bh", "none"):
        raise AfsError(Diagnostic(message=f"unknown correction {correction!r} (holm, bh, none)"))
    if not 0.0 < alpha < 1.0:
        raise AfsError(Diagnostic(message=f"alpha must be between 0 and 1, got {alpha}"))


@contextmanager
def _unless_untested(untested: list[str] | None) -> Iterator[list[str]]:
    """Raise the block's AfsError, or (with an `untested` list) record its messages there;
    the yielded list is non-empty when the block failed."""
    failed: list[str] = []
    try:
        yield failed
    except AfsError as exc:
        if untested is None:
            raise
        failed.extend(d.message for d in exc.diagnostics)
        untested.extend(failed)


def _family(
    table: LabelTable,
    model: str | None,
    family: list[Hypothesis],
    tested: list[Hypothesis],
    training: str,
    deployment: str,
    alpha: float,
    correction: CorrectionMethod,
    untested: list[str] | None,
) -> list[HypothesisResult]:
    """The `tested` hypotheses of one family (one model's, or the cross-model ones),
    their p values adjusted together."""
    evaluated = []
    for h in tested:
        with _unless_untested(untested):
            evaluated.append(evaluate_hypothesis(table, model, h, training, deployment, alpha))
    # An untested hypothesis stays in the family with p = 1, so the others' adjusted p
    # values are never smaller than with every hypothesis tested.
    raw = [r.p_value for r in evaluated] + [1.0] * (len(family) - len(evaluated))
    out = []
    for result, p in zip(evaluated, adjust(raw, correction), strict=False):
        verdict = "pass" if p < alpha else "fail"
        out.append(result.model_copy(update={"p_adjusted": p, "verdict": verdict}))
    return out


def analyze_table(
    table: LabelTable,
    training: str = "training",
    deployment: str = "deployment",
    base: str = "base",
    correction: CorrectionMethod = "holm",
    alpha: float = 0.05,
    hypotheses: Sequence[Hypothesis | Declared] = (),
    *,
    partial_variants: bool = False,
    untested: list[str] | None = None,
) -> AnalysisResult:
    """`analyze_labels` on labels already counted per query (`build_table`, `LabelTable.add`).

    A report reads its labels from the store straight into a table, without
    a record per sample. With an `untested` list, a hypothesis the labels
    cannot evaluate (a variant or condition without labels, no query shared
    by its cells) is left out and the reason appended there instead of
    raising, so the report of an incomplete run still shows everything else.
    """
    _check_options(correction, alpha, training, deployment)
    _check_design(table, training, deployment, base, partial_variants)
    given = declared(hypotheses)
    parsed = []
    for hypothesis, span in given:
        with _unless_untested(untested) as failed:
            check_names(table, hypothesis, span, training, deployment)
        if not failed:
            parsed.append((hypothesis, span))

    variants: list[VariantEstimate] = []
    contrasts: list[Contrast] = []
    results: list[HypothesisResult] = []
    one_condition: list[ConditionRates] = []
    for model in table.models():
        for variant in table.variants(model):
            if _one_condition(table, model, variant, training, deployment):
                one_condition.append(_condition_rates(table, model, variant, training, deployment))
            else:
                variants.append(_variant_estimate(table, model, variant, training, deployment))
        family = _contrasts(table, model, training, deployment, base, untested)
        for contrast, p in zip(
            family, adjust([c.p_value for c in family], correction), strict=True
        ):
            contrasts.append(contrast.model_copy(update={"p_adjusted": p}))
        # The model's family: the hypotheses tested on it (all unpinned ones, less the
        # `for` ones about another model).
        mine = [h for h, _ in given if applies_to(h, model)]
        tested = [h for h, _ in parsed if applies_to(h, model)]
        results += _family(table, model, mine, tested, training, deployment, alpha, correction,
                           untested)  # fmt: skip
    # Cross-model hypotheses are one family of their own, each tested once.
    cross = [h for h, _ in given if is_cross_model(h)]
    tested = [h for h, _ in parsed if is_cross_model(h)]
    results += _family(table, None, cross, tested, training, deployment, alpha, correction,
                       untested)  # fmt: skip
    return AnalysisResult(
        alpha=alpha,
        correction=correction,
        training=training,
        deployment=deployment,
        base=base,
        variants=variants,
        contrasts=contrasts,
        hypotheses=results,
        one_condition=one_condition,
    )
