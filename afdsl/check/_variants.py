"""Variants: expand `apply`, run the operators on a copy of the base, report precisely."""

from __future__ import annotations

from dataclasses import dataclass

from afdsl import ir
from afdsl.check._context import Context, suggest
from afdsl.check._scenarios import source_text
from afdsl.check._summary import describe_apply, describe_step
from afdsl.diagnostics import AfsError, Note, Span
from afdsl.perturb import LIBRARY_NAME, PerturbError, apply_operator
from afdsl.syntax import find_slots, load_builtin
from afdsl.syntax import nodes as A

# `apply` is expanded recursively: a chain of a thousand perturbations each applying
# the next would exhaust Python's stack, and one applying another twice per level
# doubles at each level.
MAX_APPLY_DEPTH = 50
MAX_APPLIED_OPERATORS = 10_000


@dataclass
class _Step:
    op: A.Op
    owner: A.FileAst
    via: list[A.Apply]  # the chain of `apply` that brought this operator in


class VariantResolver:
    """Applies each variant's operators to the base scenario, following `apply` through
    named perturbations, other variants and the built-in library; records what was applied."""

    def __init__(
        self,
        ctx: Context,
        root: A.FileAst,
        base: ir.Scenario,
        decls: list[A.VariantDecl],
        columns: set[str] | None,
    ) -> None:
        self.ctx = ctx
        self.root = root
        self.base = base
        self.columns = columns  # dataset columns every query has; None: data unreadable
        self.decls = {d.name.value: d for d in decls}
        self.applied: set[str] = set()  # perturbation and variant names used by `apply`
        self._library_loaded = False
        self._cycles: set[frozenset[str]] = set()

    def resolve_all(self, decls: list[A.VariantDecl]) -> list[ir.Variant]:
        """`base` then every variant that resolves, in declaration order (errors reported)."""
        variants = [ir.Variant(name=ir.BASE_VARIANT, scenario=self.base)]
        seen: dict[str, A.VariantDecl] = {}
        failed: list[frozenset[str]] = []  # the items of each cross cell that failed
        for decl in decls:
            items = frozenset(decl.cross or (decl.name.value,))
            if decl.cross and any(f <= items for f in failed):
                # A combination holding a broken cell is broken the same way: one report.
                failed.append(items)
                continue
            name = decl.name.value
            if name == ir.BASE_VARIANT:
                self.ctx.error(
                    "AFS130",
                    "`base` is the unperturbed scenario; choose another variant name",
                    decl.name.span,
                )
                continue
            if name in seen:
                self.ctx.error(
                    "AFS131",
                    f"variant `{name}` is defined twice",
                    decl.name.span,
                    notes=[Note(span=seen[name].name.span, message="first defined here")],
                )
                continue
            seen[name] = decl
            variant = self._resolve(decl)
            if variant is not None:
                variants.append(variant)
            else:
                failed.append(items)
        return variants

    def _resolve(self, decl: A.VariantDecl) -> ir.Variant | None:
        steps = self._expand(decl.ops, self.root, [], [("variant", decl.name.value)])
        if steps is None:
            return None
        scenario = self.base
        summary: dict[int, list[str]] = {}  # id of the declared operator -> what its steps did
        removed_by: dict[str, A.Apply | None] = {}  # section or condition -> whose step removed it
        for step in steps:
            before = scenario
            try:
                scenario = apply_operator(scenario, step.op, self._text_of(step.owner))
            except PerturbError as exc:
                self._report(decl, step, exc, removed_by.get(exc.missing or ""))
                return None
            except AfsError as exc:  # a `from "file"` that cannot be read
                self.ctx.report(exc)
                return None
            for gone in _names(before) - _names(scenario):
                removed_by.setdefault(gone, step.via[0] if step.via else None)
            origin = step.via[0] if step.via else step.op
            summary.setdefault(id(origin), []).append(describe_step(step.op, before, scenario))
        if not self._slots_filled(decl, steps, scenario):
            return None
        summaries = [
            describe_apply(op.name.value, summary.get(id(op), []))
            if isinstance(op, A.Apply)
            else summary[id(op)][0]
            for op in decl.ops
        ]
        operations = [self.ctx.snippet(op.span) for op in decl.ops]
        for param, value in decl.bindings:
            operations = [o.replace("{" + param + "}", value) for o in operations]
        return ir.Variant(
            name=decl.name.value,
            description=self._description(decl),
            operations=tuple(operations),
            summary=tuple(summaries),
            scenario=scenario,
        )

    def _slots_filled(self, decl: A.VariantDecl, steps: list[_Step], scenario: ir.Scenario) -> bool:
        """Every slot of a user template the variant changed (`user`, `replace`) is filled
        by the query, a column of every row, or every condition; else the prompt would
        carry a literal `{name}`. The base template was checked with its scenario."""
        if scenario.user_template == self.base.user_template or self.columns is None:
            return True
        by_conditions = [set(c.slots) for c in scenario.conditions]
        known = (
            {"query"}
            | self.columns
            | (set.intersection(*by_conditions) if by_conditions else set())
        )
        user = next((s for s in reversed(steps) if isinstance(s.op, A.SetUser)), None)
        filled = True
        for name, start, end in find_slots(scenario.user_template):
            if name in known:
                continue
            filled = False
            self.ctx.error(
                "AFS124",
                f"variant `{decl.name.value}`: `{{{name}}}` in the user template is set by "
                "no condition and is not a column of every query",
                self._slot_span(decl, user, scenario, start, end),
                hint=suggest(name, known, "slots")
                or "set it in every condition, or give every query a column of that name",
            )
        return filled

    def _slot_span(
        self, decl: A.VariantDecl, user: _Step | None, scenario: ir.Scenario, start: int, end: int
    ) -> Span:
        """The slot inside the variant's own `user` text; else the `apply` that brought the
        template in; else (a `replace` made the slot) the variant's name."""
        if user is None or not isinstance(user.op, A.SetUser):
            return decl.name.span
        text = source_text(self.ctx, user.owner, user.op.source)
        if text.value != scenario.user_template:
            return decl.name.span
        if user.via:
            return user.via[0].span
        return self.ctx.program.text_span(text, start, end)

    def _text_of(self, owner: A.FileAst):  # type: ignore[no-untyped-def]
        return lambda source: source_text(self.ctx, owner, source).value

    def _report(
        self, decl: A.VariantDecl, step: _Step, exc: PerturbError, remover: A.Apply | None
    ) -> None:
        inner: Span = exc.span or step.op.span
        crossed = len(decl.cross) > 1
        if exc.missing is not None and exc.missing in _names(self.base):
            exc.hint = (
                f"`{remover.name.value if remover else 'an earlier item'}`, earlier in the "
                f"cross, removes `{exc.missing}`: items that edit the same part of the prompt "
                "cannot be crossed"
                if crossed
                else f"an earlier step of this variant already removed `{exc.missing}`"
            )
        elif crossed:
            exc.hint = exc.hint or "an earlier item of the cross may have changed this text"
        if not step.via:
            self.ctx.error("AFS132", exc.message, inner, hint=exc.hint)
            return
        outer = step.via[0]
        where = f"cross cell `{decl.name.value}`: " if crossed else ""
        self.ctx.error(
            "AFS132",
            f"{where}`apply {outer.name.value}`: {exc.message}",
            outer.span,
            hint=exc.hint,
            notes=[Note(span=inner, message="in this operator")],
        )

    def _description(self, decl: A.VariantDecl) -> str:
        if decl.bindings:
            return ", ".join(f'{param} = "{value}"' for param, value in decl.bindings)
        if len(decl.cross) > 1:
            return " + ".join(decl.cross)
        if len(decl.ops) == 1 and isinstance(decl.ops[0], A.Apply):
            entry = self.ctx.perturbations.get(decl.ops[0].name.value)
            if entry is not None and entry[0].description is not None:
                return entry[0].description.value
        return ""

    def _expand(
        self,
        ops: tuple[A.Op, ...],
        owner: A.FileAst,
        via: list[A.Apply],
        stack: list[tuple[str, str]],
    ) -> list[_Step] | None:
        """Inline `apply` targets. `stack` holds (kind, name) pairs being expanded."""
        steps: list[_Step] = []
        for op in ops:
            if isinstance(op, A.ApplyParam):
                self.ctx.error(
                    "AFS223",
                    f"`apply {{{op.param.value}}}` needs a variant family to fill in "
                    f"`{op.param.value}`",
                    op.span,
                    hint=f"`variant NAME[{op.param.value}] = apply {{{op.param.value}}} "
                    f'for {op.param.value} in ["no_rlhf", ...]`',
                )
                return None
            if not isinstance(op, A.Apply):
                steps.append(_Step(op, owner, via))
                continue
            self.applied.add(op.name.value)
            if len(stack) >= MAX_APPLY_DEPTH:
                self._too_deep(op, stack)
                return None
            target = self._lookup(op, stack)
            if target is None:
                return None
            sub_ops, sub_owner, key = target
            sub = self._expand(sub_ops, sub_owner, [*via, op], [*stack, key])
            if sub is None:
                return None
            steps.extend(sub)
            if len(steps) > MAX_APPLIED_OPERATORS:
                self.ctx.error(
                    "AFS052",
                    f"`apply {op.name.value}` expands to more than {MAX_APPLIED_OPERATORS:,} "
                    "operators",
                    op.name.span,
                    hint="a perturbation that applies another several times doubles at each level",
                )
                return None
        return steps

    def _too_deep(self, op: A.Apply, stack: list[tuple[str, str]]) -> None:
        """Report an `apply` chain longer than MAX_APPLY_DEPTH (the expansion recurses)."""
        names = [n for _, n in stack]
        chain = " -> ".join([*names[:3], "...", *names[-2:], op.name.value])
        self.ctx.error(
            "AFS052",
            f"`apply` chain longer than {MAX_APPLY_DEPTH}: {chain}",
            op.name.span,
            hint="apply the operators directly instead of through a chain of perturbations",
        )

    def _lookup(
        self, op: A.Apply, stack: list[tuple[str, str]]
    ) -> tuple[tuple[A.Op, ...], A.FileAst, tuple[str, str]] | None:
        # `variant no_rlhf = apply no_rlhf` names the variant after the library
        # perturbation it applies: a variant never applies itself, so the name
        # then means the perturbation.
        name = op.name.value
        if name in self.decls and ("variant", name) not in stack:
            return self.decls[name].ops, self.root, ("variant", name)
        if name not in self.ctx.perturbations and not self._library_loaded:
            self._load_library()
        if name in self.ctx.perturbations:
            if ("perturbation", name) in stack:
                self._cycle(op, stack)
                return None
            decl, owner = self.ctx.perturbations[name]
            return decl.ops, owner, ("perturbation", name)
        if name in self.decls and stack[-1] != ("variant", name):
            self._cycle(op, stack)
            return None
        # `variant x = apply x` (or a cross item `x`) with no perturbation `x`: the name
        # means a perturbation, and there is none.
        # Never the variants being expanded: applying one of them would be a cycle.
        options = (set(self.decls) - {name} - {n for _, n in stack}) | set(self.ctx.perturbations)
        self.ctx.unknown("AFS134", "perturbation or variant", op.name, options, "perturbations")
        return None

    def _cycle(self, op: A.Apply, stack: list[tuple[str, str]]) -> None:
        names = [n for _, n in stack]
        members = frozenset(names[names.index(op.name.value) :])
        if members in self._cycles:
            return  # the same cycle seen from another of its variants
        self._cycles.add(members)
        chain = " -> ".join([*names, op.name.value])
        self.ctx.error("AFS133", f"`apply` cycle: {chain}", op.name.span)

    def _load_library(self) -> None:
        """The built-in library is always available to `apply`, loaded only when needed."""
        self._library_loaded = True
        before = len(self.ctx.program.diagnostics)
        library = load_builtin(LIBRARY_NAME, self.ctx.program)
        for d in self.ctx.program.diagnostics[before:]:
            self.ctx.error(d.code, d.message, d.span, d.hint)
        if library is None:
            return
        for decl in library.perturbations:
            self.ctx.perturbations.setdefault(decl.name.value, (decl, library))


def _names(scenario: ir.Scenario) -> set[str]:
    """The scenario's section, span and condition names."""
    names = {s.name for s in scenario.sections} | {s.name for s in scenario.spans}
    return names | {c.name for c in scenario.conditions}
