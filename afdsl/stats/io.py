"""Reading a labels JSONL file, keeping each record's line for error messages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.inputs import (
    MAX_DATA_BYTES,
    NOT_FOUND,
    InputError,
    decode_utf8,
    parse_json_line,
    read_input,
)
from afdsl.jsonl import json_lines


class LineSpans(Sequence[Span]):
    """The span of each record, built only when asked for (an error message).

    A labels file can hold hundreds of thousands of records; building a pydantic
    `Span` for each one up front cost more than the whole analysis.
    """

    def __init__(self, path: str, lines: list[int]) -> None:
        self._path = path
        self._lines = lines

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> Span: ...
    @overload
    def __getitem__(self, index: slice) -> list[Span]: ...
    def __getitem__(self, index: int | slice) -> Span | list[Span]:
        if isinstance(index, slice):
            return [Span(path=self._path, line=n, col=1) for n in self._lines[index]]
        return Span(path=self._path, line=self._lines[index], col=1)


def read_labels(path: str | Path) -> tuple[list[dict[str, Any]], LineSpans]:
    """Records (one JSON object per non-blank line) and the span of each.

    Only the JSON syntax is checked here; fields are validated by
    `analyze_labels`, which reports problems at the spans returned.
    """
    name = str(path)
    try:
        text = decode_utf8(read_input(Path(path), MAX_DATA_BYTES))
    except InputError as exc:
        if exc.message == NOT_FOUND:
            exc.message = "no such file"
        span = Span(path=name, line=exc.line, col=exc.col or 1) if exc.line else None
        raise AfsError(
            Diagnostic(code="AFS600", message=f"{name}: cannot read: {exc.message}", span=span)
        ) from None
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, line in json_lines(text):
        try:
            value = parse_json_line(line)
        except InputError as exc:
            raise AfsError(
                Diagnostic(
                    code="AFS600",
                    message=exc.message + (f" (column {exc.col})" if exc.col else ""),
                    span=Span(path=name, line=number, col=1),
                    hint="a labels file has one JSON object per line",
                )
            ) from None
        if not isinstance(value, dict):
            raise AfsError(
                Diagnostic(
                    code="AFS600",
                    message=f"expected a JSON object, got {type(value).__name__}",
                    span=Span(path=name, line=number, col=1),
                )
            )
        records.append(value)
        lines.append(number)
    return records, LineSpans(name, lines)
