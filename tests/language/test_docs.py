"""The examples in docs/language.md are valid syntax (the docs are the reference)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from afdsl.syntax import parse_text

DOC = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text(encoding="utf-8")
BLOCKS = [b for b in re.findall(r"```\n(.*?)```", DOC, re.S) if "{" in b or "=" in b]
OPERATORS = re.findall(r"^\| [^|]+ \| (`.+`) \|$", DOC, re.M)


def test_the_doc_has_code_blocks_to_check() -> None:
    # Without this, a change to the doc's fences would leave test_code_blocks_parse
    # with no cases, and pytest reports that as a skip, not a failure.
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[b.split()[0] for b in BLOCKS])
def test_code_blocks_parse(block: str) -> None:
    if block.lstrip().startswith("hypothesis NAME"):
        pytest.skip("a syntax template, not an example")
    parse_text(block, "docs.afs")


def test_every_operator_example_parses() -> None:
    examples = [e for cell in OPERATORS for e in re.findall(r"`([^`]+)`", cell)]
    ops = [e for e in examples if not e.startswith("measure")]
    assert len(ops) >= 12
    for op in ops:
        parse_text(f"experiment e {{\n  variant v = {op}\n}}\n", "docs.afs")
