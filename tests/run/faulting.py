"""A store that fills up: a real SQLite file whose writes fail as on a full disk."""

from __future__ import annotations

from pathlib import Path

from afdsl.store import Outcome, Store


class FullAfter(Store):
    """A real store whose database stops taking writes after `writes` commits of answers,
    as a full disk does (SQLite's own `max_page_count` limit: SQLITE_FULL), until `free()`."""

    def __init__(self, path: Path, writes: int) -> None:
        super().__init__(path)
        self.writes = writes

    def put_outcomes(self, outcomes: list[Outcome]) -> list[Outcome]:
        if self.writes == 0:
            pages = self.db.execute("PRAGMA page_count").fetchone()[0]
            self.db.execute(f"PRAGMA max_page_count = {pages}")
        self.writes -= 1
        return super().put_outcomes(outcomes)

    def free(self) -> None:
        self.writes = -(10**9)
        self.db.execute("PRAGMA max_page_count = 1073741823")
