"""Span declarations: `section NAME in SECTION from "START" to "END"` located in the text."""

from __future__ import annotations

from afdsl import ir
from afdsl.check._context import Context, suggest
from afdsl.diagnostics import Note, Span
from afdsl.spans import overlap_partially
from afdsl.syntax import nodes as A
from afdsl.textmatch import miss_hint, occurrences, quote

_NOTHING_CLOSE = "nothing in the text is close; copy the words from the prompt file itself"


def build_spans(
    ctx: Context,
    decls: tuple[A.SpanDecl, ...],
    sections: list[ir.Section],
    inherited: tuple[ir.TextSpan, ...],
) -> tuple[ir.TextSpan, ...]:
    """The inherited spans plus each declared one that can be located (errors reported)."""
    spans = list(inherited)
    declared: dict[str, Span] = {}
    for decl in decls:
        span = _locate(ctx, decl, sections, spans)
        if span is None:
            continue
        clash = next(
            (s for s in spans if s.section == span.section and overlap_partially(s, span)), None
        )
        if clash is not None:
            first = declared.get(clash.name)
            ctx.error(
                "AFS127",
                f"span `{span.name}` overlaps span `{clash.name}` in part",
                decl.name.span,
                hint="spans may nest (one wholly inside another) but not overlap; move a "
                "boundary so one ends before the other starts",
                notes=[Note(span=first, message=f"`{clash.name}` declared here")] if first else [],
            )
            continue
        spans.append(span)
        declared[span.name] = decl.name.span
    return tuple(spans)


def _locate(
    ctx: Context, decl: A.SpanDecl, sections: list[ir.Section], spans: list[ir.TextSpan]
) -> ir.TextSpan | None:
    """The range `decl` names inside its parent section or span; None (reported) if none."""
    names = [s.name for s in sections] + [s.name for s in spans]
    if decl.name.value in names:
        ctx.error(
            "AFS126",
            f"`{decl.name.value}` already names a section or span of this scenario",
            decl.name.span,
            hint="give the span a name of its own",
        )
        return None
    parent = next((s for s in spans if s.name == decl.parent.value), None)
    section = next(
        (s for s in sections if s.name == (parent.section if parent else decl.parent.value)), None
    )
    if section is None:
        ctx.error(
            "AFS129",
            f"no section or span `{decl.parent.value}` to declare `{decl.name.value}` in",
            decl.parent.span,
            hint=suggest(decl.parent.value, names, "sections and spans")
            or "a span is declared after the section it is part of",
        )
        return None
    lo, hi = (parent.start, parent.end) if parent else (0, len(section.text))
    start, end = (
        _boundary(ctx, text, section.text, lo, hi, decl.parent.value)
        for text in (decl.start, decl.end)
    )
    if start is None or end is None:
        return None
    if end < start:
        ctx.error(
            "AFS128",
            f"the end text of span `{decl.name.value}` comes before its start text",
            decl.end.span,
            hint="`from` names where the span begins and `to` where it ends",
        )
        return None
    return ir.TextSpan(
        name=decl.name.value, section=section.name, start=start, end=end + len(decl.end.value)
    )


def _boundary(ctx: Context, text: A.Text, whole: str, lo: int, hi: int, where: str) -> int | None:
    """Where `text` occurs in `whole[lo:hi]`: it must occur exactly once."""
    if not text.value:
        ctx.error(
            "AFS125",
            "a span boundary cannot be empty",
            text.span,
            hint="quote a few words of the text where the span begins or ends",
        )
        return None
    found = occurrences(whole, text.value, lo, hi)
    if len(found) == 1:
        return found[0]
    if not found:
        ctx.error(
            "AFS125",
            f"{quote(text.value)} matches no text in `{where}`",
            text.span,
            hint=miss_hint(text.value, [whole[lo:hi]]) or _NOTHING_CLOSE,
        )
    else:
        ctx.error(
            "AFS125",
            f"{quote(text.value)} occurs {len(found)} times in `{where}`; a span boundary "
            "must occur once",
            text.span,
            hint="quote more of the text around it, so that it occurs only once",
        )
    return None
