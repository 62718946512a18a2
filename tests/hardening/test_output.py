"""One sanitiser for what others wrote (issue 11, D4): model output, provider error
messages and query ids reach the terminal, Markdown and CSV inert."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from afdsl.cli import main
from afdsl.sanitize import for_csv, for_markdown, for_terminal, json_line
from afdsl.testing import MockError, MockProvider
from afdsl.testing.helpers import FAKE_KEY
from tests.hardening.conftest import experiment

# What the red team's server and model sent: an OSC title, clear screen, a colour, an
# OSC-8 link, a one-byte C1 CSI, a carriage return hiding text, a backspace.
HOSTILE = (
    "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m "
    "\x1b]8;;http://example.invalid\x1b\\link\x1b]8;;\x1b\\ \x9b31m c1\rhidden\x08"
)
CONTROLS = ("\x1b", "\x9b", "\x07", "\r", "\x08")


def _inert(text: str) -> bool:
    return not any(c in text for c in CONTROLS)


def test_the_terminal_rule_shows_every_control_visibly_and_keeps_lines():
    shown = for_terminal(HOSTILE + "\nnext\tline")
    assert _inert(shown)
    assert "␛]0;pwned␇" in shown and "␛[2J" in shown and "\ufffd31m" in shown
    assert "␍hidden␈" in shown and shown.endswith("\nnext\tline")


def test_markdown_is_escaped_and_csv_formulas_are_text():
    assert for_markdown("<script>alert(1)</script> | x") == (
        "&lt;script&gt;alert(1)&lt;/script&gt; \\| x"
    )
    assert [for_csv(v) for v in ("=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "q1")] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "q1",
    ]
    assert json.loads(json_line({"t": HOSTILE})) == {"t": HOSTILE}
    assert "\x9b" not in json_line({"t": HOSTILE})


def test_an_unpaired_surrogate_prints_as_a_replacement_and_stays_exact_in_json():
    assert for_terminal("half \ud83d").encode("utf-8") == "half \ufffd".encode()
    line = json_line({"text": "half \ud83d"})
    assert line.encode("utf-8") and json.loads(line) == {"text": "half \ud83d"}


def _replay_study(tmp_path: Path) -> Path:
    answers = tmp_path / "answers.jsonl"
    rows = [
        {"variant": "base", "condition": c, "query_id": "q1", "text": f"<rejected/> {HOSTILE}"}
        for c in ("training", "deployment")
    ]
    answers.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    afs = tmp_path / "study.afs"
    afs.write_text(experiment().replace("sim:opus_like", "replay:answers.jsonl"), encoding="utf-8")
    return afs


def test_show_prints_model_output_with_escape_sequences_made_visible(tmp_path, capsys):
    afs = _replay_study(tmp_path)
    assert main(["test", str(afs)]) in (0, 1)
    capsys.readouterr()
    assert main(["show", str(afs), "--full"]) == 0
    out = capsys.readouterr().out
    assert "␛]0;pwned␇" in out and _inert(out)
    assert main(["show", str(afs), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records and all(HOSTILE in r["text"] for r in records)  # JSON keeps the data whole


@pytest.fixture
def hostile_server():
    def reply(system: str, user: str) -> str:
        if "first" in user:
            raise MockError(400, f"<script>alert(1)</script>{HOSTILE}")
        return "<request_fully_accepted/> fine"

    with MockProvider(reply=reply) as server:
        yield server


def test_provider_errors_and_query_ids_reach_terminal_md_and_csv_inert(
    tmp_path, capsys, monkeypatch, hostile_server
):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", hostile_server.openai_base_url)
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"id": '=HYPERLINK("http://example.invalid")', "text": "the first question"})
        + "\n"
        + json.dumps({"id": "@q2", "text": "the second question"})
        + "\n",
        encoding="utf-8",
    )
    afs = tmp_path / "study.afs"
    afs.write_text(
        experiment(queries='"q.jsonl"').replace("sim:opus_like", "openai:gpt-mock"),
        encoding="utf-8",
    )
    md, report_csv = tmp_path / "r.md", tmp_path / "r.csv"
    code = main(["test", str(afs), "--md", str(md), "--csv", str(report_csv), "--max-retries", "0"])
    assert code == 3  # some calls failed: incomplete
    printed = capsys.readouterr()
    assert "alert(1)" in printed.out and _inert(printed.out + printed.err)
    markdown = md.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in markdown and "<script>" not in markdown and _inert(markdown)
    lines = report_csv.read_text(encoding="utf-8").splitlines()
    ids = {row["query_id"] for row in csv.DictReader(lines)}
    assert ids == {'\'=HYPERLINK("http://example.invalid")', "'@q2"}


def test_a_query_id_with_a_control_character_is_a_check_error(tmp_path, capsys):
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"id": "\x1b[31mred", "text": "a question"}) + "\n", encoding="utf-8"
    )
    afs = tmp_path / "study.afs"
    afs.write_text(experiment(queries='"q.jsonl"'), encoding="utf-8")
    assert main(["check", str(afs)]) == 2
    err = capsys.readouterr().err
    assert "q.jsonl:1:1" in err and "control character" in err and _inert(err)
