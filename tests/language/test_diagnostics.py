"""Rendering: `path:line:col: error: message`, source line, caret under the span, hint."""

from __future__ import annotations

import io

import pytest

from afdsl.diagnostics import Diagnostic, Span, render, use_color

SOURCE = {"x.afs": "experiment e {\n  varient v = remove section a\n}\n"}
DIAG = Diagnostic(
    message="unexpected `varient`",
    span=Span(path="x.afs", line=2, col=3, end_line=2, end_col=10),
    hint="did you mean `variant`?",
)


def test_plain_rendering_layout() -> None:
    lines = render([DIAG], SOURCE).splitlines()
    assert lines[0] == "x.afs:2:3: error: unexpected `varient`"
    assert lines[1] == "    varient v = remove section a"
    assert lines[2] == "    ^^^^^^^"
    assert lines[3] == "hint: did you mean `variant`?"
    assert lines[-1] == "1 error"


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert not use_color(io.StringIO())
    assert use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


def test_coloured_rendering_keeps_the_text() -> None:
    coloured = render([DIAG], SOURCE, color=True)
    assert "\x1b[" in coloured
    assert "x.afs:2:3: " in coloured and "did you mean `variant`?" in coloured
