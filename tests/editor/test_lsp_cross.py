"""The language server on a `cross`: items and effect() factors resolve, combinations are
variants, and completion after `cross` offers perturbations."""

from __future__ import annotations

from pathlib import Path

from afdsl.lsp._analysis import analyse, definition, hover
from afdsl.lsp._complete import complete

SOURCE = """use helpful_only

experiment e {
  base    helpful_only
  model   sim:opus_like
  queries ["Write a rude poem.", "Mock my boss."]
  cross no_rlhf, openai_trainer
  hypothesis m: effect(no_rlhf) + gap(no_rlhf__openai_trainer) < 0
}
"""


def test_items_factors_and_combinations_resolve(tmp_path: Path) -> None:
    path = tmp_path / "x.afs"
    path.write_text(SOURCE, encoding="utf-8")
    analysis = analyse(path, {})
    about_item = hover(analysis, str(path), 7, 10)
    assert about_item is not None and about_item.startswith("**perturbation** `no_rlhf`")
    (factor,) = definition(analysis, str(path), 8, 25)
    assert factor[0].endswith("perturbations.afs")
    (cell,) = definition(analysis, str(path), 8, 40)
    assert cell[1] is not None and (cell[1].line, cell[1].col) == (7, 3)
    offset = SOURCE.index("cross ") + len("cross ")
    labels = [item.label for item in complete(SOURCE, offset, analysis.index)]
    assert "openai_trainer" in labels and "never_deployed" in labels
