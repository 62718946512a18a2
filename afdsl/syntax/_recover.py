"""Report several independent syntax errors per file (panic-mode recovery for lark's LALR).

After an error the parser resynchronises at the next statement: the first word
of a later line (outside strings and comments) that starts a statement, or a
`}` opening a line. The parser stack is popped until a state that accepts that
token, the lexer jumps there, and parsing resumes. Resynchronising only at line
starts keeps a single typo to a single error: the rest of the broken statement
is skipped, never re-read as new mistakes.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from typing import Any

from lark import Lark
from lark.exceptions import UnexpectedInput, UnexpectedToken

from afdsl.diagnostics import AfsError, Diagnostic

MAX_SYNTAX_ERRORS = 20

# Words that begin a statement at top level, in a scenario or in an experiment.
_STATEMENT_WORDS = frozenset(
    [
        "use",
        "scenario",
        "perturbation",
        "experiment",
        "section",
        "user",
        "condition",
        "base",
        "model",
        "models",
        "queries",
        "samples",
        "seed",
        "judge",
        "variant",
        "measure",
        "hypothesis",
        "correct",
    ]
)
# Strings and comments are skipped whole so a keyword inside them never counts.
_SCAN = re.compile(r'"""[\s\S]*?(?<!\\)"""|"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\n|[ \t\r]+|[A-Za-z_]\w*|.')


@dataclass(frozen=True)
class _SyncPoint:
    offset: int
    line: int
    col: int
    terminal: str  # the grammar terminal of the word, e.g. VARIANT or RBRACE
    depth: int  # braces open in the text just before it


@dataclass
class _Layout:
    """Where statements start and how deep in braces each offset is, from the text alone."""

    points: list[_SyncPoint]
    brace_offsets: list[int]
    depth_after: list[int]  # text depth just after each brace in brace_offsets
    indents: list[int]  # leading whitespace of each line (line n at index n - 1)

    def depth_at(self, offset: int) -> int:
        i = bisect.bisect_left(self.brace_offsets, offset)
        return self.depth_after[i - 1] if i else 0


def _layout(text: str, terminals: dict[str, str]) -> _Layout:
    indents = [len(row) - len(row.lstrip()) for row in text.split("\n")]
    layout = _Layout([], [], [], indents)
    line, line_start, at_line_start, depth = 1, 0, True, 0
    for m in _SCAN.finditer(text):
        piece = m.group()
        if piece == "\n":
            line, line_start, at_line_start = line + 1, m.end(), True
            continue
        if piece.isspace():
            continue
        if at_line_start and (piece in _STATEMENT_WORDS or piece == "}") and piece in terminals:
            col = m.start() - line_start + 1
            layout.points.append(_SyncPoint(m.start(), line, col, terminals[piece], depth))
        if piece in "{}":
            depth = depth + 1 if piece == "{" else max(depth - 1, 0)
            layout.brace_offsets.append(m.start())
            layout.depth_after.append(depth)
        at_line_start = False
        if "\n" in piece:  # a text block spanning lines
            line += piece.count("\n")
            line_start = m.start() + piece.rindex("\n") + 1
    return layout


def _keyword_terminals(parser: Lark) -> dict[str, str]:
    """Literal word -> terminal name, e.g. `variant` -> VARIANT."""
    return {t.pattern.value: t.name for t in parser.terminals if t.pattern.type == "str"}


class _Recovery:
    """The `on_error` callback: records a diagnostic, then resynchronises if it can."""

    def __init__(
        self, parser: Lark, text: str, describe: Callable[[UnexpectedInput], Diagnostic]
    ) -> None:
        self.describe = describe
        self.parser = parser
        self.text = text
        self.diagnostics: list[Diagnostic] = []
        self.last: UnexpectedInput | None = None
        self.resumed_at = -1

    def record(self, exc: UnexpectedInput) -> None:
        # lark re-raises the error the callback gave up on: count it once.
        if exc is not self.last:
            self.last = exc
            self.diagnostics.append(self.describe(exc))

    def __call__(self, exc: UnexpectedInput) -> bool:
        self.record(exc)
        if len(self.diagnostics) >= MAX_SYNTAX_ERRORS:
            return False
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            return False
        interactive = getattr(exc, "interactive_parser", None)
        if interactive is None:
            return False
        if isinstance(exc, UnexpectedToken):
            error_at = exc.token.start_pos or 0
        else:
            error_at = exc.pos_in_stream or 0
        for point in self.layout.points:  # only files with errors pay for the scan
            # Strictly forward of the last resynchronisation, so recovery always ends.
            if point.offset < error_at or point.offset <= self.resumed_at:
                continue
            braces = None
            if point.terminal == "RBRACE":
                braces = self._closes(interactive.parser_state.value_stack, point, error_at)
            keep = _stack_depth_accepting(interactive, point.terminal, braces)
            if keep is None:
                continue
            _resume_at(interactive, point, keep)
            self.resumed_at = point.offset
            return True
        return False

    @functools.cached_property
    def layout(self) -> _Layout:
        return _layout(self.text, _keyword_terminals(self.parser))

    def _closes(self, values: list[Any], point: _SyncPoint, error_at: int) -> int:
        """How many `{` are open just before the `}` at `point` closes the last of them.

        A `}` closes the block the writer meant, not the innermost one the parser
        happens to be in (else one typo leaves a brace open and a second error at
        the end): the `{` on a line indented like the `}`, else the one the text's
        brace count says.
        """
        opened = [v for v in values if getattr(v, "type", None) == "LBRACE"]
        for i in range(len(opened) - 1, -1, -1):
            if self.layout.indents[opened[i].line - 1] == point.col - 1:
                return i + 1
        return len(opened) + point.depth - self.layout.depth_at(error_at)


def _open_braces(values: list[Any]) -> int:
    return sum(getattr(v, "type", None) == "LBRACE" for v in values)


def _stack_depth_accepting(interactive: Any, terminal: str, braces: int | None) -> int | None:
    """The deepest stack size at which `terminal` can be fed (None: nowhere); with
    `braces`, only a stack holding exactly that many open `{` before the feed qualifies."""
    state = interactive.parser_state
    conf = copy(state.parse_conf)
    conf.callbacks = {}  # trial feeds build no tree
    for keep in range(len(state.state_stack), 0, -1):
        if braces is not None and _open_braces(state.value_stack[: keep - 1]) != braces:
            continue
        trial = interactive.copy(deepcopy_values=False)
        trial.parser_state.parse_conf = conf
        del trial.parser_state.state_stack[keep:]
        del trial.parser_state.value_stack[keep - 1 :]
        try:
            trial.feed_token(interactive.lexer_thread._Token(terminal, ""))
        except UnexpectedInput:
            continue
        return keep
    return None


def _resume_at(interactive: Any, point: _SyncPoint, keep: int) -> None:
    state = interactive.parser_state
    del state.state_stack[keep:]
    del state.value_stack[keep - 1 :]
    counter = interactive.lexer_thread.state.line_ctr
    counter.char_pos = point.offset
    counter.line = point.line
    counter.column = point.col
    counter.line_start_pos = point.offset - point.col + 1


def parse_recovering(
    parser: Lark, text: str, start: str, describe: Callable[[UnexpectedInput], Diagnostic]
) -> Any:
    """The parse tree of `text`; raises AfsError with every syntax error found (up to 20)."""
    recovery = _Recovery(parser, text, describe)
    tree = None
    try:
        tree = parser.parse(text, start=start, on_error=recovery)
    except UnexpectedInput as exc:  # recovery gave up: this error is the last one
        recovery.record(exc)
    if recovery.diagnostics:
        raise AfsError(recovery.diagnostics[:MAX_SYNTAX_ERRORS])
    return tree
