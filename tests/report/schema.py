"""Check a `--json` document against the shipped schema with the reference `jsonschema`."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # a dev dependency

from afdsl.report.json_report import SCHEMA_PATH


def schema_errors(document: Any) -> list[str]:
    """Each error as `path.to.key: message` (empty when the document is valid)."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]
