"""The one small protocol every backend implements, and the provider registry.

A backend turns a `Request` into a `Completion` or raises `BackendError` with a
kind the scheduler understands (retry or record). Backends never retry on their
own: the scheduler owns the single retry budget.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from afdsl.ir import Continuation, Message, ModelConfig
from afdsl.redact import redact

ErrorKind = Literal["rate_limit", "server", "timeout", "connection", "client", "other"]
RETRYABLE: frozenset[str] = frozenset({"rate_limit", "server", "timeout", "connection"})


class Request(BaseModel):
    """What to send. Keyed in the store by prompt_hash, model spec, params hash and sample."""

    model_config = ConfigDict(frozen=True)

    prompt_hash: str
    system: str
    messages: tuple[Message, ...]
    model: ModelConfig
    sample: int = 0
    seed: int = 0
    purpose: Literal["model", "judge"] = "model"
    # Set when the sample is a conversation; `messages` then holds the turns so far.
    continuation: Continuation | None = None


class Completion(BaseModel):
    text: str
    model_id: str  # as reported by the provider
    input_tokens: int = 0  # every prompt token, cached or not
    output_tokens: int = 0
    finish_reason: str | None = None
    latency_s: float = 0.0
    # Parts of input_tokens billed at the provider's prompt-cache prices.
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


class BackendError(Exception):
    """A failed call. `kind` decides retry (see RETRYABLE); `retry_after` in seconds if known."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        # Made here, so redacted here: a provider may echo the key in its message, and
        # this message goes to the store, the reports and the terminal.
        super().__init__(redact(message))
        self.kind: ErrorKind = kind
        self.retry_after = retry_after
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class Backend(Protocol):
    async def complete(self, request: Request) -> Completion: ...

    async def aclose(self) -> None: ...


BackendFactory = Callable[[ModelConfig], Backend]

# provider prefix -> module that defines `make_backend(config) -> Backend`.
# Modules are imported lazily so `afdsl --help` never imports an SDK.
PROVIDERS: dict[str, str] = {
    "sim": "afdsl.models.sim",
    "anthropic": "afdsl.models.anthropic",
    "openai": "afdsl.models.openai",
    "replay": "afdsl.models.replay",
}


class UnknownProvider(ValueError):
    pass


def make_backend(config: ModelConfig) -> Backend:
    """Build the backend for `config.spec` (`provider:name`)."""
    module_name = PROVIDERS.get(config.provider)
    if module_name is None:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownProvider(f"unknown model provider `{config.provider}` (known: {known})")
    module = importlib.import_module(module_name)
    factory: BackendFactory = module.make_backend
    return factory(config)
