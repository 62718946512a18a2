"""Inspect AI eval logs in and out, through the `inspect_ai` package's own reader and
writer (the optional extra `afdsl[inspect]`); afdsl never parses their format itself.

In: an Inspect log's samples become replay transcripts (`replay:run.eval`), matched
to afdsl's cells by prompt hash (the sample's messages before the answer) or by the
metadata `variant`, `condition`, `query_id` and `sample` (defaults: the sample id as
the query id, the epoch minus one as the sample). Out: a stored run becomes one log
per model, which `inspect view` opens (`afdsl.report.inspect_export`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from afdsl.diagnostics import AfsError, Diagnostic


def require_inspect() -> None:
    """An AfsError saying how to install `inspect_ai` when it is missing."""
    try:
        import inspect_ai  # noqa: F401
    except ModuleNotFoundError:
        raise AfsError(
            Diagnostic(
                code="AFS080",
                message="reading or writing Inspect logs needs the `inspect_ai` package",
                hint="pip install 'afdsl[inspect]'",
            )
        ) from None


def is_inspect_log(path: Path) -> bool:
    """An Inspect log: a `.eval` file, or a `.json` file holding one log object (a JSONL
    transcript file named `.json` stays a transcript file)."""
    if path.suffix == ".eval":
        return True
    if path.suffix != ".json":
        return False
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and "eval" in document and "version" in document


def inspect_records(path: Path, fields: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The samples of an Inspect log as replay records (see `afdsl.models.replay`);
    `fields` names the metadata fields of variant, condition and query_id ("id" as
    query_id: the sample id)."""
    require_inspect()
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(str(path))
    except Exception as exc:  # any reader failure is a file the user must fix
        raise AfsError(
            Diagnostic(code="AFS081", message=f"cannot read Inspect log {path}: {exc}")
        ) from None
    fields = fields or {}
    samples = [s for s in log.samples or [] if s.output]
    return [_record(sample, log.eval.model, fields) for sample in samples]


# 1 == True == 1.0 and 0 == False == 0.0 as keys, so numbers and booleans both match.
_LABELS: dict[Any, int] = {"C": 1, "I": 0, 1: 1, 0: 0}


def inspect_labels(path: Path, scorer: str | None) -> list[dict[str, Any]]:
    """An Inspect log's samples as `afdsl analyze` records, `complied` from the values of
    `scorer` (default: the log's only scorer): 1/0, true/false or Inspect's C/I."""
    records = inspect_records(path)
    names = sorted({name for r in records for name in r["scores"]})
    if scorer is None and len(names) != 1:
        raise AfsError(
            Diagnostic(
                code="AFS082",
                message=f"{path} has {len(names)} scorers; name one with --scorer",
                hint="scorers: " + (", ".join(names) or "none"),
            )
        )
    name = scorer or names[0]
    out = []
    for number, record in enumerate(records, 1):
        value = record["scores"].get(name)
        if value not in _LABELS:
            raise AfsError(
                Diagnostic(
                    code="AFS082",
                    message=f"{path}: sample {number} ({record['query_id']}): scorer `{name}` "
                    f"gave {value!r}, not a label",
                    hint="labels are 1/0, true/false or C/I; scorers: " + ", ".join(names),
                )
            )
        cell = {k: record[k] for k in ("variant", "condition", "query_id", "sample")}
        out.append({"model": record["model_id"], **cell, "complied": _LABELS[value]})
    return out


def _record(sample: Any, model: str, fields: dict[str, str]) -> dict[str, Any]:
    metadata = dict(sample.metadata or {})
    metadata["id"] = metadata.get("id", sample.id)  # `query_id_field "id"`: the sample id
    messages = list(sample.messages or [])
    # The prompt is what comes before the first answer; several answers are the turns
    # of a conversation (a scenario with `continue`), replayed in order.
    first = next((i for i, m in enumerate(messages) if m.role == "assistant"), len(messages))
    replies = [m.text for m in messages[first:] if m.role == "assistant"]
    usage = sample.output.usage
    record: dict[str, Any] = {
        "text": sample.output.completion,
        "messages": [{"role": m.role, "content": m.text} for m in messages[:first]],
        "sample": int(metadata.get("sample", sample.epoch - 1)),
        "query_id": str(metadata.get(fields.get("query_id", "query_id"), sample.id)),
        "variant": str(metadata.get(fields.get("variant", "variant"), "base")),
        "condition": str(metadata.get(fields.get("condition", "condition"), "")),
        "model_id": sample.output.model or model,
        "input_tokens": usage.input_tokens if usage else 0,
        "output_tokens": usage.output_tokens if usage else 0,
        "scores": {name: score.value for name, score in (sample.scores or {}).items()},
    }
    if len(replies) > 1:
        record["turns"] = replies
    return record
