"""Classify: turn stored responses into labels (tags, judges, faking votes, keywords).

`classify_experiment` labels what the runner stored; `score_text`/`score_texts`
score arbitrary responses; `validate_measure` compares a measure with human labels.
"""

from afdsl.classify.experiment import classify_experiment, effective_measures
from afdsl.classify.faking import aggregate_votes
from afdsl.classify.judge import (
    RUBRICS,
    parse_judge,
    parse_partial,
    parse_strongreject,
    parse_vote,
    render_judge,
    template_hash,
)
from afdsl.classify.keyword import keyword_score
from afdsl.classify.measures import MeasureSpec, label_key, measure_spec, template_version
from afdsl.classify.metrics import Confusion, RocPoint, auroc, confusion, roc_points
from afdsl.classify.models import ClassifySummary, MeasureSummary, Score
from afdsl.classify.score import Target, score_text, score_texts
from afdsl.classify.tag import ResponseParts, split_response, tag_score
from afdsl.classify.validate import (
    LabelledRecord,
    RecordResult,
    ValidationResult,
    load_labelled,
    validate_measure,
)

__all__ = [
    "RUBRICS",
    "ClassifySummary",
    "Confusion",
    "LabelledRecord",
    "MeasureSpec",
    "MeasureSummary",
    "RecordResult",
    "ResponseParts",
    "RocPoint",
    "Score",
    "Target",
    "ValidationResult",
    "aggregate_votes",
    "auroc",
    "classify_experiment",
    "confusion",
    "effective_measures",
    "keyword_score",
    "label_key",
    "load_labelled",
    "measure_spec",
    "parse_judge",
    "parse_partial",
    "parse_strongreject",
    "parse_vote",
    "render_judge",
    "roc_points",
    "score_text",
    "score_texts",
    "split_response",
    "tag_score",
    "template_hash",
    "template_version",
    "validate_measure",
]
