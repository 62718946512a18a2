"""Errors are values: a `Diagnostic` has a span, a message, a hint and a code.

Every stage that can blame user input (a .afs file, a labels file, a command
line) produces diagnostics; the CLI renders them in one place and exits 2.
Format: `path:line:col: error: message`, the source line, a caret under the
span, then `hint: ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel


class Span(BaseModel):
    """1-based line and column; `end_col` is exclusive. `path` is as the user wrote it."""

    path: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None


class Note(BaseModel):
    span: Span | None = None
    message: str


class Diagnostic(BaseModel):
    severity: Literal["error", "warning"] = "error"
    code: str = "AFS000"
    message: str
    span: Span | None = None
    hint: str | None = None
    notes: list[Note] = []

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class AfsError(Exception):
    """Raised at a stage boundary carrying one or more diagnostics for the user."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic) -> None:
        self.diagnostics = diagnostics if isinstance(diagnostics, list) else [diagnostics]
        super().__init__("; ".join(d.message for d in self.diagnostics))


def error(
    message: str, span: Span | None = None, hint: str | None = None, code: str = "AFS000"
) -> AfsError:
    """Shorthand for raising a single-diagnostic error."""
    return AfsError(Diagnostic(message=message, span=span, hint=hint, code=code))


def _source_line(span: Span, sources: dict[str, str] | None) -> str | None:
    text = (sources or {}).get(span.path)
    if text is None:
        try:
            text = Path(span.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


def render_one(diag: Diagnostic, sources: dict[str, str] | None = None) -> str:
    """Plain-text rendering of one diagnostic (the CLI adds colour when on a TTY)."""
    out: list[str] = []
    where = f"{diag.span.path}:{diag.span.line}:{diag.span.col}: " if diag.span else ""
    out.append(f"{where}{diag.severity}: {diag.message}")
    if diag.span is not None:
        line = _source_line(diag.span, sources)
        if line is not None:
            expanded = line.expandtabs(4)
            prefix = line[: diag.span.col - 1].expandtabs(4)
            if diag.span.end_line in (None, diag.span.line) and diag.span.end_col:
                width = max(1, len(line[: diag.span.end_col - 1].expandtabs(4)) - len(prefix))
            else:
                width = 1
            out.append(f"  {expanded}")
            out.append("  " + " " * len(prefix) + "^" * width)
    for note in diag.notes:
        where = f"{note.span.path}:{note.span.line}:{note.span.col}: " if note.span else ""
        out.append(f"{where}note: {note.message}")
    if diag.hint:
        out.append(f"hint: {diag.hint}")
    return "\n".join(out)


def render(diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """All diagnostics, errors and warnings, then a summary line."""
    blocks = [render_one(d, sources) for d in diagnostics]
    n_err = sum(d.is_error for d in diagnostics)
    n_warn = len(diagnostics) - n_err
    summary = []
    if n_err:
        summary.append(f"{n_err} error{'s' if n_err != 1 else ''}")
    if n_warn:
        summary.append(f"{n_warn} warning{'s' if n_warn != 1 else ''}")
    if summary:
        blocks.append(", ".join(summary))
    return "\n\n".join(blocks)
