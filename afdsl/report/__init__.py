"""Reports of an `afdsl test`: terminal, JSON, Markdown, HTML and CSV, each with a manifest;
the labels export (`--labels`) and the stored transcripts behind a report (`afdsl show`).

Renderers are pure functions of the analysis stage's `TestRecord`; they read no store.
"""

from afdsl.analysis import (
    Manifest,
    RunInfo,
    SampleRow,
    SequentialInfo,
    TestOutcome,
    TestRecord,
    Transcript,
    TranscriptFilter,
    VariantCounts,
    build_manifest,
    select_transcripts,
)
from afdsl.report.csv_report import write_csv
from afdsl.report.html import render_html, write_html
from afdsl.report.json_report import build_document, write_json
from afdsl.report.labels_export import label_records, write_labels
from afdsl.report.markdown import render_markdown, write_markdown
from afdsl.report.terminal import build_terminal, render_terminal

__all__ = [
    "Manifest",
    "RunInfo",
    "SampleRow",
    "SequentialInfo",
    "TestOutcome",
    "TestRecord",
    "Transcript",
    "TranscriptFilter",
    "VariantCounts",
    "build_document",
    "build_manifest",
    "build_terminal",
    "label_records",
    "render_html",
    "render_markdown",
    "render_terminal",
    "select_transcripts",
    "write_csv",
    "write_html",
    "write_json",
    "write_labels",
    "write_markdown",
]
