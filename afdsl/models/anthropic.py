"""`anthropic:NAME` through the official SDK (AsyncAnthropic), plus the Message Batches API.

The SDK's own retries are switched off (`max_retries=0`): the scheduler owns
the one retry budget. The key comes from `api_key_env` when the model block
names one, otherwise from `ANTHROPIC_API_KEY` (an unset variable is a user
error before anything is sent); the base URL from `base_url` or
`ANTHROPIC_BASE_URL`. Client options and error mapping live in `_http.py`.

The system prompt is marked for prompt caching (`cache_control: ephemeral`):
an experiment sends each variant's system prompt thousands of times, and a
cache read costs a tenth of an input token. Prompts shorter than the model's
minimum simply do not cache. `cache_prompts = False` (`afdsl run
--no-cache-prompts`, or `AFDSL_NO_PROMPT_CACHE=1`) sends a plain string instead.
"""

from __future__ import annotations

import time
from typing import Any

from afdsl.ir import ModelConfig
from afdsl.models._http import classify_sdk_error, client_options, prompt_cache_default
from afdsl.models.base import BackendError, Capabilities, Completion, Request
from afdsl.redact import redact

BATCH_ENDED = "ended"


class AnthropicBackend:
    """Messages API: the system prompt goes in `system=`, the turns in `messages=`."""

    def __init__(self, config: ModelConfig) -> None:
        from anthropic import AsyncAnthropic

        self.config = config
        self.client = AsyncAnthropic(**client_options(config))
        self.cache_prompts = prompt_cache_default()  # the scheduler sets it from RunOptions

    def params(self, request: Request) -> dict[str, Any]:
        """The JSON body of one Messages request (also a batch entry's `params`)."""
        body: dict[str, Any] = {
            "model": self.config.name,
            "max_tokens": self.config.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system and self.cache_prompts:
            body["system"] = [
                {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
            ]
        elif request.system:
            body["system"] = request.system
        # 1.0 is the API default; recent models reject an explicit temperature, older ones
        # (the ones alignment-faking work replicates) accept it, so send it only when set.
        if self.config.temperature != 1.0:
            body["temperature"] = self.config.temperature
        return body

    @staticmethod
    def _completion(message: Any, latency_s: float) -> Completion:
        text = "".join(getattr(block, "text", "") for block in message.content)
        usage = message.usage
        # Anthropic's input_tokens counts only the uncached part; ours counts the whole prompt.
        written = getattr(usage, "cache_creation_input_tokens", None) or 0
        read = getattr(usage, "cache_read_input_tokens", None) or 0
        return Completion(
            text=redact(text),  # a hostile server may answer with the key it was sent
            model_id=redact(message.model),
            input_tokens=(usage.input_tokens or 0) + written + read,
            output_tokens=usage.output_tokens or 0,
            finish_reason=message.stop_reason,
            latency_s=latency_s,
            cache_write_tokens=written,
            cache_read_tokens=read,
        )

    async def complete(self, request: Request) -> Completion:
        from anthropic import AnthropicError

        start = time.perf_counter()
        try:
            body = self.params(request)
            # This SDK version has no `temperature` keyword: it goes in the raw body.
            extra = {"temperature": body.pop("temperature")} if "temperature" in body else None
            message = await self.client.messages.create(**body, extra_body=extra)
        except AnthropicError as exc:
            raise classify_sdk_error(exc) from None
        return self._completion(message, time.perf_counter() - start)

    # -- Message Batches API ------------------------------------------------------------

    async def submit_batch(self, entries: list[tuple[str, Request]]) -> str:
        """Create one batch; returns its id (the caller stores it at once)."""
        from anthropic import AnthropicError

        requests = [{"custom_id": cid, "params": self.params(req)} for cid, req in entries]
        try:
            batch = await self.client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        except AnthropicError as exc:
            raise classify_sdk_error(exc) from None
        return str(batch.id)

    async def batch_done(self, batch_id: str) -> bool:
        from anthropic import AnthropicError

        try:
            batch = await self.client.messages.batches.retrieve(batch_id)
        except AnthropicError as exc:
            raise classify_sdk_error(exc) from None
        return bool(batch.processing_status == BATCH_ENDED)

    async def batch_results(self, batch_id: str) -> dict[str, Completion | BackendError]:
        """Per custom id: a completion, or the error that request ended with."""
        from anthropic import AnthropicError

        out: dict[str, Completion | BackendError] = {}
        try:
            async for line in await self.client.messages.batches.results(batch_id):
                result = line.result
                if result.type == "succeeded":
                    out[line.custom_id] = self._completion(result.message, 0.0)
                elif result.type == "errored":
                    out[line.custom_id] = BackendError(
                        "server", f"batch request errored: {result.error}"
                    )
                else:  # canceled or expired: nothing wrong with the request, send it again later
                    out[line.custom_id] = BackendError("server", f"batch request {result.type}")
        except AnthropicError as exc:
            raise classify_sdk_error(exc) from None
        return out

    async def aclose(self) -> None:
        await self.client.close()

    def capabilities(self) -> Capabilities:
        return Capabilities(batch=self, prompt_cache=self)


def make_backend(config: ModelConfig) -> AnthropicBackend:
    return AnthropicBackend(config)
