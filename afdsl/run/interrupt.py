"""Ctrl-C during a run: let the requests in flight finish and be stored, then stop.

A request in flight is paid for whether or not its answer arrives, so
dropping it on the first Ctrl-C means paying for it again on the rerun. The
first Ctrl-C stops sending anything new (retries and requests waiting for a
rate limit included) and stops the run once the last request in flight is
answered and recorded; a second Ctrl-C stops at once. The run then ends with
`KeyboardInterrupt` as before (exit 130).
"""

from __future__ import annotations

import asyncio
import signal
import sys


class Interrupt:
    """The run's SIGINT handler and its count of requests in flight."""

    def __init__(self) -> None:
        self.requested = False
        self.in_flight = 0
        self._task: asyncio.Task[object] | None = None

    def install(self) -> None:
        """Handle SIGINT on the running loop; a no-op where signals cannot be handled."""
        self._task = asyncio.current_task()
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_sigint)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            self._task = None

    def remove(self) -> None:
        if self._task is not None:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)

    def _on_sigint(self) -> None:
        if self.requested or self.in_flight == 0:
            self._stop()
            return
        self.requested = True
        sys.stderr.write(
            f"\ninterrupted: waiting for the {self.in_flight} request(s) in flight (already "
            "paid for) to be stored; Ctrl-C again to stop now\n"
        )

    def started(self) -> None:
        self.in_flight += 1

    def finished(self) -> None:
        """One request answered; after an interrupt, the last one stops the run."""
        self.in_flight -= 1
        if self.requested and self.in_flight == 0:
            # On the next loop turn, so the answer just received is recorded first.
            asyncio.get_running_loop().call_soon(self._stop)

    def _stop(self) -> None:
        self.requested = True
        if self._task is not None:
            self._task.cancel()
