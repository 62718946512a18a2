"""The editor completes a model's short name after `@` in a hypothesis."""

from __future__ import annotations

from pathlib import Path

from afdsl.lsp._complete import complete
from afdsl.lsp._index import build_index
from afdsl.syntax import load_program

SOURCE = """use helpful_only

experiment e {
  base helpful_only
  models [sim:opus_like, anthropic:claude-3-opus-20240229]
  model weak { spec "sim:sonnet_like" }
  queries ["a"]
  hypothesis h: gap(base @ opus_like) > gap(base @ weak)
}
"""


def test_after_an_at_sign_the_models_short_names_are_offered(tmp_path: Path) -> None:
    path = tmp_path / "e.afs"
    path.write_text(SOURCE, encoding="utf-8")
    index = build_index(load_program(path))  # the last version that parsed
    typing = SOURCE.replace("@ weak)", "@ ")
    items = complete(typing, typing.index("@ \n") + 2, index)
    assert [(i.label, i.kind) for i in items] == [
        ("claude_3_opus", "model"),
        ("opus_like", "model"),
        ("weak", "model"),
    ]
