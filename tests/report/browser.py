"""A headless Chromium driven over the DevTools protocol, for checking reports' layout.

Chromium reads protocol commands from file descriptor 3 and writes replies to 4
(`--remote-debugging-pipe`), each a JSON object ended by a NUL byte, so no
WebSocket client and no port are needed. Only what the layout tests use is here:
open a file at a given viewport width, evaluate an expression, take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

# The flags that let Chromium run headless as root in a container, offline and quiet.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of an installed Chromium (or Chrome), or None."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _as_fds_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: the pipe ends become descriptors 3 and 4, where Chromium looks.

    Both are first copied above 10, so neither is overwritten by the other's dup2."""
    high_read = fcntl.fcntl(read_end, fcntl.F_DUPFD, 10)
    high_write = fcntl.fcntl(write_end, fcntl.F_DUPFD, 10)
    os.dup2(high_read, 3)
    os.dup2(high_write, 4)


class ProtocolError(RuntimeError):
    """Chromium answered a command with an error, or stopped answering."""


class Browser:
    """One Chromium process with a fresh profile; use as a context manager."""

    def __init__(self, executable: str, timeout_s: float = 30.0) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="afdsl-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # the child closes nothing: its descriptors 3 and 4 are set below
            preexec_fn=lambda: _as_fds_3_and_4(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._timeout_s = timeout_s
        self._buffer = b""
        self._next_id = 0
        self._session: str | None = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the browser (politely, then by force) and remove its profile."""
        with contextlib.suppress(OSError):
            self._send("Browser.close", session=False, wait=False)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def open(
        self,
        path: Path,
        width: int,
        height: int = 900,
        *,
        mobile: bool = False,
        media: str = "screen",
    ) -> None:
        """Load `path` in a new page whose viewport is `width` CSS pixels wide.

        `mobile` lays the page out as a phone does: without a viewport meta tag the
        page would be laid out 980 px wide and shrunk, so the tag is tested too.
        `media` "print" applies the print stylesheet.
        """
        target = self._send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self._send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self._session = attached["sessionId"]
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        self._send("Emulation.setEmulatedMedia", {"media": media})
        self._send("Page.navigate", {"url": path.resolve().as_uri()})
        deadline = time.monotonic() + self._timeout_s
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise ProtocolError(f"{path} did not finish loading")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression evaluated in the open page."""
        reply = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise ProtocolError(json.dumps(reply["exceptionDetails"])[:500])
        return reply["result"].get("value")

    def screenshot(self, path: Path, width: int, *, mobile: bool = False) -> None:
        """A PNG of the whole open page at `width` (for a person to look at while working
        on the layout; tests compare no pixels). The viewport grows to the page's height,
        so every part is painted."""
        height = self.evaluate("document.documentElement.scrollHeight")
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        reply = self._send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(reply["data"]))

    def _send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: bool = True,
        wait: bool = True,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self._session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        if not wait:
            return {}
        while True:
            reply = self._read()
            if reply.get("id") != self._next_id:
                continue  # an event, or a reply to an earlier command
            if "error" in reply:
                raise ProtocolError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout_s
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise ProtocolError("Chromium stopped answering")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise ProtocolError("Chromium closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        reply: dict[str, Any] = json.loads(message)
        return reply
