"""`openai:NAME` through the official SDK (AsyncOpenAI), plus the Files + Batch API.

With a `base_url` (or `OPENAI_BASE_URL`) this also covers OpenAI-compatible
servers: vLLM, llama.cpp, Ollama, gateways (which need no key). The system
prompt is sent as the first message with role `system`. SDK retries are off;
the scheduler retries. Client options and error mapping live in `_http.py`.

OpenAI caches long prompt prefixes on its own (nothing to mark); the
response's `prompt_tokens_details.cached_tokens` is recorded as cache reads.
"""

from __future__ import annotations

import json
import time
from typing import Any, Final

from afdsl.ir import ModelConfig
from afdsl.jsonl import json_lines
from afdsl.models._http import classify_sdk_error, client_options, status_kind
from afdsl.models.base import BackendError, Capabilities, Completion, ErrorKind, Request
from afdsl.redact import redact

BATCH_ENDPOINT: Final = "/v1/chat/completions"
_FINISHED = {"completed", "failed", "expired", "cancelled"}


class OpenAIBackend:
    """Chat Completions API."""

    def __init__(self, config: ModelConfig) -> None:
        from openai import AsyncOpenAI

        self.config = config
        self.client = AsyncOpenAI(**client_options(config))

    def body(self, request: Request) -> dict[str, Any]:
        """The JSON body of one chat completion (also a batch line's `body`)."""
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        return {
            "model": self.config.name,
            "messages": messages,
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
        }

    @staticmethod
    def _completion(doc: Any, latency_s: float) -> Completion:
        choice = doc.choices[0] if doc.choices else None
        usage = doc.usage
        details = getattr(usage, "prompt_tokens_details", None)  # None without usage too
        return Completion(
            # A hostile server may answer with the key it was sent.
            text=redact(choice.message.content or "") if choice else "",
            model_id=redact(doc.model or ""),
            input_tokens=(usage.prompt_tokens if usage else 0) or 0,
            output_tokens=(usage.completion_tokens if usage else 0) or 0,
            finish_reason=choice.finish_reason if choice else None,
            latency_s=latency_s,
            cache_read_tokens=getattr(details, "cached_tokens", None) or 0,
        )

    async def complete(self, request: Request) -> Completion:
        from openai import OpenAIError

        start = time.perf_counter()
        try:
            doc = await self.client.chat.completions.create(**self.body(request))
        except OpenAIError as exc:
            raise classify_sdk_error(exc) from None
        return self._completion(doc, time.perf_counter() - start)

    # -- Batch API ------------------------------------------------------------------------

    async def submit_batch(self, entries: list[tuple[str, Request]]) -> str:
        """Upload the JSONL input file and create the batch; returns the batch id."""
        from openai import OpenAIError

        lines = [
            json.dumps(
                {"custom_id": cid, "method": "POST", "url": BATCH_ENDPOINT, "body": self.body(req)}
            )
            for cid, req in entries
        ]
        data = ("\n".join(lines) + "\n").encode()
        try:
            uploaded = await self.client.files.create(
                file=("afdsl-batch.jsonl", data), purpose="batch"
            )
            batch = await self.client.batches.create(
                input_file_id=uploaded.id, endpoint=BATCH_ENDPOINT, completion_window="24h"
            )
        except OpenAIError as exc:
            raise classify_sdk_error(exc) from None
        return str(batch.id)

    async def batch_done(self, batch_id: str) -> bool:
        from openai import OpenAIError

        try:
            batch = await self.client.batches.retrieve(batch_id)
        except OpenAIError as exc:
            raise classify_sdk_error(exc) from None
        return batch.status in _FINISHED

    async def batch_results(self, batch_id: str) -> dict[str, Completion | BackendError]:
        """Per custom id: a completion or an error. Requests absent from the output are missing."""
        from openai import OpenAIError
        from openai.types.chat import ChatCompletion

        out: dict[str, Completion | BackendError] = {}
        try:
            batch = await self.client.batches.retrieve(batch_id)
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                content = await self.client.files.content(file_id)
                for _, line in json_lines(content.text):
                    doc = json.loads(line)
                    response = doc.get("response") or {}
                    if response.get("status_code") == 200:
                        parsed = ChatCompletion.model_validate(response["body"])
                        out[doc["custom_id"]] = self._completion(parsed, 0.0)
                    else:
                        status = response.get("status_code")
                        detail = doc.get("error") or response.get("body")
                        kind: ErrorKind = status_kind(status) if status else "server"
                        out[doc["custom_id"]] = BackendError(
                            kind, f"batch request failed: {detail}", status=status
                        )
        except OpenAIError as exc:
            raise classify_sdk_error(exc) from None
        return out

    async def aclose(self) -> None:
        await self.client.close()

    def capabilities(self) -> Capabilities:
        return Capabilities(batch=self)  # OpenAI caches prompts without being asked


def make_backend(config: ModelConfig) -> OpenAIBackend:
    return OpenAIBackend(config)
