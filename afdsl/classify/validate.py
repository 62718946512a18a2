"""`afdsl validate`: how well a measure agrees with human labels.

Each record of a labels file is `{"text": <a full response>, "label": 0|1}`
(extra fields allowed; `query` or `request`, if present, is shown to
compliance judges). Every record is scored with the measure; AUROC is over
the continuous score (judge score, vote fraction, keyword fraction), the
other metrics over the measure's own labels at its threshold. Unparseable
records are counted and listed, and left out of the metrics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from afdsl.classify.measures import measure_spec
from afdsl.classify.metrics import Confusion, RocPoint, auroc, confusion, roc_points
from afdsl.classify.models import Score
from afdsl.classify.score import Target, plan_score, run_judges, score_texts
from afdsl.diagnostics import Span, error
from afdsl.inputs import MAX_DATA_BYTES, InputError, decode_utf8, parse_json_line, read_input
from afdsl.ir import Measure
from afdsl.jsonl import json_lines
from afdsl.redact import secret_in, secret_values

if TYPE_CHECKING:
    from afdsl.run import RunOptions, RunSummary
    from afdsl.store import Store


class LabelledRecord(BaseModel):
    index: int  # 0-based position in the file
    line: int
    text: str
    label: int
    request: str = ""


class RecordResult(BaseModel):
    index: int
    score: float | None
    predicted: int | None  # None: unparseable
    label: int
    reason: str | None = None  # why it was unparseable


class ValidationResult(BaseModel):
    """The `afdsl validate --json` document."""

    measure: str
    kind: str
    labels_file: str = ""
    n: int
    unparseable: int
    pending: int = 0  # judge calls that failed: neither scored nor unparseable
    auroc: float | None
    accuracy: float | None
    precision: float | None
    recall: float | None
    threshold: float
    confusion: Confusion
    roc: list[RocPoint] = Field(default_factory=list)
    records: list[RecordResult] = Field(default_factory=list)
    judge_cost_usd: float = 0.0


def _bad(path: str, line: int, message: str) -> Exception:
    return error(
        message,
        span=Span(path=path, line=line, col=1),
        hint='each line must be a JSON object like {"text": "<full response>", "label": 0}',
    )


def load_labelled(path: str | Path) -> list[LabelledRecord]:
    """Read a labels JSONL file; blank lines are skipped, anything else wrong names its line."""
    shown = str(path)
    try:
        # decode_utf8 drops the byte-order mark Excel or Windows editors start files with.
        content = decode_utf8(read_input(Path(path), MAX_DATA_BYTES))
    except InputError as exc:
        if exc.line is not None:
            raise _bad(shown, exc.line, exc.message) from None
        raise error(f"cannot read labels file {shown}: {exc.message}") from None
    records: list[LabelledRecord] = []
    secrets = secret_values()
    for number, raw in json_lines(content):
        secret = secret_in(raw, secrets)
        if secret is not None:  # the record's text would be sent to the judge
            raise _bad(shown, number, f"this record holds the value of ${secret}, a key")
        try:
            doc = parse_json_line(raw)
        except InputError as exc:
            message = exc.message.replace("invalid JSON", "not valid JSON")
            raise _bad(shown, number, message) from None
        if not isinstance(doc, dict):
            raise _bad(shown, number, "a record must be a JSON object")
        text = doc.get("text")
        if not isinstance(text, str):
            raise _bad(shown, number, 'the record has no "text" string')
        label = doc.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            raise _bad(shown, number, f'"label" must be 0 or 1, got {json.dumps(label)}')
        request = doc.get("query", doc.get("request", ""))
        records.append(
            LabelledRecord(
                index=len(records),
                line=number,
                text=text,
                label=int(label),
                request=request if isinstance(request, str) else "",
            )
        )
    if not records:
        raise error(f"labels file {shown} has no records")
    return records


def _targets(measure: Measure, records: list[LabelledRecord]) -> list[Target]:
    return [
        Target(text=r.text, request=r.request, variant=measure.name, query_id=f"record{r.index}")
        for r in records
    ]


def estimate_validation(
    measure: Measure,
    records: list[LabelledRecord],
    *,
    store: Store,
    options: RunOptions,
    seed: int = 0,
) -> RunSummary | None:
    """The judge calls validation would make, sending nothing (`options.dry_run` must be set)."""
    if not options.dry_run:
        raise ValueError("estimate_validation needs options.dry_run")
    plans = [plan_score(measure, t, seed=seed) for t in _targets(measure, records)]
    return run_judges(plans, store, options)


def _record_result(record: LabelledRecord, score: Score | None) -> RecordResult:
    """One record's prediction next to its human label; no score means the judge call failed."""
    if score is None:
        return RecordResult(
            index=record.index,
            score=None,
            predicted=None,
            label=record.label,
            reason="judge call failed",
        )
    return RecordResult(
        index=record.index,
        score=score.score,
        predicted=score.label,
        label=record.label,
        reason=score.detail.get("reason") if score.label is None else None,
    )


def validate_measure(
    measure: Measure,
    records: list[LabelledRecord],
    *,
    store: Store | None = None,
    options: RunOptions | None = None,
    seed: int = 0,
    labels_file: str = "",
) -> ValidationResult:
    """Score every record with `measure` and compare with the human labels."""
    spec = measure_spec(measure)
    targets = _targets(measure, records)
    scores, run = score_texts(measure, targets, store=store, options=options, seed=seed)
    results = [_record_result(r, s) for r, s in zip(records, scores, strict=True)]
    pending = sum(1 for s in scores if s is None)
    scored = [r for r in results if r.predicted is not None and r.score is not None]
    truth = [r.label for r in scored]
    matrix = confusion([r.predicted or 0 for r in scored], truth)
    values = [r.score or 0.0 for r in scored]
    return ValidationResult(
        measure=measure.name,
        kind=measure.kind,
        labels_file=labels_file,
        n=len(records),
        unparseable=len(records) - len(scored) - pending,
        pending=pending,
        auroc=auroc(values, truth),
        accuracy=matrix.accuracy(),
        precision=matrix.precision(),
        recall=matrix.recall(),
        threshold=spec.threshold,
        confusion=matrix,
        roc=roc_points(values, truth),
        records=results,
        judge_cost_usd=run.cost_usd if run is not None else 0.0,
    )
