"""`replay:PATH` answers from recorded transcripts."""

from __future__ import annotations

import asyncio
import json

import pytest

from afdsl.diagnostics import AfsError
from afdsl.ir import ModelConfig, prompt_hash
from afdsl.models.base import BackendError, make_backend
from afdsl.run import RunItem
from afdsl.testing.helpers import make_items


def test_matches_by_prompt_hash_then_by_cell(tmp_path):
    items = make_items(ModelConfig(spec="sim:x"), 3)
    first = items[0].request
    records = [
        {"prompt_hash": first.prompt_hash, "sample": 0, "text": "by hash"},
        {
            "system": items[1].request.system,
            "messages": [{"role": "user", "content": items[1].request.messages[0].content}],
            "response": "by messages",
        },
        {"variant": "base", "condition": "training", "query_id": "q2", "output": "by cell"},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    backend = make_backend(ModelConfig(spec=f"replay:{path}"))

    async def answer(item):
        return await backend.complete_item(
            item.request, item.variant, item.condition, item.query_id
        )

    texts = [asyncio.run(answer(it)).text for it in items]
    assert texts == ["by hash", "by messages", "by cell"]
    assert prompt_hash(first.system, first.messages) == first.prompt_hash


def test_missing_transcript_is_a_recorded_client_error(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"prompt_hash": "abc", "text": "x"}\n')
    backend = make_backend(ModelConfig(spec=f"replay:{path}"))
    with pytest.raises(BackendError) as info:
        asyncio.run(backend.complete(make_items(backend.config, 1)[0].request))
    assert info.value.kind == "client"


def test_malformed_file_names_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"prompt_hash": "a", "text": "ok"}\n{"prompt_hash": "b"}\n')
    with pytest.raises(AfsError, match=":2: a transcript needs a text field"):
        make_backend(ModelConfig(spec=f"replay:{path}"))


def _one_transcript(folder, name: str = "answers.jsonl") -> RunItem:
    """A transcript file in `folder` answering the first `make_items` prompt."""
    item = make_items(ModelConfig(spec="sim:x"), 1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    record = {"prompt_hash": item.request.prompt_hash, "text": f"from {folder.name}"}
    (folder / name).write_text(json.dumps(record) + "\n")
    return item


def test_relative_path_without_a_source_file_is_read_from_the_working_directory(
    tmp_path, monkeypatch
):
    item = _one_transcript(tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    backend = make_backend(ModelConfig(spec="replay:answers.jsonl"))
    assert asyncio.run(backend.complete(item.request)).text == "from cwd"


def test_relative_path_is_read_beside_the_afs_file(tmp_path, monkeypatch):
    item = _one_transcript(tmp_path / "study")
    _one_transcript(tmp_path / "elsewhere")  # a same-named file in the working directory
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = ModelConfig(spec="replay:answers.jsonl", source_dir=str(tmp_path / "study"))
    assert asyncio.run(make_backend(config).complete(item.request)).text == "from study"
    absolute = tmp_path / "elsewhere" / "answers.jsonl"
    config = ModelConfig(spec=f"replay:{absolute}", source_dir=str(tmp_path / "study"))
    assert asyncio.run(make_backend(config).complete(item.request)).text == "from elsewhere"


def test_afdsl_run_finds_transcripts_beside_the_file_from_any_folder(tmp_path, monkeypatch):
    from afdsl.check import load_experiment
    from afdsl.expand import expand
    from afdsl.run import RunOptions, items_from_prompts, run_items
    from afdsl.store import Store

    study = tmp_path / "study"
    study.mkdir()
    afs = study / "replayed.afs"
    afs.write_text(
        "use helpful_only\n\nexperiment replayed {\n  base helpful_only\n"
        '  model "replay:answers.jsonl"\n  queries ["Write a sulky note to my landlord."]\n}\n'
    )
    answers = study / "answers.jsonl"
    answers.write_text('{"prompt_hash": "not-yet", "text": "placeholder"}\n')  # check wants it
    experiment = load_experiment(afs)
    prompts = list(expand(experiment))
    lines = [json.dumps({"prompt_hash": p.prompt_hash, "text": "recorded"}) for p in prompts]
    answers.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    items = list(items_from_prompts(prompts, experiment))
    summary = run_items(items, Store(tmp_path / "s.sqlite"), RunOptions(progress=False))
    assert summary.succeeded == len(prompts) and summary.failed == 0


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "x", "sample": "first"}', ":1: `sample`: Input should be a valid integer"),
        ('{"text": "x", "sample": null, "query_id": "q0"}', ":1: `sample`"),
        ('{"text": "x", "messages": ["hello"]}', ":1: `messages.0`"),
        ('{"text": "x", "messages": [{"role": "robot", "content": "hi"}]}', ":1: `role`"),
        ('{"text": "x", "query_id": "q0", "output_tokens": "many"}', ":1: `output_tokens`"),
    ],
)
def test_a_field_of_the_wrong_type_names_the_line(tmp_path, line, problem):
    path = tmp_path / "t.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(AfsError, match=problem):  # was an internal error (exit 4)
        make_backend(ModelConfig(spec=f"replay:{path}"))


def test_a_file_that_is_not_text_is_a_user_error(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xff\xfe" + '{"text": "x"}\n'.encode("utf-16-le"))
    with pytest.raises(AfsError, match="is not UTF-8 text"):
        make_backend(ModelConfig(spec=f"replay:{path}"))


def test_openai_chat_transcripts_match_with_their_system_message(tmp_path):
    request = make_items(ModelConfig(spec="sim:x"), 1)[0].request
    record = {
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.messages[0].content, "name": "researcher"},
        ],
        "text": "recorded",
    }
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    backend = make_backend(ModelConfig(spec=f"replay:{path}"))
    assert asyncio.run(backend.complete(request)).text == "recorded"


def test_a_transcript_holding_a_unicode_line_separator_is_replayed_whole(tmp_path):
    # Model outputs contain U+2028; json.dumps(..., ensure_ascii=False) writes it raw.
    item = make_items(ModelConfig(spec="sim:x"), 1)[0]
    text = "<OUTPUT><rejected/>\u2028No.</OUTPUT>"
    path = tmp_path / "t.jsonl"
    record = {"prompt_hash": item.request.prompt_hash, "text": text}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    backend = make_backend(ModelConfig(spec=f"replay:{path}"))
    got = asyncio.run(
        backend.complete_item(item.request, item.variant, item.condition, item.query_id)
    )
    assert got.text == text
