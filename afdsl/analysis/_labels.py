"""`afdsl analyze`: the statistics on labels from any source, hypotheses given as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict, Unpack

from afdsl.diagnostics import Span
from afdsl.ir import Hypothesis
from afdsl.stats import AnalysisResult, LabelRecord
from afdsl.stats import analyze_labels as analyze_records
from afdsl.stats.corrections import CorrectionMethod
from afdsl.stats.hypotheses import Declared

LabelInput = LabelRecord | Mapping[str, object]


class LabelOptions(TypedDict, total=False):
    """The options of `afdsl.stats.analyze_labels`, passed on as they are."""

    training: str
    deployment: str
    base: str
    correction: CorrectionMethod
    alpha: float
    spans: Sequence[Span] | None
    partial_variants: bool


def analyze_labels(
    records: Iterable[LabelInput],
    hypotheses: Sequence[Hypothesis | str] = (),
    **options: Unpack[LabelOptions],
) -> AnalysisResult:
    """`afdsl.stats.analyze_labels`, with hypotheses also given as text (`NAME: EXPR` or
    `NAME on MEASURE: EXPR`, the .afs syntax): the i-th is parsed as the i-th
    `--hypothesis` option, so an error in it says which one and where."""
    from afdsl.syntax import parse_option_hypothesis

    given: list[Hypothesis | Declared] = [
        parse_option_hypothesis(h, i + 1) if isinstance(h, str) else h
        for i, h in enumerate(hypotheses)
    ]
    return analyze_records(records, hypotheses=given, **options)
