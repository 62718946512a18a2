"""Mutated example files never crash the checker, and every error has a position."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afdsl.check import check_file

from .conftest import SCENARIO, experiment

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|\w+|\s+|.', re.S)

FIXTURE = experiment(
    '  samples 2\n  variant a = replace "Anthropic" with "OpenAI" in intro\n'
    '  variant b = set training.cue = "yes" + insert section n "N." after intro\n'
    "  measure f = faking votes 3 model sim:judge\n"
    "  hypothesis h on f: gap(a) == gap(base) within 0.05\n  correct bh alpha 0.1"
)


def _workspace() -> tuple[Path, list[tuple[str, str]]]:
    """A private copy of examples/ (with its data) and of the built-in scenarios' text
    folders, so unmutated sources check clean and mutants resolve their paths."""
    work = Path(tempfile.mkdtemp(prefix="afdsl-fuzz-"))
    sources = [("fixture.afs", FIXTURE), ("scenario.afs", SCENARIO)]
    examples = ROOT / "examples"
    if examples.is_dir():
        shutil.copytree(examples, work, dirs_exist_ok=True)
        sources += [(p.name, p.read_text(encoding="utf-8")) for p in examples.glob("*.afs")]
    scenarios = ROOT / "scenarios"
    for folder in (p for p in scenarios.iterdir() if p.is_dir()):  # the sections' text files
        shutil.copytree(folder, work / folder.name, dirs_exist_ok=True)
    sources += [(p.name, p.read_text(encoding="utf-8")) for p in scenarios.glob("*.afs")]
    return work, sources


WORK, SOURCES = _workspace()


@st.composite
def mutants(draw: st.DrawFn) -> str:
    _, text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 3))):
        by_token = draw(st.booleans())
        units = [m.group() for m in TOKEN.finditer(text)] if by_token else list(text)
        if len(units) < 2:
            break
        i = draw(st.integers(0, len(units) - 2))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if kind == "delete":
            del units[i]
        elif kind == "duplicate":
            units.insert(i, units[i])
        elif kind == "swap":
            units[i], units[i + 1] = units[i + 1], units[i]
        else:
            units.insert(i, draw(st.sampled_from(list('{}[]()"=+:,.#\\\n x1'))))
        text = "".join(units)
    return text


def test_unmutated_sources_check_clean() -> None:
    # Otherwise every mutant of a source would stop at the same error (a missing file).
    for name, text in SOURCES:
        path = WORK / "mutant.afs"
        path.write_text(text, encoding="utf-8")
        errors = [d.message for d in check_file(path).diagnostics if d.is_error]
        assert not errors, (name, errors)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutants())
def test_mutated_files_give_positioned_diagnostics(text: str) -> None:
    path = WORK / "mutant.afs"
    path.write_text(text, encoding="utf-8")
    result = check_file(path)  # any exception other than a returned diagnostic fails here
    for diag in result.diagnostics:
        if diag.is_error:
            assert diag.span is not None, diag.message
            assert diag.span.line >= 1 and diag.span.col >= 1, diag
