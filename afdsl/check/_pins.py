"""Models named in hypotheses (`gap(base @ opus)`, `hypothesis h for opus:`) by short name.

A model's short name is `ModelConfig.short_name` (its label, else its spec shortened).
Two models may share one: that is only an error where a hypothesis uses the name,
so a file comparing two dated versions of one model stays valid until it pins them.
"""

from __future__ import annotations

from afdsl import ir
from afdsl.check._context import Context
from afdsl.syntax import nodes as A


def check_model_names(ctx: Context, decl: A.HypothesisDecl, models: list[ir.ModelConfig]) -> bool:
    """Every model the hypothesis names (its `for` and its `@` pins) names exactly one
    model under test; reports each that does not and returns False."""
    by_name: dict[str, list[ir.ModelConfig]] = {}
    for model in models:
        by_name.setdefault(model.short_name, []).append(model)
    named = [t.model for t in (*decl.lhs, *decl.rhs) if t.model is not None]
    if decl.model is not None:
        named.insert(0, decl.model)
    ok = True
    for name in named:
        found = by_name.get(name.value, [])
        if not found:
            ctx.unknown("AFS165", "model", name, set(by_name), "models")
            ok = False
        elif len(found) > 1:
            ctx.error("AFS166", _ambiguous(name.value, found), name.span, hint=label_hint(found[0]))
            ok = False
    return ok


def _ambiguous(name: str, found: list[ir.ModelConfig]) -> str:
    listed = " and ".join(f"`{m.display}`" for m in found)
    return f"`{name}` names {len(found)} models: {listed}"


def label_hint(model: ir.ModelConfig, suffix: str = "a") -> str:
    """How to give `model` a name of its own: a model block, whose name hypotheses use."""
    return (
        f"give each its own name with a model block, e.g. `model {model.short_name}_{suffix} "
        f"{{ spec \"{model.spec}\" }}` (the block's name is the model's label)"
    )
