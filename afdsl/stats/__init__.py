"""Statistics: compliance gaps with queries as clusters, paired contrasts, hypotheses.

Pure functions of labels. numpy and scipy are imported inside functions, so
importing this package stays cheap.
"""

from afdsl.stats.analyze import analyze_labels, analyze_table
from afdsl.stats.models import (
    AnalysisResult,
    ConditionRates,
    Contrast,
    HypothesisResult,
    LabelRecord,
    VariantEstimate,
)

__all__ = [
    "AnalysisResult",
    "ConditionRates",
    "Contrast",
    "HypothesisResult",
    "LabelRecord",
    "VariantEstimate",
    "analyze_labels",
    "analyze_table",
]
