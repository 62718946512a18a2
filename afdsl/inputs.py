"""Reading the files a user names: what kinds and sizes are accepted, and how they decode.

Every file afdsl reads on a user's behalf (a .afs file and what it `use`s, a
section's `from` file, a `queries` data file, a `replay:` transcript file, a
labels file) goes through `read_input`, so one rule holds everywhere:

- only regular files, never a device, a fifo or a directory, and nothing under
  /proc, /sys or /dev (a fifo would hang the read, /dev/zero would fill
  memory, /proc/self/environ would put the environment into a prompt);
- at most `MAX_SOURCE_BYTES` for program text (.afs files, section files) and
  `MAX_DATA_BYTES` for data (queries, transcripts, labels);
- UTF-8, with the first bad byte reported at its line and column.

JSON Lines records are parsed with `parse_json_line`, which turns the limits
of Python's `json` (numbers over 4,300 digits, deep nesting) and unpaired
surrogates into one `InputError` the caller reports at its file:line.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

MAX_SOURCE_BYTES = 4 * 1024 * 1024  # a .afs file or a section's text file
MAX_DATA_BYTES = 512 * 1024 * 1024  # a queries, replay or labels file
FORBIDDEN_ROOTS = ("/proc", "/sys", "/dev")
NOT_FOUND = "not found"  # the problem callers word their own way ("cannot find ...")
MAX_JSON_DEPTH = 100  # nesting of arrays and objects in one JSON record

__all__ = [
    "FORBIDDEN_ROOTS",
    "MAX_DATA_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_SOURCE_BYTES",
    "NOT_FOUND",
    "InputError",
    "decode_utf8",
    "file_problem",
    "parse_json_line",
    "read_input",
    "regex_problem",
]


class InputError(ValueError):
    """A file that cannot be read as input. `line`/`col` (1-based) locate the problem
    inside the file when there is one (a bad byte, a bad JSON value)."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def _size_words(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def _forbidden_root(path: Path) -> str | None:
    """The system folder `path` lies in (after following links), if any."""
    real = os.path.realpath(path)
    for root in FORBIDDEN_ROOTS:
        if real == root or real.startswith(root + "/"):
            return root
    return None


def _system_device(device: int) -> str | None:
    """The open file is on the file system mounted at /proc, /sys or /dev (a link swapped
    in after the path was checked): `/proc/self/environ` is a regular file there. A root
    that is a plain folder of `/` (no mount of its own) is left to the path check."""
    try:
        top = os.stat("/").st_dev
    except OSError:
        return None
    for root in FORBIDDEN_ROOTS:
        try:
            own = os.stat(root).st_dev
        except OSError:
            continue
        if own == device and own != top:
            return f"is under {root}, which afdsl never reads"
    return None


def _kind_problem(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (fifo), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def file_problem(path: Path, limit: int) -> str | None:
    """Why `path` may not be read as input (None when it may): missing, under a system
    folder, not a regular file, or larger than `limit` bytes. Never opens the file."""
    root = _forbidden_root(path)
    if root is not None:
        return f"is under {root}, which afdsl never reads"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return NOT_FOUND
    except OSError as exc:
        return exc.strerror or str(exc)
    problem = _kind_problem(info.st_mode)
    if problem is None and info.st_size > limit:
        problem = f"is {_size_words(info.st_size)}, over the {_size_words(limit)} limit"
    return problem


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of `path`, checked by `file_problem`; raises InputError.

    The file is opened without blocking and checked again through its descriptor,
    so a fifo swapped in after the check neither hangs nor passes; at most
    `limit` + 1 bytes are ever read."""
    problem = file_problem(path, limit)
    if problem is not None:
        raise InputError(problem)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        problem = _kind_problem(info.st_mode) or _system_device(info.st_dev)
        if problem is not None:
            raise InputError(problem)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"is over the {_size_words(limit)} limit")
    return data


def decode_utf8(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped); raises InputError at the line and
    column (in characters) of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line_start = head.rfind(b"\n") + 1
        line = head.count(b"\n") + 1
        col = len(head[line_start:].decode("utf-8-sig", errors="replace")) + 1
        raise InputError(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col}",
            line,
            col,
        ) from None


def _lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a string with an unpaired surrogate."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(item) for item in value)
    return False


def _depth(line: str) -> int:
    """The deepest nesting of arrays and objects, counted outside strings; only called
    on lines with many brackets, so ordinary records cost nothing."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in line:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


_decode = json.JSONDecoder().decode  # json.loads without its per-call checks


def parse_json_line(line: str, *, surrogates: bool = False) -> Any:
    """One JSON value; raises InputError (with the column when JSON gives one) for
    malformed JSON, a number over Python's 4,300-digit limit, nesting deeper than
    MAX_JSON_DEPTH and, unless `surrogates`, a string holding an unpaired surrogate
    (a `\\ud83d` escape alone), which no UTF-8 file or terminal can hold."""
    if line.count("[") + line.count("{") > MAX_JSON_DEPTH and _depth(line) > MAX_JSON_DEPTH:
        raise InputError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = _decode(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", col=exc.colno) from None
    except ValueError:  # int("9" * 5000): Python's limit on integer digits
        limit = f"{sys.get_int_max_str_digits():,}"
        raise InputError(f"a number in this JSON has more than {limit} digits") from None
    except RecursionError:
        raise InputError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    # JSON spells a surrogate only as a `\u` escape, so most lines need no walk.
    if not surrogates and "\\u" in line and _lone_surrogate(value):
        raise InputError(
            "a string holds an unpaired surrogate (a lone `\\ud800`-`\\udfff` escape), "
            "which is not text"
        )
    return value


def _regex_parts(op: Any, av: Any, in_repeat: bool) -> list[tuple[Any, bool]]:
    """The sub-patterns of one parsed regex node, each with whether it sits inside a
    repeat that backtracks (a repeat of more than one; not possessive, not atomic)."""
    from re import _constants as C

    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        return [(av[2], in_repeat or av[1] > 1)]
    if op is C.POSSESSIVE_REPEAT:
        return [(av[2], False)]
    if op is C.ATOMIC_GROUP:
        return [(av, False)]
    if op is C.SUBPATTERN:
        return [(av[3], in_repeat)]
    if op is C.BRANCH:
        return [(branch, in_repeat) for branch in av[1]]
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [(av[1], in_repeat)]
    return []


def _nested_repeat(items: Any, in_repeat: bool) -> bool:
    from re import _constants as C

    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[1] > 1 and in_repeat:
            return True
        if any(_nested_repeat(sub, inside) for sub, inside in _regex_parts(op, av, in_repeat)):
            return True
    return False


def regex_problem(pattern: str) -> str | None:
    """Why a user's regular expression is refused (None when it is accepted): a repeat
    inside a repeat, such as `(\\w+\\s?)+$`, can backtrack exponentially on text that
    almost matches, and Python's `re` cannot be interrupted. Possessive repeats and
    atomic groups never backtrack into, so they may hold repeats."""
    from re import _parser

    try:
        parsed = _parser.parse(pattern)
    except Exception:
        return None  # malformed: re.compile reports it in its own words
    if _nested_repeat(parsed, False):
        return (
            "a repeated group that itself repeats (like `(\\w+\\s?)+`) can take exponential "
            "time to fail a match; make the inner or outer repeat possessive (`++`, `*+`) "
            "or atomic (`(?>...)`)"
        )
    return None
