"""Decode string tokens into text plus the source offset of every character.

`"..."` supports the escapes below; `\"\"\"...\"\"\"` blocks drop the newline after
the opening quotes, the whitespace-only line before the closing quotes and the
common indentation, and know only the escape `\\\"\"\"`.
"""

from __future__ import annotations

ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


ESCAPES_HINT = 'known escapes: \\" \\\\ \\n \\t'


class StringError(ValueError):
    """A malformed literal (a bad escape, a number too long to mean anything); `offset`
    is the absolute offset of the problem."""

    def __init__(
        self, message: str, offset: int, hint: str = ESCAPES_HINT, code: str = "AFS003"
    ) -> None:
        super().__init__(message)
        self.offset = offset
        self.hint = hint
        self.code = code


def decode_short(token: str, start: int) -> tuple[str, list[int]]:
    """Decode a `"..."` token that starts at absolute offset `start`."""
    chars: list[str] = []
    offsets: list[int] = []
    i = 1
    end = len(token) - 1
    while i < end:
        ch = token[i]
        if ch == "\\":
            nxt = token[i + 1]
            if nxt not in ESCAPES:
                raise StringError(f"unknown escape `\\{nxt}` in a string", start + i)
            chars.append(ESCAPES[nxt])
            offsets.append(start + i)
            i += 2
            continue
        chars.append(ch)
        offsets.append(start + i)
        i += 1
    return "".join(chars), offsets


def decode_long(token: str, start: int) -> tuple[str, list[int]]:
    """Decode a triple-quoted token that starts at absolute offset `start`."""
    body = token[3:-3]
    base = start + 3
    # Split into lines, remembering where each starts in the source.
    lines: list[tuple[int, str]] = []
    pos = 0
    for line in body.split("\n"):
        lines.append((base + pos, line))
        pos += len(line) + 1
    # Text on the line of the opening quotes has no indentation of its own.
    inline_first = True
    if len(lines) > 1 and lines[0][1].strip() == "":
        lines = lines[1:]
        inline_first = False
    if len(lines) > 1 and lines[-1][1].strip() == "":
        lines = lines[:-1]
    indent = _common_indent([text for _, text in lines[1 if inline_first else 0 :]])
    chars: list[str] = []
    offsets: list[int] = []
    for n, (line_start, text) in enumerate(lines):
        if n:
            chars.append("\n")
            offsets.append(line_start - 1)
        if text.strip() == "":
            continue
        i = 0 if (n == 0 and inline_first) else len(indent)
        while i < len(text):
            if text.startswith('\\"""', i):
                for k in range(3):
                    chars.append('"')
                    offsets.append(line_start + i + 1 + k)
                i += 4
                continue
            chars.append(text[i])
            offsets.append(line_start + i)
            i += 1
    return "".join(chars), offsets


def _common_indent(lines: list[str]) -> str:
    """The longest whitespace prefix shared by all non-blank lines (like textwrap.dedent)."""
    prefix: str | None = None
    for line in lines:
        if line.strip() == "":
            continue
        lead = line[: len(line) - len(line.lstrip())]
        if prefix is None:
            prefix = lead
            continue
        k = 0
        while k < min(len(prefix), len(lead)) and prefix[k] == lead[k]:
            k += 1
        prefix = prefix[:k]
    return prefix or ""
