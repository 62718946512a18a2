"""Query datasets: JSONL or CSV files with an id and a text field, or inline lists.

Errors point at the data file's line, so a broken row is easy to find.
Extra columns become `Query.slots`, usable as `{column}` in the user template.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

from afdsl import ir
from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.inputs import MAX_DATA_BYTES, InputError, decode_utf8, parse_json_line, read_input
from afdsl.jsonl import json_lines
from afdsl.redact import secret_in, secret_values
from afdsl.sanitize import has_controls


def _error(
    path: str, line: int, message: str, hint: str | None = None, col: int | None = None
) -> Diagnostic:
    return Diagnostic(
        code="AFS020", message=message, span=Span(path=path, line=line, col=col or 1), hint=hint
    )


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _rows_jsonl(text: str, shown: str) -> list[tuple[int, dict[str, object]]]:
    rows = []
    for number, line in json_lines(text):
        try:
            row = parse_json_line(line)
        except InputError as exc:
            raise AfsError(_error(shown, number, exc.message, col=exc.col)) from None
        if not isinstance(row, dict):
            raise AfsError(_error(shown, number, "each line must be a JSON object"))
        rows.append((number, row))
    return rows


def _delimiter(text: str) -> str:
    """`,` unless the header row has none but has `;` or a tab: spreadsheets set to a
    locale whose decimal mark is a comma export CSV with `;` between cells."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    return next((d for d in (";", "\t") if d in header), ",")


def _rows_csv(text: str, shown: str) -> list[tuple[int, dict[str, object]]]:
    # A file object, not a list of lines: a quoted cell may hold line breaks.
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    rows: list[tuple[int, dict[str, object]]] = []
    try:
        for row in reader:
            if None in row:
                raise AfsError(
                    _error(shown, reader.line_num, "this row has more cells than the header")
                )
            short = [k for k, v in row.items() if v is None]
            if short:
                # A short row would otherwise read as a missing field with a misleading hint.
                raise AfsError(
                    _error(
                        shown,
                        reader.line_num,
                        f"this row has fewer cells than the header (no `{short[0]}`)",
                        hint="give every row one cell per header column (an empty cell is `,,`)",
                    )
                )
            rows.append((reader.line_num, dict(row)))
    except csv.Error as exc:
        raise AfsError(_error(shown, reader.line_num, f"invalid CSV: {exc}")) from None
    return rows


def read_queries(
    path: Path,
    *,
    shown: str | None = None,
    id_field: str = "id",
    text_field: str = "text",
    id_required: bool = False,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> list[ir.Query]:
    """Read queries from JSONL (`.jsonl`) or CSV (`.csv`); raises AfsError with file:line.

    Without an id field every row gets `q<row number>` (unless `id_required`).
    `limit N` keeps the first N rows; `sample N` then draws N rows with `seed`,
    keeping file order.
    """
    shown = shown or str(path)
    rows = _read_rows(path, shown)
    queries: list[ir.Query] = []
    seen: dict[str, int] = {}
    secrets = secret_values()
    for index, (line, row) in enumerate(rows, start=1):
        if text_field not in row:
            raise AfsError(_missing_field(shown, line, row, text_field, "text"))
        if row[text_field] is None or not _as_text(row[text_field]).strip():
            raise AfsError(_error(shown, line, f"the `{text_field}` field is empty"))
        if id_field in row:
            qid = _row_id(shown, line, row[id_field], id_field)
        elif id_required:
            raise AfsError(_missing_field(shown, line, row, id_field, "id"))
        else:
            qid = f"q{index}"
        if qid in seen:
            raise AfsError(_error(shown, line, f"duplicate id `{qid}` (first on line {seen[qid]})"))
        seen[qid] = line
        slots = {k: _as_text(v) for k, v in row.items() if k not in (id_field, text_field)}
        _refuse_secret(shown, line, [_as_text(row[text_field]), *slots.values()], secrets)
        queries.append(ir.Query(id=qid, text=_as_text(row[text_field]), slots=slots))
    return select_queries(queries, limit=limit, sample=sample, seed=seed)


def _row_id(shown: str, line: int, value: object, id_field: str) -> str:
    """A row's id as text; empty, or holding a control character, is an error. Ids are
    printed and written everywhere: an escape sequence in one would reach every terminal
    and file that shows it."""
    qid = "" if value is None else _as_text(value).strip()
    if not qid:
        raise AfsError(_error(shown, line, f"the `{id_field}` field is empty"))
    if has_controls(qid):
        raise AfsError(_error(shown, line, f"the `{id_field}` holds a control character"))
    return qid


def _refuse_secret(shown: str, line: int, texts: list[str], secrets: dict[str, str]) -> None:
    """A row whose text holds a key's value would send the key to the model: refused."""
    secret = secret_in("\n".join(texts), secrets)
    if secret is not None:
        raise AfsError(
            _error(
                shown,
                line,
                f"this row holds the value of ${secret}, a key: it would be sent to the "
                "model and saved with the results",
                hint="remove the key from the file; afdsl reads keys from the environment only",
            )
        )


def _read_rows(path: Path, shown: str) -> list[tuple[int, dict[str, object]]]:
    """The file's rows with their line numbers; at least one, or AfsError."""
    try:
        # decode_utf8 drops the byte-order mark spreadsheet programs start a CSV export with.
        text = decode_utf8(read_input(path, MAX_DATA_BYTES))
    except InputError as exc:
        if exc.line is None:
            raise AfsError(Diagnostic(code="AFS020", message=f"{shown} {exc.message}")) from None
        raise AfsError(
            _error(shown, exc.line, exc.message, hint="save the file as UTF-8", col=exc.col)
        ) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _rows_csv(text, shown)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _rows_jsonl(text, shown)
    else:
        raise AfsError(
            Diagnostic(
                code="AFS021",
                message=f"unknown dataset format `{suffix or path.name}`",
                hint="use a .jsonl or .csv file",
            )
        )
    if not rows:
        raise AfsError(_error(shown, 1, "the dataset has no rows"))
    return rows


def _missing_field(
    shown: str, line: int, row: dict[str, object], field: str, option: str
) -> Diagnostic:
    """A row without `field`, listing the fields it has and the .afs option that maps one."""
    fields = ", ".join(sorted(row)) or "none"
    return _error(
        shown,
        line,
        f"row has no `{field}` field (fields: {fields})",
        hint=f'map the field with `{option} "name"` after the file name',
    )


def select_queries(
    queries: list[ir.Query], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[ir.Query]:
    """`limit N` keeps the first N queries; `sample N` then draws N of them with `seed`,
    keeping their order (all of them when there are no more than N)."""
    if limit is not None:
        queries = queries[:limit]
    if sample is not None and sample < len(queries):
        keep = set(random.Random(seed).sample(range(len(queries)), sample))
        queries = [q for i, q in enumerate(queries) if i in keep]
    return queries


def inline_queries(texts: list[str], *, first: int = 1) -> list[ir.Query]:
    """Queries written in the .afs file, with ids q<first>, q<first+1>, ..."""
    return [ir.Query(id=f"q{first + i}", text=t) for i, t in enumerate(texts)]
