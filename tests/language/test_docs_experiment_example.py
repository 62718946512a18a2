"""The experiment example of docs/language.md checks clean (QA: it named a missing variant)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from afdsl.check import check_file

ROOT = Path(__file__).resolve().parents[2]


def _example() -> str:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    block = re.search(r"^experiment motivations \{.*?^\}", text, re.S | re.M)
    assert block is not None
    # The doc shows three ways to name a model; keep only the block form.
    lines = [
        line
        for line in block.group(0).splitlines()
        if not re.match(r"\s*models?\s+(\[|sim:)", line)
    ]
    return "use helpful_only\n" + "\n".join(lines) + "\n"


def test_language_reference_experiment_checks_clean(tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    shutil.copy(ROOT / "examples" / "queries" / "demo.jsonl", tmp_path / "queries" / "demo.jsonl")
    (tmp_path / "data.csv").write_text("qid,prompt\nc1,Write a rude note.\n", encoding="utf-8")
    path = tmp_path / "example.afs"
    path.write_text(_example(), encoding="utf-8")
    result = check_file(path)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors == []
    assert result.experiment is not None
    assert {v.name for v in result.experiment.variants} >= {"no_rlhf", "other_lab", "both"}
