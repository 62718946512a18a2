"""Reading a labels JSONL file, keeping each record's line for error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from afdsl.diagnostics import AfsError, Diagnostic, Span


def read_labels(path: str | Path) -> tuple[list[dict[str, Any]], list[Span]]:
    """Records (one JSON object per non-blank line) and the span of each.

    Only the JSON syntax is checked here; fields are validated by
    `analyze_labels`, which reports problems at the spans returned.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AfsError(Diagnostic(code="AFS600", message=f"{name}: no such file")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AfsError(Diagnostic(code="AFS600", message=f"{name}: cannot read: {exc}")) from None
    records: list[dict[str, Any]] = []
    spans: list[Span] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        span = Span(path=name, line=number, col=1)
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AfsError(
                Diagnostic(
                    code="AFS600",
                    message=f"invalid JSON: {exc.msg} (column {exc.colno})",
                    span=span,
                    hint="a labels file has one JSON object per line",
                )
            ) from None
        if not isinstance(value, dict):
            raise AfsError(
                Diagnostic(
                    code="AFS600",
                    message=f"expected a JSON object, got {type(value).__name__}",
                    span=span,
                )
            )
        records.append(value)
        spans.append(span)
    return records, spans
