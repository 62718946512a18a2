"""`MockProvider`: a loopback server speaking the Anthropic and OpenAI wire formats.

    with MockProvider(latency=0.05, fail_500=0.2, fail_429=0.1) as server:
        client = AsyncOpenAI(base_url=server.openai_base_url, api_key="x")
        ...
        server.request_count, server.completion_requests

By default the server runs on its own event loop in a background thread. With
`process=True` it runs in a child process instead, so a benchmark does not
share the client's interpreter lock with the server; counters are then read
over HTTP from `/_mock/stats`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import urllib.request
from types import TracebackType
from typing import Any

from afdsl.testing._server import (
    ConversationReplyFn,
    MockApp,
    MockConfig,
    MockError,
    ReplyFn,
    default_reply,
    serve_connection,
)

__all__ = ["MockError", "MockProvider"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(app: MockApp, port: int, started: Any, stop: asyncio.Event | None) -> None:
    tasks: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await serve_connection(app, reader, writer)
        except asyncio.CancelledError:
            pass  # shutting down
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(on_connect, "127.0.0.1", port, backlog=1024)
    started.set()
    async with server:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
        # Close keep-alive connections before the loop goes away, so nothing is left pending.
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


_CHILD = "from afdsl.testing.mock_provider import _child_main; _child_main()"


def _child_main() -> None:
    """Entry point of `process=True` (argv: CONFIG_JSON PORT)."""
    doc = json.loads(sys.argv[1])
    port = int(sys.argv[2])
    config = MockConfig(**doc)
    app = MockApp(config, base_url=f"http://127.0.0.1:{port}")

    class _Started:
        def set(self) -> None:
            print("ready", flush=True)

    asyncio.run(_serve(app, port, _Started(), None))


class MockProvider:
    """A mock Anthropic + OpenAI endpoint on 127.0.0.1 for tests and benchmarks.

    `latency` is seconds per completion; `fail_500` and `fail_429` are the
    probabilities that a completion request fails with that status (429s carry
    a `retry-after` of `retry_after` seconds); `batch_delay` is how long a
    batch stays in progress; `reply(system, user) -> str` makes the answer text
    (it may raise `MockError(status, message)` to refuse that request, e.g. a 400);
    `conversation_reply(system, messages) -> str`, when given, answers instead from
    every message of the conversation (a multi-turn test needs to see the turns);
    system prompts of at least `cache_min_tokens` (about 4 characters a token)
    are cached as the providers would (see `_server`).
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        fail_500: float = 0.0,
        fail_429: float = 0.0,
        retry_after: float = 0.05,
        batch_delay: float = 0.2,
        seed: int = 0,
        reply: ReplyFn = default_reply,
        process: bool = False,
        port: int | None = None,
        cache_min_tokens: int = 1024,
        conversation_reply: ConversationReplyFn | None = None,
    ) -> None:
        self.config = MockConfig(
            latency, fail_500, fail_429, retry_after, batch_delay, seed, reply, cache_min_tokens,
            conversation_reply,
        )  # fmt: skip
        self.port = port or _free_port()
        self.process = process
        self._app: MockApp | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._child: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        """Root URL; the Anthropic SDK takes this as its `base_url`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        """The OpenAI SDK expects the `/v1` prefix in its base URL."""
        return f"{self.base_url}/v1"

    def start(self) -> MockProvider:
        if self.process:
            if self.config.reply is not default_reply or self.config.conversation_reply:
                raise ValueError("a custom reply function needs process=False")
            functions = ("reply", "conversation_reply")
            doc = {k: v for k, v in vars(self.config).items() if k not in functions}
            self._child = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    json.dumps(doc),
                    str(self.port),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert self._child.stdout is not None
            if self._child.stdout.readline().strip() != "ready":
                raise RuntimeError("mock provider process did not start")
            return self
        self._app = MockApp(self.config, base_url=self.base_url)
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            assert self._app is not None
            loop.run_until_complete(_serve(self._app, self.port, started, self._stop))
            loop.close()

        self._thread = threading.Thread(target=run, name="mock-provider", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("mock provider did not start")
        return self

    def stop(self) -> None:
        if self._child is not None:
            self._child.terminate()
            self._child.wait(5)
            self._child = None
        if self._thread is not None and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> MockProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stats(self) -> dict[str, int]:
        """Counters: request_count, completion_requests, completions_ok, failures, cache_marked."""
        if self._app is not None:
            return self._app.stats()
        with urllib.request.urlopen(f"{self.base_url}/_mock/stats", timeout=10) as resp:
            return dict(json.loads(resp.read()))

    @property
    def request_count(self) -> int:
        """Every HTTP request received (completions, batch calls, stats excluded only in-thread)."""
        return self.stats()["request_count"]

    @property
    def completion_requests(self) -> int:
        """Attempts at `/v1/messages` and `/v1/chat/completions`, including injected failures."""
        return self.stats()["completion_requests"]

    @property
    def auth_values(self) -> set[str]:
        """API keys the clients presented (thread mode only), to check keys are passed through."""
        return set(self._app.state.auth_values) if self._app else set()
