"""Build the lark parser once per process and turn text into syntax trees.

Every lark error becomes a `Diagnostic` with a position, the expected tokens
in the spelling a user types, and a "did you mean" hint where one helps.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.resources import grammar_path
from afdsl.syntax import _ast as A
from afdsl.syntax._recover import parse_recovering
from afdsl.syntax._strings import StringError
from afdsl.syntax._transform import ToAst, token_span

# What a user types for the regex terminals (string terminals spell themselves).
_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a quoted string",
    "LONG_STRING": 'a """text block"""',
    "MODEL_SPEC": "a model spec such as sim:opus_like",
    "$END": "the end of the file",
}
_OPENERS = {"{": "}", "[": "]", "(": ")"}
_BRACKET_NAMES = {"{": "brace", "[": "bracket `]`", "(": "parenthesis `)`"}


@functools.cache
def get_parser(strict: bool = False) -> Lark:
    """The LALR parser for `grammars/afs.lark`, built lazily (once per process)."""
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "hypothesis_text"],
        strict=strict,
        cache=False if strict else _cache_file(),
    )


def _cache_file() -> str | bool:
    """Where lark keeps the analysed parse tables: building them costs ~0.3 s per process,
    loading them ~6 ms. The file lives in the user's own cache folder (never a shared /tmp,
    whose files another user could plant); lark keys it by a hash of the grammar, options
    and versions and rebuilds on any mismatch. No usable folder: no cache."""
    import os
    from pathlib import Path

    if os.environ.get("AFDSL_NO_CACHE"):
        return False
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(root) / "afdsl"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(folder / "afs-grammar.lark-cache")


def parse_text(text: str, path: str, abs_path: str = "") -> A.FileAst:
    """Parse one .afs source into a `FileAst`; raises `AfsError` on a syntax error."""
    items = _parse(text, path, "start")
    result = A.FileAst(path=path, abs_path=abs_path or path)
    for item in items:
        if isinstance(item, A.UseDecl):
            result.uses.append(item)
        elif isinstance(item, A.ScenarioDecl):
            result.scenarios.append(item)
        elif isinstance(item, A.PerturbationDecl):
            result.perturbations.append(item)
        elif isinstance(item, A.ExperimentDecl):
            result.experiments.append(item)
    return result


def parse_hypothesis_ast(text: str, path: str = "<hypothesis>") -> A.HypothesisDecl:
    """Parse `NAME [on MEASURE]: EXPR OP EXPR [within MARGIN]` on its own."""
    result: A.HypothesisDecl = _parse(text, path, "hypothesis_text")
    return result


def _parse(text: str, path: str, start: str) -> Any:
    too_deep = _too_deep(text, path)
    if too_deep is not None:
        raise AfsError(too_deep)
    parser = get_parser()
    tree = parse_recovering(
        parser, text, start, lambda exc: syntax_diagnostic(exc, text, path, parser)
    )
    try:
        return ToAst(path, text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, StringError):
            line, col = _line_col(text, exc.orig_exc.offset)
            span = Span(path=path, line=line, col=col, end_col=col + 2)
            raise AfsError(
                Diagnostic(
                    code=exc.orig_exc.code,
                    message=str(exc.orig_exc),
                    span=span,
                    hint=exc.orig_exc.hint,
                )
            ) from None
        raise


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _spell(parser: Lark, terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    try:
        pattern = parser.get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    if pattern.type == "str":
        return f"`{pattern.value}`"
    return terminal.lower()


def _acceptable(exc: UnexpectedToken) -> set[str]:
    """Terminals the parser really accepts here.

    `exc.expected` is the LALR lookahead set, which merges states shared by several
    rules (operators appear in variants and in top-level perturbations), so it lists
    top-level keywords inside an experiment; `accepts()` trial-feeds each one.
    """
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is None:
        return set(exc.expected)
    return set(interactive.accepts()) or set(exc.expected)


def _expected_words(parser: Lark, expected: set[str]) -> tuple[list[str], list[str]]:
    """(all expected in user spelling, keywords only) with keywords first."""
    spelled = sorted({_spell(parser, t) for t in expected})
    keywords = [w.strip("`") for w in spelled if w.startswith("`") and w[1:-1].isidentifier()]
    ordered = sorted(spelled, key=lambda w: (not w.startswith("`"), not w[1:2].isalpha(), w))
    return ordered, keywords


_TOP_LEVEL_WORDS = frozenset({"use", "scenario", "perturbation", "experiment"})
# The text just before a token inside `effect(...` or `interaction(...` (no `)` yet).
_IN_CONTRAST = re.compile(r"\b(?:effect|interaction)\s*\([^()]*\Z")


def syntax_diagnostic(exc: UnexpectedInput, text: str, path: str, parser: Lark) -> Diagnostic:
    """One `Diagnostic` for a lark syntax error."""
    if isinstance(exc, UnexpectedToken):
        return _unexpected_token(exc, text, path, parser)
    line, col = exc.line, exc.column
    span = Span(path=path, line=line, col=col, end_col=col + 1)
    pos = exc.pos_in_stream
    char = text[pos] if isinstance(exc, UnexpectedCharacters) and pos is not None else ""
    if char == '"':
        return Diagnostic(
            code="AFS002",
            message="unterminated string",
            span=span,
            hint='close it with `"` on the same line, or use """triple quotes""" for text '
            "that spans lines",
        )
    return Diagnostic(
        code="AFS001",
        message=f"unexpected character `{char}`" if char else "unexpected input",
        span=span,
        # Letters such as é are fine inside strings but not in names.
        hint="names use ASCII letters, digits and `_`; other text goes in a quoted string"
        if char and (char.isalpha() or char.isdigit()) and not char.isascii()
        else None,
    )


def _unexpected_token(exc: UnexpectedToken, text: str, path: str, parser: Lark) -> Diagnostic:
    tok: Token = exc.token
    acceptable = _acceptable(exc)
    words, keywords = _expected_words(parser, acceptable)
    expected = _join(words)
    if tok.type == "$END":
        line, col = _line_col(text, len(text.rstrip()))
        span = Span(path=path, line=line, col=col)
        opener = _unclosed(text, len(text))
        if opener is not None:
            o_line, o_col, o_char = opener
            return Diagnostic(
                code="AFS005",
                message=f"missing closing {_BRACKET_NAMES[o_char]} opened at line {o_line}",
                span=Span(path=path, line=o_line, col=o_col, end_col=o_col + 1),
                hint=f"add `{_OPENERS[o_char]}` at the end of the block that starts here",
            )
        return Diagnostic(
            code="AFS004",
            message=f"unexpected end of file; expected {expected}",
            span=span,
        )
    span = token_span(path, tok)
    shown = str(tok).split("\n")[0]
    hint = None
    if tok.type == "NAME" or shown.isidentifier():
        close = difflib.get_close_matches(shown, keywords, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean `{close[0]}`?"
    # A word that starts a file-level item where a block's `}` could stand means the
    # block was never closed; any other word is a mistake inside the block.
    if hint is None and "RBRACE" in acceptable and shown in _TOP_LEVEL_WORDS:
        opener = _unclosed(text, tok.start_pos or 0)
        if opener is not None and opener[2] == "{":
            hint = f"missing closing brace opened at line {opener[0]}?"
    if tok.type == "NAME" and "MODEL_SPEC" in acceptable and not hint:
        hint = "a model spec is `provider:name`, e.g. sim:opus_like or anthropic:NAME"
    if shown.lower() == "pp" and re.search(r"\d\s*\Z", text[: tok.start_pos or 0]):
        hint = "points are written `5pp`: the number and a lower-case `pp`, with no space"
    if shown == "@" and _IN_CONTRAST.search(text, 0, tok.start_pos or 0):
        hint = (
            "`effect()` and `interaction()` take no pin: test them on one model with "
            "`hypothesis NAME for MODEL: ...`, or pin `gap()` terms for a cross-model contrast"
        )
    return Diagnostic(
        code="AFS004",
        message=f"unexpected {_describe(tok)}; expected {expected}",
        span=span,
        hint=hint,
    )


def _describe(tok: Token) -> str:
    if tok.type in ("STRING", "LONG_STRING"):
        return "string"
    first = str(tok).split("\n")[0]
    return f"`{first[:40]}`"


def _join(words: list[str]) -> str:
    if len(words) > 14:
        return ", ".join(words[:14]) + ", ..."
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


_BRACKETS = re.compile(r'"""[\s\S]*?(?<!\\)"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}\[\]()]')


MAX_NESTING = 32  # brackets inside brackets: far beyond any real hypothesis


def _too_deep(text: str, path: str) -> Diagnostic | None:
    """An error at the first bracket nested more than MAX_NESTING deep (strings and
    comments skipped): the parse tree would be too deep to build."""
    depth = 0
    for m in _BRACKETS.finditer(text):
        ch = m.group()
        if ch in _OPENERS:
            depth += 1
            if depth > MAX_NESTING:
                line, col = _line_col(text, m.start())
                return Diagnostic(
                    code="AFS050",
                    message=f"brackets nested more than {MAX_NESTING} deep",
                    span=Span(path=path, line=line, col=col, end_col=col + 1),
                    hint="write the expression with fewer parentheses",
                )
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return None


def _unclosed(text: str, upto: int) -> tuple[int, int, str] | None:
    """The innermost bracket still open at offset `upto` (strings and comments skipped)."""
    stack: list[int] = []
    for m in _BRACKETS.finditer(text, 0, upto):
        ch = m.group()
        if ch in _OPENERS:
            stack.append(m.start())
        elif ch in ")]}" and stack:
            stack.pop()
    if not stack:
        return None
    line, col = _line_col(text, stack[-1])
    return line, col, text[stack[-1]]
