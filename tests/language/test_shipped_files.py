"""Every built-in scenario, library and example file checks clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from afdsl.check import check_file
from afdsl.diagnostics import render
from afdsl.expand import count

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "scenarios").glob("*.afs")) + sorted((ROOT / "examples").glob("*.afs"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_checks_clean(path: Path) -> None:
    result = check_file(path, strict=True)
    assert result.ok, render(result.diagnostics, result.sources)


def test_demo_example_compiles_to_prompts() -> None:
    result = check_file(ROOT / "examples" / "motivations.afs")
    assert result.experiment is not None
    assert len(result.experiment.variants) >= 5  # base and at least 4 variants
    assert count(result.experiment) > 0


@pytest.mark.parametrize("scenario", ["helpful_only", "animal_welfare"])
def test_every_library_perturbation_changes_a_builtin_scenario(
    scenario: str, tmp_path: Path
) -> None:
    from afdsl.perturb import library

    # The library marks perturbations that only fit one setting in their description.
    names = [
        name
        for name, description in library()
        if not ("only)" in description and f"{scenario} only" not in description)
    ]
    assert len(names) >= 10
    lines = "\n".join(f"  variant v_{n} = apply {n}" for n in names)
    src = (
        f"use {scenario}\nexperiment e {{\n  base {scenario}\n  model sim:no_gap\n"
        f'  queries ["q"]\n{lines}\n}}\n'
    )
    path = tmp_path / "all.afs"
    path.write_text(src, encoding="utf-8")
    result = check_file(path)
    assert result.ok, render(result.diagnostics, result.sources)
