"""JSON Lines, split where JSON Lines splits: at "\\n" only."""

from __future__ import annotations

from collections.abc import Iterator


def json_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line) of each non-blank line of a JSON Lines text.

    `str.splitlines` would also split at U+2028, U+0085 and other separators,
    which a JSON string may hold raw (`json.dumps(..., ensure_ascii=False)`
    writes them, and model outputs contain them), cutting a record in two.
    A Windows line end's "\\r" is dropped.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line.rstrip("\r")
