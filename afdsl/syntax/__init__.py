"""Parsing `.afs` text: grammar, syntax tree with spans, syntax diagnostics, includes."""

from __future__ import annotations

from afdsl.syntax._hypothesis import parse_hypothesis
from afdsl.syntax._loader import LoadedProgram, load_program
from afdsl.syntax._parser import get_parser, parse_text

__all__ = ["LoadedProgram", "get_parser", "load_program", "parse_hypothesis", "parse_text"]
