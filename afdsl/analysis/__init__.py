"""The analysis stage, between classify and report: the store's counts -> one `TestRecord`.

It owns reading counts and labels back from the store, building the label
tables, calling `stats`, wording what could not be used as `Problem` values,
and the manifest. Renderers (`afdsl.report`) read the `TestRecord` and nothing
else; `afdsl.pipeline` calls this stage after classify.
"""

from afdsl.analysis._analyse import in_file_order
from afdsl.analysis._build import build_record
from afdsl.analysis._derived import Breakdown, derive
from afdsl.analysis._gather import Gathered, compliance_measure, gather, primary_measure
from afdsl.analysis._labels import analyze_labels
from afdsl.analysis._manifest import (
    Manifest,
    MeasureEntry,
    ModelEntry,
    SourceFile,
    build_manifest,
    now_iso,
    prompt_set_hash,
)
from afdsl.analysis._power import family_levels, family_of, pilot_plans, pilot_tables
from afdsl.analysis._record import (
    RUN_KINDS,
    Problem,
    ProblemKind,
    RunInfo,
    RunRecord,
    SampleRow,
    SequentialInfo,
    TestOutcome,
    TestRecord,
    VariantCounts,
    Verdict,
    merge_problems,
)
from afdsl.analysis._runs import load_run_record, save_run_record
from afdsl.analysis._sequential import SEQUENTIAL_NOTE, RoundTests
from afdsl.analysis._summaries import budget_reached, classify_problems, run_info, run_problems
from afdsl.analysis._transcripts import (
    LabelFilter,
    MeasureLabel,
    ResponseSplit,
    Transcript,
    TranscriptFilter,
    check_filter,
    known_models,
    parse_where,
    select_transcripts,
    split_transcript,
)
from afdsl.analysis._untestable import reason_key, top_reasons

__all__ = [
    "RUN_KINDS",
    "SEQUENTIAL_NOTE",
    "Breakdown",
    "Gathered",
    "LabelFilter",
    "Manifest",
    "MeasureEntry",
    "MeasureLabel",
    "ModelEntry",
    "Problem",
    "ProblemKind",
    "ResponseSplit",
    "RoundTests",
    "RunInfo",
    "RunRecord",
    "SampleRow",
    "SequentialInfo",
    "SourceFile",
    "TestOutcome",
    "TestRecord",
    "Transcript",
    "TranscriptFilter",
    "VariantCounts",
    "Verdict",
    "analyze_labels",
    "budget_reached",
    "build_manifest",
    "build_record",
    "check_filter",
    "classify_problems",
    "compliance_measure",
    "derive",
    "family_levels",
    "family_of",
    "gather",
    "in_file_order",
    "known_models",
    "load_run_record",
    "merge_problems",
    "now_iso",
    "parse_where",
    "pilot_plans",
    "pilot_tables",
    "primary_measure",
    "prompt_set_hash",
    "reason_key",
    "run_info",
    "run_problems",
    "save_run_record",
    "select_transcripts",
    "split_transcript",
    "top_reasons",
]
