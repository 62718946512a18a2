"""Results on their way to the store: group commits, kept in memory while the store fails.

Results are committed in small groups on the next event-loop turn, so a kill
loses at most what was in flight. When a commit fails (disk full, I/O error,
read-only file) the writer keeps the results, retries on a timer, and marks the
run `failed` so the scheduler sends nothing more: every answer paid for from
then on is one more that must not be lost. At the end of the run `finish` makes
the last attempts and writes what the store still refuses to a recovery file
(see `afdsl.store._recovery`), which the next run imports.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from afdsl.store import Outcome, ResponseKey, Store, StoreWriteError, Turn, save_recovered

# Attempts at a failing store after the first, each waiting twice as long as the one before.
RETRIES = 4


class StoreGaveUp(StoreWriteError):
    """The store refused the run's answers to the end; the message says where they are."""


class ResultWriter:
    """Outcomes and conversation turns waiting for a commit (`add`, `add_turn`), written as
    a group on the next loop turn."""

    def __init__(self, store: Store, first_retry_s: float = 0.25) -> None:
        self.store = store
        # 0.25 s doubling: the store gets about 4 s to recover, during the run and at its end.
        self.retry_delays_s = tuple(first_retry_s * 2**n for n in range(RETRIES))
        self.pending: list[Outcome] = []
        self.pending_turns: list[tuple[ResponseKey, Turn]] = []
        # Rows the store refused (a value no column holds): kept for the recovery file.
        self.rejected: list[Outcome] = []
        self.rejected_turns: list[tuple[ResponseKey, Turn]] = []
        self.failure: StoreWriteError | None = None  # the first failed commit of this run
        self._scheduled = False
        self._attempts = 0  # failed attempts in a row

    @property
    def failed(self) -> bool:
        """Whether a commit has failed in this run (then nothing more should be sent)."""
        return self.failure is not None

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        self._schedule()

    def add_turn(self, key: ResponseKey, turn: Turn) -> None:
        self.pending_turns.append((key, turn))
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def flush(self) -> bool:
        """Commit everything pending now; False, keeping it, when the store refuses."""
        if not self.pending and not self.pending_turns:
            return True
        turns, batch = self.pending_turns, self.pending
        self.pending_turns, self.pending = [], []
        try:
            self.rejected_turns += self.store.put_turns(turns)  # first: a row never lacks them
            turns = []
            self.rejected += self.store.put_outcomes(batch)
        except Exception as exc:  # a bug must not lose paid answers either: keep them
            self.pending_turns[:0] = turns
            self.pending[:0] = batch
            if not isinstance(exc, StoreWriteError):
                exc = StoreWriteError(f"cannot write to the store {self.store.path}: {exc!r}")
            self.failure = self.failure or exc
            self._attempts += 1
            return False
        self._attempts = 0
        return True

    def _scheduled_flush(self) -> None:
        """The loop's callback: never raises (a raise would only be logged and lose the group)."""
        self._scheduled = False
        if self.flush() or self._attempts > len(self.retry_delays_s):
            return  # after the last timed retry, `finish` tries again at the end
        delay = self.retry_delays_s[self._attempts - 1]
        self._scheduled = True
        asyncio.get_running_loop().call_later(delay, self._scheduled_flush)

    async def finish(self) -> None:
        """At the end of the run: commit what is left, retrying a failing store a few times;
        then write what it still refuses to a recovery file and raise `StoreGaveUp`."""
        for delay in (0.0, *self.retry_delays_s):
            await asyncio.sleep(delay)
            if self.flush():
                break
        kept = self.pending + self.rejected
        kept_turns = self.pending_turns + self.rejected_turns
        if not kept and not kept_turns:
            return
        where = save_recovered(self.store.path, kept, kept_turns)
        self.pending, self.rejected, self.pending_turns, self.rejected_turns = [], [], [], []
        count = len(kept) + len(kept_turns)
        raise StoreGaveUp(self._gave_up_message(count, where)) from self.failure

    def _gave_up_message(self, count: int, where: Path | None) -> str:
        why = self.failure or "the store refused some rows"
        if where is None:
            return f"{why}; {count} answer(s) could not be saved anywhere and are lost"
        return (
            f"{why}; {count} answer(s) not stored were saved to {where}, which the next run "
            "imports: free space or fix the store, then rerun"
        )
