"""The one small protocol every backend implements, with what it can do beyond it.

A backend turns a `Request` into a `Completion` or raises `BackendError` with a
kind the scheduler understands (retry or record). Backends never retry on their
own: the scheduler owns the single retry budget.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from afdsl.ir import Continuation, Message, ModelConfig
from afdsl.redact import redact
from afdsl.registry import PROVIDERS as PROVIDERS  # re-exported: provider -> module

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


class BatchApi(Protocol):
    """A provider's batch API (`--batch`): submit, poll, collect (Anthropic, OpenAI)."""

    async def submit_batch(self, entries: list[tuple[str, Request]]) -> str: ...

    async def batch_done(self, batch_id: str) -> bool: ...

    async def batch_results(self, batch_id: str) -> dict[str, Completion | BackendError]: ...


class CellCompleter(Protocol):
    """Answers by experiment cell as well as by request (a replay file keyed by cell)."""

    async def complete_item(
        self, request: Request, variant: str, condition: str, query_id: str
    ) -> Completion: ...


class PromptCache(Protocol):
    """Marks system prompts for the provider's prompt cache (Anthropic); on by default."""

    cache_prompts: bool


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond `complete`, each None when it cannot.

    The scheduler reads these instead of probing a backend for methods, so an
    ability is declared where the backend is written and checked by mypy.
    """

    batch: BatchApi | None = None
    by_cell: CellCompleter | None = None
    prompt_cache: PromptCache | None = None


NO_CAPABILITIES = Capabilities()


class Backend(Protocol):
    async def complete(self, request: Request) -> Completion: ...

    async def aclose(self) -> None: ...

    def capabilities(self) -> Capabilities: ...


BackendFactory = Callable[[ModelConfig], Backend]


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
