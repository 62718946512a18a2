"""Progress display: a rich bar on a terminal, plain lines when stderr is a file or pipe.

Progress goes to stderr so that a report or JSON piped from stdout stays clean.

Both show done/total, rate, ETA, spend so far, errors, and retries with the
last reason (without which a run waiting out a 429 storm looks hung). Runs against a
simulator are labelled SIMULATOR so nobody mistakes them for real models.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

from afdsl.models.base import BackendError


class ProgressSink(Protocol):
    def start(self, total: int, label: str) -> None: ...

    def advance(self, *, ok: bool, cost_usd: float) -> None: ...

    def retry(self, error: BackendError) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, *, ok: bool, cost_usd: float) -> None:
        pass

    def retry(self, error: BackendError) -> None:
        pass

    def close(self) -> None:
        pass


class _Counts:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.errors = 0
        self.spent = 0.0
        self.retries = 0
        self.last_retry = ""  # why the last retry happened: "429", "timeout"
        self.t0 = time.monotonic()

    def retried(self, error: BackendError) -> str:
        """Count a retry; returns the text shown for retries so far."""
        self.retries += 1
        self.last_retry = error.kind if error.status is None else str(error.status)
        return self.retry_text()

    def retry_text(self) -> str:
        return f", {self.retries} retries (last {self.last_retry})" if self.retries else ""

    def rate(self) -> float:
        elapsed = time.monotonic() - self.t0
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> str:
        rate = self.rate()
        if rate <= 0 or self.done >= self.total:
            return "-"
        return f"{(self.total - self.done) / rate:.0f}s"


class PlainProgress:
    """One line every `every_s` seconds and one at the end; for logs and CI."""

    def __init__(self, stream: Any = None, every_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.counts = _Counts()
        self.label = ""
        self._last = 0.0

    def start(self, total: int, label: str) -> None:
        self.counts = _Counts()
        self.counts.total = total
        self.label = label
        if total:  # nothing to send (all cached): say nothing
            self._line()

    def _line(self) -> None:
        c = self.counts
        self.stream.write(
            f"{self.label}: {c.done}/{c.total} done, {c.rate():.1f}/s, ETA {c.eta()}, "
            f"${c.spent:.4f} spent, {c.errors} errors{c.retry_text()}\n"
        )
        self.stream.flush()
        self._last = time.monotonic()

    def advance(self, *, ok: bool, cost_usd: float) -> None:
        c = self.counts
        c.done += 1
        c.errors += 0 if ok else 1
        c.spent += cost_usd
        self._maybe_line()

    def retry(self, error: BackendError) -> None:
        self.counts.retried(error)
        self._maybe_line()  # a line even when nothing completes for a while

    def _maybe_line(self) -> None:
        if time.monotonic() - self._last >= self.every_s:
            self._line()

    def close(self) -> None:
        if self.counts.total:
            self._line()


class RichProgress:
    """A live rich progress bar; refreshed by rich's own timer, not per item."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeRemainingColumn(),
            TextColumn("${task.fields[spent]}"),
            TextColumn("[red]{task.fields[errors]} errors[/]{task.fields[retries]}"),
            refresh_per_second=4,
            console=Console(stderr=True),
        )
        self.counts = _Counts()
        self.task: Any = None

    def start(self, total: int, label: str) -> None:
        self.counts = _Counts()
        self.counts.total = total
        if not total:  # nothing to send (all cached): no empty bar
            return
        self.progress.start()
        self.task = self.progress.add_task(
            label, total=total, rate="0.0", spent="0.0000", errors=0, retries=""
        )

    def advance(self, *, ok: bool, cost_usd: float) -> None:
        c = self.counts
        c.done += 1
        c.errors += 0 if ok else 1
        c.spent += cost_usd
        self.progress.update(
            self.task, advance=1, rate=f"{c.rate():.1f}", spent=f"{c.spent:.4f}", errors=c.errors
        )

    def retry(self, error: BackendError) -> None:
        if self.task is not None:
            self.progress.update(self.task, retries=self.counts.retried(error))

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def make_progress(enabled: bool) -> ProgressSink:
    """Rich on a terminal, plain lines otherwise, nothing when disabled."""
    if not enabled:
        return NoProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress()
