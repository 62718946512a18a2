"""Perturbation operators: each takes an `ir.Scenario` and returns a changed copy.

An operator that changes nothing raises `PerturbError`: a `replace` that
matches no text is nearly always a typo. `apply NAME` is resolved by the
checker, which knows the named perturbations and variants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from afdsl import ir, spans
from afdsl.diagnostics import AfsError, Diagnostic, Span, suggest
from afdsl.inputs import regex_problem
from afdsl.syntax import nodes as A
from afdsl.syntax import slot_names
from afdsl.textmatch import miss_hint, occurrences, quote

LIBRARY_NAME = "perturbations"


class PerturbError(Exception):
    """An operator that cannot apply; `span` narrows the position (default: the operator)."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        span: Span | None = None,
        missing: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.span = span
        self.missing = missing  # the section or condition name that was not found


TextOf = Callable[[A.TextSource], str]


def apply_operator(scenario: ir.Scenario, op: A.Op, text_of: TextOf) -> ir.Scenario:
    """Apply one operator (not `apply`, which the checker expands) to `scenario`."""
    handler = _HANDLERS.get(type(op))
    if handler is None:
        raise PerturbError(f"`{type(op).__name__}` cannot be applied here")
    changed: ir.Scenario = handler(scenario, op, text_of)
    if changed == scenario:
        raise PerturbError("this perturbation changes nothing", hint=_nothing_hint(op))
    return changed


def _nothing_hint(op: A.Op) -> str:
    if isinstance(op, A.SetSlots):
        return "the slot already has this value"
    return "the new text is the same as the old"


def _target(scenario: ir.Scenario, name: A.Ident) -> tuple[int, ir.TextSpan | None]:
    """The section called `name` (span None), or the section holding the span called
    `name` and that span; PerturbError if neither exists."""
    span = scenario.span(name.value)
    if span is None:
        return _index_of(scenario, scenario.sections, name, "section"), None
    names = [s.name for s in scenario.sections]
    return names.index(span.section), span


def _condition_index(scenario: ir.Scenario, name: A.Ident) -> int:
    return _index_of(scenario, scenario.conditions, name, "condition")


def _index_of(scenario: ir.Scenario, items: tuple[Any, ...], name: A.Ident, what: str) -> int:
    """Position of the section or condition called `name`; PerturbError if none is."""
    names = [item.name for item in items]
    if name.value in names:
        return names.index(name.value)
    span_names = [s.name for s in scenario.spans] if what == "section" else []
    raise PerturbError(
        f"no {what} `{name.value}` in scenario `{scenario.name}`",
        hint=suggest(
            name.value, names + span_names, "sections and spans" if span_names else f"{what}s"
        ),
        span=name.span,
        missing=name.value,
    )


def _edit(
    scenario: ir.Scenario,
    index: int,
    edits: list[spans.Edit],
    what: str,
    **changes: Any,
) -> ir.Scenario:
    """`spans.edit_section`, with a span cut in two reported as the operator's error."""
    try:
        return spans.edit_section(scenario, index, edits, **changes)
    except spans.SpanConflict as exc:
        name, edge = exc.args
        raise PerturbError(
            f"this {what} cuts across the {edge} of span `{name}`",
            hint="spans may nest but not overlap: quote text wholly inside or outside "
            f"`{name}`, or name the span itself",
        ) from None


def _inside(scenario: ir.Scenario, span: ir.TextSpan) -> frozenset[str]:
    """`span` and the spans within it."""
    return frozenset(
        s.name for s in scenario.spans if s.section == span.section and spans.contains(span, s)
    )


def _without_section(scenario: ir.Scenario, index: int) -> dict[str, Any]:
    """The sections and spans left once section `index` and its spans are gone."""
    name = scenario.sections[index].name
    return {
        "sections": scenario.sections[:index] + scenario.sections[index + 1 :],
        "spans": tuple(s for s in scenario.spans if s.section != name),
    }


def _cut(
    scenario: ir.Scenario, index: int, start: int, end: int, what: str, **changes: Any
) -> ir.Scenario:
    """Remove `[start, end)` of section `index` and the line break it would leave doubled
    (or, when that would cut a span in two, only the text)."""
    options = spans.cuts(scenario.sections[index].text, start, end)
    for edit in options[:-1]:
        try:
            return spans.edit_section(scenario, index, [edit], **changes)
        except spans.SpanConflict:
            continue
    return _edit(scenario, index, options[-1:], what, **changes)


def _remove(scenario: ir.Scenario, op: A.RemoveSection, text_of: TextOf) -> ir.Scenario:
    index, span = _target(scenario, op.section)
    if span is None:
        return scenario.model_copy(update=_without_section(scenario, index))
    return _cut(scenario, index, span.start, span.end, "remove", drop=_inside(scenario, span))


def _remove_between(scenario: ir.Scenario, op: A.RemoveBetween, text_of: TextOf) -> ir.Scenario:
    for edge in (op.start, op.end):
        if not edge.value:
            raise PerturbError(
                "`remove between` needs text at both ends",
                hint="quote a few words where the cut begins and where it ends",
                span=edge.span,
            )
    regions = _regions(scenario, op.section)
    where = f"`{op.section.value}`" if op.section else "the system prompt"
    found = [
        (index, at)
        for index, lo, hi in regions
        for at in occurrences(scenario.sections[index].text, op.start.value, lo, hi)
    ]
    texts = [scenario.sections[i].text[lo:hi] for i, lo, hi in regions]
    if len(found) != 1:
        raise PerturbError(
            _count_message(op.start.value, len(found), where),
            hint=_count_hint(op.start.value, found, texts),
            span=op.start.span,
        )
    index, start = found[0]
    hi = next(h for i, _, h in regions if i == index)
    text = scenario.sections[index].text
    end = text.find(op.end.value, start + len(op.start.value), hi)
    if end == -1:
        after = text[start + len(op.start.value) : hi]
        raise PerturbError(
            f"{quote(op.end.value)} does not occur after {quote(op.start.value, 40)} in {where}",
            hint=miss_hint(op.end.value, [after]) or "the end text must come after the start text",
            span=op.end.span,
        )
    return _cut(scenario, index, start, end + len(op.end.value), "remove between")


def _regions(scenario: ir.Scenario, name: A.Ident | None) -> list[tuple[int, int, int]]:
    """(section index, start, end) of the text an operator with `in NAME` looks at:
    every section without one."""
    if name is None:
        return [(i, 0, len(s.text)) for i, s in enumerate(scenario.sections)]
    index, span = _target(scenario, name)
    if span is None:
        return [(index, 0, len(scenario.sections[index].text))]
    return [(index, span.start, span.end)]


def _count_message(needle: str, count: int, where: str) -> str:
    if count == 0:
        return f"{quote(needle)} matches no text in {where}"
    return f"{quote(needle)} occurs {count} times in {where}; it must occur once"


def _count_hint(needle: str, found: list[Any], texts: list[str]) -> str:
    if not found:
        return miss_hint(needle, texts) or "nothing in the text is close; copy it from the prompt"
    return "quote more of the text around it, so that it occurs only once"


def _pattern(op: A.Replace) -> re.Pattern[str]:
    """What `replace` looks for: the text itself, or a regex that cannot run away."""
    if not op.regex:
        return re.compile(re.escape(op.old.value))
    try:
        pattern = re.compile(op.old.value)
    except re.error as exc:
        raise PerturbError(f"invalid regular expression: {exc}", span=op.old.span) from None
    risk = regex_problem(op.old.value)
    if risk is not None:
        raise PerturbError(f"regular expression refused: {risk}", span=op.old.span)
    return pattern


def _replace(scenario: ir.Scenario, op: A.Replace, text_of: TextOf) -> ir.Scenario:
    if not op.old.value:
        raise PerturbError("cannot replace the empty string", span=op.old.span)
    pattern = _pattern(op)
    new = text_of(op.new)
    replacement = new if op.regex else new.replace("\\", "\\\\")

    def expand(match: re.Match[str]) -> str:
        try:
            return match.expand(replacement)
        except (re.error, IndexError) as exc:
            raise PerturbError(f"invalid replacement: {exc}", span=op.new.span) from None

    count = 0
    changed = scenario
    for index, lo, hi in _regions(scenario, op.section):
        text = changed.sections[index].text
        edits = [spans.Edit(m.start(), m.end(), expand(m)) for m in pattern.finditer(text, lo, hi)]
        count += len(edits)
        if edits:
            changed = _edit(changed, index, edits, "replace")
    if op.section is None:
        changed, n = _replace_in_user_turn(changed, pattern, expand)
        count += n
    if count == 0:
        raise _no_match(scenario, op)
    return changed


def _replace_in_user_turn(
    scenario: ir.Scenario, pattern: re.Pattern[str], expand: Callable[[re.Match[str]], str]
) -> tuple[ir.Scenario, int]:
    """A `replace` without `in` also changes the user template and every slot value."""
    count = 0

    def sub(text: str) -> str:
        nonlocal count
        new, n = pattern.subn(expand, text)
        count += n
        return new

    conditions = tuple(
        c.model_copy(update={"slots": {k: sub(v) for k, v in c.slots.items()}})
        for c in scenario.conditions
    )
    user_template = sub(scenario.user_template)
    changed = scenario.model_copy(update={"user_template": user_template, "conditions": conditions})
    return changed, count


def _no_match(scenario: ir.Scenario, op: A.Replace) -> PerturbError:
    """A `replace` that matched nothing: the part that has the text (for `in S`), the
    capitalisation, a typographic difference or the nearest text, looked for only
    where this replace looked."""
    regions = _regions(scenario, op.section)
    searched = [scenario.sections[i].text[lo:hi] for i, lo, hi in regions]
    if op.section is None:
        searched += [scenario.user_template] + [
            v for c in scenario.conditions for v in c.slots.values()
        ]
        where = "the scenario"
    else:
        kind = "span" if scenario.span(op.section.value) else "section"
        where = f"{kind} `{op.section.value}`"
    hint = None
    if not op.regex:
        lowered = op.old.value.lower()
        if op.section is not None and (elsewhere := _holder(scenario, op.old.value)):
            hint = f"it occurs in `{elsewhere}`: name that after `in`, or leave `in` out"
        elif any(lowered in t.lower() for t in searched):
            hint = "it matches if case is ignored: check the capitalisation"
        else:
            hint = miss_hint(op.old.value, searched)
    shown = op.old.value[:60].replace("\n", "\\n")
    return PerturbError(f'"{shown}" matches no text in {where}', hint=hint, span=op.old.span)


def _holder(scenario: ir.Scenario, text: str) -> str | None:
    """The innermost span, else the section, whose text holds `text` (None: none does)."""
    for section in scenario.sections:
        at = section.text.find(text)
        if at == -1:
            continue
        holding = [
            s
            for s in scenario.spans
            if s.section == section.name and s.start <= at and at + len(text) <= s.end
        ]
        return min(holding, key=lambda s: s.end - s.start).name if holding else section.name
    return None


def _insert(scenario: ir.Scenario, op: A.InsertSection, text_of: TextOf) -> ir.Scenario:
    taken = {s.name for s in scenario.sections} | {s.name for s in scenario.spans}
    if op.name.value in taken:
        raise PerturbError(
            f"section `{op.name.value}` already exists",
            hint="use `swap section` to change its text",
            span=op.name.span,
        )
    anchor, span = _target(scenario, op.anchor)
    text = text_of(op.source)
    if span is None:
        at = anchor if op.place == "before" else anchor + 1
        sections = list(scenario.sections)
        sections.insert(at, ir.Section(name=op.name.value, text=text))
        return scenario.model_copy(update={"sections": tuple(sections)})
    # Next to a span: the new text becomes a span of the same section, set apart
    # from the anchor the way the anchor is set apart from its neighbours.
    gap = spans.paragraph_break(scenario.sections[anchor].text, span.start, span.end)
    if op.place == "before":
        edit, start = spans.Edit(span.start, span.start, text + gap), span.start
    else:
        edit, start = spans.Edit(span.end, span.end, gap + text), span.end + len(gap)
    new = ir.TextSpan(name=op.name.value, section=span.section, start=start, end=start + len(text))
    grow = spans.enclosing(scenario, span) - {span.name}
    return _edit(scenario, anchor, [edit], "insert", grow=frozenset(grow), add=(new,))


def _add_text(scenario: ir.Scenario, op: A.AddText, text_of: TextOf) -> ir.Scenario:
    index, span = _target(scenario, op.section)
    added = text_of(op.source)
    # Added text goes on its own line so it reads as a new sentence or paragraph.
    if span is None:
        end = len(scenario.sections[index].text)
        edit = (
            spans.Edit(end, end, f"\n{added}")
            if op.where == "append"
            else spans.Edit(0, 0, f"{added}\n")
        )
        return _edit(scenario, index, [edit], op.where)
    if op.where == "append":
        edit = spans.Edit(span.end, span.end, f"\n{added}")
    else:
        edit = spans.Edit(span.start, span.start, f"{added}\n")
    return _edit(scenario, index, [edit], op.where, grow=frozenset(spans.enclosing(scenario, span)))


def _set(scenario: ir.Scenario, op: A.SetSlots, text_of: TextOf) -> ir.Scenario:
    conditions = list(scenario.conditions)
    used = slot_names(scenario.user_template)
    for item in op.items:
        index = _condition_index(scenario, item.condition)
        if item.slot.value not in used:
            raise PerturbError(
                f"the user template has no slot `{item.slot.value}`",
                hint=suggest(item.slot.value, [s for s in used if s != "query"], "slots"),
                span=item.slot.span,
            )
        condition = conditions[index]
        slots = {**condition.slots, item.slot.value: item.value.value}
        conditions[index] = condition.model_copy(update={"slots": slots})
    return scenario.model_copy(update={"conditions": tuple(conditions)})


def _swap_section(scenario: ir.Scenario, op: A.SwapSection, text_of: TextOf) -> ir.Scenario:
    index, span = _target(scenario, op.section)
    text = text_of(op.source)
    if span is None:
        edit = spans.Edit(0, len(scenario.sections[index].text), text)
        inside = frozenset(
            s.name for s in scenario.spans if s.section == scenario.sections[index].name
        )
        return _edit(scenario, index, [edit], "swap", drop=inside)
    inner = _inside(scenario, span) - {span.name}
    return _edit(scenario, index, [spans.Edit(span.start, span.end, text)], "swap", drop=inner)


def _swap_conditions(scenario: ir.Scenario, op: A.SwapConditions, text_of: TextOf) -> ir.Scenario:
    sides: dict[str, int] = {c.role: i for i, c in enumerate(scenario.conditions) if c.role}
    if set(sides) != {ir.TRAINING, ir.DEPLOYMENT}:
        raise PerturbError("`swap conditions` needs both a training and a deployment condition")
    conditions = list(scenario.conditions)
    t, d = sides[ir.TRAINING], sides[ir.DEPLOYMENT]
    conditions[t] = conditions[t].model_copy(update={"slots": scenario.conditions[d].slots})
    conditions[d] = conditions[d].model_copy(update={"slots": scenario.conditions[t].slots})
    return scenario.model_copy(update={"conditions": tuple(conditions)})


def _user(scenario: ir.Scenario, op: A.SetUser, text_of: TextOf) -> ir.Scenario:
    return scenario.model_copy(update={"user_template": text_of(op.source)})


def _drop(scenario: ir.Scenario, op: A.DropCondition, text_of: TextOf) -> ir.Scenario:
    index = _condition_index(scenario, op.condition)
    conditions = scenario.conditions[:index] + scenario.conditions[index + 1 :]
    return scenario.model_copy(update={"conditions": conditions})


_HANDLERS: dict[type, Callable[..., ir.Scenario]] = {
    A.RemoveSection: _remove,
    A.RemoveBetween: _remove_between,
    A.Replace: _replace,
    A.InsertSection: _insert,
    A.AddText: _add_text,
    A.SetSlots: _set,
    A.SwapSection: _swap_section,
    A.SwapConditions: _swap_conditions,
    A.SetUser: _user,
    A.DropCondition: _drop,
}


def library() -> list[tuple[str, str]]:
    """The built-in named perturbations as (name, one-line description); raises AfsError."""
    from afdsl.syntax import LoadedProgram, load_builtin

    program = LoadedProgram()
    ast = load_builtin(LIBRARY_NAME, program)
    if program.diagnostics:
        raise AfsError(program.diagnostics)
    if ast is None:
        raise AfsError(Diagnostic(code="AFS014", message="the built-in library is missing"))
    return [(p.name.value, p.description.value if p.description else "") for p in ast.perturbations]
