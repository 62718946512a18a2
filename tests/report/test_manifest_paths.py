"""A manifest names its files the same way on every machine: no absolute path, no venv."""

from __future__ import annotations

import json
import re
from pathlib import Path

from afdsl.check import load_experiment
from afdsl.report import build_manifest

EXPERIMENT = """
use helpful_only

experiment located {
  base    helpful_only
  model   sim:opus_like
  queries "../data/q.jsonl"
  queries "more/q2.jsonl"
}
"""


def _experiment(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    (tmp_path / "study" / "more").mkdir(parents=True)
    (tmp_path / "data" / "q.jsonl").write_text('{"id": "a", "text": "Write a limerick."}\n')
    (tmp_path / "study" / "more" / "q2.jsonl").write_text('{"id": "b", "text": "Name a fish."}\n')
    afs = tmp_path / "study" / "located.afs"
    afs.write_text(EXPERIMENT, encoding="utf-8")
    return load_experiment(afs)


def test_paths_are_relative_to_the_afs_folder_and_shipped_files_named_by_package(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path / "..")  # the working directory does not matter
    experiment = _experiment(tmp_path)
    manifest = build_manifest(
        experiment, store_path="runs/x.sqlite", prompt_set="0" * 64, started_at="t"
    )
    paths = [f.path for f in manifest.source_files]
    assert paths[0] == "located.afs"
    assert "../data/q.jsonl" in paths and "more/q2.jsonl" in paths
    shipped = [p for p in paths if p.startswith("afdsl:")]
    assert "afdsl:scenarios/helpful_only.afs" in shipped
    assert all(f.sha256 for f in manifest.source_files)  # still hashed from the real files
    assert manifest.store_path == "runs/x.sqlite"  # as given


def test_no_absolute_or_site_packages_path_anywhere_in_the_manifest(tmp_path):
    manifest = build_manifest(
        _experiment(tmp_path), store_path="s.sqlite", prompt_set="0" * 64, started_at="t"
    )
    text = json.dumps(manifest.model_dump(mode="json"))
    assert str(tmp_path) not in text and "site-packages" not in text and ".venv" not in text
    assert all(re.fullmatch(r"[\w.+-]+|not installed", v) for v in manifest.packages.values())
