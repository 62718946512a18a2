"""The `--json` report: the analysis document plus experiment, manifest and counts.

The document is `AnalysisResult.model_dump(mode="json")` with keys added (never
renamed). Its JSON Schema ships as `report.schema.json` beside this module
(the tests check documents against it with `jsonschema`). Numbers that are not
finite (an interval from a single query) are written as null, which the schema
allows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, JsonValue

from afdsl.analysis import Breakdown, Manifest, RunInfo, SequentialInfo, TestRecord, VariantCounts
from afdsl.stats.models import AnalysisResult

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


class ReportDocument(AnalysisResult):
    """The `afdsl test --json` document."""

    experiment: str
    file: str
    manifest: Manifest
    counts: list[VariantCounts]
    run: RunInfo | None = None
    sequential: SequentialInfo | None = None
    problems: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    # The top-level variants and contrasts are this measure's; each other measure's own
    # tables (shown in every other format) are under its name. Hypotheses are all above.
    compliance_measure: str = "compliance"
    measure_analyses: dict[str, AnalysisResult] = Field(default_factory=dict)
    # Measures computed from others' labels (name -> definition), and the answers split
    # into complied with faking reasoning / complied without / refused (see `Breakdown`).
    derived_measures: dict[str, str] = Field(default_factory=dict)
    breakdown: list[Breakdown] = Field(default_factory=list)
    breakdown_measures: tuple[str, str] | None = None
    passed: int
    failed: int
    untestable: int = 0  # hypotheses (per model) whose every needed label is unparseable
    exit_code: int


_SHARED = frozenset(
    {"experiment", "file", "manifest", "counts", "run", "sequential", "compliance_measure",
     "measure_analyses", "derived_measures", "breakdown", "breakdown_measures"}
)  # fmt: skip


def _document(outcome: TestRecord) -> ReportDocument:
    analysis = outcome.analysis or AnalysisResult(
        alpha=outcome.manifest.alpha,
        correction=outcome.manifest.correction,  # type: ignore[arg-type]
        variants=[],
        contrasts=[],
        hypotheses=[],
    )
    # The record's fields the document shares, as they are (models stay models).
    shared = {name: value for name, value in outcome if name in _SHARED}
    return ReportDocument(
        **dict(analysis),
        **shared,
        problems=[p.text for p in outcome.problems],
        notes=[n.text for n in outcome.notes],
        passed=outcome.n_passed,
        failed=outcome.n_failed,
        untestable=outcome.n_untestable,
        exit_code=outcome.exit_code,
    )


def build_document(outcome: TestRecord) -> dict[str, JsonValue]:
    """The report as plain JSON-ready data."""
    # model_dump_json writes NaN/inf as null, which is valid JSON (json.dumps would not be).
    result: dict[str, JsonValue] = json.loads(_document(outcome).model_dump_json())
    return result


def write_json(outcome: TestRecord, path: str | Path) -> None:
    """Write the `--json` document to `path` (indented as `json.dumps` does)."""
    Path(path).write_text(json.dumps(build_document(outcome), indent=2) + "\n", encoding="utf-8")


def _nullable_numbers(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "number":
            rest = {k: v for k, v in node.items() if k != "type"}
            return {**rest, "type": ["number", "null"]}
        return {k: _nullable_numbers(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_nullable_numbers(v) for v in node]
    return node


def generate_schema() -> dict[str, JsonValue]:
    """The JSON Schema of the document, from the pydantic models (numbers may be null)."""
    schema = _nullable_numbers(ReportDocument.model_json_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "afdsl test report"
    result: dict[str, JsonValue] = schema
    return result


def load_schema() -> dict[str, JsonValue]:
    """The JSON Schema the `--json` report follows (shipped with the package)."""
    result: dict[str, JsonValue] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return result


if __name__ == "__main__":  # regenerate the shipped schema: python -m afdsl.report.json_report
    SCHEMA_PATH.write_text(json.dumps(generate_schema(), indent=2) + "\n", encoding="utf-8")
