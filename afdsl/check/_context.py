"""Shared state of one check: the loaded program, symbol tables and collected diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field

from afdsl.diagnostics import AfsError, Diagnostic, Note, Span, suggest
from afdsl.sanitize import source_lines
from afdsl.syntax import SECRET_CODE, LoadedProgram
from afdsl.syntax import nodes as A

MAX_ERRORS = 20

__all__ = ["MAX_ERRORS", "Context", "TooManyErrors", "number_of", "suggest"]


def number_of(value: A.Value, *, integer: bool) -> float | None:
    """The number a literal spells (None if it is not one, or not whole when `integer`)."""
    try:
        number = float(value.raw) if value.kind == "number" else None
    except ValueError:
        return None
    if number is None or (integer and not number.is_integer()):
        return None
    return number


class TooManyErrors(Exception):
    """Stops a check once MAX_ERRORS errors are collected."""


@dataclass
class Context:
    """What one check shares: the loaded files, the diagnostics so far, and every
    scenario and perturbation the program defines (with the file that defines it)."""

    program: LoadedProgram
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scenarios: dict[str, tuple[A.ScenarioDecl, A.FileAst]] = field(default_factory=dict)
    perturbations: dict[str, tuple[A.PerturbationDecl, A.FileAst]] = field(default_factory=dict)
    data_files: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(d.is_error for d in self.diagnostics)

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        hint: str | None = None,
        notes: list[Note] | None = None,
    ) -> None:
        """Record an error; at MAX_ERRORS the check stops (TooManyErrors), as later errors
        are mostly consequences of earlier ones."""
        self.diagnostics.append(
            Diagnostic(code=code, message=message, span=span, hint=hint, notes=notes or [])
        )
        if self.error_count >= MAX_ERRORS:
            raise TooManyErrors

    def unknown(
        self, code: str, what: str, name: A.Ident, options: set[str], plural: str = ""
    ) -> None:
        """`unknown WHAT `name`` at the name, with the nearest option as a hint."""
        self.error(
            code,
            f"unknown {what} `{name.value}`",
            name.span,
            hint=suggest(name.value, options, plural),
        )

    def report(self, exc: AfsError, *, section: str | None = None) -> None:
        """Record the diagnostics an AfsError carries (a file that cannot be read) as errors;
        a key found in a section's file names that section."""
        for d in exc.diagnostics:
            secret = section is not None and d.code == SECRET_CODE
            message = f"section `{section}`: {d.message}" if secret else d.message
            self.error(d.code, message, d.span, d.hint)

    def warning(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(severity="warning", code=code, message=message, span=span, hint=hint)
        )

    def snippet(self, span: Span) -> str:
        """The source text under `span`, on one line."""
        lines = source_lines(self.program.sources.get(span.path, ""))
        if not 1 <= span.line <= len(lines):
            return ""
        end_line = span.end_line or span.line
        chunk = lines[span.line - 1 : end_line]
        if not chunk:
            return ""
        if span.end_col is not None:
            chunk[-1] = chunk[-1][: span.end_col - 1]
        chunk[0] = chunk[0][span.col - 1 :]
        return " ".join(" ".join(chunk).split())

    def register(self) -> None:
        """Fill the symbol tables from every loaded file, reporting duplicates."""
        for file in self.program.files:
            for scenario in file.scenarios:
                self._define(self.scenarios, scenario.name, (scenario, file), "scenario")
            for perturbation in file.perturbations:
                self._define(
                    self.perturbations, perturbation.name, (perturbation, file), "perturbation"
                )

    def _define(self, table: dict, name: A.Ident, entry: tuple, what: str) -> None:  # type: ignore[type-arg]
        previous = table.get(name.value)
        if previous is not None:
            first: Span = previous[0].name.span
            self.error(
                "AFS101",
                f"{what} `{name.value}` is defined twice",
                name.span,
                notes=[Note(span=first, message="first defined here")],
            )
            return
        table[name.value] = entry
