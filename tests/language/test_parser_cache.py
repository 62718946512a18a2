"""The parse tables are cached in the user's cache folder and survive a damaged cache file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECK = (
    "from afdsl.syntax import parse_hypothesis\n"
    "print(parse_hypothesis('h: gap(a) < gap(base)').op)\n"
)


def _parse_in_fresh_process(cache_home: Path, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "AFDSL_NO_CACHE"}
    env.update(XDG_CACHE_HOME=str(cache_home), **extra)
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_tables_are_cached_in_the_user_cache_folder(tmp_path: Path) -> None:
    assert _parse_in_fresh_process(tmp_path) == "<"
    cache = tmp_path / "afdsl" / "afs-grammar.lark-cache"
    assert cache.stat().st_size > 1000
    assert _parse_in_fresh_process(tmp_path) == "<"  # loaded from the cache


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "afdsl" / "afs-grammar.lark-cache"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a pickle")
    assert _parse_in_fresh_process(tmp_path) == "<"
    assert cache.read_bytes() != b"not a pickle"


def test_no_cache_when_asked(tmp_path: Path) -> None:
    assert _parse_in_fresh_process(tmp_path, AFDSL_NO_CACHE="1") == "<"
    assert not (tmp_path / "afdsl").exists()
