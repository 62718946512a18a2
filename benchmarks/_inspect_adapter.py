"""Path (c) of `benchmarks/runner.py`: the same prompts as an Inspect eval.

`inspect_ai` is optional (not a dependency of afdsl): `available()` says whether
it can be imported, and nothing here imports it at module level.

The eval is what an Inspect user would write for this job: a `Task` whose
dataset holds the prompts (system + user message), a plain `generate()` solver,
no scorer, run with `inspect_ai.eval` against the mock's OpenAI-compatible
endpoint through Inspect's `openai/` provider. Retries are off, concurrency is
`max_connections`, logs go to a temporary folder and the display is off.

While it runs, `loopback_only()` refuses any connection or name lookup that
does not go to 127.0.0.1, so the figure cannot come from a real provider and
nothing leaves the machine.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from afdsl.run import RunItem

__all__ = ["available", "bench_inspect", "inspect_version", "loopback_only"]

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}


def available() -> bool:
    """Whether `inspect_ai` is installed in this interpreter."""
    return importlib.util.find_spec("inspect_ai") is not None


def inspect_version() -> str:
    """The installed Inspect version, e.g. '0.3.285'."""
    import inspect_ai

    return str(inspect_ai.__version__)


def _is_loopback(host: Any) -> bool:
    if host is None or str(host) in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse sockets and DNS lookups to anything but loopback; yields the refused hosts.

    Inspect is a large framework with many providers and hooks; this guard
    proves the benchmark only ever talked to the mock, whatever it does inside.
    Unix sockets (e.g. asyncio's self-pipe on some platforms) are let through.
    """
    refused: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            refused.append(str(address[0]))
            raise OSError(f"benchmark guard: connection to {address[0]} refused (loopback only)")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check((host,))
        return real_getaddrinfo(host, *args, **kwargs)

    patches: list[tuple[Any, str, Callable[..., Any]]] = [
        (socket.socket, "connect", connect),
        (socket.socket, "connect_ex", connect_ex),
        (socket, "getaddrinfo", getaddrinfo),
    ]
    originals = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, fn in patches:
        setattr(obj, name, fn)
    try:
        yield refused
    finally:
        for obj, name, fn in originals:
            setattr(obj, name, fn)


def _samples(items: list[RunItem]) -> list[Any]:
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser

    samples = []
    for item in items:
        r = item.request
        messages: list[Any] = [ChatMessageSystem(content=r.system)]
        messages += [ChatMessageUser(content=m.content) for m in r.messages if m.role == "user"]
        samples.append(Sample(id=item.query_id, input=messages))
    return samples


def bench_inspect(items: list[RunItem], concurrency: int, base_url: str) -> float:
    """Seconds for one `inspect_ai.eval` over `items` against the OpenAI-compatible `base_url`.

    Only the `eval` call is timed (dataset construction is not, as afdsl's
    items and the bare loop's prompts are built before their clocks start).
    Raises RuntimeError unless every sample got a non-empty completion.
    """
    from inspect_ai import Task, eval
    from inspect_ai.solver import generate

    model = items[0].request.model
    task = Task(dataset=_samples(items), solver=generate(), name="afdsl_bench")
    env = {"OPENAI_API_KEY": "bench-key", "INSPECT_LOG_LEVEL": "warning"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            logs = eval(
                task,
                model=f"openai/{model.name}",
                model_base_url=base_url,
                # Chat Completions, as the other two paths use (the mock has no Responses API).
                model_args={"responses_api": False},
                max_connections=concurrency,
                max_retries=0,
                max_tokens=model.max_tokens,
                temperature=model.temperature,
                display="none",
                log_dir=tmp,
                score=False,
            )
            elapsed = time.perf_counter() - start
            _check(logs, len(items))  # inside: samples are read lazily from the log file
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return elapsed


def _check(logs: list[Any], n: int) -> None:
    """Fail loudly if Inspect did not complete every sample (an error would flatter its time)."""
    log = logs[0]
    if log.status != "success":
        raise RuntimeError(f"inspect eval ended with status {log.status}: {log.error}")
    samples = log.samples or []
    answered = sum(1 for s in samples if s.output and s.output.completion)
    if len(samples) != n or answered != n:
        raise RuntimeError(f"inspect answered {answered} of {n} samples ({len(samples)} logged)")
