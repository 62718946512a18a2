"""`replay:PATH` answers from recorded transcripts."""

from __future__ import annotations

import asyncio
import json

import pytest

from afdsl.diagnostics import AfsError
from afdsl.ir import ModelConfig, prompt_hash
from afdsl.models.base import BackendError, make_backend
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
