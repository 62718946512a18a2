"""The `--labels` export: the stored labels of one measure as `afdsl analyze` reads them.

One JSON object per labelled sample (`model`, `variant`, `condition`,
`query_id`, `sample`, `complied`), exactly the records the report's own
analysis used: answered calls with a readable label. Unparseable labels and
failed calls are left out, as the statistics leave them out, so `afdsl
analyze` on the file reproduces the report's gaps and contrasts.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import JsonValue

from afdsl.analysis import TestRecord
from afdsl.diagnostics import error, suggest


def check_measure(measure: str, measures: list[str]) -> None:
    """Raise `AfsError` when `measure` is not one of the experiment's `measures`."""
    if measure not in measures:
        raise error(
            f"--labels-measure {measure}: the experiment has no measure `{measure}`",
            hint=suggest(measure, measures, "measures"),
        )


def label_records(outcome: TestRecord, measure: str | None = None) -> list[dict[str, JsonValue]]:
    """The labelled samples of `measure` (default: the compliance measure) in report order.

    Needs `outcome.samples` (an outcome built with `samples=True`). Rows come
    in the order of the report: models and variants as the file declares
    them, then condition, query and sample.
    """
    name = measure or outcome.compliance_measure
    check_measure(name, outcome.measures or [outcome.compliance_measure])
    rank = {(c.model, c.variant): i for i, c in enumerate(outcome.counts)}
    rows = [r for r in outcome.samples if r.status == "ok" and r.labels.get(name) is not None]
    rows.sort(
        key=lambda r: (rank.get((r.model, r.variant), len(rank)), r.condition, r.query_id, r.sample)
    )
    return [
        {
            "model": r.model,
            "variant": r.variant,
            "condition": r.condition,
            "query_id": r.query_id,
            "sample": r.sample,
            "complied": r.labels[name],
        }
        for r in rows
    ]


def write_labels(outcome: TestRecord, path: str | Path, measure: str | None = None) -> int:
    """Write `label_records(outcome, measure)` to `path` as JSONL; return how many."""
    records = label_records(outcome, measure)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
