"""Secrets: which environment variables hold keys, and scrubbing their values from text.

A key variable is one whose name ends in `_KEY`, `_TOKEN`, `_SECRET` or
`_PASSWORD` (so `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `HF_TOKEN`, and every
`api_key_env` a .afs file may name: see `key_name_problem`). Their values are
read from the environment each time, so a key exported mid-session is covered.

`redact(text)` replaces every such value with `[redacted NAME]`. It is applied
where error messages are made (`BackendError`), where anything is printed as an
internal error, and to diagnostics' source excerpts, so a provider that echoes
the key in a 401 message cannot put it in the store, a report, a sidecar or the
terminal. `secret_in(text)` names the variable whose value a text holds: the
checker refuses such a prompt before anything is sent.
"""

from __future__ import annotations

import os
import re

__all__ = ["KEY_SUFFIXES", "key_name_problem", "redact", "secret_in", "secret_values"]

KEY_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would redact ordinary words
_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_key_name(name: str) -> bool:
    return name.upper().endswith(KEY_SUFFIXES)


def secret_values() -> dict[str, str]:
    """value -> variable name for every key variable set in the environment, longest
    value first (so a key that contains another is replaced whole)."""
    names = [name for name in os.environ if _is_key_name(name)]  # values only of keys
    found = [(os.environ[name], name) for name in names]
    found = [(value, name) for value, name in found if len(value.strip()) >= MIN_SECRET_LENGTH]
    return dict(sorted(found, key=lambda item: -len(item[0])))


def redact(text: str) -> str:
    """`text` with the value of every key variable replaced by `[redacted NAME]`."""
    for value, name in secret_values().items():
        if value in text:
            text = text.replace(value, f"[redacted {name}]")
    return text


def secret_in(text: str, secrets: dict[str, str] | None = None) -> str | None:
    """The name of a key variable whose value `text` holds, or None. `secrets` (from
    `secret_values()`) saves reading the environment again when checking many texts."""
    for value, name in (secret_values() if secrets is None else secrets).items():
        if value in text:
            return name
    return None


def key_name_problem(name: str) -> str | None:
    """Why `name` may not be an `api_key_env` (None when it may). The key is sent as a
    bearer token to the model's server, so only variables that are keys by name can be
    sent: `api_key_env "HOME"` or `"AWS_SESSION"` would hand that value to the server."""
    if not _KEY_NAME.fullmatch(name):
        return "`api_key_env` names an environment variable, e.g. MY_API_KEY"
    if not _is_key_name(name):
        ends = ", ".join(f"`{s}`" for s in KEY_SUFFIXES)
        return f"`api_key_env` must name a key variable: one whose name ends in {ends}"
    return None
