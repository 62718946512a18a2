"""`afdsl analyze`: the statistics on labels from any source, hypotheses given as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from afdsl.diagnostics import Span
from afdsl.ir import Hypothesis
from afdsl.stats import AnalysisResult, LabelRecord
from afdsl.stats import analyze_labels as analyze_records
from afdsl.stats.corrections import CorrectionMethod
from afdsl.stats.hypotheses import Declared
from afdsl.syntax import parse_option_hypothesis

LabelInput = LabelRecord | Mapping[str, object]


def analyze_labels(
    records: Iterable[LabelInput],
    training: str = "training",
    deployment: str = "deployment",
    base: str = "base",
    correction: CorrectionMethod = "holm",
    alpha: float = 0.05,
    hypotheses: Sequence[Hypothesis | str] = (),
    *,
    spans: Sequence[Span] | None = None,
    partial_variants: bool = False,
) -> AnalysisResult:
    """`afdsl.stats.analyze_labels`, with hypotheses also given as text (`NAME: EXPR` or
    `NAME on MEASURE: EXPR`, the .afs syntax): the i-th is parsed as the i-th
    `--hypothesis` option, so an error in it says which one and where."""
    given: list[Hypothesis | Declared] = [
        parse_option_hypothesis(h, i + 1) if isinstance(h, str) else h
        for i, h in enumerate(hypotheses)
    ]
    return analyze_records(
        records,
        training,
        deployment,
        base,
        correction,
        alpha,
        given,
        spans=spans,
        partial_variants=partial_variants,
    )
