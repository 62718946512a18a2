"""Query datasets: formats, field mapping, limit, seeded sample, errors with file:line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from afdsl.check import check_file
from afdsl.datasets import inline_queries, read_queries
from afdsl.diagnostics import AfsError, Diagnostic

from .conftest import experiment


def jsonl(tmp_path: Path, rows: list[dict[str, object]], name: str = "q.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_error(path: Path, **options: Any) -> Diagnostic:
    """The first diagnostic `read_queries(path, **options)` raises (the test fails if none)."""
    with pytest.raises(AfsError) as info:
        read_queries(path, **options)
    return info.value.diagnostics[0]


def test_jsonl_with_extra_columns_as_slots(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"id": "a", "text": "Hello", "topic": "x"}])
    [query] = read_queries(path)
    assert (query.id, query.text, query.slots) == ("a", "Hello", {"topic": "x"})


def test_csv_with_mapped_fields(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('qid,prompt\n1,"Say, hi"\n2,Bye\n', encoding="utf-8")
    queries = read_queries(path, id_field="qid", text_field="prompt")
    assert [(q.id, q.text) for q in queries] == [("1", "Say, hi"), ("2", "Bye")]


def test_missing_text_field_reports_the_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"id": "a", "text": "x"}, {"id": "b", "prompt": "y"}])
    span = read_error(path).span
    assert span is not None and span.line == 2


def test_invalid_json_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n\n{"id": "b", text}\n', encoding="utf-8")
    span = read_error(path).span
    assert span is not None and span.line == 3


def test_duplicate_ids(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(AfsError, match="duplicate id"):
        read_queries(path)


def test_missing_ids_are_numbered(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"text": "x"}, {"text": "y"}])
    assert [q.id for q in read_queries(path)] == ["q1", "q2"]


def test_limit_keeps_the_first_rows(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"id": str(i), "text": "t"} for i in range(10)])
    assert [q.id for q in read_queries(path, limit=3)] == ["0", "1", "2"]


def test_sample_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"id": f"{i:02d}", "text": "t"} for i in range(50)])
    first = [q.id for q in read_queries(path, sample=10, seed=3)]
    again = [q.id for q in read_queries(path, sample=10, seed=3)]
    other = [q.id for q in read_queries(path, sample=10, seed=4)]
    assert first == again and first != other
    assert first == sorted(first) and len(set(first)) == 10


def test_inline_queries_numbering() -> None:
    assert [q.id for q in inline_queries(["a", "b"], first=3)] == ["q3", "q4"]


def test_dataset_error_inside_a_check_points_at_the_data_file(tmp_path: Path) -> None:
    from afdsl.check import check_file

    from .conftest import experiment

    jsonl(tmp_path, [{"id": "a", "text": "x"}, {"id": "b"}])
    main = tmp_path / "main.afs"
    main.write_text(experiment("", queries='"q.jsonl"'), encoding="utf-8")
    [diag] = [d for d in check_file(main).diagnostics if d.is_error]
    assert diag.span is not None and diag.span.path.endswith("q.jsonl")
    assert diag.span.line == 2


def test_dataset_columns_fill_template_slots(tmp_path: Path) -> None:
    from afdsl.check import load_experiment
    from afdsl.expand import expand

    from .conftest import SCENARIO

    jsonl(tmp_path, [{"id": "a", "text": "x", "tone": "calm"}])
    main = tmp_path / "main.afs"
    src = SCENARIO.replace("{query}</user_input>", "{query}</user_input> {tone}")
    src += 'experiment e {\n  base s\n  model sim:no_gap\n  queries "q.jsonl"\n}\n'
    main.write_text(src, encoding="utf-8")
    prompt = next(expand(load_experiment(main)))
    assert prompt.messages[0].content.endswith("</user_input> calm")


def test_csv_with_a_byte_order_mark_reads_its_first_column(tmp_path: Path) -> None:
    # Spreadsheet programs export "UTF-8 CSV" with a BOM before the first header.
    path = tmp_path / "q.csv"
    path.write_bytes("\ufeffqid,prompt\nb1,Hello\n".encode())
    [query] = read_queries(path, id_field="qid", text_field="prompt", id_required=True)
    assert (query.id, query.text) == ("b1", "Hello")


def test_file_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b"id,text\nc1,fine\nc2,caf\xe9 review\n")
    diag = read_error(path)
    assert diag.span is not None and diag.span.line == 3
    assert "UTF-8" in diag.message


def test_short_csv_row_is_reported_as_short(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("id,text\nd1\nd2,ok\n", encoding="utf-8")
    diag = read_error(path)
    assert diag.span is not None and diag.span.line == 2
    assert "fewer cells than the header" in diag.message


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_query_text_is_an_error(tmp_path: Path, text: str | None) -> None:
    path = jsonl(tmp_path, [{"id": "a", "text": "ok"}, {"id": "b", "text": text}])
    diag = read_error(path)
    assert diag.span is not None and diag.span.line == 2
    assert "empty" in diag.message


def test_missing_mapped_id_field_lists_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("qid,prompt\n1,Hi\n", encoding="utf-8")
    diag = read_error(path, id_field="qidd", text_field="prompt", id_required=True)
    assert "fields: prompt, qid" in diag.message
    assert diag.hint is not None and 'id "name"' in diag.hint


def test_sample_draws_from_an_inline_list(tmp_path: Path) -> None:
    from afdsl.check import load_experiment

    main = tmp_path / "main.afs"
    main.write_text(experiment("", queries='["a", "b", "c", "d", "e"] sample 2'), encoding="utf-8")
    ids = [q.id for q in load_experiment(main).queries]
    assert len(ids) == 2
    assert ids == sorted(ids) and set(ids) <= {"q1", "q2", "q3", "q4", "q5"}


@pytest.mark.parametrize("option", ["limit 0", "sample 0"])
def test_zero_queries_is_an_error_at_the_option(tmp_path: Path, option: str) -> None:
    main = tmp_path / "main.afs"
    main.write_text(experiment("", queries=f'["a", "b"] {option}'), encoding="utf-8")
    [diag] = [d for d in check_file(main).diagnostics if d.is_error]
    assert "at least 1" in diag.message
    # The caret is under the 0, the last character of the queries line.
    assert diag.span is not None and diag.span.col == len(f'  queries ["a", "b"] {option}')


def test_sample_larger_than_the_dataset_warns(tmp_path: Path) -> None:
    jsonl(tmp_path, [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}])
    main = tmp_path / "main.afs"
    main.write_text(experiment("", queries='"q.jsonl" sample 5'), encoding="utf-8")
    result = check_file(main)
    assert not [d for d in result.diagnostics if d.is_error]
    [warning] = [d for d in result.diagnostics if "sample 5" in d.message]
    assert "(2)" in warning.message


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_with_semicolons_or_tabs_between_cells(tmp_path: Path, sep: str) -> None:
    # A spreadsheet in a comma-decimal locale exports `;`: the header read as one
    # column named `id;text` and every row failed with "no `text` field".
    path = tmp_path / "q.csv"
    path.write_text(f"id{sep}text\na{sep}Say, hi\n", encoding="utf-8")
    [query] = read_queries(path)
    assert (query.id, query.text) == ("a", "Say, hi")


@pytest.mark.parametrize("row", ['{"id": null, "text": "x"}', '{"id": " ", "text": "x"}'])
def test_empty_id_is_an_error_at_its_line(tmp_path: Path, row: str) -> None:
    # A null id became the id `None`, and a second null one a "duplicate id `None`".
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n' + row + "\n", encoding="utf-8")
    diag = read_error(path)
    assert diag.message == "the `id` field is empty"
    assert diag.span is not None and diag.span.line == 2


def test_unreadable_data_is_the_only_error(tmp_path: Path) -> None:
    # A template slot naming a column of a data file that fails to read is not
    # also reported as an unknown slot.
    (tmp_path / "q.jsonl").write_text('{"id": "a", "text": "x", "topic": "t"},\n')
    src = experiment(
        '  variant v = user "{topic}: {query} {cue}"\n  hypothesis h: gap(v) < gap(base)',
        queries='"q.jsonl"',
    ).replace("{query}</user_input>", "{query} {topic}</user_input>")
    main = tmp_path / "main.afs"
    main.write_text(src, encoding="utf-8")
    found = [d for d in check_file(main).diagnostics if d.is_error]
    assert [d.message for d in found] == ["invalid JSON: Extra data"]


def test_a_unicode_line_separator_inside_a_query_stays_in_that_query(tmp_path: Path) -> None:
    # json.dumps(..., ensure_ascii=False) writes U+2028 and U+0085 raw; they end no line.
    texts = ["Roast my boss\u2028in two lines.", "Mock my\x85neighbour."]
    path = tmp_path / "q.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"q{i}", "text": t}, ensure_ascii=False) + "\r\n"
                for i, t in enumerate(texts)),
        encoding="utf-8",
    )  # fmt: skip
    assert [q.text for q in read_queries(path)] == texts


def test_a_quoted_csv_cell_keeps_its_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,text\nq1,"Line one\nline two"\nq2,"a\u2028b"\n', encoding="utf-8")
    assert [(q.id, q.text) for q in read_queries(path)] == [
        ("q1", "Line one\nline two"),
        ("q2", "a\u2028b"),
    ]
