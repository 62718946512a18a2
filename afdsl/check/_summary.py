"""One short line per operator of a variant, for `afdsl list`: what it did and how much
text it changed (`remove span rlhf (451 chars)`), never the text itself."""

from __future__ import annotations

from afdsl import ir
from afdsl.syntax import nodes as A
from afdsl.textmatch import quote

_QUOTED = 24  # characters of a quoted string kept in a summary


def _chars(before: ir.Scenario, after: ir.Scenario) -> str:
    delta = len(after.system_prompt()) - len(before.system_prompt())
    return f"{delta:+,} chars" if delta else "same length"


def _kind(scenario: ir.Scenario, name: A.Ident) -> str:
    return "span" if scenario.span(name.value) is not None else "section"


def describe_step(op: A.Op, before: ir.Scenario, after: ir.Scenario) -> str:
    """What `op` did to `before` (giving `after`), on one line."""
    removed = len(before.system_prompt()) - len(after.system_prompt())
    if isinstance(op, A.RemoveSection):
        return f"remove {_kind(before, op.section)} {op.section.value} ({removed:,} chars)"
    if isinstance(op, A.RemoveBetween):
        where = f" in {op.section.value}" if op.section else ""
        ends = f"{quote(op.start.value, _QUOTED)} and {quote(op.end.value, _QUOTED)}"
        return f"remove between {ends}{where} ({removed:,} chars)"
    if isinstance(op, A.Replace):
        where = f" in {op.section.value}" if op.section else ""
        return f"replace {quote(op.old.value, _QUOTED)}{where} ({_chars(before, after)})"
    if isinstance(op, A.SwapSection):
        return f"swap {_kind(before, op.section)} {op.section.value} ({_chars(before, after)})"
    if isinstance(op, A.AddText):
        return f"{op.where} {op.section.value} ({_chars(before, after)})"
    if isinstance(op, A.InsertSection):
        return f"insert {op.name.value} {op.place} {op.anchor.value} ({_chars(before, after)})"
    if isinstance(op, A.SetUser):
        return f"user template ({len(after.user_template):,} chars)"
    if isinstance(op, A.SetSlots):
        return "set " + ", ".join(f"{i.condition.value}.{i.slot.value}" for i in op.items)
    if isinstance(op, A.DropCondition):
        return f"drop condition {op.condition.value}"
    return "swap conditions"


def describe_apply(name: str, steps: list[str]) -> str:
    """`NAME: STEP; STEP` for `apply NAME`."""
    return f"{name}: " + "; ".join(steps)
