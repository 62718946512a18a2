"""The OpenAI backend with the real SDK against the loopback mock."""

from __future__ import annotations

import asyncio

import pytest

from afdsl.ir import ModelConfig
from afdsl.models.base import BackendError, make_backend
from afdsl.testing import MockProvider
from afdsl.testing.helpers import batch_round_trip, keyed_env, make_items

__all__ = ["keyed_env"]  # a pytest fixture


def echo_system(system: str, user: str) -> str:
    return f"SYSTEM<{system}> USER<{user}>"


def _complete(backend, request):
    async def go():
        try:
            return await backend.complete(request)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_system_prompt_is_a_system_message(keyed_env):
    with MockProvider(reply=echo_system) as server:
        backend = make_backend(ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url))
        completion = _complete(backend, make_items(backend.config, 1)[0].request)
        assert keyed_env in server.auth_values
    assert completion.text.startswith("SYSTEM<You are a careful assistant.> USER<Question number 0")
    assert completion.model_id == "gpt-mock" and completion.output_tokens > 0


def test_base_url_from_environment(keyed_env, monkeypatch):
    with MockProvider() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        backend = make_backend(ModelConfig(spec="openai:gpt-mock"))
        _complete(backend, make_items(backend.config, 1)[0].request)
        assert server.completion_requests == 1


def test_compatible_server_without_key(monkeypatch):
    """vLLM / llama.cpp / Ollama: a base_url and no key at all still works."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with MockProvider() as server:
        backend = make_backend(
            ModelConfig(spec="openai:local-model", base_url=server.openai_base_url)
        )
        assert _complete(backend, make_items(backend.config, 1)[0].request).text


def test_not_found_is_a_client_error_without_retry(keyed_env):
    with MockProvider() as server:
        backend = make_backend(
            ModelConfig(spec="openai:gpt-mock", base_url=server.base_url + "/x/v1")
        )
        with pytest.raises(BackendError) as info:
            _complete(backend, make_items(backend.config, 1)[0].request)
        assert server.request_count == 1
    assert info.value.kind == "client" and not info.value.retryable


def test_rate_limit_is_retryable(keyed_env):
    with MockProvider(fail_429=1.0, retry_after=2) as server:
        backend = make_backend(ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url))
        with pytest.raises(BackendError) as info:
            _complete(backend, make_items(backend.config, 1)[0].request)
        assert server.completion_requests == 1
    assert info.value.kind == "rate_limit" and info.value.retry_after == 2


def test_batch_api_round_trip(keyed_env):
    with MockProvider(batch_delay=0.05) as server:
        backend = make_backend(ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url))
        results = batch_round_trip(backend, make_items(backend.config, 4))
    assert sorted(results) == ["c0", "c1", "c2", "c3"]
    assert all(r.output_tokens > 0 for r in results.values())


def test_cached_prompt_tokens_are_read_from_the_usage(keyed_env):
    system = "Answer every question with care and say when you are unsure. " * 80
    with MockProvider() as server:
        backend = make_backend(ModelConfig(spec="openai:gpt-mock", base_url=server.openai_base_url))
        request = make_items(backend.config, 1, system=system)[0].request

        async def go():
            try:
                return [await backend.complete(request), await backend.complete(request)]
            finally:
                await backend.aclose()

        first, second = asyncio.run(go())
    assert first.cache_read_tokens == 0
    assert 1024 <= second.cache_read_tokens <= second.input_tokens
    assert second.cache_read_tokens % 128 == 0 and second.cache_write_tokens == 0


def test_batch_error_lines_take_the_same_kinds_as_direct_errors(keyed_env):
    """A failed batch line is classified like the same status on a direct call."""
    import json
    from types import SimpleNamespace

    from afdsl.models._http import status_kind

    statuses = {"a": 400, "b": 409, "c": 429, "d": 503, "e": None}
    lines = [
        json.dumps({"custom_id": cid, "response": {"status_code": code, "body": {}}})
        for cid, code in statuses.items()
    ]

    class FakeClient:
        class batches:  # mirrors the SDK: client.batches.retrieve
            @staticmethod
            async def retrieve(batch_id):
                return SimpleNamespace(output_file_id="out", error_file_id=None)

        class files:
            @staticmethod
            async def content(file_id):
                return SimpleNamespace(text="\n".join(lines))

    backend = make_backend(ModelConfig(spec="openai:gpt-mock", base_url="http://127.0.0.1:9/v1"))
    backend.client = FakeClient()
    results = asyncio.run(backend.batch_results("batch_1"))
    kinds = {cid: r.kind for cid, r in results.items()}
    assert kinds == {"a": "client", "b": "server", "c": "rate_limit", "d": "server", "e": "server"}
    assert [status_kind(s) for s in (404, 408, 500)] == ["client", "server", "server"]


def test_a_server_that_is_not_running_is_named_without_credentials(keyed_env):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ModelConfig(spec="openai:local", base_url=f"http://me:hunter2@127.0.0.1:{port}/v1")
    backend = make_backend(config)
    with pytest.raises(BackendError) as info:
        asyncio.run(backend.complete(make_items(config, 1)[0].request))
    assert info.value.kind == "connection"
    assert str(info.value).endswith(f"(http://127.0.0.1:{port}/v1/chat/completions)")
    assert "hunter2" not in str(info.value)
