"""The CSV report is a plain RFC 4180 file: hostile ids and names come back unchanged.

Ids come from users' data files, so they may hold anything a CSV reader trips on:
`#` (a comment character to `comment="#"`), commas, quotes, line breaks, and the
leading `=`, `+`, `-`, `@` that spreadsheets run as formulas (written with a
leading `'`, which `from_csv` removes).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from afdsl.report import SampleRow, write_csv
from afdsl.sanitize import from_csv

HOSTILE_IDS = [
    "hb#1",
    "hb#2",
    "#starts",
    "a,b",
    'say "hi"',
    '"',
    "two\nlines",
    "cr\r\nlf",
    "=HYPERLINK(1)",
    "+1",
    "-2",
    "@SUM(A1)",
    "'quoted",
    "NA",
    "null",
    "  spaced  ",
    "ünï ☃",
]
FORMULA_LIKE = ("=", "+", "-", "@", "'")


def _write(make_outcome, tmp_path: Path) -> tuple[Path, list[SampleRow]]:
    outcome = make_outcome()
    rows = [
        SampleRow(
            "sim:opus_like", "va,r#1", "training", qid, i % 2, f"h{i}", "ok", {"compliance": i % 2}
        )
        for i, qid in enumerate(HOSTILE_IDS)
    ]
    rows.append(
        SampleRow("sim:opus_like", "base", "deployment", "q#9", 0, "hz", "ok", {"compliance": None})
    )
    outcome.samples = rows
    path = tmp_path / "r.csv"
    write_csv(outcome, path)
    return path, rows


def test_csv_module_reads_every_hostile_id_back(make_outcome, tmp_path):
    path, rows = _write(make_outcome, tmp_path)
    with path.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == len(rows)
    assert [from_csv(r["query_id"]) for r in read] == [r.query_id for r in rows]
    assert all(r["variant"] == "va,r#1" for r in read[:-1])
    for r in read:  # a formula-like cell is text to a spreadsheet
        original = from_csv(r["query_id"])
        assert r["query_id"] == ("'" + original if original.startswith(FORMULA_LIKE) else original)


def test_pandas_reads_the_file_plainly(make_outcome, tmp_path):
    path, rows = _write(make_outcome, tmp_path)
    frame = pd.read_csv(path)  # no comment=, no skiprows: the header is the first line
    assert frame.shape == (len(rows), 9)
    assert list(frame.columns[:4]) == ["model", "variant", "condition", "query_id"]
    assert frame["compliance"].tolist()[:2] == [0, 1] and pd.isna(frame["compliance"].iloc[-1])
    assert frame["unparseable"].iloc[-1] == "compliance"

    # Ids as text, exactly: only empty cells are missing values (an id "NA" stays "NA").
    text = pd.read_csv(path, dtype={"query_id": str}, keep_default_na=False, na_values=[""])
    assert [from_csv(v) for v in text["query_id"]] == [r.query_id for r in rows]


def test_manifest_is_beside_the_csv(make_outcome, tmp_path):
    path, _ = _write(make_outcome, tmp_path)
    manifest = json.loads((tmp_path / "r.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["experiment"] == "demo" and manifest["seed"] == 7
    assert path.read_bytes().startswith(b"model,variant,")
    assert b"\r\n" in path.read_bytes()  # RFC 4180 line ends
