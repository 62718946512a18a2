"""Progress display: a rich bar on a terminal, plain lines when stderr is a file or pipe.

Progress goes to stderr so that a report or JSON piped from stdout stays clean.

Both show done/total, rate, ETA, spend so far, errors, and retries with the
last reason (without which a run waiting out a 429 storm looks hung). Runs against a
simulator are labelled SIMULATOR so nobody mistakes them for real models.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Protocol

from afdsl.models.base import BackendError


class ProgressSink(Protocol):
    def start(self, total: int, label: str) -> None: ...

    def advance(self, *, ok: bool, cost_usd: float) -> None: ...

    def retry(self, error: BackendError, wait_s: float = 0.0) -> None: ...

    def stalled(self, idle_s: float) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, *, ok: bool, cost_usd: float) -> None:
        pass

    def retry(self, error: BackendError, wait_s: float = 0.0) -> None:
        pass

    def stalled(self, idle_s: float) -> None:
        pass

    def close(self) -> None:
        pass


LONG_WAIT_S = 10.0  # a retry waiting this long is shown: the run would otherwise look hung


def seconds(value: float) -> str:
    """`120` or `0.4`: whole seconds once they are many (a retry's jitter of under a second
    above a capped 120 s still reads 120)."""
    return str(int(value)) if value >= LONG_WAIT_S else f"{value:.1f}"


def waiting_text(asked_s: float | None, wait_s: float) -> str:
    """`waiting 120 s (provider asked for inf)` for a long or capped wait, else ''."""
    capped = asked_s is not None and asked_s > wait_s
    if not capped and wait_s < LONG_WAIT_S:
        return ""
    text = f"waiting {seconds(wait_s)} s"
    if capped and asked_s is not None:
        asked = "inf" if math.isinf(asked_s) else f"{asked_s:g} s"
        text += f" (provider asked for {asked})"
    return text


class _Counts:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.errors = 0
        self.spent = 0.0
        self.retries = 0
        self.last_retry = ""  # why the last retry happened: "429", "timeout"
        self.waiting = ""  # a long wait the last retry asked for: "waiting 120 s (...)"
        self.t0 = time.monotonic()

    def retried(self, error: BackendError, wait_s: float = 0.0) -> str:
        """Count a retry; returns the text shown for retries so far."""
        self.retries += 1
        self.last_retry = error.kind if error.status is None else str(error.status)
        self.waiting = waiting_text(error.retry_after, wait_s)
        return self.retry_text()

    def retry_text(self) -> str:
        if not self.retries:
            return ""
        waiting = f", {self.waiting}" if self.waiting else ""
        return f", {self.retries} retries (last {self.last_retry}){waiting}"

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

    def retry(self, error: BackendError, wait_s: float = 0.0) -> None:
        shown = self.counts.waiting
        self.counts.retried(error, wait_s)
        if self.counts.waiting and self.counts.waiting != shown:
            self._line()  # a long wait starts: say so now, not after it
        else:
            self._maybe_line()  # a line even when nothing completes for a while

    def stalled(self, idle_s: float) -> None:
        c = self.counts
        idle = seconds(idle_s)
        self.stream.write(
            f"{self.label}: no answer for {idle} s, {c.done}/{c.total} done{c.retry_text()}\n"
        )
        self.stream.flush()

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

    def retry(self, error: BackendError, wait_s: float = 0.0) -> None:
        if self.task is not None:
            self.progress.update(self.task, retries=self.counts.retried(error, wait_s))

    def stalled(self, idle_s: float) -> None:
        if self.task is not None:
            text = f"{self.counts.retry_text()}, no answer for {seconds(idle_s)} s"
            self.progress.update(self.task, retries=text)

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
