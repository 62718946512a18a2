"""What the language server knows about a checked program: every named definition and
every name that refers to one, with their spans, read off the checker's syntax tree.

No second parser: the tree comes from `afdsl.syntax.load_program`, the checker's own
loader, so positions are the ones `afdsl check` prints.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from afdsl.check import cell_name, family_members
from afdsl.diagnostics import Span
from afdsl.syntax import LoadedProgram, display_path, resolve_use
from afdsl.syntax import nodes as A

# Operators whose name refers to a section of the scenario they perturb.
_SECTION_OPS = (A.RemoveSection, A.AddText, A.SwapSection)


@dataclass(frozen=True)
class Symbol:
    """A definition: `kind` is scenario, section, condition, perturbation, experiment,
    variant, model, judge, measure or hypothesis. `node` is its syntax-tree node."""

    kind: str
    name: str
    span: Span  # the name
    whole: Span  # the whole declaration
    node: object
    owner: A.FileAst
    container: str = ""  # the scenario of a section or condition


@dataclass(frozen=True)
class Ref:
    """A name that refers to definitions of `kinds`, or (kind "file") to a file `target`."""

    kinds: tuple[str, ...]
    name: str
    span: Span
    scope: str = ""  # the scenario a section or condition name is looked up in first
    target: str = ""  # absolute path, for kind "file"
    exclude: str = ""  # the variant whose `apply` this is: a variant never applies itself


@dataclass
class Index:
    symbols: list[Symbol] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)

    def named(
        self, kinds: tuple[str, ...], name: str, scope: str = "", exclude: str = ""
    ) -> list[Symbol]:
        """Definitions of `name` among `kinds`, in the order of `kinds`, scope first."""
        found = [s for kind in kinds for s in self.symbols if s.kind == kind and s.name == name]
        if exclude:
            found = [s for s in found if not (s.kind == "variant" and s.name == exclude)]
        return sorted(found, key=lambda s: (s.container != scope, kinds.index(s.kind)))

    def names(self, kinds: tuple[str, ...]) -> list[Symbol]:
        return [s for s in self.symbols if s.kind in kinds]


def build_index(program: LoadedProgram) -> Index:
    """Definitions and references of every file of `program` (the root's last)."""
    index = Index()
    for file in program.files:
        _index_file(index, file)
    return index


def _index_file(index: Index, file: A.FileAst) -> None:
    folder = Path(file.abs_path).parent
    for use in file.uses:
        target = resolve_use(use, folder)
        if target is not None:
            index.refs.append(Ref(("file",), use.target, use.span, target=str(target)))
    for scenario in file.scenarios:
        _index_scenario(index, file, scenario)
    for decl in file.perturbations:
        _symbol(index, "perturbation", decl.name, decl, file)
        _index_ops(index, file, decl.ops, scope="")
    for experiment in file.experiments:
        _index_experiment(index, file, experiment)


def _symbol(
    index: Index, kind: str, name: A.Ident, node: object, file: A.FileAst, container: str = ""
) -> None:
    whole = getattr(node, "span", name.span)
    index.symbols.append(Symbol(kind, name.value, name.span, whole, node, file, container))


def _file_ref(index: Index, file: A.FileAst, text: A.Text) -> None:
    target = (Path(file.abs_path).parent / text.value).resolve()
    index.refs.append(Ref(("file",), text.value, text.span, target=str(target)))


def _index_scenario(index: Index, file: A.FileAst, decl: A.ScenarioDecl) -> None:
    scope = decl.name.value
    _symbol(index, "scenario", decl.name, decl, file)
    if decl.extends is not None:
        index.refs.append(Ref(("scenario",), decl.extends.value, decl.extends.span))
    for section in decl.sections:
        _symbol(index, "section", section.name, section, file, scope)
        if section.source.kind == "file":
            _file_ref(index, file, section.source.text)
    for span in decl.spans:  # a named stretch of a section, edited like one
        _symbol(index, "section", span.name, span, file, scope)
        index.refs.append(Ref(("section",), span.parent.value, span.parent.span, scope))
    for condition in decl.conditions:
        _symbol(index, "condition", condition.name, condition, file, scope)
    for user in decl.users:
        if user.kind == "file":
            _file_ref(index, file, user.text)


def _index_ops(
    index: Index, file: A.FileAst, ops: tuple[A.Op, ...], scope: str, variant: str = ""
) -> None:
    def section(ident: A.Ident | None) -> None:
        if ident is not None:
            index.refs.append(Ref(("section",), ident.value, ident.span, scope))

    for op in ops:
        if isinstance(op, _SECTION_OPS):
            section(op.section)
        if isinstance(op, A.Replace | A.RemoveBetween):
            section(op.section)
        elif isinstance(op, A.InsertSection):
            section(op.anchor)
        elif isinstance(op, A.SetSlots):
            for item in op.items:
                ref = Ref(("condition",), item.condition.value, item.condition.span, scope)
                index.refs.append(ref)
        elif isinstance(op, A.DropCondition):
            ref = Ref(("condition",), op.condition.value, op.condition.span, scope)
            index.refs.append(ref)
        elif isinstance(op, A.Apply):
            kinds = ("variant", "perturbation")
            index.refs.append(Ref(kinds, op.name.value, op.name.span, exclude=variant))
        for source in (getattr(op, "source", None), getattr(op, "new", None)):
            if isinstance(source, A.TextSource) and source.kind == "file":
                _file_ref(index, file, source.text)


def _index_experiment(index: Index, file: A.FileAst, decl: A.ExperimentDecl) -> None:
    _symbol(index, "experiment", decl.name, decl, file)
    base = next((s.value for s in decl.settings if s.key == "base"), None)
    scope = base.value if base is not None else ""
    if base is not None:
        index.refs.append(Ref(("scenario",), base.value, base.span))
    for model in decl.models:
        if model.label is not None:
            _symbol(index, "model", model.label, model, file)
        elif model.spec is not None:  # a bare spec: hover tells what it is
            _symbol(index, "model", A.Ident(model.spec.value, model.spec.span), model, file)
    for judge in decl.judges:
        _symbol(index, "judge", judge.name, judge, file)
    for queries in decl.queries:
        if queries.path is not None:
            _file_ref(index, file, queries.path)
    for variant in decl.variants:
        _symbol(index, "variant", variant.name, variant, file)
        if isinstance(variant, A.VariantFamilyDecl):
            for member, _ in family_members(variant):
                _symbol(index, "variant", A.Ident(member, variant.name.span), variant, file)
        _index_ops(index, file, variant.ops, scope, variant.name.value)
    for cross in decl.crosses:
        _index_cross(index, file, cross)
    for measure in decl.measures:
        _symbol(index, "measure", measure.name, measure, file)
        spec = measure.model.spec if measure.model is not None else None
        if spec is not None and spec.kind == "name":
            index.refs.append(Ref(("judge",), spec.raw, spec.span))
        elif spec is not None and measure.model is not None:
            _symbol(index, "judge", A.Ident(spec.value, spec.span), measure.model, file)
    for derived in decl.derived:
        _symbol(index, "measure", derived.name, derived, file)
        for operand in derived.operands:  # go to / rename the measures it reads
            index.refs.append(Ref(("measure",), operand.name.value, operand.name.span))
    for hypothesis in decl.hypotheses:
        _index_hypothesis(index, file, hypothesis, scope)


def _index_cross(index: Index, file: A.FileAst, cross: A.CrossDecl) -> None:
    """A cross's items are references; its combinations are variants hypotheses name."""
    for item in cross.items:
        index.refs.append(Ref(("variant", "perturbation"), item.value, item.span))
    names = [item.value for item in cross.items]
    # Combinations are named at the `cross` keyword, so the items keep their own hover.
    keyword = cross.span.model_copy(
        update={"end_line": cross.span.line, "end_col": cross.span.col + 5}
    )
    for size in range(2, len(names) + 1):
        for combo in itertools.combinations(names, size):
            _symbol(index, "variant", A.Ident(cell_name(combo), keyword), cross, file)


def _index_hypothesis(index: Index, file: A.FileAst, decl: A.HypothesisDecl, scope: str) -> None:
    _symbol(index, "hypothesis", decl.name, decl, file)
    if decl.measure is not None:
        index.refs.append(Ref(("measure",), decl.measure.value, decl.measure.span))
    for term in (*decl.lhs, *decl.rhs):
        for factor in term.factors:
            index.refs.append(Ref(("variant", "perturbation"), factor.value, factor.span))
        if term.variant is not None and term.variant.value != "base":
            index.refs.append(Ref(("variant",), term.variant.value, term.variant.span))
        if term.condition is not None:
            ref = Ref(("condition",), term.condition.value, term.condition.span, scope)
            index.refs.append(ref)


def contains(span: Span, line: int, col: int) -> bool:
    """Whether 1-based (line, col) falls inside `span` (its end column included, so a
    cursor just after a name still finds it)."""
    end_line = span.end_line or span.line
    end_col = span.end_col or span.col + 1
    if not span.line <= line <= end_line:
        return False
    if line == span.line and col < span.col:
        return False
    return not (line == end_line and col > end_col)


def abs_paths(program: LoadedProgram) -> dict[str, str]:
    """Display path (as spans hold it) -> absolute path, for every file read."""
    return {display_path(Path(p)): p for p in program.source_files}
