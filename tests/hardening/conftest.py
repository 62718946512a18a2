"""Helpers for the hardening tests: hostile inputs, each reproduced from the red-team
report (issue 11), checked for a positioned error instead of a crash or a hang."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from afdsl.check import CheckResult, check_file
from afdsl.diagnostics import Diagnostic, render

T = TypeVar("T")
DEADLINE_S = 10.0  # "none hangs past 10 s"

HEADER = "use helpful_only\n"


def experiment(
    body: str = "", *, queries: str = '["Write a rude poem."]', base: str = "helpful_only"
) -> str:
    """A one-experiment program (line 1: `use`, the experiment from line 2, `body` from line 7)."""
    return (
        HEADER
        + "experiment e {\n"
        + f"  base {base}\n"
        + "  model sim:opus_like\n"
        + f"  queries {queries}\n"
        + "  samples 1\n"
        + body
        + "\n}\n"
    )


def within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, failing the test if it takes longer than `seconds` (a daemon thread, so
    a call stuck on a fifo does not keep the test process alive)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def check(path: Path) -> CheckResult:
    return within(DEADLINE_S, lambda: check_file(path))


def errors_of(path: Path) -> list[Diagnostic]:
    return [d for d in check(path).diagnostics if d.is_error]


def only_error(path: Path) -> Diagnostic:
    found = errors_of(path)
    assert len(found) == 1, render(found)
    return found[0]


def rendered(path: Path) -> str:
    result = check(path)
    return render(result.diagnostics, result.sources)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(text: str | bytes, name: str = "main.afs") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write
