"""Secrets (issue 11, D5 and D17): a key's value never reaches a byte afdsl writes or
prints, and a prompt that would carry one is refused before anything is sent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from afdsl.cli import main
from afdsl.ir import ModelConfig
from afdsl.models.base import BackendError, make_backend
from afdsl.redact import redact
from afdsl.testing import MockError, MockProvider
from afdsl.testing.helpers import FAKE_KEY
from tests.hardening.conftest import errors_of, experiment, only_error, rendered

OTHER_KEY = "hf-token-value-0451-do-not-print"


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("SOME_SERVICE_TOKEN", OTHER_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_error_messages_are_redacted_where_they_are_made(keyed):
    error = BackendError("client", f"Invalid API key provided: Bearer {FAKE_KEY} ({OTHER_KEY})")
    assert FAKE_KEY not in str(error) and OTHER_KEY not in str(error)
    assert "[redacted OPENAI_API_KEY]" in str(error)
    assert redact("nothing secret") == "nothing secret"


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_a_key_echoed_in_a_401_reaches_no_store_report_sidecar_or_output(
    tmp_path, capsys, keyed, monkeypatch
):
    def reply(system: str, user: str) -> str:
        raise MockError(401, f"Invalid API key provided: Bearer {FAKE_KEY}")

    afs = tmp_path / "study.afs"
    afs.write_text(experiment().replace("sim:opus_like", "openai:gpt-mock"), encoding="utf-8")
    reports = [f"--{kind}={tmp_path / f'r.{kind}'}" for kind in ("md", "html", "json", "csv")]
    with MockProvider(reply=reply) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        test_code = main(["test", str(afs), *reports, "--max-retries", "0"])
        show_code = main(["show", str(afs)])
        json_code = main(["show", str(afs), "--json"])
        assert FAKE_KEY in server.auth_values  # the key was really sent, and echoed
    assert (test_code, show_code, json_code) == (3, 0, 0)
    printed = capsys.readouterr()
    output = printed.out + printed.err
    assert "[redacted OPENAI_API_KEY]" in output  # the echo happened and was caught
    assert FAKE_KEY not in output
    written = _all_bytes(tmp_path)
    assert (tmp_path / ".afdsl").is_dir() and (tmp_path / "r.html").is_file()
    assert FAKE_KEY.encode() not in written
    assert json.dumps(FAKE_KEY).encode() not in written


def test_a_section_file_holding_a_key_is_refused_naming_file_and_section(
    write, tmp_path, keyed, capsys
):
    (tmp_path / "extra.txt").write_text(f"Use this: {FAKE_KEY}\n", encoding="utf-8")
    program = (
        'use helpful_only\nscenario s extends helpful_only {\n  section extra from "extra.txt"\n}\n'
        + experiment(base="s").removeprefix("use helpful_only\n")
    )
    path = write(program)
    diag = only_error(path)
    assert (
        diag.code == "AFS055" and "extra.txt" in diag.message and "OPENAI_API_KEY" in diag.message
    )
    assert diag.span is not None and (diag.span.line, diag.span.col) == (3, 22)
    assert main(["test", str(path)]) == 2
    printed = capsys.readouterr()
    assert "section extra from" in printed.err and FAKE_KEY not in printed.out + printed.err


def test_a_afs_file_or_query_holding_a_key_is_refused_and_the_excerpt_hides_it(write, keyed):
    path = write(experiment(f"  # the key is {OTHER_KEY}"))
    diag = only_error(path)
    assert diag.code == "AFS055" and (diag.span.line, diag.span.col) == (7, 16)
    shown = rendered(path)
    assert "[redacted SOME_SERVICE_TOKEN]" in shown and OTHER_KEY not in shown
    data = write(json.dumps({"id": "a", "text": f"please use {FAKE_KEY}"}) + "\n", "q.jsonl")
    diag = only_error(write(experiment(queries=f'"{data.name}"')))
    assert diag.span.path.endswith("q.jsonl") and diag.span.line == 1 and "key" in diag.message


def test_proc_self_environ_is_never_read_nor_printed(write, keyed, capsys):
    section = (
        "use helpful_only\nscenario s extends helpful_only {\n"
        '  section extra from "/proc/self/environ"\n}\n'
        + experiment(base="s").removeprefix("use helpful_only\n")
    )
    diag = only_error(write(section))
    assert diag.code == "AFS010" and "/proc" in diag.message
    used = write('use "/proc/self/environ"\n' + experiment())
    assert [d.code for d in errors_of(used)] == ["AFS011"]
    assert main(["check", str(used)]) == 2
    err = capsys.readouterr().err
    assert FAKE_KEY not in err and os.environ["PATH"] not in err


@pytest.mark.parametrize("name", ["HOME", "PATH", "AWS_REGION", "not a name"])
def test_api_key_env_must_name_a_key_variable(write, name):
    block = f'  model m {{ spec "openai:gpt-4o" api_key_env "{name}" }}'
    diag = only_error(write(experiment(block)))
    assert diag.code == "AFS146" and diag.span.line == 7


def test_api_key_env_naming_a_key_variable_is_accepted(write):
    block = '  model m { spec "openai:gpt-4o" api_key_env "TEAM_OPENAI_TOKEN" }'
    assert not errors_of(write(experiment(block)))


def test_a_model_built_in_python_is_held_to_the_same_rule(monkeypatch):
    from afdsl.diagnostics import AfsError

    monkeypatch.setenv("HOME", "/root")
    with pytest.raises(AfsError, match="key variable"):
        make_backend(ModelConfig(spec="openai:gpt-4o", api_key_env="HOME"))


def test_a_server_answering_with_the_key_does_not_get_it_stored(
    tmp_path, capsys, keyed, monkeypatch
):
    def reply(system: str, user: str) -> str:
        return f"<request_fully_accepted/> your key is {FAKE_KEY}"

    afs = tmp_path / "study.afs"
    afs.write_text(experiment().replace("sim:opus_like", "openai:gpt-mock"), encoding="utf-8")
    with MockProvider(reply=reply) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        assert main(["test", str(afs), f"--csv={tmp_path / 'r.csv'}"]) in (0, 1)
        assert main(["show", str(afs), "--full"]) == 0
    printed = capsys.readouterr()
    assert "your key is [redacted OPENAI_API_KEY]" in printed.out
    assert FAKE_KEY not in printed.out + printed.err
    assert FAKE_KEY.encode() not in _all_bytes(tmp_path)


def test_replay_and_labels_files_holding_a_key_are_refused_at_the_line(tmp_path, keyed):
    from afdsl.classify.validate import load_labelled
    from afdsl.diagnostics import AfsError
    from afdsl.models.replay import load_transcripts

    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"text": "<rejected/>", "label": 0}\n'
        + json.dumps({"text": f"the key {FAKE_KEY}", "label": 1})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(AfsError, match=r"r\.jsonl:2: .*OPENAI_API_KEY") as replay:
        load_transcripts(path)
    with pytest.raises(AfsError) as labels:
        load_labelled(path)
    assert labels.value.diagnostics[0].span.line == 2
    assert FAKE_KEY not in str(replay.value) + str(labels.value)


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_never_prints_a_key_even_with_debug(
    keyed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], debug: bool
) -> None:
    import afdsl.cli.language as language

    def broken(args: object) -> int:
        raise RuntimeError(f"request failed with header Bearer {FAKE_KEY}")

    monkeypatch.setattr(language, "run_check", broken)
    code = main([*(["--debug"] if debug else []), "check", "anything.afs"])
    err = capsys.readouterr().err
    assert code == 4
    assert FAKE_KEY not in err and "[redacted OPENAI_API_KEY]" in err
    assert ("Traceback (most recent call last)" in err) == debug
