"""Document symbols: the outline of a .afs file (scenarios with their sections and
conditions, perturbations, the experiment with its models, variants, measures and
hypotheses)."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types as T

from afdsl.diagnostics import Span
from afdsl.lsp._analysis import Analysis
from afdsl.syntax import nodes as A

Ranger = Callable[[Analysis, Span], T.Range]

_KINDS = {
    "scenario": T.SymbolKind.Class,
    "section": T.SymbolKind.Field,
    "condition": T.SymbolKind.EnumMember,
    "perturbation": T.SymbolKind.Function,
    "experiment": T.SymbolKind.Module,
    "model": T.SymbolKind.Object,
    "judge": T.SymbolKind.Object,
    "variant": T.SymbolKind.Variable,
    "measure": T.SymbolKind.Property,
    "hypothesis": T.SymbolKind.Boolean,
}


def document_symbols(
    analysis: Analysis, file: A.FileAst, to_range: Ranger
) -> list[T.DocumentSymbol]:
    def symbol(
        kind: str, name: A.Ident, whole: Span, children: list[T.DocumentSymbol] | None = None
    ) -> T.DocumentSymbol:
        return T.DocumentSymbol(
            name=name.value,
            detail=kind,
            kind=_KINDS[kind],
            range=to_range(analysis, whole),
            selection_range=to_range(analysis, name.span),
            children=children,
        )

    out = []
    for scenario in file.scenarios:
        parts = [symbol("section", s.name, s.span) for s in scenario.sections]
        parts += [symbol("section", s.name, s.span) for s in scenario.spans]
        parts += [symbol("condition", c.name, c.span) for c in scenario.conditions]
        out.append(symbol("scenario", scenario.name, scenario.span, parts))
    for decl in file.perturbations:
        out.append(symbol("perturbation", decl.name, decl.span))
    for experiment in file.experiments:
        parts = [symbol("model", name, m.span) for m in experiment.models if (name := _name(m))]
        parts += [symbol("judge", j.name, j.span) for j in experiment.judges]
        parts += [symbol("variant", v.name, v.span) for v in experiment.variants]
        parts += [symbol("measure", m.name, m.span) for m in experiment.measures]
        parts += [symbol("measure", m.name, m.span) for m in experiment.derived]
        parts += [symbol("hypothesis", h.name, h.span) for h in experiment.hypotheses]
        out.append(symbol("experiment", experiment.name, experiment.span, parts))
    return out


def _name(model: A.ModelDecl) -> A.Ident | None:
    """A model block's label, or a bare spec as written."""
    if model.label is not None or model.spec is None:
        return model.label
    return A.Ident(model.spec.value, model.spec.span)
