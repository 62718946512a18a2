"""The Anthropic backend with the real SDK against the loopback mock."""

from __future__ import annotations

import asyncio

import pytest

from afdsl.diagnostics import AfsError
from afdsl.ir import ModelConfig
from afdsl.models.base import BackendError, make_backend
from afdsl.testing import MockError, MockProvider
from afdsl.testing.helpers import batch_round_trip, keyed_env, make_items

__all__ = ["keyed_env"]  # a pytest fixture


def echo_system(system: str, user: str) -> str:
    return f"SYSTEM<{system}> USER<{user}>"


def test_system_prompt_goes_in_system_and_usage_is_read(keyed_env):
    with MockProvider(reply=echo_system) as server:
        backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url=server.base_url))
        request = make_items(backend.config, 1)[0].request

        async def go():
            try:
                return await backend.complete(request)
            finally:
                await backend.aclose()

        completion = asyncio.run(go())
    assert completion.text.startswith("SYSTEM<You are a careful assistant.> USER<Question number 0")
    assert completion.model_id == "claude-mock"
    assert completion.input_tokens > 0 and completion.output_tokens > 0


def test_rate_limit_maps_to_retryable_error_with_retry_after(keyed_env):
    with MockProvider(fail_429=1.0, retry_after=7) as server:
        backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url=server.base_url))
        request = make_items(backend.config, 1)[0].request
        with pytest.raises(BackendError) as info:
            asyncio.run(backend.complete(request))
        assert server.completion_requests == 1  # the SDK did not retry on its own
    assert info.value.kind == "rate_limit" and info.value.retryable
    assert info.value.retry_after == 7


def test_server_error_is_retryable(keyed_env):
    with MockProvider(fail_500=1.0) as server:
        backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url=server.base_url))
        with pytest.raises(BackendError) as info:
            asyncio.run(backend.complete(make_items(backend.config, 1)[0].request))
    assert info.value.kind == "server" and info.value.status == 500


def test_message_batches_round_trip(keyed_env):
    with MockProvider(batch_delay=0.05) as server:
        backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url=server.base_url))
        results = batch_round_trip(backend, make_items(backend.config, 3))
    assert sorted(results) == ["c0", "c1", "c2"]
    assert all(r.text.startswith("<request_fully_accepted/>") for r in results.values())


def test_missing_named_key_variable_is_a_user_error(monkeypatch):
    monkeypatch.delenv("MY_MISSING_KEY", raising=False)
    with pytest.raises(AfsError, match="MY_MISSING_KEY"):
        make_backend(ModelConfig(spec="anthropic:claude-mock", api_key_env="MY_MISSING_KEY"))


def _complete_twice(server, request, **attrs):
    backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url=server.base_url))
    for name, value in attrs.items():
        setattr(backend, name, value)

    async def go():
        try:
            return [await backend.complete(request), await backend.complete(request)]
        finally:
            await backend.aclose()

    return asyncio.run(go())


LONG_SYSTEM = "Answer every question with care and say when you are unsure. " * 80


def test_system_prompt_is_marked_for_caching_and_cache_usage_is_read(keyed_env, monkeypatch):
    monkeypatch.delenv("AFDSL_NO_PROMPT_CACHE", raising=False)
    with MockProvider(reply=echo_system) as server:
        config = ModelConfig(spec="anthropic:claude-mock")
        request = make_items(config, 1, system=LONG_SYSTEM)[0].request
        first, second = _complete_twice(server, request)
        assert server.stats()["cache_marked"] == 2
    assert first.text.startswith(f"SYSTEM<{LONG_SYSTEM}>")  # the block's text is the prompt
    assert first.cache_write_tokens > 1000 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_tokens and second.cache_write_tokens == 0
    assert first.input_tokens == second.input_tokens > first.cache_write_tokens


def test_without_caching_the_system_prompt_is_a_plain_string(keyed_env):
    with MockProvider(reply=echo_system) as server:
        config = ModelConfig(spec="anthropic:claude-mock")
        request = make_items(config, 1, system=LONG_SYSTEM)[0].request
        first, second = _complete_twice(server, request, cache_prompts=False)
        assert server.stats()["cache_marked"] == 0
    assert first.text.startswith(f"SYSTEM<{LONG_SYSTEM}>")
    assert second.cache_read_tokens == second.cache_write_tokens == 0


def test_a_refusal_reads_as_the_providers_message_not_a_json_dump(keyed_env):
    def refuse(system: str, user: str) -> str:
        raise MockError(400, "prompt is too long: 210000 tokens > 200000 maximum")

    with MockProvider(reply=refuse) as server:
        backend = make_backend(ModelConfig(spec="anthropic:claude-mock", base_url=server.base_url))
        with pytest.raises(BackendError) as info:
            asyncio.run(backend.complete(make_items(backend.config, 1)[0].request))
    assert info.value.kind == "client" and not info.value.retryable
    assert str(info.value) == (
        "BadRequestError: Error code: 400 - prompt is too long: 210000 tokens > 200000 maximum"
    )
