"""One place that makes untrusted text safe for where it is shown.

Model outputs, provider error messages, query ids and file excerpts are data
that someone else wrote. Printed raw, an escape sequence can retitle the
terminal, clear the screen, plant a hyperlink or hide text (CR, backspace);
written raw into Markdown, `<script>` is live in any viewer that renders HTML;
written raw into CSV, `=HYPERLINK(...)` is a formula to a spreadsheet.

- `for_terminal`: every control character but newline and tab becomes a visible
  one-column stand-in (ESC shows as `␛`, so `ESC[2J` prints as the inert text
  `␛[2J`); C1 controls (`\\x9b` is a one-byte CSI), line/paragraph separators and
  bidirectional overrides become `�`. One column per character keeps carets under
  source excerpts aligned.
- `for_markdown`: the terminal rule, then HTML-escaped, `|` escaped for tables and
  newlines as `<br>`.
- `for_csv`: a cell that a spreadsheet would read as a formula (starting with
  `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, and so does one that starts
  with `'` itself, so `from_csv` gives every value back exactly.
"""

from __future__ import annotations

import html
import re

__all__ = [
    "for_csv",
    "for_markdown",
    "for_terminal",
    "from_csv",
    "has_controls",
    "json_line",
    "json_safe",
    "source_lines",
]

# U+2028/2029 and NEL break lines in some renderers; the bidi controls reorder what is
# shown ("Trojan source"); U+FEFF, U+200B-U+200F hide text.
# Unpaired surrogates (a lone `\ud83d` from a JSON escape) cannot be written as UTF-8.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff]"
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_ESCAPED = (*_FORMULA_START, "'")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def for_terminal(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with every control character shown as a visible stand-in; newlines kept
    unless `keep_newlines` is false (then shown as `␊`), tabs always kept."""
    shown = _UNSAFE.sub(lambda m: "\n" if m.group() == "\n" else _stand_in(m), text)
    return shown if keep_newlines else shown.replace("\n", "\u240a")


def has_controls(text: str) -> bool:
    """Whether `for_terminal` would change `text` (newlines and tabs included)."""
    return _UNSAFE.search(text) is not None


def for_markdown(text: str) -> str:
    """`text` safe inside a Markdown table cell or paragraph: controls made visible,
    HTML escaped, `|` escaped, newlines as `<br>`."""
    escaped = html.escape(for_terminal(text), quote=True).replace("|", "\\|")
    return escaped.replace("\n", "<br>")


def for_csv(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like values get a leading `'`
    (the OWASP rule for CSV injection); so does a value starting with `'`, which keeps
    the rule reversible (`from_csv`)."""
    return "'" + value if value.startswith(_CSV_ESCAPED) else value


def from_csv(cell: str) -> str:
    """The value a `for_csv` cell stands for: its leading `'`, if any, removed."""
    return cell[1:] if cell.startswith("'") else cell


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def json_safe(text: str) -> str:
    """Serialised JSON made safe to print: JSON encoders escape C0 controls themselves;
    DEL, the C1 controls (`\\x9b` starts an escape sequence on some terminals), the line
    separators and unpaired surrogates (which UTF-8 cannot encode) can only stand inside
    strings, where `\\uXXXX` means the same."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_line(doc: object) -> str:
    """`doc` as one line of JSON that is safe to print (see `json_safe`)."""
    import json

    return json_safe(json.dumps(doc, ensure_ascii=False))


def source_lines(text: str) -> list[str]:
    """The lines of a source text, split where the lark lexer counts lines: at "\\n" only
    (a Windows line end's "\\r" dropped), so every position and every excerpt agree. A
    form feed, U+2028, NEL and the like are characters on a line, shown by `for_terminal`."""
    return [line.removesuffix("\r") for line in text.split("\n")]
