"""Perturbation operators: each takes an `ir.Scenario` and returns a changed copy.

An operator that changes nothing raises `PerturbError`: a `replace` that
matches no text is nearly always a typo. `apply NAME` is resolved by the
checker, which knows the named perturbations and variants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from afdsl import ir
from afdsl.diagnostics import AfsError, Diagnostic, Span, suggest
from afdsl.inputs import regex_problem
from afdsl.syntax import _ast as A
from afdsl.syntax._slots import slot_names

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


def _index_of(items: tuple[Any, ...], name: A.Ident, what: str, scenario: str) -> int:
    """Position of the section or condition called `name`; PerturbError if none is."""
    names = [item.name for item in items]
    if name.value in names:
        return names.index(name.value)
    raise PerturbError(
        f"no {what} `{name.value}` in scenario `{scenario}`",
        hint=suggest(name.value, names, f"{what}s"),
        span=name.span,
        missing=name.value,
    )


def _section_index(scenario: ir.Scenario, name: A.Ident) -> int:
    return _index_of(scenario.sections, name, "section", scenario.name)


def _condition_index(scenario: ir.Scenario, name: A.Ident) -> int:
    return _index_of(scenario.conditions, name, "condition", scenario.name)


def _with_section(scenario: ir.Scenario, index: int, text: str) -> ir.Scenario:
    sections = list(scenario.sections)
    sections[index] = ir.Section(name=sections[index].name, text=text)
    return scenario.model_copy(update={"sections": tuple(sections)})


def _remove(scenario: ir.Scenario, op: A.RemoveSection, text_of: TextOf) -> ir.Scenario:
    index = _section_index(scenario, op.section)
    sections = scenario.sections[:index] + scenario.sections[index + 1 :]
    return scenario.model_copy(update={"sections": sections})


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
    pattern = _pattern(op)
    if not op.old.value:
        raise PerturbError("cannot replace the empty string", span=op.old.span)
    count = 0
    searched: list[str] = []  # for the capitalisation hint: only where this replace looked
    replacement = op.new.value if op.regex else op.new.value.replace("\\", "\\\\")

    def sub(text: str) -> str:
        nonlocal count
        searched.append(text)
        try:
            new, n = pattern.subn(replacement, text)
        except (re.error, IndexError) as exc:
            raise PerturbError(f"invalid replacement: {exc}", span=op.new.span) from None
        count += n
        return new

    if op.section is not None:
        index = _section_index(scenario, op.section)
        changed = _with_section(scenario, index, sub(scenario.sections[index].text))
    else:
        sections = tuple(ir.Section(name=s.name, text=sub(s.text)) for s in scenario.sections)
        conditions = tuple(
            c.model_copy(update={"slots": {k: sub(v) for k, v in c.slots.items()}})
            for c in scenario.conditions
        )
        changed = scenario.model_copy(
            update={
                "sections": sections,
                "user_template": sub(scenario.user_template),
                "conditions": conditions,
            }
        )
    if count == 0:
        where = f"section `{op.section.value}`" if op.section else "the scenario"
        lowered = op.old.value.lower()
        hint = None
        if not op.regex and any(lowered in t.lower() for t in searched):
            hint = "it matches if case is ignored: check the capitalisation"
        shown = op.old.value[:60].replace("\n", "\\n")
        raise PerturbError(f'"{shown}" matches no text in {where}', hint=hint, span=op.old.span)
    return changed


def _insert(scenario: ir.Scenario, op: A.InsertSection, text_of: TextOf) -> ir.Scenario:
    if any(s.name == op.name.value for s in scenario.sections):
        raise PerturbError(
            f"section `{op.name.value}` already exists",
            hint="use `swap section` to change its text",
            span=op.name.span,
        )
    anchor = _section_index(scenario, op.anchor)
    at = anchor if op.place == "before" else anchor + 1
    sections = list(scenario.sections)
    sections.insert(at, ir.Section(name=op.name.value, text=text_of(op.source)))
    return scenario.model_copy(update={"sections": tuple(sections)})


def _add_text(scenario: ir.Scenario, op: A.AddText, text_of: TextOf) -> ir.Scenario:
    index = _section_index(scenario, op.section)
    old = scenario.sections[index].text
    # Added text goes on its own line so it reads as a new sentence or paragraph.
    text = f"{old}\n{op.text.value}" if op.where == "append" else f"{op.text.value}\n{old}"
    return _with_section(scenario, index, text)


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
    index = _section_index(scenario, op.section)
    return _with_section(scenario, index, text_of(op.source))


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
    return scenario.model_copy(update={"user_template": op.text.value})


def _drop(scenario: ir.Scenario, op: A.DropCondition, text_of: TextOf) -> ir.Scenario:
    index = _condition_index(scenario, op.condition)
    conditions = scenario.conditions[:index] + scenario.conditions[index + 1 :]
    return scenario.model_copy(update={"conditions": conditions})


_HANDLERS: dict[type, Callable[..., ir.Scenario]] = {
    A.RemoveSection: _remove,
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
    from afdsl.syntax._loader import LoadedProgram, load_builtin

    program = LoadedProgram()
    ast = load_builtin(LIBRARY_NAME, program)
    if program.diagnostics:
        raise AfsError(program.diagnostics)
    if ast is None:
        raise AfsError(Diagnostic(code="AFS014", message="the built-in library is missing"))
    return [(p.name.value, p.description.value if p.description else "") for p in ast.perturbations]
