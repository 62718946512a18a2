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


def _source_and_carets(line: str, span: Span) -> tuple[str, str]:
    out = render([Diagnostic(message="m", span=span)], {"w.afs": line}).splitlines()
    return out[1], out[2]


def test_carets_stay_under_wide_characters() -> None:
    # `名前` takes four terminal columns, ` = ` three more: `"x"` starts after seven.
    source, carets = _source_and_carets('名前 = "x"', Span(path="w.afs", line=1, col=6, end_col=9))
    assert source == '  名前 = "x"'
    assert carets == "  " + " " * 7 + "^^^"
    # A wide character inside the span is underlined over both its columns.
    _, carets = _source_and_carets("ab 名前 c", Span(path="w.afs", line=1, col=4, end_col=6))
    assert carets == "  " + " " * 3 + "^" * 4


def test_a_long_line_is_clipped_around_the_caret() -> None:
    line = "a" * 300 + "BAD" + "z" * 300
    source, carets = _source_and_carets(line, Span(path="w.afs", line=1, col=301, end_col=304))
    assert source.startswith("  …") and source.endswith("…")
    assert len(source) < 200
    assert source[carets.index("^") : carets.index("^") + 3] == "BAD"
    assert carets.count("^") == 3
    # Near the start of a line nothing is cut on the left.
    source, carets = _source_and_carets(line, Span(path="w.afs", line=1, col=1))
    assert source.startswith("  aaa") and source.endswith("…") and carets == "  ^"
