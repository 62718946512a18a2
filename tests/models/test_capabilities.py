"""What each backend declares it can do beyond `complete` (the scheduler never probes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from afdsl.ir import Message, ModelConfig
from afdsl.models import Request, make_backend
from afdsl.run.batch import supports_batch


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-afdsl-test-not-a-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-afdsl-test-not-a-key")


@pytest.mark.parametrize(
    ("spec", "batch", "by_cell", "prompt_cache"),
    [
        ("sim:opus_like", False, False, False),
        ("sim:judge", False, False, False),
        ("anthropic:claude-mock", True, False, True),
        ("openai:gpt-mock", True, False, False),
        ("replay:{path}", False, True, False),
    ],
)
def test_each_backend_declares_its_abilities(
    keys: None, tmp_path: Path, spec: str, batch: bool, by_cell: bool, prompt_cache: bool
) -> None:
    transcripts = tmp_path / "t.jsonl"
    transcripts.write_text('{"prompt_hash": "h", "sample": 0, "text": "x"}\n', encoding="utf-8")
    config = ModelConfig(spec=spec.format(path=transcripts), base_url="http://127.0.0.1:9")
    backend = make_backend(config)
    try:
        abilities = backend.capabilities()
        assert (abilities.batch is not None) == batch == supports_batch(backend)
        assert (abilities.by_cell is not None) == by_cell
        assert (abilities.prompt_cache is not None) == prompt_cache
    finally:
        asyncio.run(backend.aclose())


def test_prompt_caching_is_switched_through_the_declared_ability(keys: None) -> None:
    backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url="http://127.0.0.1:9"))
    request = Request(
        prompt_hash="h",
        system="a long system prompt",
        messages=(Message(role="user", content="hi"),),
        model=ModelConfig(spec="anthropic:claude-mock"),
    )
    cache = backend.capabilities().prompt_cache
    assert cache is not None
    try:
        for on in (True, False):
            cache.cache_prompts = on
            body = backend.params(request)  # type: ignore[attr-defined]
            assert ("cache_control" in str(body["system"])) is on
    finally:
        asyncio.run(backend.aclose())
