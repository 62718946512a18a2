"""Factorial designs: `cross a, b, c` declares every combination of its items as a
variant (`a`, `b`, `a__b`, ..., `a__b__c`), and a hypothesis's `effect(a)` and
`interaction(a, b)` become weighted gap terms over those cells (docs/statistics.md,
"Factorial contrasts"), so the statistics see an ordinary `sum(coef * gap)`."""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

from afdsl import ir
from afdsl.check._context import Context, suggest
from afdsl.diagnostics import Note
from afdsl.syntax import nodes as A

# 2^6 - 1 = 63 variants, each with every condition, query and sample: larger designs
# are rarely affordable, and past this a typo in a list is the likelier cause.
MAX_FACTORS = 6
JOIN = "__"


@dataclass(frozen=True)
class Factorial:
    """One `cross`: its items in written order, and the variant of every subset of them
    (the empty subset is `base`)."""

    items: tuple[str, ...]
    cells: tuple[tuple[frozenset[str], str], ...]


def cell_name(items: tuple[str, ...]) -> str:
    """`("no_rlhf", "openai_trainer")` -> `no_rlhf__openai_trainer`."""
    return JOIN.join(items)


def expand_crosses(
    ctx: Context, crosses: list[A.CrossDecl], declared: list[A.VariantDecl]
) -> tuple[list[A.VariantDecl], list[Factorial]]:
    """The variants the crosses declare (by size, then in written order) and each cross's
    cells. A one-item cell reuses a declared variant of that name, else applies the
    perturbation the item names."""
    names = {d.name.value for d in declared}
    generated: dict[str, A.CrossDecl] = {}
    out: list[A.VariantDecl] = []
    factorials: list[Factorial] = []
    for cross in crosses:
        if not _items_ok(ctx, cross):
            continue
        cells: list[tuple[frozenset[str], str]] = [(frozenset(), ir.BASE_VARIANT)]
        for size in range(1, len(cross.items) + 1):
            for combo in itertools.combinations(cross.items, size):
                name = cell_name(tuple(i.value for i in combo))
                cells.append((frozenset(i.value for i in combo), name))
                if size == 1 and (name in names or name in generated):
                    continue  # the item is a variant already: that is the cell
                if _collides(ctx, cross, name, names, generated):
                    continue
                generated[name] = cross
                out.append(_cell(cross, combo, name))
        factorials.append(Factorial(tuple(i.value for i in cross.items), tuple(cells)))
    return out, factorials


def _cell(cross: A.CrossDecl, combo: tuple[A.Ident, ...], name: str) -> A.VariantDecl:
    """`variant a__b = apply a + apply b`, each `apply` at its item in the cross."""
    ops = tuple(A.Apply(A.Ident(i.value, i.span), i.span) for i in combo)
    where = combo[0].span if len(combo) == 1 else cross.span
    return A.VariantDecl(A.Ident(name, where), ops, cross.span, cross=tuple(i.value for i in combo))


def _items_ok(ctx: Context, cross: A.CrossDecl) -> bool:
    """At least two distinct items, none `base`, at most MAX_FACTORS."""
    if len(cross.items) < 2:
        ctx.error(
            "AFS210",
            "a `cross` needs at least two items",
            cross.span,
            hint=f"a single perturbation is a variant: `variant {cross.items[0].value} = "
            f"apply {cross.items[0].value}`",
        )
        return False
    if len(cross.items) > MAX_FACTORS:
        ctx.error(
            "AFS211",
            f"a `cross` of {len(cross.items)} items declares {2 ** len(cross.items) - 1} "
            f"variants; at most {MAX_FACTORS} items are crossed",
            cross.items[MAX_FACTORS].span,
            hint="cross fewer factors, or split them over several experiments",
        )
        return False
    seen: dict[str, A.Ident] = {}
    for item in cross.items:
        if item.value == ir.BASE_VARIANT:
            ctx.error(
                "AFS210",
                "`base` is every cross's all-off cell, not an item",
                item.span,
                hint="list only the perturbations or variants to combine",
            )
            return False
        if item.value in seen:
            ctx.error(
                "AFS210",
                f"the cross names `{item.value}` twice",
                item.span,
                notes=[Note(span=seen[item.value].span, message="first named here")],
            )
            return False
        seen[item.value] = item
    return True


def _collides(
    ctx: Context,
    cross: A.CrossDecl,
    name: str,
    declared: set[str],
    generated: dict[str, A.CrossDecl],
) -> bool:
    """A combination's name taken by a declared variant or another cross (reported)."""
    if name in declared:
        ctx.error(
            "AFS212",
            f"the cross declares `{name}`, and a variant of that name is declared too",
            cross.span,
            hint=f"rename the variant `{name}`, or drop it: the cross applies the same "
            "items in the same order",
        )
        return True
    if name in generated:
        ctx.error(
            "AFS213",
            f"`{name}` is declared by two crosses",
            cross.span,
            notes=[Note(span=generated[name].span, message="also declared by this cross")],
            hint="cross each set of items once",
        )
        return True
    return False


def warn_identical_cells(
    ctx: Context, variants: list[ir.Variant], decls: list[A.VariantDecl]
) -> None:
    """A combination whose prompt is another cell's (a later item undid an earlier one's
    change, e.g. removed the section it edited) measures nothing new: a warning."""
    by_name = {d.name.value: d for d in decls}
    seen: dict[str, str] = {}  # the scenario as JSON (it holds dicts) -> first variant
    for variant in variants:
        decl = by_name.get(variant.name)
        key = variant.scenario.model_dump_json()
        earlier = seen.get(key)
        if earlier is not None and decl is not None and len(decl.cross) > 1:
            ctx.warning(
                "AFS214",
                f"cross cell `{variant.name}` renders the same prompts as `{earlier}`: "
                "a later item undoes an earlier one's change",
                decl.name.span,
                hint="the items edit the same part of the prompt; cross items that edit "
                "different parts",
            )
        seen.setdefault(key, variant.name)


def expand_contrasts(
    ctx: Context, decl: A.HypothesisDecl, factorials: list[Factorial]
) -> A.HypothesisDecl | None:
    """`decl` with every `effect()` and `interaction()` replaced by its gap terms, or
    None (reported) when one names no cross's items."""
    sides: list[tuple[A.LinTerm, ...]] = []
    for side in (decl.lhs, decl.rhs):
        terms: list[A.LinTerm] = []
        for term in side:
            expanded = _contrast(ctx, term, factorials)
            if expanded is None:
                return None
            terms.extend(expanded)
        sides.append(tuple(terms))
    return dataclasses.replace(decl, lhs=sides[0], rhs=sides[1])


def contrast_weights(factorial: Factorial, factors: tuple[str, ...]) -> list[tuple[str, float]]:
    """(cell, weight) of the contrast over `factors` of a cross of k items.

    The sign of a cell is the product over `factors` of +1 (on in the cell) or -1
    (off); the weights divide by 2^(k - m) for m factors, so `effect(a)` is the mean
    gap with `a` minus the mean without it, and a two-factor interaction is the
    difference of differences (ab - b) - (a - base), averaged over the other items.
    """
    scale = 2 ** (len(factorial.items) - len(factors))
    return [
        (name, math.prod(1 if f in subset else -1 for f in factors) / scale)
        for subset, name in factorial.cells
    ]


def _contrast(
    ctx: Context, term: A.LinTerm, factorials: list[Factorial]
) -> tuple[A.LinTerm, ...] | None:
    if term.kind not in ("effect", "interaction"):
        return (term,)
    factorial = _factorial_of(ctx, term, factorials)
    if factorial is None:
        return None
    names = tuple(f.value for f in term.factors)
    return tuple(
        A.LinTerm(term.coef * weight, "gap", A.Ident(cell, term.span), None, term.span)
        for cell, weight in contrast_weights(factorial, names)
    )


def _factorial_of(ctx: Context, term: A.LinTerm, factorials: list[Factorial]) -> Factorial | None:
    """The one cross holding every factor of `term` (else reported, None)."""
    names = [f.value for f in term.factors]
    for i, factor in enumerate(term.factors):
        if factor.value in names[:i]:
            ctx.error("AFS216", f"`interaction` names `{factor.value}` twice", factor.span)
            return None
    items = {item for f in factorials for item in f.items}
    for factor in term.factors:
        if factor.value not in items:
            ctx.error(
                "AFS216",
                f"`{factor.value}` is not an item of a `cross` in this experiment",
                factor.span,
                hint=suggest(factor.value, items, "cross items")
                or f"add `cross {factor.value}, OTHER` to the experiment; "
                f"`{term.kind}()` is a contrast over a cross's cells",
            )
            return None
    holding = [f for f in factorials if set(names) <= set(f.items)]
    if len(holding) == 1:
        return holding[0]
    listed = ", ".join(names)
    if not holding:
        ctx.error(
            "AFS217",
            f"no single `cross` has all of {listed}",
            term.span,
            hint=f"an interaction is over one cross: `cross {listed}`",
        )
    else:
        ctx.error(
            "AFS218",
            f"{listed} {'is' if len(names) == 1 else 'are'} in {len(holding)} crosses, "
            f"so `{term.kind}()` is ambiguous",
            term.span,
            hint="name each item in one cross only when effect() or interaction() uses it",
        )
    return None
