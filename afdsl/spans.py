"""Spans of section text: editing a section while its named spans stay on their text.

A span (`ir.TextSpan`) is a range of a top-level section's text. Every edit of a
section goes through `edit_section`, which moves the spans after an edit, grows
the ones an insertion is meant for, drops the ones whose text is gone, and
refuses an edit that would cut a span in two.
"""

from __future__ import annotations

from dataclasses import dataclass

from afdsl import ir


class SpanConflict(Exception):
    """An edit that would leave a span half inside it."""


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `text[start:end]` by `new` (start == end: an insertion)."""

    start: int
    end: int
    new: str

    @property
    def delta(self) -> int:
        return len(self.new) - (self.end - self.start)


def contains(outer: ir.TextSpan, inner: ir.TextSpan) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def overlap_partially(a: ir.TextSpan, b: ir.TextSpan) -> bool:
    """Neither apart nor one inside the other."""
    apart = a.end <= b.start or b.end <= a.start
    return not apart and not contains(a, b) and not contains(b, a)


def enclosing(scenario: ir.Scenario, span: ir.TextSpan) -> set[str]:
    """The names of `span` and every span that contains it."""
    return {s.name for s in scenario.spans if s.section == span.section and contains(s, span)}


def _move_start(x: int, edits: list[Edit], grow: bool) -> int:
    moved = x
    for e in edits:
        if e.start == e.end == x:
            moved += 0 if grow else e.delta  # an insertion at the start: inside only if grown
        elif e.end <= x:
            moved += e.delta
        elif e.start < x:
            raise SpanConflict("start")
    return moved


def _move_end(y: int, edits: list[Edit], grow: bool) -> int:
    moved = y
    for e in edits:
        if e.start == e.end == y:
            moved += e.delta if grow else 0  # an insertion at the end: inside only if grown
        elif e.end <= y:
            moved += e.delta
        elif e.start < y:
            raise SpanConflict("end")
    return moved


def _swallowed(span: ir.TextSpan, edits: list[Edit]) -> bool:
    """Inside an edit that is larger than the span: its text is gone."""
    return any(
        e.start <= span.start and span.end <= e.end and (e.start, e.end) != (span.start, span.end)
        for e in edits
    )


def edit_section(
    scenario: ir.Scenario,
    index: int,
    edits: list[Edit],
    *,
    grow: frozenset[str] = frozenset(),
    drop: frozenset[str] = frozenset(),
    add: tuple[ir.TextSpan, ...] = (),
) -> ir.Scenario:
    """`scenario` with `edits` (sorted, not overlapping) made to section `index`.

    Spans of `grow` take in an insertion at their edge; spans of `drop` and spans
    inside a larger edit are removed; `add` are new spans (in the edited text).
    Raises SpanConflict (args: the span's name, which edge) for an edit across an edge.
    """
    section = scenario.sections[index]
    text = section.text
    pieces: list[str] = []
    at = 0
    for e in edits:
        pieces += [text[at : e.start], e.new]
        at = e.end
    pieces.append(text[at:])
    spans: list[ir.TextSpan] = []
    for span in scenario.spans:
        if span.section != section.name:
            spans.append(span)
            continue
        if span.name in drop or _swallowed(span, edits):
            continue
        try:
            start = _move_start(span.start, edits, span.name in grow)
            end = _move_end(span.end, edits, span.name in grow)
        except SpanConflict as exc:
            raise SpanConflict(span.name, exc.args[0]) from None
        spans.append(span.model_copy(update={"start": start, "end": end}))
    sections = list(scenario.sections)
    sections[index] = ir.Section(name=section.name, text="".join(pieces))
    return scenario.model_copy(update={"sections": tuple(sections), "spans": (*spans, *add)})


def _newlines_before(text: str, at: int) -> int:
    return at - len(text[:at].rstrip("\n"))


def _newlines_after(text: str, at: int) -> int:
    return len(text) - at - len(text[at:].lstrip("\n"))


def _gap_before(text: str, at: int) -> int:
    """The line breaks just before `at`, else 1 for a space there."""
    return _newlines_before(text, at) or int(text[at - 1 : at] == " ")


def _gap_after(text: str, at: int) -> int:
    """The line breaks just after `at`, else 1 for a space there."""
    return _newlines_after(text, at) or int(text[at : at + 1] == " ")


def cuts(text: str, start: int, end: int) -> list[Edit]:
    """Edits that remove `text[start:end]`, best first: with the line break (or space)
    it would leave doubled (of the two gaps around it the shorter goes; at the start
    or end of the text, the gap between it and the text goes), then without. The
    caller takes the first that cuts no other span in two."""
    before, after = _gap_before(text, start), _gap_after(text, end)
    plain = Edit(start, end, "")
    if not text[:start].strip("\n"):
        return [Edit(start, end + after, ""), plain]
    if not text[end:].strip("\n"):
        return [Edit(start - before, end, ""), plain]
    if before and after:
        later, earlier = Edit(start, end + after, ""), Edit(start - before, end, "")
        return [later, earlier, plain] if after <= before else [earlier, later, plain]
    return [plain]


def paragraph_break(text: str, start: int, end: int) -> str:
    """The line breaks that set `text[start:end]` apart from its neighbours (before it,
    else after it), so text inserted next to it is laid out the same way."""
    before, after = _newlines_before(text, start), _newlines_after(text, end)
    return "\n" * (before or after or 2)
