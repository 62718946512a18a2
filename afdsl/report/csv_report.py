"""The `--csv` report: one row per stored sample, for R or pandas.

The first line is `# manifest: {json}` so the file carries its provenance;
read it with `pandas.read_csv(path, comment="#")` or
`read.csv(path, comment.char = "#")`. Each measure gets a column holding 1, 0,
or nothing (unparseable, or no label because the call failed); the
`unparseable` column names the measures whose label could not be read. A
measure named like a fixed column (`status`, `sample`, `unparseable`, ...) gets
the column `NAME_measure`, so no header is written twice.
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


def write_csv(outcome: TestRecord, path: str | Path) -> None:
    """Write every per-sample row of `outcome` to `path`."""
    measures = outcome.measures or sorted({k for row in outcome.samples for k in row.labels})
    with open(path, "w", newline="", encoding="utf-8") as handle:
        manifest = json.dumps(outcome.manifest.model_dump(mode="json"), separators=(",", ":"))
        handle.write(f"# manifest: {manifest}\n")
        writer = csv.writer(handle)
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
