"""Prices and cost estimates.

The price table ships as `afdsl/data/prices.json`; a user file of the same
shape (`$AFDSL_PRICES`, else `~/.config/afdsl/prices.json`) is merged over it,
so users add models or correct prices without editing the package. Keys are
model specs with `*` wildcards; the most specific match wins (see `PriceTable.price`).

Prompt caching: an entry may price cache writes and reads (`cache_write`,
`cache_read`); tokens without such a price are billed at `input`. Estimates
assume caching only where the entry names `cache_min_tokens` (see `CacheRule`).
"""

from __future__ import annotations

import fnmatch
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, PrivateAttr

from afdsl.diagnostics import error
from afdsl.models.base import Request

CHARS_PER_TOKEN = 4  # a rough average for English prose; estimates only
MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators per message
MIN_OBSERVED = 5  # stored responses of a model before its mean output replaces max_tokens
# Token estimates are rough (chars / 4): a system prompt is assumed to cache only when its
# estimate clears the provider's minimum by this factor, so a near miss is not counted as cheap.
CACHE_MARGIN = 1.2
OPENAI_CACHE_STEP = 128  # OpenAI caches prefixes in 128-token steps


class Price(BaseModel):
    """USD per million tokens; cache prices fall back to `input` when absent."""

    input: float
    output: float
    cache_write: float | None = None
    cache_read: float | None = None
    cache_min_tokens: int | None = None  # shortest cacheable prefix; None: estimates assume none

    def dollars(
        self, input_tokens: int, output_tokens: int, write: int = 0, read: int = 0
    ) -> float:
        """Undiscounted USD; `write` and `read` are the parts of `input_tokens` the cache billed."""
        plain = max(0, input_tokens - write - read)
        cache_write = self.input if self.cache_write is None else self.cache_write
        cache_read = self.input if self.cache_read is None else self.cache_read
        return (
            plain * self.input
            + write * cache_write
            + read * cache_read
            + output_tokens * self.output
        ) / 1_000_000


class PriceTable(BaseModel):
    models: dict[str, Price]
    batch_discount: float = 0.5
    _cache: dict[str, Price | None] = PrivateAttr(default_factory=dict)

    def price(self, spec: str) -> Price | None:
        """The price of the most specific matching pattern, or None if the model is unknown."""
        if spec in self._cache:  # called once per response: skip the pattern scan
            return self._cache[spec]
        # Most literal characters wins; then an exact key; then the later entry (user files
        # are merged after the packaged table, so a user's price beats ours on a tie).
        ranked = [
            (len(p.replace("*", "")), "*" not in p, i, p)
            for i, p in enumerate(self.models)
            if fnmatch.fnmatchcase(spec, p)
        ]
        self._cache[spec] = self.models[max(ranked)[3]] if ranked else None
        return self._cache[spec]

    def cost(
        self,
        spec: str,
        input_tokens: int,
        output_tokens: int,
        *,
        batch: bool = False,
        cache_write: int = 0,
        cache_read: int = 0,
    ) -> float:
        """Dollars for the tokens (0 when the price is unknown).

        `cache_write` / `cache_read` are the parts of `input_tokens` the
        provider billed at its cache prices; batch discounts apply to them too.
        """
        price = self.price(spec)
        if price is None:
            return 0.0
        dollars = price.dollars(input_tokens, output_tokens, cache_write, cache_read)
        return dollars * (self.batch_discount if batch else 1.0)


def _user_price_file() -> Path | None:
    env = os.environ.get("AFDSL_PRICES")
    if env:
        return Path(env).expanduser()
    default = Path("~/.config/afdsl/prices.json").expanduser()
    return default if default.exists() else None


def _read(path: Path) -> dict[str, object]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read price file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise error(f"price file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError):  # a number over 4,300 digits, nesting too deep
        raise error(f"price file {path} holds JSON too large to read") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("models", {}), dict):
        raise error(
            f"price file {path} must be an object with a `models` object",
            hint='{"models": {"openai:my-model": {"input": 1.0, "output": 2.0}}}',
        )
    return doc


@lru_cache(maxsize=4)
def _load(user_file: str | None) -> PriceTable:
    doc = _read(Path(__file__).resolve().parent.parent / "data" / "prices.json")
    models = dict(doc["models"])  # type: ignore[call-overload]
    if user_file is not None:
        extra = _read(Path(user_file))
        models.update(extra.get("models", {}))
        if "batch_discount" in extra:
            doc["batch_discount"] = extra["batch_discount"]
    try:
        return PriceTable.model_validate(
            {"models": models, "batch_discount": doc["batch_discount"]}
        )
    except ValueError as exc:
        raise error(f"invalid price table: {exc}") from None


def price_table() -> PriceTable:
    """The packaged prices merged with the user's price file, if any."""
    user = _user_price_file()
    return _load(str(user) if user else None)


def estimate_tokens(request: Request, output_tokens: int | None = None) -> tuple[int, int]:
    """(input, output) token estimate; output is `output_tokens`, else the `max_tokens` bound."""
    chars = len(request.system) + sum(len(m.content) for m in request.messages)
    n_messages = len(request.messages) + (1 if request.system else 0)
    input_tokens = chars // CHARS_PER_TOKEN + MESSAGE_OVERHEAD_TOKENS * n_messages
    return input_tokens, request.model.max_tokens if output_tokens is None else output_tokens


class OutputEstimate(NamedTuple):
    """Output tokens expected per request of one model, and what the figure rests on."""

    tokens: int
    basis: str  # "max_tokens", or "mean of N stored"


def expected_output(max_tokens: int, seen: int, seen_tokens: int) -> OutputEstimate:
    """Output tokens to expect per request, given `seen` stored ok responses of the model.

    Before `MIN_OBSERVED` responses, `max_tokens` (an upper bound: a budget is
    never overrun by the estimate). After, their mean, rounded up and capped
    at `max_tokens`: most answers stop well short of the cap, and assuming
    the cap stops budgeted runs (batches above all) far too early.
    """
    if seen < MIN_OBSERVED:
        return OutputEstimate(max_tokens, "max_tokens")
    mean = -(-seen_tokens // seen)  # ceiling division
    return OutputEstimate(min(max_tokens, mean), f"mean of {seen:,} stored")


class CacheRule(NamedTuple):
    """How many prompt tokens of a request a dry run expects the provider to cache."""

    min_tokens: int  # the prefix must be at least this long (with `CACHE_MARGIN`)
    step: int = 1  # cached lengths are multiples of this

    def cached_tokens(self, request: Request) -> int:
        """The system prompt's estimated tokens if they would cache, else 0."""
        tokens = len(request.system) // CHARS_PER_TOKEN
        if tokens < self.min_tokens * CACHE_MARGIN:
            return 0
        return tokens - tokens % self.step


def cache_rule(request: Request, price: Price | None, *, cache_prompts: bool) -> CacheRule | None:
    """The caching a dry run may count on for `request`'s model, or None for none.

    Anthropic caches only what afdsl marks (off with `cache_prompts=False`);
    OpenAI caches long prefixes by itself. Others, and price entries without
    `cache_min_tokens`, get no caching in estimates (the conservative side).
    """
    if price is None or price.cache_min_tokens is None:
        return None
    provider = request.model.provider
    if provider == "anthropic" and cache_prompts:
        return CacheRule(price.cache_min_tokens)
    if provider == "openai":
        return CacheRule(price.cache_min_tokens, OPENAI_CACHE_STEP)
    return None
