"""The `--json` report: the analysis document plus experiment, manifest and counts.

The document is `AnalysisResult.model_dump(mode="json")` with keys added (never
renamed). Its JSON Schema ships as `report.schema.json` beside this module;
`validate` checks a document against it with a small validator that covers
the subset of JSON Schema pydantic emits, so no new dependency is needed.
Numbers that are not finite (an interval from a single query) are written as
null, which the schema allows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import Field

from afdsl.report.manifest import Manifest
from afdsl.report.outcome import RunInfo, SequentialInfo, TestOutcome, VariantCounts
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
    passed: int
    failed: int
    exit_code: int


def build_document(outcome: TestOutcome) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    analysis = outcome.analysis or AnalysisResult(
        alpha=outcome.manifest.alpha,
        correction=outcome.manifest.correction,  # type: ignore[arg-type]
        variants=[],
        contrasts=[],
        hypotheses=[],
    )
    doc = ReportDocument(
        **analysis.model_dump(),
        experiment=outcome.experiment,
        file=outcome.file,
        manifest=outcome.manifest,
        counts=outcome.counts,
        run=outcome.run,
        sequential=outcome.sequential,
        problems=outcome.problems,
        notes=outcome.notes,
        compliance_measure=outcome.compliance_measure,
        measure_analyses=outcome.measure_analyses,
        passed=outcome.n_passed,
        failed=outcome.n_failed,
        exit_code=outcome.exit_code,
    )
    # model_dump_json writes NaN/inf as null, which is valid JSON (json.dumps would not be).
    result: dict[str, Any] = json.loads(doc.model_dump_json())
    return result


def write_json(outcome: TestOutcome, path: str | Path) -> None:
    """Write the `--json` document to `path`."""
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


def generate_schema() -> dict[str, Any]:
    """The JSON Schema of the document, from the pydantic models (numbers may be null)."""
    schema = _nullable_numbers(ReportDocument.model_json_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "afdsl test report"
    result: dict[str, Any] = schema
    return result


def load_schema() -> dict[str, Any]:
    """The JSON Schema the `--json` report follows (shipped with the package)."""
    result: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return result


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    if name == "number" and isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, _TYPES[name])


def validate(document: Any, schema: dict[str, Any] | None = None) -> list[str]:
    """Errors of `document` against the report schema (empty list when valid)."""
    root = schema if schema is not None else load_schema()
    errors: list[str] = []
    _check(document, root, root, "$", errors)
    return errors


def _check(
    value: Any, node: dict[str, Any], root: dict[str, Any], at: str, errors: list[str]
) -> None:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        _check(value, root["$defs"][name], root, at, errors)
        return
    if "anyOf" in node:
        for alt in node["anyOf"]:
            trial: list[str] = []
            _check(value, alt, root, at, trial)
            if not trial:
                return
        errors.append(f"{at}: matches none of the allowed forms")
        return
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if not any(_type_ok(value, t) for t in types):
            errors.append(f"{at}: expected {' or '.join(types)}, got {type(value).__name__}")
            return
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{at}: {value!r} is not one of {node['enum']}")
    if "const" in node and value != node["const"]:
        errors.append(f"{at}: expected {node['const']!r}")
    if isinstance(value, dict):
        for key in node.get("required", []):
            if key not in value:
                errors.append(f"{at}: missing required key {key!r}")
        props = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                _check(item, props[key], root, f"{at}.{key}", errors)
            elif isinstance(extra, dict):
                _check(item, extra, root, f"{at}.{key}", errors)
            elif extra is False:
                errors.append(f"{at}: unexpected key {key!r}")
    if isinstance(value, list):
        if "minItems" in node and len(value) < node["minItems"]:
            errors.append(f"{at}: fewer than {node['minItems']} items")
        if "maxItems" in node and len(value) > node["maxItems"]:
            errors.append(f"{at}: more than {node['maxItems']} items")
        prefix = node.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else node.get("items")
            if isinstance(sub, dict):
                _check(item, sub, root, f"{at}[{i}]", errors)


if __name__ == "__main__":  # regenerate the shipped schema: python -m afdsl.report.json_report
    SCHEMA_PATH.write_text(json.dumps(generate_schema(), indent=2) + "\n", encoding="utf-8")
