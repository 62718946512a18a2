"""Diffs for long prompts: unified hunks with long runs folded, changed words inside a
line, and characters added and removed per section (`afdsl diff`)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from afdsl import ir

FOLD_OVER = 12  # a run of more changed lines than this shows only its ends
FOLD_KEEP = 4  # lines kept at each end of a folded run
_WORDS = re.compile(r"\s+|[^\s]+")


def unified(old: str, new: str, old_name: str, new_name: str, *, fold: bool = True) -> str:
    """A unified diff (3 lines of context); long runs of removed or added lines are
    folded to their first and last lines unless `fold` is False."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=old_name,
        tofile=new_name,
    )
    return "".join(_folded(list(lines)) if fold else lines)


def _folded(lines: list[str]) -> Iterator[str]:
    run: list[str] = []
    for line in [*lines, ""]:
        kind = line[:1] if not line.startswith(("---", "+++")) else ""
        if run and kind != run[0][:1]:
            yield from _fold(run)
            run = []
        if kind in ("-", "+"):
            run.append(line)
        elif line:
            yield line


def _fold(run: list[str]) -> list[str]:
    if len(run) <= FOLD_OVER:
        return run
    hidden = len(run) - 2 * FOLD_KEEP
    what = "removed" if run[0].startswith("-") else "added"
    marker = f"{run[0][0]} … {hidden} more lines {what} …\n"
    return [*run[:FOLD_KEEP], marker, *run[-FOLD_KEEP:]]


def words(old: str, new: str, *, context: int = 1) -> str:
    """The lines of `new` that changed, with removed words as `[-old-]` and added ones
    as `{+new+}`, `context` unchanged lines around each, `…` between distant ones."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    marked: list[str] = []
    for tag, i1, i2, j1, j2 in _word_changes(a, b):
        if tag == "equal":
            marked.append("".join(a[i1:i2]))
            continue
        if i2 > i1:
            marked.append("[-" + "".join(a[i1:i2]) + "-]")
        if j2 > j1:
            marked.append("{+" + "".join(b[j1:j2]) + "+}")
    lines = "".join(marked).split("\n")
    changed = [i for i, line in enumerate(lines) if "[-" in line or "{+" in line]
    keep = sorted({k for i in changed for k in range(i - context, i + context + 1)})
    out: list[str] = []
    previous = None
    for k in (k for k in keep if 0 <= k < len(lines)):
        if previous is not None and k > previous + 1:
            out.append("…")
        out.append(lines[k])
        previous = k
    return "\n".join(out) + "\n" if out else ""


def _word_changes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes over words, with changes that only a space or one word on the
    same line keeps apart merged into one (a rewritten sentence reads as one change)."""
    merged: list[tuple[str, int, int, int, int]] = []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        between = 0 < n < len(opcodes) - 1 and tag == "equal"
        small = (
            between
            and "\n" not in "".join(a[i1:i2])
            and sum(not t.isspace() for t in a[i1:i2]) <= 1
        )
        if (small or tag != "equal") and merged and merged[-1][0] != "equal":
            _, m1, _, n1, _ = merged[-1]
            merged[-1] = ("replace", m1, i2, n1, j2)
        else:
            merged.append(("equal" if tag == "equal" and not small else "replace", i1, i2, j1, j2))
    return merged


def _changed_chars(old: str, new: str) -> tuple[int, int]:
    """(characters removed, characters added) from `old` to `new`, compared word by word."""
    if old == new:
        return 0, 0
    a, b = _trimmed(_WORDS.findall(old), _WORDS.findall(new))
    removed = added = 0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += sum(len(t) for t in a[i1:i2])
            added += sum(len(t) for t in b[j1:j2])
    return removed, added


def _trimmed(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """`a` and `b` without the words they start and end with alike: difflib's time grows
    with the square of what it compares, and most edits touch one place."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return a[head : len(a) - tail], b[head : len(b) - tail]


def _parts(scenario: ir.Scenario) -> dict[str, str]:
    """Every section and span by name (spans as `section/span`), in prompt order."""
    parts: dict[str, str] = {}
    for section in scenario.sections:
        parts[section.name] = section.text
        inside = sorted(
            (s for s in scenario.spans if s.section == section.name),
            key=lambda s: (s.start, -s.end),
        )
        for span in inside:
            parts[f"{section.name}/{span.name}"] = section.text[span.start : span.end]
    return parts


def stat(
    old: ir.Scenario, new: ir.Scenario, old_user: str, new_user: str
) -> list[tuple[str, int, int]]:
    """(part, characters removed, characters added) for each section and span that
    changed, the user turn, and a total over the system prompt and user turn."""
    before, after = _parts(old), _parts(new)
    rows: list[tuple[str, int, int]] = []
    for name in [*before, *(n for n in after if n not in before)]:
        removed, added = _changed_chars(before.get(name, ""), after.get(name, ""))
        if removed or added:
            rows.append((name, removed, added))
    system = _changed_chars(old.system_prompt(), new.system_prompt())
    user = _changed_chars(old_user, new_user)
    if any(user):
        rows.append(("(user turn)", *user))
    rows.append(("total", system[0] + user[0], system[1] + user[1]))
    return rows
