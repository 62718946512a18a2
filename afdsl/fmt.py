"""`afdsl fmt`: one canonical layout for .afs files.

The checker's own parser gives the tokens and the statement tree; only the space
between tokens is rewritten, so strings and comments keep their bytes and the file
means what it meant. The layout:

- two spaces of indent per block; one statement per line; `}` on its own line;
- top-level items separated by one blank line; inside a block, a run of blank
  lines becomes one (blank lines group statements, so they stay);
- consecutive lines of one kind are aligned: the values of `base` / `model` /
  `models` / `queries` / `samples` / `seed`, the `=` of `variant NAME =` and
  `measure NAME =`, the texts of `section NAME`, the braces of `condition NAME`,
  the values of model-block fields and the expressions of `hypothesis NAME:`;
- comments that end consecutive lines are aligned two spaces after the longest;
- a perturbation puts each operator on its own line under its header (`+ OP`);
  a variant whose line would pass 100 columns does the same, aligned under `=`;
  a hypothesis that would pass 100 columns puts each term outside parentheses on
  its own line (`- TERM`), aligned under the start of its expression;
- a statement with a comment inside it keeps its line breaks (each line re-spaced).

A `model` on a measure's line belongs to that measure (a judge), so a `model`
keeps whichever line it was on relative to its measure.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from lark import Token, Tree
from lark.exceptions import LarkError

from afdsl.diagnostics import AfsError, Diagnostic
from afdsl.syntax import get_parser, parse_text

INDENT = "  "
WIDTH = 100  # a variant longer than this puts one operator per line
_COMMENT = re.compile(r"#[^\n]*")
_STRINGS = ("STRING", "LONG_STRING")
_SETTINGS = {"exp_base", "exp_model", "exp_model_ref", "exp_models", "exp_queries"}
_SETTINGS |= {"exp_samples", "exp_seed"}
_BLOCKS = {"scenario", "experiment", "exp_model_block", "judge"}
_CHAINS = {"perturbation", "variant", "variant_family"}
_NO_SPACE_BEFORE = {",", ")", "]", ":", "."}
_NO_SPACE_AFTER = {"(", "[", "."}
_SIGN_AFTER = {":", "<", ">", "!=", "==", "(", "+", "-", "*"}


def format_text(text: str, path: str = "<text>") -> str:
    """`text` in the canonical layout; AfsError (the checker's syntax diagnostics) when it
    does not parse."""
    parse_text(text, path)  # every syntax error, as `afdsl check` reports them
    tokens, tree = _tokens_and_tree(text, path)
    source = _Source(text, tokens)
    lines = source.region(tree.children, 0, 0, len(text))
    out = _render(lines)
    return out + "\n" if out else ""


def _tokens_and_tree(text: str, path: str) -> tuple[list[Token], Tree[Any]]:
    interactive: Any = get_parser().parse_interactive(text, start="start")
    try:
        tokens = list(interactive.iter_parse())
        tree: Tree[Any] = interactive.feed_eof()
    except LarkError as exc:  # parse_text accepted it: not expected
        raise AfsError(Diagnostic(code="AFS000", message=f"{path}: cannot format: {exc}")) from exc
    return tokens, tree


@dataclass
class Line:
    """One output line (or a statement whose strings span lines). `head` is padded to the
    widest head of its run of same-`group` lines; `cont` lines go under the padded `=`."""

    indent: int
    head: str = ""
    rest: str = ""
    group: str | None = None
    comment: str | None = None
    cont: list[str] = field(default_factory=list)
    blank: bool = False


@dataclass
class _Comment:
    start: int
    end: int
    text: str


class _Source:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.starts = [t.start_pos or 0 for t in tokens]
        self.comments = self._comments()
        self.comment_starts = [c.start for c in self.comments]

    def _comments(self) -> list[_Comment]:
        """Comments live only between tokens (a `#` inside a string is text)."""
        bounds = [0, *[b for t in self.tokens for b in (t.start_pos, t.end_pos)], len(self.text)]
        found = []
        for lo, hi in zip(bounds[::2], bounds[1::2], strict=True):
            for m in _COMMENT.finditer(self.text, lo or 0, hi or 0):
                found.append(_Comment(m.start(), m.end(), m.group().rstrip()))
        return found

    def tokens_in(self, lo: int, hi: int) -> list[Token]:
        return self.tokens[
            bisect.bisect_left(self.starts, lo) : bisect.bisect_left(self.starts, hi)
        ]

    def comments_in(self, lo: int, hi: int) -> list[_Comment]:
        i, j = (
            bisect.bisect_left(self.comment_starts, lo),
            bisect.bisect_left(self.comment_starts, hi),
        )
        return self.comments[i:j]

    def _same_line(self, a: Token, b: Token) -> bool:
        return self.newlines(a.end_pos or 0, b.start_pos or 0) == 0

    def newlines(self, lo: int, hi: int) -> int:
        return self.text.count("\n", lo, hi)

    # ------------------------------------------------------------- regions
    def region(
        self, nodes: list[Any], depth: int, lo: int, hi: int, opener: Line | None = None
    ) -> list[Line]:
        """The lines of the statements `nodes` and the comments between `lo` and `hi`;
        a comment on the `opener` line (a block's `{`) stays there. At the top level
        (no opener) items are separated by one blank line."""
        top = opener is None
        units = _units([n for n in nodes if isinstance(n, Tree)])
        elements: list[tuple[int, int, Any]] = [
            (c.start, c.end, c) for c in self.comments_in(lo, hi)
        ]
        elements = [
            e for e in elements if not any(u[0].meta.start_pos <= e[0] < _end(u) for u in units)
        ]
        elements += [(u[0].meta.start_pos, _end(u), u) for u in units]
        elements.sort(key=lambda e: e[0])
        lines: list[Line] = []
        previous_end, previous_was_statement = lo, False
        for start, end, element in elements:
            gap = self.newlines(previous_end, start)
            if isinstance(element, _Comment) and gap == 0 and (lines or opener):
                (lines[-1] if lines else opener or Line(0)).comment = element.text
            else:
                blank = gap >= 2 or (top and previous_was_statement)
                if lines and blank:
                    lines.append(Line(0, blank=True))
                if isinstance(element, _Comment):
                    lines.append(Line(depth, element.text))
                else:
                    lines += self.statement(element, depth)
            previous_end, previous_was_statement = end, not isinstance(element, _Comment)
        return lines

    def statement(self, unit: list[Tree[Any]], depth: int) -> list[Line]:
        node = unit[0]
        if node.data in _BLOCKS:
            return self.block(node, depth)
        lo, hi = node.meta.start_pos, _end(unit)
        tokens = self.tokens_in(lo, hi)
        if self.comments_in(lo, hi):
            # A perturbation's operators start under its header, as without comments.
            split = _split_at(tokens, "=") + 1 if node.data == "perturbation" else -1
            return self.kept_lines(tokens, self.comments_in(lo, hi), depth, split)
        if node.data in _CHAINS:
            return _chain(node.data, tokens, depth)
        kind = "measure" if node.data in _DERIVED else str(node.data)  # aligned with the rest
        return [_line(kind, tokens, depth)]

    def block(self, node: Tree[Any], depth: int) -> list[Line]:
        lo, hi = node.meta.start_pos, node.meta.end_pos
        tokens = self.tokens_in(lo, hi)
        brace = next(t for t in tokens if t.type == "LBRACE")
        closing = tokens[-1]
        header_tokens = [t for t in tokens if (t.start_pos or 0) <= (brace.start_pos or 0)]
        header_comments = self.comments_in(lo, brace.start_pos or 0)
        if header_comments:
            header = self.kept_lines(header_tokens, header_comments, depth)
        else:
            header = [Line(depth, _join(header_tokens))]
        inner = brace.end_pos or 0, closing.start_pos or 0
        body = self.region(node.children, depth + 1, *inner, opener=header[-1])
        if not body and header[-1].comment is None:
            header[-1].head += "}"
            return header
        return [*header, *body, Line(depth, "}")]

    def kept_lines(
        self, tokens: list[Token], comments: list[_Comment], depth: int, split: int = -1
    ) -> list[Line]:
        """A statement with comments inside keeps its line breaks: each source line (and
        whatever a multi-line string pulls onto it) is one output line, re-spaced; a new
        line also starts at token `split`."""
        groups: list[list[Token]] = []
        for i, tok in enumerate(tokens):
            if groups and i != split and self._same_line(groups[-1][-1], tok):
                groups[-1].append(tok)
            else:
                groups.append([tok])
        events: list[tuple[int, Any]] = [(g[0].start_pos or 0, g) for g in groups]
        events += [(c.start, c) for c in comments]
        events.sort(key=lambda e: e[0])
        lines: list[Line] = []
        previous_end = -1
        for start, item in events:
            if isinstance(item, _Comment):
                if lines and self.newlines(previous_end, start) == 0:
                    lines[-1].comment = item.text
                else:
                    lines.append(Line(depth + 1, item.text))
                previous_end = item.end
            else:
                lines.append(Line(depth if not lines else depth + 1, _join(item)))
                previous_end = item[-1].end_pos or 0
        return lines


_DERIVED = ("measure_given", "measure_and")  # `measure x = a given b`, `a and not b`


def _end(unit: list[Tree[Any]]) -> int:
    end: int = unit[-1].meta.end_pos
    return end


def _units(nodes: list[Tree[Any]]) -> list[list[Tree[Any]]]:
    """Statements, with a `model` on a measure's line kept with that measure."""
    units: list[list[Tree[Any]]] = []
    for node in nodes:
        last = units[-1] if units else None
        if (
            last is not None
            and last[0].data == "measure"
            and node.data in ("exp_model", "exp_model_ref")
            and node.meta.line == last[-1].meta.end_line
        ):
            last.append(node)
        else:
            units.append([node])
    return units


def _join(tokens: list[Token]) -> str:
    """Tokens with canonical spacing."""
    out = ""
    for i, tok in enumerate(tokens):
        text = str(tok)
        if i and _space_between(tokens, i):
            out += " "
        out += text
    return out


def _space_between(tokens: list[Token], i: int) -> bool:
    a, b = tokens[i - 1], tokens[i]
    if b.type not in _STRINGS and str(b) in _NO_SPACE_BEFORE:
        return False
    if a.type not in _STRINGS and str(a) in _NO_SPACE_AFTER:
        return False
    if a.type in _STRINGS or b.type in _STRINGS:
        return True
    if str(a) == "{" and str(b) == "}":
        return False
    if str(b) == "(" and str(a) in ("gap", "rate", "effect", "interaction"):
        return False
    if _in_apply_param(tokens, i):
        return False  # `apply {p}` in a family
    if str(b) == "[" and i >= 2 and str(tokens[i - 2]) == "variant":
        return False  # a family: `variant trainer[lab] = ...`
    return not (str(a) in ("+", "-") and _is_sign(tokens, i - 1))


def _in_apply_param(tokens: list[Token], i: int) -> bool:
    """Whether the space before `i` falls inside `apply {p}` (around `p`)."""
    before = [str(t) for t in tokens[max(0, i - 3) : i]]
    after = str(tokens[i])
    return before[-2:] == ["apply", "{"] or (after == "}" and before[-3:-1] == ["apply", "{"])


def _is_sign(tokens: list[Token], i: int) -> bool:
    """Whether the `+`/`-` at `i` is a sign (`> -0.1`) rather than an operator."""
    return i > 0 and str(tokens[i - 1]) in _SIGN_AFTER


def _split_at(tokens: list[Token], value: str) -> int:
    return next((i for i, t in enumerate(tokens) if str(t) == value and t.type not in _STRINGS), -1)


def _line(kind: str, tokens: list[Token], depth: int) -> Line:
    """A one-line statement, split into the head that is aligned and the rest."""
    cut = -1
    if kind in ("section", "span_section"):  # `section NAME` and `section NAME in ...`
        kind, cut = "section", 2
    elif kind in _SETTINGS or kind == "model_field":
        cut = 1
    elif kind == "measure":
        cut = _split_at(tokens, "=")
    elif kind == "condition":
        cut = _split_at(tokens, "{")
    elif kind == "hypothesis" and _split_at(tokens, "on") == -1:
        cut = _split_at(tokens, ":") + 1
    if cut <= 0 or cut >= len(tokens):
        return Line(depth, _join(tokens))
    group = "setting" if kind in _SETTINGS else kind
    head = _join(tokens[:cut])
    if kind == "hypothesis" and len(INDENT * depth + _join(tokens)) > WIDTH:
        first, *cont = [_join(term) for term in _terms(tokens[cut:])]
        return Line(depth, head, first, group, cont=cont)
    return Line(depth, head, _list(tokens[cut:], depth, len(head) + 1), group)


def _terms(tokens: list[Token]) -> list[list[Token]]:
    """A long hypothesis's expression cut before each `+`/`-` outside parentheses (not a
    sign), so each line holds one term and its operator."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for i, tok in enumerate(tokens):
        text = str(tok)
        if text in ("+", "-") and depth == 0 and parts[-1] and not _is_sign(tokens, i):
            parts.append([])
        depth += (text == "(") - (text == ")")
        parts[-1].append(tok)
    return parts


def _list(tokens: list[Token], depth: int, before: int) -> str:
    """Tokens with a `[...]` list (queries, models) on one line, or, when the line would
    pass WIDTH columns, one element per line with a trailing comma."""
    opening, closing = _split_at(tokens, "["), _split_at(tokens, "]")
    if opening < 0 or closing < 0:
        return _join(tokens)
    inner = tokens[opening + 1 : closing]
    if inner and str(inner[-1]) == ",":
        inner = inner[:-1]  # a trailing comma is the broken layout's, not the flat one's
    flat = _join([*tokens[: opening + 1], *inner, *tokens[closing:]])
    if len(INDENT * depth) + before + len(flat) <= WIDTH:
        return flat
    elements = [_join(e) for e in _split_tokens(inner, ",")]
    body = "".join(f"\n{INDENT * (depth + 1)}{e}," for e in elements)
    after = _join(tokens[closing:])
    return f"{_join(tokens[: opening + 1])}{body}\n{INDENT * depth}{after}"


def _split_tokens(tokens: list[Token], value: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    for tok in tokens:
        if str(tok) == value and tok.type not in _STRINGS and parts[-1]:
            parts.append([])
        else:
            parts[-1].append(tok)
    return [p for p in parts if p]


def _ops(tokens: list[Token]) -> list[list[Token]]:
    """The operators of a chain (the tokens after `=`), split at the top-level `+`."""
    return _split_tokens(tokens, "+")


def _chain(kind: str, tokens: list[Token], depth: int) -> list[Line]:
    equals = _split_at(tokens, "=")
    head, body = tokens[:equals], tokens[equals + 1 :]
    loop: list[Token] = []
    if kind == "variant_family":
        at = max(i for i, t in enumerate(body) if str(t) == "for" and t.type not in _STRINGS)
        body, loop = body[:at], body[at:]
    ops = [_join(op) for op in _ops(body)]
    if kind == "perturbation":
        rest = [Line(depth + 1, ops[0])] + [Line(depth + 1, "+ " + op) for op in ops[1:]]
        return [Line(depth, _join(head) + " ="), *rest]
    flat = _join(tokens)
    first_line = len(INDENT * depth + flat.split("\n")[0])
    multiline_ops = len(ops) > 1 and any("\n" in op for op in ops)
    if first_line <= WIDTH and not multiline_ops:
        return [Line(depth, _join(head), "= " + _join(body + loop), "variant")]
    cont = ["+ " + op for op in ops[1:]] + (["  " + _join(loop)] if loop else [])
    return [Line(depth, _join(head), "= " + ops[0], "variant", cont=cont)]


# ------------------------------------------------------------------ rendering
def _render(lines: list[Line]) -> str:
    widths = _head_widths(lines)
    codes = []
    for line, width in zip(lines, widths, strict=True):
        if line.blank:
            codes.append("")
            continue
        pad = INDENT * line.indent
        code = f"{pad}{line.head.ljust(width)} {line.rest}" if line.rest else pad + line.head
        column = len(pad) + width + 1
        for cont in line.cont:
            code += "\n" + " " * column + cont
        codes.append(code)
    return "\n".join(_with_comments(lines, codes)).rstrip("\n")


def _head_widths(lines: list[Line]) -> list[int]:
    """Each line's head width: the widest head of its run of same-group lines."""
    widths = [len(line.head) for line in lines]
    i = 0
    while i < len(lines):
        j = i + 1
        key = (lines[i].group, lines[i].indent)
        while lines[i].group and j < len(lines) and (lines[j].group, lines[j].indent) == key:
            j += 1
        widest = max(widths[i:j])
        widths[i:j] = [widest] * (j - i)
        i = j
    return widths


def _with_comments(lines: list[Line], codes: list[str]) -> list[str]:
    """Append trailing comments, aligned across consecutive one-line statements."""
    out = list(codes)
    i = 0
    while i < len(lines):
        if lines[i].comment is None:
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].comment is not None and "\n" not in codes[j]:
            j += 1
        if j == i:  # a statement spanning lines: its comment follows its last line
            out[i] = f"{codes[i]}  {lines[i].comment}"
            i += 1
            continue
        column = max(len(codes[k]) for k in range(i, j)) + 2
        for k in range(i, j):
            out[k] = codes[k].ljust(column) + str(lines[k].comment)
        i = j
    return out
