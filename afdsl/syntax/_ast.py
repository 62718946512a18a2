"""The syntax tree: what a .afs file says, with a span on every node.

Names are unresolved here; `afdsl.check` resolves them and builds the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from afdsl.diagnostics import Span


@dataclass(frozen=True, slots=True)
class Ident:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Text:
    """A decoded string. `offsets[i]` is the source offset of `value[i]` in `origin`.

    The offsets let the checker point at a `{slot}` inside a triple-quoted block
    or a text file with the exact line and column.
    """

    value: str
    span: Span
    origin: str  # display path of the file holding the characters
    offsets: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Value:
    """A literal in a key-value position: a string, number, model spec or bare name."""

    kind: Literal["string", "number", "spec", "name"]
    raw: str
    span: Span
    text: Text | None = None  # set when kind == "string"

    @property
    def value(self) -> str:
        return self.text.value if self.text is not None else self.raw


@dataclass(frozen=True, slots=True)
class TextSource:
    """Inline text, or `from "file.txt"` (the path, resolved by the checker)."""

    kind: Literal["inline", "file"]
    text: Text
    span: Span


# ------------------------------------------------------------------ scenarios
@dataclass(frozen=True, slots=True)
class SectionDecl:
    name: Ident
    source: TextSource
    span: Span


@dataclass(frozen=True, slots=True)
class SpanDecl:
    """`section NAME in SECTION from "START" to "END"`: a named stretch of a section."""

    name: Ident
    parent: Ident
    start: Text
    end: Text
    span: Span


@dataclass(frozen=True, slots=True)
class Assign:
    slot: Ident
    value: Text
    span: Span


@dataclass(frozen=True, slots=True)
class ConditionDecl:
    name: Ident
    role: Ident | None
    assigns: tuple[Assign, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ContinueDecl:
    """`continue with SEND until UNTIL max N`: the multi-turn protocol of a scenario."""

    send: Text
    until: Text
    max_calls: Value
    span: Span


@dataclass(frozen=True, slots=True)
class ScenarioDecl:
    name: Ident
    extends: Ident | None
    sections: tuple[SectionDecl, ...]
    users: tuple[TextSource, ...]
    conditions: tuple[ConditionDecl, ...]
    span: Span
    base_dir: str = ""
    spans: tuple[SpanDecl, ...] = ()
    continuations: tuple[ContinueDecl, ...] = ()  # more than one is reported by the checker


# ------------------------------------------------------------------ operators
@dataclass(frozen=True, slots=True)
class RemoveSection:
    section: Ident
    span: Span


@dataclass(frozen=True, slots=True)
class RemoveBetween:
    """`remove between "A" and "B" [in S]`: cut from A through the first B after it."""

    start: Text
    end: Text
    section: Ident | None
    span: Span


@dataclass(frozen=True, slots=True)
class Replace:
    old: Text
    new: TextSource
    regex: bool
    section: Ident | None
    span: Span


@dataclass(frozen=True, slots=True)
class InsertSection:
    name: Ident
    source: TextSource
    place: Literal["before", "after"]
    anchor: Ident
    span: Span


@dataclass(frozen=True, slots=True)
class AddText:
    section: Ident
    source: TextSource
    where: Literal["append", "prepend"]
    span: Span


@dataclass(frozen=True, slots=True)
class SlotSet:
    condition: Ident
    slot: Ident
    value: Text
    span: Span


@dataclass(frozen=True, slots=True)
class SetSlots:
    items: tuple[SlotSet, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class SwapSection:
    section: Ident
    source: TextSource
    span: Span


@dataclass(frozen=True, slots=True)
class SwapConditions:
    span: Span


@dataclass(frozen=True, slots=True)
class SetUser:
    source: TextSource
    span: Span


@dataclass(frozen=True, slots=True)
class DropCondition:
    condition: Ident
    span: Span


@dataclass(frozen=True, slots=True)
class Apply:
    name: Ident
    span: Span


@dataclass(frozen=True, slots=True)
class ApplyParam:
    """`apply {p}` in a variant family: `apply VALUE` once the family fills in `p`."""

    param: Ident
    span: Span


Op = (
    RemoveSection
    | RemoveBetween
    | Replace
    | InsertSection
    | AddText
    | SetSlots
    | SwapSection
    | SwapConditions
    | SetUser
    | DropCondition
    | Apply
    | ApplyParam
)


@dataclass(frozen=True, slots=True)
class PerturbationDecl:
    name: Ident
    description: Text | None
    ops: tuple[Op, ...]
    span: Span
    base_dir: str = ""


# ---------------------------------------------------------------- experiments
@dataclass(frozen=True, slots=True)
class ModelDecl:
    """`model SPEC` (spec set) or `model LABEL { field value ... }` (fields set).

    On a measure's line `spec` may also be a bare name (kind "name"): a `judge` block."""

    spec: Value | None
    label: Ident | None
    fields: tuple[tuple[Ident, Value], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class JudgeDecl:
    """`judge NAME { field value ... }`: a judge model that measures name, not a model
    under test. `block` holds the fields as a model block does (its label is NAME)."""

    name: Ident
    block: ModelDecl
    span: Span


@dataclass(frozen=True, slots=True)
class QueriesDecl:
    path: Text | None
    inline: tuple[Text, ...]
    options: tuple[tuple[Ident, Value], ...]
    span: Span


@dataclass(frozen=True, slots=True)
class VariantDecl:
    name: Ident
    ops: tuple[Op, ...]
    span: Span
    # (parameter, value) pairs when a family made it, in the family's parameter order
    bindings: tuple[tuple[str, str], ...] = ()
    # the items of the `cross` that made it (in the cross's order), else ()
    cross: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FamilyLoop:
    """`P in ["a", "b"]` after a family's `for`."""

    param: Ident
    values: tuple[Text, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class VariantFamilyDecl:
    """`variant NAME[P, Q] = OPS for P in [...], Q in [...]`: one variant per combination
    of values (the product, first parameter outermost), `{P}` and `{Q}` filled in."""

    name: Ident
    params: tuple[Ident, ...]
    ops: tuple[Op, ...]
    loops: tuple[FamilyLoop, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class CrossDecl:
    """`cross a, b, c`: every combination of the items (perturbations or variants)."""

    items: tuple[Ident, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class MeasureDecl:
    name: Ident
    kind: Ident
    args: tuple[Value, ...]
    model: ModelDecl | None
    span: Span


@dataclass(frozen=True, slots=True)
class MeasureOperand:
    """A measure named in a derived measure; `negated` when written `not NAME`."""

    name: Ident
    negated: bool
    span: Span


@dataclass(frozen=True, slots=True)
class DerivedMeasureDecl:
    """`measure NAME = A given B` (kind "given": operands A, B) or `measure NAME = A and
    not B` (kind "and"): a measure computed from other measures' labels."""

    name: Ident
    kind: Literal["given", "and"]
    operands: tuple[MeasureOperand, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class LinTerm:
    """`coef * gap(variant)`, `coef * rate(variant, condition)`, a constant (`kind`
    const), or a factorial contrast `effect(a)` / `interaction(a, b)` (`factors` set,
    `variant` None) that the checker expands into gap terms of a `cross`.

    `model` is the `@ MODEL` pin of a gap or rate (None: unpinned); `points` marks a
    constant written in percentage points (`5pp`, already divided by 100 in `coef`)."""

    coef: float
    kind: Literal["gap", "rate", "const", "effect", "interaction"]
    variant: Ident | None
    condition: Ident | None
    span: Span
    factors: tuple[Ident, ...] = ()
    model: Ident | None = None
    points: bool = False


@dataclass(frozen=True, slots=True)
class HypothesisDecl:
    name: Ident
    measure: Ident | None
    lhs: tuple[LinTerm, ...]
    op: str
    op_span: Span
    rhs: tuple[LinTerm, ...]
    margin: Value | None
    expression: str
    span: Span
    model: Ident | None = None  # `for MODEL`: tested on that model only


@dataclass(frozen=True, slots=True)
class CorrectDecl:
    method: Ident
    alpha: Value | None
    span: Span


@dataclass(frozen=True, slots=True)
class Setting:
    """`base NAME`, `samples N` or `seed N` (repeats are reported by the checker)."""

    key: str
    value: Value
    span: Span


@dataclass(slots=True)
class ExperimentDecl:
    name: Ident
    span: Span
    base_dir: str = ""
    settings: list[Setting] = field(default_factory=list)
    models: list[ModelDecl] = field(default_factory=list)
    judges: list[JudgeDecl] = field(default_factory=list)
    queries: list[QueriesDecl] = field(default_factory=list)
    variants: list[VariantDecl | VariantFamilyDecl] = field(default_factory=list)
    measures: list[MeasureDecl] = field(default_factory=list)
    derived: list[DerivedMeasureDecl] = field(default_factory=list)
    hypotheses: list[HypothesisDecl] = field(default_factory=list)
    corrections: list[CorrectDecl] = field(default_factory=list)
    crosses: list[CrossDecl] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UseDecl:
    target: str
    bare: bool  # `use helpful_only` (a built-in name) rather than a quoted path
    span: Span


@dataclass(slots=True)
class FileAst:
    """One parsed .afs file. `path` is the display path; `abs_path` is resolved."""

    path: str
    abs_path: str
    uses: list[UseDecl] = field(default_factory=list)
    scenarios: list[ScenarioDecl] = field(default_factory=list)
    perturbations: list[PerturbationDecl] = field(default_factory=list)
    experiments: list[ExperimentDecl] = field(default_factory=list)
