"""Shared state of one check: the loaded program, symbol tables and collected diagnostics."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from afdsl.diagnostics import Diagnostic, Note, Span
from afdsl.syntax import _ast as A
from afdsl.syntax._loader import LoadedProgram

MAX_ERRORS = 20


def suggest(name: str, options: list[str] | set[str], what: str = "") -> str | None:
    """`did you mean ...?` for the nearest option, else the list when it is short."""
    options = sorted(options)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if options and len(options) <= 8:
        return f"known {what or 'names'}: " + ", ".join(f"`{o}`" for o in options)
    return None


class TooManyErrors(Exception):
    """Stops a check once MAX_ERRORS errors are collected."""


@dataclass
class Context:
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
        self.diagnostics.append(
            Diagnostic(code=code, message=message, span=span, hint=hint, notes=notes or [])
        )
        if self.error_count >= MAX_ERRORS:
            raise TooManyErrors

    def warning(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(severity="warning", code=code, message=message, span=span, hint=hint)
        )

    def snippet(self, span: Span) -> str:
        """The source text under `span`, on one line."""
        lines = self.program.sources.get(span.path, "").splitlines()
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
