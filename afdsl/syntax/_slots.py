"""Template slots: only `{identifier}` is a slot; every other brace is literal text."""

from __future__ import annotations

import re
from collections.abc import Iterator

SLOT_PATTERN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def find_slots(template: str) -> Iterator[tuple[str, int, int]]:
    """(name, start, end) of every slot in `template`, in order."""
    for m in SLOT_PATTERN.finditer(template):
        yield m.group(1), m.start(), m.end()


def slot_names(template: str) -> list[str]:
    """Slot names in order of first use."""
    return list(dict.fromkeys(name for name, _, _ in find_slots(template)))
