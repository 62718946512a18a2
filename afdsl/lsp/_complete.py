"""Completion: the keywords the grammar accepts at the cursor, and the names in scope.

The checker's own LALR parser is fed the text before the cursor; `accepts()` then
says which terminals could come next, so a keyword is offered only where it parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token
from lark.exceptions import LarkError

from afdsl.lsp._index import Index
from afdsl.syntax import builtin_names, get_parser

_WORD_BEFORE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# A file-level item starts at the beginning of a line (as `afdsl fmt` writes them).
_ITEM_START = re.compile(r"^(?:use|scenario|perturbation|experiment)\b", re.M)


@dataclass(frozen=True)
class Item:
    label: str
    kind: str  # "keyword" or the kind of definition (section, variant, ...)


def complete(text: str, offset: int, index: Index | None) -> list[Item]:
    """Completions at `offset` of `text` (the word being typed is not yet part of it)."""
    prefix = text[:offset]
    word = _WORD_BEFORE.search(prefix)
    if word is not None:
        prefix = prefix[: word.start()]
    parsed = _accepts(prefix)
    if parsed is None:  # a mistake earlier in the file: parse from the current item on
        starts = [m.start() for m in _ITEM_START.finditer(prefix)]
        parsed = _accepts(prefix[starts[-1] :]) if starts else None
    if parsed is None:
        return []
    tokens, accepted = parsed
    items = [Item(word, "keyword") for word in _keywords(accepted)]
    if "NAME" in accepted or "MODEL_SPEC" in accepted:
        items += _names(tokens, index)
    return items


def _accepts(prefix: str) -> tuple[list[Token], set[str]] | None:
    """The tokens of `prefix` and the terminals that may follow, or None when the text
    before the cursor does not parse (completion then offers nothing rather than noise)."""
    parser = get_parser()
    try:
        interactive: Any = parser.parse_interactive(prefix, start="start")
        tokens = list(interactive.iter_parse())
        return tokens, set(interactive.accepts())
    except LarkError:
        return None


def _keywords(accepted: set[str]) -> list[str]:
    parser = get_parser()
    words = []
    for name in accepted:
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isidentifier():
            words.append(pattern.value)
    return sorted(words)


# (the keywords just before the cursor) -> the kinds of name that can stand there
_CONTEXTS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("remove", "section"), ("section",)),
    (("swap", "section"), ("section",)),
    (("drop", "condition"), ("condition",)),
    (("gap", "("), ("variant",)),
    (("rate", "("), ("variant",)),
    (("apply",), ("variant", "perturbation")),
    (("cross",), ("variant", "perturbation")),
    (("effect", "("), ("variant", "perturbation")),
    (("interaction", "("), ("variant", "perturbation")),
    (("append",), ("section",)),
    (("prepend",), ("section",)),
    (("before",), ("section",)),
    (("after",), ("section",)),
    (("in",), ("section",)),
    (("set",), ("condition",)),
    (("base",), ("scenario",)),
    (("extends",), ("scenario",)),
    (("on",), ("measure",)),
    (("model",), ("judge",)),
]


def _names(tokens: list[Token], index: Index | None) -> list[Item]:
    values = [str(t) for t in tokens]
    if values[-1:] == ["use"]:
        return [Item(name, "file") for name in builtin_names()]
    if len(values) >= 4 and values[-4:-2] == ["rate", "("] and values[-1] == ",":
        kinds: tuple[str, ...] = ("condition",)
    else:
        kinds = next((k for words, k in _CONTEXTS if tuple(values[-len(words) :]) == words), ())
    if index is None or not kinds:
        return []
    seen: dict[str, Item] = {}
    for symbol in index.names(kinds):
        if symbol.name.isidentifier():  # not a judge written as a bare spec
            seen.setdefault(symbol.name, Item(symbol.name, symbol.kind))
    if kinds == ("variant",):  # gap(base), rate(base, ...)
        seen["base"] = Item("base", "variant")
    return sorted(seen.values(), key=lambda item: item.label)
