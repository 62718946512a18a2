"""Run the statistics on the gathered tables: one analysis per measure, in file order.

Each measure is analysed in its own call, so the multiple-comparison family of
a hypothesis is the hypotheses on its measure. The file has been checked, so a
measure that cannot be analysed lacks data (labels missing or unparseable,
calls failed): a problem (exit 3), not an error; for a measure no hypothesis
uses, a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from afdsl.analysis._record import Problem, Verdict
from afdsl.analysis._untestable import (
    CellCounts,
    CellKey,
    outside_problems,
    tested_on,
    unreadable_problems,
)
from afdsl.diagnostics import AfsError
from afdsl.ir import Experiment, Hypothesis
from afdsl.stats.models import (
    AnalysisResult,
    ConditionRates,
    Contrast,
    HypothesisResult,
    VariantEstimate,
)
from afdsl.stats.table import LabelTable


@dataclass
class Analysed:
    """The compliance measure's analysis (with every hypothesis) and each other measure's."""

    analysis: AnalysisResult | None
    others: dict[str, AnalysisResult]
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)


@dataclass
class _Why:
    """What `no_analysis` needs to say why a measure has no analysis."""

    unreadable: dict[str, int]  # measure -> its unparseable labels
    file: str
    explained: bool  # failed calls or missing samples are already listed as problems

    def no_analysis(self, measure: str, exc: AfsError, hypotheses: list[Hypothesis]) -> Problem:
        reason = "; ".join(d.message for d in exc.diagnostics)
        # Its hypotheses have no verdict to list, so the reader learns here which ones.
        if hypotheses:
            reason += "; not tested: " + ", ".join(h.name for h in hypotheses)
        if self.unreadable.get(measure):
            text = (
                f"no analysis of `{measure}` ({reason}): {self.unreadable[measure]} of its "
                f"labels are unparseable; see them with `afdsl show {self.file} --where "
                f"{measure}=unparseable`"
            )
        elif self.explained:
            text = f"no analysis of `{measure}` ({reason}): see the problems above"
        else:
            text = (
                f"no analysis of `{measure}` ({reason}); rerun `afdsl test` to label the responses"
            )
        return Problem(kind="no_analysis", detail=text)


def _analyse_one(
    experiment: Experiment, table: LabelTable, hypotheses: list[Hypothesis], problems: list[Problem]
) -> AnalysisResult:
    """One measure's analysis; hypotheses it could not test become problems."""
    from afdsl.stats import analyze_table

    untested: list[str] = []
    result = analyze_table(
        table,
        training=experiment.training,
        deployment=experiment.deployment,
        base="base",
        correction=experiment.correction.method,
        alpha=experiment.correction.alpha,
        hypotheses=hypotheses,
        # `drop condition` variants have no gap; their rates still serve rate() hypotheses.
        partial_variants=True,
        untested=untested,
    )
    problems.extend(Problem(kind="untested", detail=reason) for reason in untested)
    return result


def analyse(
    experiment: Experiment,
    tables: dict[str, LabelTable],
    primary: str,
    *,
    explained: bool,
    unreadable: dict[str, int],
    file: str,
    cells: dict[CellKey, CellCounts] | None = None,
) -> Analysed:
    """Analyse every measure of `tables`; `primary`'s analysis carries every hypothesis.

    `explained`: problems already listed (failed calls, missing samples) explain
    missing labels better than a generic "rerun". `unreadable` is each
    measure's count of unparseable labels; `cells` the compliance measure's
    counts per model x variant x condition, which say why a hypothesis whose
    labels are all unparseable could not be tested (see `_untestable`).
    """
    why = _Why(unreadable, file, explained)
    by_measure: dict[str, list[Hypothesis]] = {}
    for h in experiment.hypotheses:
        by_measure.setdefault(h.measure or primary, []).append(h)
    out = Analysed(None, {})
    primary_hypotheses = by_measure.pop(primary, [])
    try:
        result = _analyse_one(
            experiment, tables.get(primary, LabelTable()), primary_hypotheses, out.problems
        )
    except AfsError as exc:
        problem = why.no_analysis(primary, exc, primary_hypotheses)
        found = unreadable_problems(experiment, primary_hypotheses, None, cells or {})
        pairs = sum(len(tested_on(experiment, h)) for h in primary_hypotheses)
        if found and len(found) == pairs:
            # Every hypothesis is untestable for want of readable labels: say so, precisely.
            out.problems += found
            out.notes.append(problem)
        else:
            out.problems.append(problem)
        return out
    found = unreadable_problems(experiment, primary_hypotheses, result, cells or {})
    out.problems = _without_untested(out.problems, found) + found
    for name, hypotheses in by_measure.items():
        try:
            table = tables.get(name, LabelTable())
            out.others[name] = _analyse_one(experiment, table, hypotheses, out.problems)
            empty = outside_problems(experiment, hypotheses, out.others[name], table, cells or {})
            out.problems = _without_untested(out.problems, empty) + empty
        except AfsError as exc:
            out.problems.append(why.no_analysis(name, exc, hypotheses))
    for name in tables:
        if name == primary or name in by_measure:  # analysed above, or said why not
            continue
        try:
            out.others[name] = _analyse_one(experiment, tables[name], [], out.problems)
        except AfsError as exc:  # no hypothesis uses it: a note, not a problem
            out.notes.append(why.no_analysis(name, exc, []))
    return _in_order(out, result, experiment, tables)


def _in_order(
    out: Analysed, result: AnalysisResult, experiment: Experiment, tables: dict[str, LabelTable]
) -> Analysed:
    """Every measure's hypotheses in the primary analysis, each analysis in file order."""
    merged = result.hypotheses + [h for other in out.others.values() for h in other.hypotheses]
    merged = _with_measures(merged, experiment)
    out.analysis = in_file_order(result.model_copy(update={"hypotheses": merged}), experiment)
    out.others = {n: in_file_order(out.others[n], experiment) for n in tables if n in out.others}
    return out


def _without_untested(problems: list[Problem], unreadable: list[Problem]) -> list[Problem]:
    """`problems` less the statistics' `untested` messages about the hypotheses and models
    that `unreadable` words better (the stats say "has no condition 'training'")."""
    covered = [(p.hypothesis, p.model) for p in unreadable]
    return [
        p
        for p in problems
        if p.kind != "untested"
        or not any(
            p.detail.startswith(f"hypothesis {name} (") and f"for model {model}" in p.detail
            for name, model in covered
        )
    ]


def _with_measures(
    results: list[HypothesisResult], experiment: Experiment
) -> list[HypothesisResult]:
    """Each result with the measure its hypothesis names (`on MEASURE`), so a report
    does not show a test of `faking given compliance` as if it were of compliance."""
    named = {h.name: h.measure for h in experiment.hypotheses}
    return [h.model_copy(update={"measure": named.get(h.name)}) for h in results]


def in_file_order(result: AnalysisResult, experiment: Experiment) -> AnalysisResult:
    """Models, variants and hypotheses in the order the file declares them (the store sorts
    by name; sorting the few results is far cheaper than sorting every sample)."""
    models = {m.display: i for i, m in enumerate(experiment.models)}
    variants = {v.name: i for i, v in enumerate(experiment.variants)}
    declared = {h.name: i for i, h in enumerate(experiment.hypotheses)}

    def by_variant(item: VariantEstimate | Contrast | ConditionRates) -> tuple[int, int]:
        return models.get(item.model or "", 0), variants.get(item.variant, 0)

    def by_hypothesis(h: HypothesisResult) -> tuple[int, int]:
        # Cross-model results (no one model) come after every model's.
        model = len(models) if h.models else models.get(h.model or "", 0)
        return model, declared.get(h.name, 0)

    return result.model_copy(
        update={
            "variants": sorted(result.variants, key=by_variant),
            "contrasts": sorted(result.contrasts, key=by_variant),
            "one_condition": sorted(result.one_condition, key=by_variant),
            "hypotheses": sorted(result.hypotheses, key=by_hypothesis),
        }
    )


def apply_verdicts(
    analysis: AnalysisResult | None, verdicts: list[Verdict]
) -> AnalysisResult | None:
    """Replace fixed-sample verdicts by a sequential run's (p-values are not valid after
    optional stopping; the e-process verdicts are)."""
    if not verdicts or analysis is None:
        return analysis
    by_key = {(v.model, v.hypothesis): v for v in verdicts}
    updated = []
    for h in analysis.hypotheses:
        verdict = by_key.get((h.model or "", h.name))
        if verdict is not None:
            h = h.model_copy(
                update={
                    "verdict": verdict.verdict,
                    "method": f"{h.method}; verdict by anytime-valid e-process (e = "
                    f"{verdict.e_value:.3g})",
                }
            )
        updated.append(h)
    return analysis.model_copy(update={"hypotheses": updated})
