"""Reports of an `afdsl test`: terminal, JSON, Markdown, HTML and CSV, each with a manifest."""

from afdsl.report.csv_report import write_csv
from afdsl.report.html import render_html, write_html
from afdsl.report.json_report import build_document, validate, write_json
from afdsl.report.manifest import Manifest, build_manifest
from afdsl.report.markdown import render_markdown, write_markdown
from afdsl.report.outcome import (
    RunInfo,
    SampleRow,
    SequentialInfo,
    TestOutcome,
    VariantCounts,
)
from afdsl.report.terminal import build_terminal, render_terminal

__all__ = [
    "Manifest",
    "RunInfo",
    "SampleRow",
    "SequentialInfo",
    "TestOutcome",
    "VariantCounts",
    "build_document",
    "build_manifest",
    "build_terminal",
    "render_html",
    "render_markdown",
    "render_terminal",
    "validate",
    "write_csv",
    "write_html",
    "write_json",
    "write_markdown",
]
