"""Finding a quoted piece of prompt text, and explaining why it was not found.

Prompts copied from papers and PDFs carry curly quotes, long dashes,
non-breaking spaces and line breaks where a typed string has straight quotes,
hyphens, spaces and one line. A miss names the nearest text and, when the two
differ only in such characters, the likely cause.
"""

from __future__ import annotations

import difflib
import re

# Characters that look like a plainer one, and how a hint names them.
_LOOKALIKES: dict[str, tuple[str, str]] = {
    "\u2018": ("'", "curly quotes"),
    "\u2019": ("'", "curly quotes"),
    "\u201a": ("'", "curly quotes"),
    "\u201c": ('"', "curly quotes"),
    "\u201d": ('"', "curly quotes"),
    "\u201e": ('"', "curly quotes"),
    "\u2010": ("-", "dashes"),
    "\u2011": ("-", "dashes"),
    "\u2012": ("-", "dashes"),
    "\u2013": ("-", "dashes"),
    "\u2014": ("-", "dashes"),
    "\u2212": ("-", "dashes"),
    "\u00a0": (" ", "non-breaking spaces"),
    "\u2007": (" ", "non-breaking spaces"),
    "\u202f": (" ", "non-breaking spaces"),
    "\u2009": (" ", "non-breaking spaces"),
    "\u200b": ("", "zero-width spaces"),
    "\ufeff": ("", "zero-width spaces"),
}
_SHOWN = 80  # characters of nearest text a hint quotes
_SCAN_ALL = 40  # needles up to this long are compared at every word start
_WORD = re.compile(r"\S+")


def occurrences(text: str, needle: str, lo: int = 0, hi: int | None = None) -> list[int]:
    """Every start of `needle` in `text[lo:hi]` (overlapping ones too), as offsets in `text`."""
    hi = len(text) if hi is None else hi
    found: list[int] = []
    at = text.find(needle, lo, hi)
    while needle and at != -1:
        found.append(at)
        at = text.find(needle, at + 1, hi)
    return found


def _plain(text: str) -> tuple[str, list[int]]:
    """`text` with look-alikes made plain and whitespace runs made one space, and for
    each character kept the offset in `text` it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        ch = _LOOKALIKES.get(ch, (ch, ""))[0]
        if not ch:
            continue
        if ch.isspace():
            if out and out[-1] == " ":
                continue
            ch = " "
        out.append(ch)
        where.append(i)
    return "".join(out), where


def _causes(wrote: str, found: str) -> list[str]:
    """What differs between two texts that are equal once made plain."""
    causes: list[str] = []
    for ch in found + wrote:
        cause = _LOOKALIKES.get(ch, ("", ""))[1]
        if cause and (ch in found) != (ch in wrote) and cause not in causes:
            causes.append(cause)
    plain_found = [_LOOKALIKES.get(c, (c, ""))[0] for c in found]
    plain_wrote = [_LOOKALIKES.get(c, (c, ""))[0] for c in wrote]
    spaces_found = [c for c in plain_found if c.isspace()]
    spaces_wrote = [c for c in plain_wrote if c.isspace()]
    if spaces_found != spaces_wrote:
        line_breaks = "\n" in spaces_found or "\n" in spaces_wrote
        causes.append("line breaks" if line_breaks else "whitespace")
    return causes


def quote(text: str, limit: int = _SHOWN) -> str:
    """`text` on one line for a message: line breaks as `\\n`, cut at `limit`."""
    shown = text.replace("\n", "\\n")
    return f'"{shown[:limit]}…"' if len(shown) > limit else f'"{shown}"'


def typographic_match(needle: str, text: str) -> tuple[str, list[str]] | None:
    """(the text as it is, causes) when `needle` occurs in `text` once look-alike
    characters and whitespace are made plain; None otherwise."""
    plain_needle, _ = _plain(needle)
    plain_text, where = _plain(text)
    at = plain_text.find(plain_needle.strip()) if plain_needle.strip() else -1
    if at == -1:
        return None
    stop = at + len(plain_needle.strip()) - 1
    found = text[where[at] : where[stop] + 1]
    return found, _causes(needle.strip(), found)


def nearest(needle: str, text: str) -> str | None:
    """The stretch of `text` most like `needle` (difflib ratio, from a word start), if
    one is at least 60% alike. A long needle is compared only where its words are
    densest, so a miss on a 26,000-character prompt stays fast."""
    size = len(needle)
    if not size or not text:
        return None
    starts = [m.start() for m in _WORD.finditer(text)]
    if size > _SCAN_ALL:
        starts = _densest(needle, text, starts)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(needle)
    best, best_ratio = None, 0.6
    for start in starts:
        matcher.set_seq1(text[start : start + size])
        if matcher.real_quick_ratio() <= best_ratio or matcher.quick_ratio() <= best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best, best_ratio = text[start : start + size], ratio
    return best


def _densest(needle: str, text: str, starts: list[int], keep: int = 40) -> list[int]:
    """The `keep` word starts whose next words share the most words with `needle`."""
    wanted = set(needle.split())
    words = [m.group() for m in _WORD.finditer(text)]
    width = max(len(needle.split()), 1)
    hits = [w in wanted for w in words]
    scores: list[int] = []
    score = sum(hits[:width])
    for i in range(len(words)):
        scores.append(score)
        score += (hits[i + width] if i + width < len(words) else 0) - hits[i]
    densest = sorted(range(len(words)), key=lambda i: (-scores[i], i))[:keep]
    return sorted(starts[i] for i in densest)


def miss_hint(needle: str, texts: list[str]) -> str | None:
    """Why `needle` matches none of `texts`: a typographic cause with the text as it is,
    else the nearest text; None when nothing is close."""
    for text in texts:
        typographic = typographic_match(needle, text)
        if typographic is not None:
            found, causes = typographic
            why = " and ".join(causes) or "spacing"
            return f"the prompt has {quote(found)}: it differs in {why}"
    candidates = [n for n in (nearest(needle, t) for t in texts) if n is not None]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: difflib.SequenceMatcher(None, c, needle).ratio())
    return f"the nearest text is {quote(best)}"


def count_hint(needle: str, count: int, what: str) -> str:
    """The hint for a boundary text that occurs `count` (!= 1) times."""
    if count == 0:
        return f"{quote(needle)} occurs nowhere in {what}"
    return f"{quote(needle)} occurs {count} times in {what}; quote more of it so it occurs once"
