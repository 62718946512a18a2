"""Errors are values: a `Diagnostic` has a span, a message, a hint and a code.

Every stage that can blame user input (a .afs file, a labels file, a command
line) produces diagnostics; the CLI renders them in one place and exits 2.
Format: `path:line:col: error: message`, the source line, a caret under the
span, then `hint: ...`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel

from afdsl.redact import redact
from afdsl.sanitize import for_terminal, source_lines


class Span(BaseModel):
    """1-based line and column; `end_col` is exclusive. `path` is as the user wrote it."""

    path: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None


class Note(BaseModel):
    """A secondary position shown under a diagnostic (e.g. "first defined here")."""

    span: Span | None = None
    message: str


class Diagnostic(BaseModel):
    """One problem in user input. `code` (AFSnnn) names the kind of problem: each code but
    the generic AFS000 is raised by one module only."""

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


def suggest(name: str, options: list[str] | set[str], what: str = "") -> str | None:
    """A hint for an unknown name: `did you mean ...?` for the nearest option, else the
    options when there are few enough to read (None when neither helps)."""
    import difflib

    options = sorted(options)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if options and len(options) <= 8:
        return f"known {what or 'names'}: " + ", ".join(f"`{o}`" for o in options)
    return None


def _source_line(span: Span, sources: dict[str, str] | None) -> str | None:
    """Line `span.line` of the file, by the parser's line rule. A file not among `sources`
    is read only if it is one afdsl would read as input (never a fifo or /proc/...)."""
    text = (sources or {}).get(span.path)
    if text is None:
        from afdsl.inputs import MAX_SOURCE_BYTES, InputError, read_input

        try:
            text = read_input(Path(span.path), MAX_SOURCE_BYTES).decode("utf-8", "replace")
        except InputError:
            return None
    lines = source_lines(text)
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


CONTEXT = 60  # characters kept either side of the caret when a source line is long


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide (W) and full-width (F) characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _underline(span: Span, line: str) -> tuple[str, str]:
    """The source line as shown (tabs expanded, clipped around the caret when long) and
    the caret line under it, both measured in display columns so carets stay aligned
    under wide characters."""
    line = for_terminal(line, keep_newlines=False)  # one column per control character
    shown = line.expandtabs(4)
    start = min(len(line[: span.col - 1].expandtabs(4)), len(shown))
    if span.end_line not in (None, span.line):
        end = len(shown)  # a span over several lines is underlined to the end of its first
    elif span.end_col:
        end = len(line[: span.end_col - 1].expandtabs(4))
    else:
        end = start + 1
    end = max(end, start + 1)
    # A long line (a one-line JSON manifest, a minified file) keeps only the caret's context.
    lo = max(0, start - CONTEXT)
    hi = min(len(shown), min(end, start + CONTEXT) + CONTEXT)
    head = "…" if lo > 0 else ""
    tail = "…" if hi < len(shown) else ""
    text = head + shown[lo:hi] + tail
    offset = display_width(head + shown[lo:start])
    width = max(1, display_width(shown[start : min(end, hi)]))
    return text, " " * offset + "^" * width


_STYLES = {"error": "bold red", "warning": "bold yellow", "hint": "cyan", "note": "blue"}


def render_one(
    diag: Diagnostic, sources: dict[str, str] | None = None, *, color: bool = False
) -> str:
    """Text rendering of one diagnostic; with `color`, ANSI styles via rich."""
    out: list[tuple[str, str]] = []  # (text, style)
    where = f"{diag.span.path}:{diag.span.line}:{diag.span.col}: " if diag.span else ""
    out.append((f"{where}\x00{diag.severity}\x00: {diag.message}", "bold"))
    if diag.span is not None:
        line = _source_line(diag.span, sources)
        if line is not None:
            text, carets = _underline(diag.span, redact(line))
            out.append((f"  {text}", ""))
            out.append((f"  {carets}", _STYLES[diag.severity]))
    for note in diag.notes:
        where = f"{note.span.path}:{note.span.line}:{note.span.col}: " if note.span else ""
        out.append((f"{where}note: {note.message}", _STYLES["note"]))
    if diag.hint:
        out.append((f"hint: {diag.hint}", _STYLES["hint"]))
    # Messages quote provider errors and excerpts quote files: neither may carry a key
    # or an escape sequence to the terminal.
    # (\x00 marks the severity word for colouring.)
    out = [("\x00".join(_safe(part) for part in text.split("\x00")), style) for text, style in out]
    if not color:
        return "\n".join(text.replace("\x00", "") for text, _ in out)
    return _ansi(out, diag.severity)


def _safe(text: str) -> str:
    return for_terminal(redact(text))


def _ansi(lines: list[tuple[str, str]], severity: str) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(force_terminal=True, color_system="standard", width=10_000)
    rendered = []
    for text, style in lines:
        head, sep, rest = text.partition("\x00")
        if sep:
            word, _, tail = rest.partition("\x00")
            piece = Text(head, style="bold") + Text(word, style=_STYLES[severity]) + Text(tail)
        else:
            piece = Text(text, style=style)
        with console.capture() as capture:
            console.print(piece, end="", soft_wrap=True)
        rendered.append(capture.get())
    return "\n".join(rendered)


def plural(n: int, noun: str) -> str:
    """`1 error`, `2 errors`: a count with its noun."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def render(
    diagnostics: list[Diagnostic], sources: dict[str, str] | None = None, *, color: bool = False
) -> str:
    """All diagnostics, errors and warnings, then a summary line."""
    blocks = [render_one(d, sources, color=color) for d in diagnostics]
    n_err = sum(d.is_error for d in diagnostics)
    n_warn = len(diagnostics) - n_err
    summary = []
    if n_err:
        summary.append(plural(n_err, "error"))
    if n_warn:
        summary.append(plural(n_warn, "warning"))
    if summary:
        blocks.append(", ".join(summary))
    return "\n\n".join(blocks)


def use_color(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def emit(diagnostics: list[Diagnostic], sources: dict[str, str] | None, stream: IO[str]) -> None:
    """Write rendered diagnostics to `stream`, coloured when it is a terminal."""
    if diagnostics:
        stream.write(render(diagnostics, sources, color=use_color(stream)) + "\n")
