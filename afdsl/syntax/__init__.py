"""Parsing `.afs` text: grammar, syntax tree with spans, syntax diagnostics, includes.

`nodes` is the syntax tree (the checker and the perturbations read it); the
slot helpers find `{{name}}` placeholders in text the same way everywhere.
"""

from __future__ import annotations

from afdsl.syntax import _ast as nodes
from afdsl.syntax._hypothesis import (
    hypothesis_problems,
    parse_hypothesis,
    parse_option_hypothesis,
    to_hypothesis,
)
from afdsl.syntax._loader import (
    SECRET_CODE,
    LoadedProgram,
    builtin_names,
    display_path,
    load_builtin,
    load_program,
    read_source,
    resolve_use,
)
from afdsl.syntax._parser import get_parser, parse_text
from afdsl.syntax._slots import SLOT_PATTERN, find_slots, slot_names

__all__ = [
    "SECRET_CODE",
    "SLOT_PATTERN",
    "LoadedProgram",
    "builtin_names",
    "display_path",
    "find_slots",
    "get_parser",
    "hypothesis_problems",
    "load_builtin",
    "load_program",
    "nodes",
    "parse_hypothesis",
    "parse_option_hypothesis",
    "parse_text",
    "read_source",
    "resolve_use",
    "slot_names",
    "to_hypothesis",
]
