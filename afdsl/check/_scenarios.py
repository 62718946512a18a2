"""Scenarios: inheritance, sections from files, conditions and their sides, slots."""

from __future__ import annotations

from dataclasses import dataclass, field

from afdsl import ir
from afdsl.check._context import Context, suggest
from afdsl.check._continuation import build_continuation
from afdsl.check._spans import build_spans
from afdsl.diagnostics import AfsError, Note
from afdsl.syntax import find_slots
from afdsl.syntax import nodes as A

SIDES = (ir.TRAINING, ir.DEPLOYMENT)


@dataclass
class BuiltScenario:
    """The IR scenario plus what the checker needs to point at its parts."""

    scenario: ir.Scenario
    decl: A.ScenarioDecl
    user: A.Text | None
    condition_decls: dict[str, A.ConditionDecl]
    origins: dict[str, str | None] = field(default_factory=dict)  # section -> file shown


def source_text(ctx: Context, owner: A.FileAst, source: A.TextSource) -> A.Text:
    """The text of a section: inline, or read from a file next to `owner`."""
    if source.kind == "inline":
        return source.text
    return ctx.program.read_text(owner, source.text)


class ScenarioBuilder:
    """Builds each scenario on first use, parents first; `built` maps name to result
    (None for one that could not be built, so its errors are reported once)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.built: dict[str, BuiltScenario | None] = {}
        self._stack: list[str] = []

    def get(self, name: A.Ident) -> BuiltScenario | None:
        """Build (once) the scenario called `name`; report and return None if it cannot be."""
        if name.value in self.built:
            return self.built[name.value]
        entry = self.ctx.scenarios.get(name.value)
        if entry is None:
            self.ctx.error(
                "AFS110",
                f"unknown scenario `{name.value}`",
                name.span,
                hint=suggest(name.value, set(self.ctx.scenarios), "scenarios")
                or "define one with `scenario NAME { ... }` or `use` a file that does",
            )
            self.built[name.value] = None
            return None
        if name.value in self._stack:
            chain = " -> ".join([*self._stack, name.value])
            self.ctx.error("AFS111", f"scenario inheritance cycle: {chain}", name.span)
            return None
        self._stack.append(name.value)
        try:
            result = self._build(*entry)
        finally:
            self._stack.pop()
        self.built[name.value] = result
        return result

    def _build(self, decl: A.ScenarioDecl, owner: A.FileAst) -> BuiltScenario | None:
        ctx = self.ctx
        sections: list[ir.Section] = []
        user: A.Text | None = None
        user_template: str | None = None
        conditions: dict[str, ir.Condition] = {}
        condition_decls: dict[str, A.ConditionDecl] = {}
        spans: tuple[ir.TextSpan, ...] = ()
        origins: dict[str, str | None] = {}
        continuation: ir.Continuation | None = None
        if decl.extends is not None:
            parent = self.get(decl.extends)
            if parent is None:
                return None
            sections = list(parent.scenario.sections)
            user, user_template = parent.user, parent.scenario.user_template
            conditions = {c.name: c for c in parent.scenario.conditions}
            condition_decls = dict(parent.condition_decls)
            spans, origins = parent.scenario.spans, dict(parent.origins)
            continuation = parent.scenario.continuation
        sections = self._sections(decl, owner, sections, origins)
        # A redefined section drops the spans declared on its old text.
        spans = tuple(s for s in spans if s.section not in {d.name.value for d in decl.sections})
        spans = build_spans(ctx, decl.spans, sections, spans)
        if decl.users:
            user = self._user(decl, owner)
            if user is None:
                return None
            user_template = user.value
        if user_template is None:
            ctx.error(
                "AFS114",
                f"scenario `{decl.name.value}` has no user template",
                decl.name.span,
                hint='add `user """... {query} ..."""`',
            )
            return None
        self._own_conditions(decl, conditions, condition_decls)
        scenario = ir.Scenario(
            name=decl.name.value,
            sections=tuple(sections),
            user_template=user_template,
            conditions=tuple(conditions.values()),
            spans=spans,
            continuation=build_continuation(ctx, decl.continuations, continuation),
        )
        result = BuiltScenario(scenario, decl, user, condition_decls, origins)
        self._check_sides(result)
        return result

    def _user(self, decl: A.ScenarioDecl, owner: A.FileAst) -> A.Text | None:
        """The scenario's own user template (inline or from a file); None if unreadable."""
        for extra in decl.users[1:]:
            self.ctx.error("AFS113", "the user template is defined twice", extra.span)
        try:
            return source_text(self.ctx, owner, decl.users[0])
        except AfsError as exc:
            self.ctx.report(exc)
            return None

    def _own_conditions(
        self,
        decl: A.ScenarioDecl,
        conditions: dict[str, ir.Condition],
        condition_decls: dict[str, A.ConditionDecl],
    ) -> None:
        """Add the scenario's conditions (an inherited one may be redefined, not its own)."""
        own: dict[str, A.ConditionDecl] = {}
        for cond in decl.conditions:
            first = own.setdefault(cond.name.value, cond)
            if first is not cond:
                self.ctx.error(
                    "AFS123",
                    f"condition `{cond.name.value}` is defined twice in this scenario",
                    cond.name.span,
                    notes=[Note(span=first.name.span, message="first here")],
                )
                continue
            built = self._condition(cond)
            if built is not None:
                conditions[built.name] = built
                condition_decls[built.name] = cond

    def _sections(
        self,
        decl: A.ScenarioDecl,
        owner: A.FileAst,
        inherited: list[ir.Section],
        origins: dict[str, str | None],
    ) -> list[ir.Section]:
        """The inherited sections with this scenario's own added or redefined."""
        sections = list(inherited)
        seen: dict[str, A.SectionDecl] = {}
        for section in decl.sections:
            if section.name.value in seen:
                self.ctx.error(
                    "AFS112",
                    f"section `{section.name.value}` is defined twice in this scenario",
                    section.name.span,
                    notes=[Note(span=seen[section.name.value].name.span, message="first here")],
                )
                continue
            seen[section.name.value] = section
            try:
                text = source_text(self.ctx, owner, section.source)
            except AfsError as exc:
                self.ctx.report(exc, section=section.name.value)
                continue
            new = ir.Section(name=section.name.value, text=text.value)
            origins[new.name] = text.origin if section.source.kind == "file" else None
            names = [s.name for s in sections]
            if new.name in names:  # redefining an inherited section keeps its place
                sections[names.index(new.name)] = new
            else:
                sections.append(new)
        return sections

    def _condition(self, cond: A.ConditionDecl) -> ir.Condition | None:
        role: str | None = cond.name.value if cond.name.value in SIDES else None
        if cond.role is not None:
            if cond.role.value not in SIDES:
                self.ctx.error(
                    "AFS115",
                    f"`as {cond.role.value}`: a condition is `as training` or `as deployment`",
                    cond.role.span,
                    hint=suggest(cond.role.value, set(SIDES), "sides"),
                )
                return None
            role = cond.role.value
        slots: dict[str, str] = {}
        for assign in cond.assigns:
            if assign.slot.value in slots:
                self.ctx.error(
                    "AFS116", f"slot `{assign.slot.value}` is set twice", assign.slot.span
                )
            if assign.slot.value == "query":
                self.ctx.error(
                    "AFS117",
                    "`query` is filled from the dataset; a condition cannot set it",
                    assign.slot.span,
                )
            slots[assign.slot.value] = assign.value.value
        return ir.Condition(name=cond.name.value, role=role, slots=slots)  # type: ignore[arg-type]

    def _check_sides(self, built: BuiltScenario) -> None:
        for side in SIDES:
            having = [c.name for c in built.scenario.conditions if c.role == side]
            if len(having) > 1:
                self.ctx.error(
                    "AFS118",
                    f"scenario `{built.scenario.name}` has {len(having)} {side} conditions "
                    f"({', '.join(having)})",
                    built.decl.name.span,
                    hint="exactly one condition is the training side and one the deployment side",
                )
            elif not having:
                self.ctx.error(
                    "AFS119",
                    f"scenario `{built.scenario.name}` has no {side} condition",
                    built.decl.name.span,
                    hint=f"add `condition {side} {{ ... }}` or mark one `as {side}`",
                )


def check_slots(ctx: Context, built: BuiltScenario, columns: set[str] | None) -> None:
    """Every template slot is `query`, a dataset column, or set by every condition.
    `columns` is None when the data could not be read: any slot may be a column."""
    scenario = built.scenario
    set_by_any = {k for c in scenario.conditions for k in c.slots}
    template_slots = {name for name, _, _ in find_slots(scenario.user_template)}
    if columns is None:
        columns = template_slots
    known = {"query"} | columns | set_by_any
    for name, start, end in find_slots(scenario.user_template):
        if name in known:
            continue
        span = (
            ctx.program.text_span(built.user, start, end)
            if built.user is not None
            else built.decl.name.span
        )
        ctx.error(
            "AFS120",
            f"unknown slot `{{{name}}}` in the user template",
            span,
            hint=suggest(name, known, "slots")
            or "set it in every condition, e.g. `condition training { " + name + ' = "..." }`',
        )
    for cond in scenario.conditions:
        decl = built.condition_decls.get(cond.name)
        where = decl.name.span if decl is not None else built.decl.name.span
        # A slot no condition sets was reported once above, not once per condition.
        for name in sorted((template_slots & set_by_any) - columns - set(cond.slots)):
            ctx.error("AFS121", f"condition `{cond.name}` does not set slot `{name}`", where)
        for assign in decl.assigns if decl is not None else ():
            if assign.slot.value not in template_slots and assign.slot.value != "query":
                ctx.error(
                    "AFS122",
                    f"slot `{assign.slot.value}` is not used by the user template",
                    assign.slot.span,
                    hint=suggest(assign.slot.value, template_slots - {"query"}, "slots"),
                )
