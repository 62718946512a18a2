"""The `--csv` report: one row per stored sample, for R, pandas or a spreadsheet.

A plain RFC 4180 file (comma-separated, CRLF line ends, the header first, a field
quoted when it holds a comma, a quote or a line break), so
`pandas.read_csv(path)` and R's `read.csv(path)` read it with no options. Its
manifest is beside it, in `PATH.manifest.json`. Each measure gets a column
holding 1, 0, or nothing (unparseable, or no label because the call failed);
the `unparseable` column names the measures whose label could not be read. A
measure named like a fixed column (`status`, `sample`, `unparseable`, ...) gets
the column `NAME_measure`, so no header is written twice.

Text cells (model, variant, condition, query id) that a spreadsheet would run
as a formula (starting with `=`, `+`, `-`, `@`) get a leading `'`, as does one
starting with `'`; `afdsl.sanitize.from_csv` removes it again.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from afdsl.analysis import TestRecord
from afdsl.sanitize import for_csv

FIXED_COLUMNS = ("model", "variant", "condition", "query_id", "sample", "prompt_hash", "status")
RESERVED = {*FIXED_COLUMNS, "unparseable"}


def measure_column(name: str) -> str:
    """The CSV column of measure `name`: its name, unless a fixed column has it already
    (pandas would rename the second `status` to `status.1`, csv.DictReader keep only one)."""
    return f"{name}_measure" if name in RESERVED else name


def manifest_path(path: str | Path) -> Path:
    """Where the manifest of the CSV file `path` goes: `PATH.manifest.json`."""
    return Path(f"{path}.manifest.json")


def write_csv(outcome: TestRecord, path: str | Path) -> None:
    """Write every per-sample row of `outcome` to `path`, its manifest beside it."""
    measures = outcome.measures or sorted({k for row in outcome.samples for k in row.labels})
    manifest = json.dumps(outcome.manifest.model_dump(mode="json"), indent=2)
    manifest_path(path).write_text(manifest + "\n", encoding="utf-8")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)  # the `excel` dialect is RFC 4180
        writer.writerow([*FIXED_COLUMNS, *map(measure_column, measures), "unparseable"])
        for row in outcome.samples:
            labels = row.labels
            cells = ["" if labels.get(name) is None else str(labels[name]) for name in measures]
            bad = ";".join(name for name in measures if name in labels and labels[name] is None)
            writer.writerow(
                [
                    for_csv(row.model),
                    for_csv(row.variant),
                    for_csv(row.condition),
                    for_csv(row.query_id),  # ids come from data files: `=HYPERLINK(...)`
                    row.sample,
                    row.prompt_hash,
                    row.status,
                    *cells,
                    bad,
                ]
            )
