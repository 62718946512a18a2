"""What the two SDK backends share: API keys, client options, and SDK error mapping.

The anthropic and openai SDKs are generated from the same template, so their
exceptions have the same shape (`status_code`, `response.headers`, class
names ending in `Timeout` / `Connection...`) and their clients take the same
options. Keys are read from the environment and handed to the client; they
are never logged, stored or put in a message (only the variable's name is).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from afdsl.diagnostics import error
from afdsl.ir import ModelConfig
from afdsl.models.base import BackendError, ErrorKind
from afdsl.redact import key_name_problem

# The variable each SDK reads its key from when the model block names none.
DEFAULT_KEY_VARIABLES: dict[str, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
}
# Local OpenAI-compatible servers need no key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
CLIENT_TIMEOUT_S = 600.0
NO_CACHE_VARIABLE = "AFDSL_NO_PROMPT_CACHE"


def prompt_cache_default() -> bool:
    """Prompt caching is on unless `AFDSL_NO_PROMPT_CACHE` is set (to anything but 0)."""
    return os.environ.get(NO_CACHE_VARIABLE, "").strip() in ("", "0")


def _local_server(config: ModelConfig) -> bool:
    """An `openai:` model pointed at another server (vLLM, Ollama, ...), which may need no key."""
    return config.provider == "openai" and bool(
        config.base_url or os.environ.get("OPENAI_BASE_URL")
    )


def key_variable(config: ModelConfig) -> str | None:
    """The environment variable that must hold `config`'s key, or None when none is needed."""
    if config.api_key_env:
        problem = key_name_problem(config.api_key_env)
        if problem is not None:  # a config built in Python skips the checker: same rule
            raise error(problem, hint="see docs/security.md")
        return config.api_key_env
    if config.provider not in DEFAULT_KEY_VARIABLES or _local_server(config):
        return None
    return DEFAULT_KEY_VARIABLES[config.provider]


def check_api_keys(configs: Iterable[ModelConfig]) -> None:
    """Raise one `AfsError` naming every unset key variable, before anything is sent."""
    missing: dict[str, list[str]] = {}
    for config in configs:
        variable = key_variable(config)
        if variable is not None and not os.environ.get(variable):
            missing.setdefault(variable, []).append(config.display)
    if not missing:
        return
    lines = [
        f"${var} is not set (needed by {', '.join(dict.fromkeys(m))})" for var, m in missing.items()
    ]
    exports = "; ".join(f"export {var}=..." for var in missing)
    raise error(
        "missing API key: " + "; ".join(lines),
        hint=f"{exports} before running, or name another variable with `api_key_env` in the "
        "model block; `--dry-run` needs no key",
    )


def client_options(config: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for `AsyncAnthropic` / `AsyncOpenAI`: no SDK retries, key, base URL.

    The SDK's own retries are off: the scheduler owns the one retry budget.
    """
    check_api_keys([config])
    options: dict[str, Any] = {"max_retries": 0, "timeout": CLIENT_TIMEOUT_S}
    variable = key_variable(config)
    if variable is not None:
        options["api_key"] = os.environ[variable]
    elif _local_server(config):
        options["api_key"] = os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_KEY
    if config.base_url:
        options["base_url"] = config.base_url
    return options


def retry_after(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (the numeric forms)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


def status_kind(status: int) -> ErrorKind:
    """The error kind of an HTTP status: 429 rate limit; 408, 409 and 5xx server; other client."""
    if status == 429:
        return "rate_limit"
    if status in (408, 409) or status >= 500:
        return "server"  # 408/409 are transient per both providers' docs
    return "client"


def _provider_message(exc: Exception, status: int | None) -> str | None:
    """The provider's own words from an error body, without the JSON around them.

    The anthropic SDK puts the whole error document in its message (a dict
    repr); the openai SDK keeps only the inner `error`. Both bodies hold a
    `message`, which is what a user needs to read.
    """
    body = getattr(exc, "body", None)
    if status is None or not isinstance(body, dict):
        return None
    inner = body.get("error")
    detail = (inner if isinstance(inner, dict) else body).get("message")
    return f"Error code: {status} - {detail}" if isinstance(detail, str) and detail else None


def _where(exc: Exception) -> str:
    """` (URL)` of the request that got no answer, without credentials or query.

    "Connection error." alone does not say that OPENAI_BASE_URL points at a
    server that is not running.
    """
    url = getattr(getattr(exc, "request", None), "url", None)
    if url is None:
        return ""
    return f" ({url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path})"


def classify_sdk_error(exc: Exception) -> BackendError:
    """Map an SDK exception (anthropic or openai, same hierarchy) to a `BackendError`."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    kind: ErrorKind
    if "Timeout" in name:
        kind = "timeout"
    elif "Connection" in name:
        kind = "connection"
    elif status is not None:
        kind = status_kind(status)
    else:
        kind = "other"
    message = _provider_message(exc, status) or getattr(exc, "message", None) or str(exc) or name
    if kind in ("connection", "timeout"):
        message += _where(exc)
    return BackendError(
        kind,
        f"{name}: {message}"[:500],
        retry_after=retry_after(getattr(response, "headers", None)),
        status=status,
    )
