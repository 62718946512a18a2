"""A small asyncio HTTP/1.1 server that imitates the Anthropic and OpenAI APIs.

It speaks just enough of both wire formats for the official SDKs to work
against it: `POST /v1/messages`, `POST /v1/chat/completions`, the Anthropic
Message Batches API and the OpenAI Files + Batch API. Connections are kept
alive, as the SDKs expect, so the server is not the bottleneck in benchmarks.

Failures are injected per completion request (never for batch bookkeeping
calls) with a seeded RNG so tests are reproducible.

Prompt caching is imitated per (model, system prompt) once the system prompt
reaches `cache_min_tokens`: Anthropic caches only a system block marked with
`cache_control` (the first request reports `cache_creation_input_tokens`,
later ones `cache_read_input_tokens`, and `input_tokens` the rest); OpenAI
caches by itself and reports `prompt_tokens_details.cached_tokens` (in steps
of 128) from the second request on.
"""

from __future__ import annotations

import asyncio
import email.parser
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ReplyFn = Callable[[str, str], str]  # (system, last user message) -> reply text
# (system, every message of the conversation) -> reply text: for multi-turn tests.
ConversationReplyFn = Callable[[str, list[dict[str, Any]]], str]


class MockError(Exception):
    """Raised by a `reply` function to answer that request with an HTTP error instead.

    `MockError(400, "content policy")` imitates a request the provider refuses
    (400, 401, 404, ...): the status and message reach the SDK as the real API sends them.
    """

    def __init__(self, status: int, message: str = "mock error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def default_reply(system: str, user: str) -> str:
    """An answer that accepts the request, so tag classifiers have something to read."""
    return "<request_fully_accepted/>\nHere is a short, harmless mock answer."


@dataclass
class MockConfig:
    latency: float = 0.0
    fail_500: float = 0.0
    fail_429: float = 0.0
    retry_after: float = 0.05
    batch_delay: float = 0.2  # seconds until a batch reports itself finished
    seed: int = 0
    reply: ReplyFn = default_reply
    cache_min_tokens: int = 1024  # both providers' smallest cacheable prefix
    conversation_reply: ConversationReplyFn | None = None  # used instead of `reply` if set


@dataclass
class MockState:
    """Counters the tests read: every HTTP request, and completions per endpoint."""

    request_count: int = 0
    completion_requests: int = 0  # attempts at /messages and /chat/completions, failed or not
    completions_ok: int = 0
    failures: int = 0
    auth_values: set[str] = field(default_factory=set)
    cache_marked: int = 0  # Anthropic requests whose system prompt carried cache_control
    cached_prompts: set[tuple[str, str, str]] = field(default_factory=set)  # (api, model, system)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class MockApp:
    """Routes requests; independent of the transport so it can be unit-tested."""

    def __init__(self, config: MockConfig, base_url: str = "") -> None:
        self.config = config
        self.state = MockState()
        self.base_url = base_url
        self._rng = random.Random(config.seed)
        self._ids = 0
        # Ids differ between servers, as real ones do.
        self._instance = random.Random().getrandbits(32)

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._instance:08x}{self._ids:06d}"

    async def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        self.state.request_count += 1
        auth = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if auth:
            self.state.auth_values.add(auth)
        path = path.split("?", 1)[0]
        if path == "/_mock/stats":
            return self._json(200, self.stats())
        if method == "POST" and path in ("/v1/messages", "/v1/chat/completions"):
            return await self._completion(path, json.loads(body or b"{}"))
        return self._batch_route(method, path, headers, body)

    def stats(self) -> dict[str, int]:
        s = self.state
        return {
            "request_count": s.request_count,
            "completion_requests": s.completion_requests,
            "completions_ok": s.completions_ok,
            "failures": s.failures,
            "cache_marked": s.cache_marked,
        }

    @staticmethod
    def _json(
        status: int, doc: Any, extra: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"content-type": "application/json", **(extra or {})}
        return status, headers, json.dumps(doc).encode()

    async def _completion(
        self, path: str, payload: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        self.state.completion_requests += 1
        if self.config.latency:
            await asyncio.sleep(self.config.latency)
        draw = self._rng.random()
        if draw < self.config.fail_500:
            self.state.failures += 1
            err = {"type": "error", "error": {"type": "api_error", "message": "injected failure"}}
            return self._json(500, err)
        if draw < self.config.fail_500 + self.config.fail_429:
            self.state.failures += 1
            err = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
            return self._json(429, err, {"retry-after": str(self.config.retry_after)})
        try:
            if path == "/v1/messages":
                doc = self.anthropic_message(payload)
            else:
                doc = self.openai_completion(payload)
        except MockError as exc:
            self.state.failures += 1
            err = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": exc.message},
            }
            return self._json(exc.status, err)
        self.state.completions_ok += 1
        return self._json(200, doc)

    def _texts(self, system: str, messages: list[dict[str, Any]]) -> tuple[str, str, int]:
        user = next(
            (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), ""
        )
        user = user if isinstance(user, str) else json.dumps(user)
        prompt_tokens = _tokens(system) + sum(_tokens(str(m.get("content", ""))) for m in messages)
        return system, user, prompt_tokens

    def _answer(self, system: str, user: str, messages: list[dict[str, Any]]) -> str:
        if self.config.conversation_reply is not None:
            return self.config.conversation_reply(system, messages)
        return self.config.reply(system, user)

    def _cache(self, api: str, model: str, system: str) -> tuple[int, int]:
        """(written, read) prompt tokens for a cacheable system prompt, as the provider would."""
        tokens = _tokens(system) if system else 0
        if tokens < max(1, self.config.cache_min_tokens):
            return 0, 0
        key = (api, model, system)
        if key in self.state.cached_prompts:
            return 0, tokens
        self.state.cached_prompts.add(key)
        return tokens, 0

    def anthropic_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        system = payload.get("system") or ""
        marked = False
        if not isinstance(system, str):  # a list of text blocks
            marked = any(isinstance(b, dict) and b.get("cache_control") for b in system)
            system = "".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
        system, user, n_in = self._texts(system, payload.get("messages", []))
        written = read = 0
        if marked:
            self.state.cache_marked += 1
            written, read = self._cache("anthropic", str(payload.get("model")), system)
        text = self._answer(system, user, payload.get("messages", []))
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": payload.get("model", "mock"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": n_in - written - read,  # Anthropic counts only uncached tokens
                "cache_creation_input_tokens": written,
                "cache_read_input_tokens": read,
                "output_tokens": _tokens(text),
            },
        }

    def openai_completion(self, payload: dict[str, Any]) -> dict[str, Any]:
        messages = payload.get("messages", [])
        system = "".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        rest = [m for m in messages if m.get("role") != "system"]
        system, user, n_in = self._texts(system, rest)
        _, read = self._cache("openai", str(payload.get("model")), system)
        text = self._answer(system, user, rest)
        n_out = _tokens(text)
        return {
            "id": self._next_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model", "mock"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": n_in,
                "completion_tokens": n_out,
                "total_tokens": n_in + n_out,
                "prompt_tokens_details": {"cached_tokens": read - read % 128},
            },
        }

    # -- batch APIs -----------------------------------------------------------------------

    def _batch_route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/messages/batches":
            return self._json(200, self._anthropic_batch_create(json.loads(body)))
        if method == "GET" and parts[:3] == ["v1", "messages", "batches"] and len(parts) == 4:
            return self._batch_lookup(parts[3], self._anthropic_batch_doc)
        if (
            method == "GET"
            and parts[:3] == ["v1", "messages", "batches"]
            and parts[-1] == "results"
        ):
            batch = self.state.batches.get(parts[3])
            if batch is None:
                return self._json(
                    404,
                    {
                        "type": "error",
                        "error": {"type": "not_found_error", "message": "no such batch"},
                    },
                )
            lines = "\n".join(json.dumps(r) for r in batch["results"]) + "\n"
            return 200, {"content-type": "application/binary"}, lines.encode()
        if method == "POST" and path == "/v1/files":
            return self._json(200, self._file_upload(headers, body))
        if method == "GET" and parts[:2] == ["v1", "files"] and parts[-1] == "content":
            data = self.state.files.get(parts[2])
            if data is None:
                return self._json(
                    404, {"error": {"message": "no such file", "type": "invalid_request_error"}}
                )
            return 200, {"content-type": "application/octet-stream"}, data
        if method == "POST" and path == "/v1/batches":
            return self._json(200, self._openai_batch_create(json.loads(body)))
        if method == "GET" and parts[:2] == ["v1", "batches"] and len(parts) == 3:
            return self._batch_lookup(parts[2], self._openai_batch_doc)
        return self._json(
            404, {"error": {"message": f"mock: no route {method} {path}", "type": "not_found"}}
        )

    def _batch_lookup(
        self, batch_id: str, render: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[int, dict[str, str], bytes]:
        batch = self.state.batches.get(batch_id)
        if batch is None:
            return self._json(
                404,
                {"type": "error", "error": {"type": "not_found_error", "message": "no such batch"}},
            )
        return self._json(200, render(batch))

    def _anthropic_batch_create(self, payload: dict[str, Any]) -> dict[str, Any]:
        batch_id = self._next_id("msgbatch")
        results = []
        for req in payload["requests"]:
            try:
                result = {"type": "succeeded", "message": self.anthropic_message(req["params"])}
            except MockError as exc:
                error = {"type": "invalid_request_error", "message": exc.message}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            results.append({"custom_id": req["custom_id"], "result": result})
        batch = {"id": batch_id, "created": time.time(), "results": results, "kind": "anthropic"}
        self.state.batches[batch_id] = batch
        return self._anthropic_batch_doc(batch)

    def _ended(self, batch: dict[str, Any]) -> bool:
        return bool(time.time() - batch["created"] >= self.config.batch_delay)

    def _anthropic_batch_doc(self, batch: dict[str, Any]) -> dict[str, Any]:
        batch_id = batch["id"]
        ended = self._ended(batch)
        n = len(batch["results"])
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(batch["created"]))
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else n,
                "succeeded": n if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": stamp,
            "expires_at": stamp,
            "ended_at": stamp if ended else None,
            "results_url": f"{self.base_url}/v1/messages/batches/{batch_id}/results"
            if ended
            else None,
        }

    def _file_upload(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        raw = f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode() + body
        message = email.parser.BytesParser().parsebytes(raw)
        content = b""
        for part in message.walk():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                content = payload if isinstance(payload, bytes) else b""
        file_id = self._next_id("file")
        self.state.files[file_id] = content
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": "batch.jsonl",
            "purpose": "batch",
            "status": "processed",
        }

    def _openai_batch_create(self, payload: dict[str, Any]) -> dict[str, Any]:
        batch_id = self._next_id("batch")
        lines = self.state.files[payload["input_file_id"]].decode().splitlines()
        out = []
        for line in filter(None, lines):
            req = json.loads(line)
            try:
                status, body = 200, self.openai_completion(req["body"])
            except MockError as exc:
                status, body = exc.status, {"error": {"message": exc.message}}
            out.append(
                {
                    "id": self._next_id("batch_req"),
                    "custom_id": req["custom_id"],
                    "response": {"status_code": status, "request_id": "mock", "body": body},
                    "error": None,
                }
            )
        output_id = self._next_id("file")
        self.state.files[output_id] = ("\n".join(json.dumps(o) for o in out) + "\n").encode()
        batch = {
            "id": batch_id,
            "created": time.time(),
            "results": out,
            "kind": "openai",
            "input_file_id": payload["input_file_id"],
            "endpoint": payload.get("endpoint", "/v1/chat/completions"),
            "output_file_id": output_id,
        }
        self.state.batches[batch_id] = batch
        return self._openai_batch_doc(batch)

    def _openai_batch_doc(self, batch: dict[str, Any]) -> dict[str, Any]:
        ended = self._ended(batch)
        n = len(batch["results"])
        return {
            "id": batch["id"],
            "object": "batch",
            "endpoint": batch["endpoint"],
            "input_file_id": batch["input_file_id"],
            "completion_window": "24h",
            "status": "completed" if ended else "in_progress",
            "created_at": int(batch["created"]),
            "output_file_id": batch["output_file_id"] if ended else None,
            "request_counts": {"total": n, "completed": n if ended else 0, "failed": 0},
        }


async def serve_connection(
    app: MockApp, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One keep-alive HTTP/1.1 connection: read requests until the client closes."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            status, out_headers, payload = await app.handle(method, target, headers, body)
            reason = {
                200: "OK",
                404: "Not Found",
                429: "Too Many Requests",
                500: "Internal Server Error",
            }
            head_out = [f"HTTP/1.1 {status} {reason.get(status, 'Status')}"]
            head_out += [f"{k}: {v}" for k, v in out_headers.items()]
            head_out.append(f"content-length: {len(payload)}")
            head_out.append("connection: keep-alive")
            writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()
