"""Hypotheses: normalise `lhs OP rhs` into `sum(coef * term) OP bound`."""

from __future__ import annotations

from afdsl import ir
from afdsl.diagnostics import AfsError, Diagnostic, Span
from afdsl.syntax import _ast as A


def hypothesis_problems(decl: A.HypothesisDecl) -> list[Diagnostic]:
    """Structural mistakes that need no name lookup (margins, empty comparisons)."""
    problems: list[Diagnostic] = []
    if decl.op == "==" and decl.margin is None:
        problems.append(
            Diagnostic(
                code="AFS301",
                message="`==` needs a margin: an equivalence test asks 'equal within what?'",
                span=decl.op_span,
                hint="add `within 0.05` (or the largest difference you would call equal)",
            )
        )
    if decl.op != "==" and decl.margin is not None:
        problems.append(
            Diagnostic(
                code="AFS302",
                message=f"`within` only applies to `==`, not `{decl.op}`",
                span=decl.margin.span,
            )
        )
    elif decl.margin is not None and not 0 < float(decl.margin.raw) < 1:
        problems.append(_margin_out_of_range(decl.margin))
    contrasts = [t for t in (*decl.lhs, *decl.rhs) if t.kind in ("effect", "interaction")]
    if contrasts:
        # The checker expands these with the experiment's `cross`; text alone has none.
        problems.append(
            Diagnostic(
                code="AFS215",
                message=f"`{contrasts[0].kind}()` needs the `cross` of an experiment",
                span=contrasts[0].span,
                hint="write the contrast as gap() terms, e.g. "
                "`gap(a__b) - gap(a) - gap(b) + gap(base)`",
            )
        )
        return problems
    if not _merge(decl)[0]:
        cancel = any(t.kind != "const" for t in (*decl.lhs, *decl.rhs))
        problems.append(
            Diagnostic(
                code="AFS304",
                message="the gap() and rate() terms cancel out: nothing is left to test"
                if cancel
                else "the hypothesis compares no gap() or rate() terms",
                span=decl.span,
                hint="e.g. `gap(my_variant) < gap(base)`",
            )
        )
    return problems


def _merge(decl: A.HypothesisDecl) -> tuple[list[ir.WeightedTerm], float]:
    coefs: dict[ir.Term, float] = {}
    constant = 0.0
    for term, sign in [(t, 1.0) for t in decl.lhs] + [(t, -1.0) for t in decl.rhs]:
        if term.kind == "const":
            constant += sign * term.coef
            continue
        assert term.variant is not None and term.kind in ("gap", "rate")
        key = ir.Term(
            kind=term.kind,
            variant=term.variant.value,
            condition=term.condition.value if term.condition else None,
        )
        coefs[key] = coefs.get(key, 0.0) + sign * term.coef
    terms = [ir.WeightedTerm(coef=c, term=t) for t, c in coefs.items() if c != 0.0]
    return terms, (-constant if constant else 0.0)


def to_hypothesis(decl: A.HypothesisDecl) -> ir.Hypothesis:
    """The IR hypothesis (call after `hypothesis_problems` found nothing)."""
    terms, bound = _merge(decl)
    return ir.Hypothesis(
        name=decl.name.value,
        expression=decl.expression,
        terms=tuple(terms),
        op=decl.op,  # type: ignore[arg-type]
        bound=bound,
        margin=float(decl.margin.raw) if decl.margin is not None else None,
        measure=decl.measure.value if decl.measure else None,
    )


def parse_hypothesis(text: str, path: str = "<hypothesis>") -> ir.Hypothesis:
    """Parse `"NAME: EXPR"` or `"NAME on MEASURE: EXPR"` (the .afs syntax); raises AfsError.

    Names are not checked against an experiment here: the caller knows which exist.
    `path` names where the text came from in error messages (e.g. `--hypothesis`).
    """
    from afdsl.syntax._parser import parse_hypothesis_ast

    decl = parse_hypothesis_ast(text, path)
    problems = hypothesis_problems(decl)
    if problems:
        raise AfsError(problems)
    return to_hypothesis(decl)


OPTION = "--hypothesis"


def parse_option_hypothesis(
    text: str, line: int, option: str = OPTION
) -> tuple[ir.Hypothesis, Span]:
    """Parse the `line`-th hypothesis given on the command line (`NAME: EXPR`).

    Its span names the option it came from (`--hypothesis`, line = its position,
    col = where its expression starts), so errors about it, syntax errors
    included, say which one is wrong and where. Raises AfsError.
    """
    try:
        hypothesis = parse_hypothesis(text, path=option)
    except AfsError as exc:
        raise AfsError([_on_line(d, line, option) for d in exc.diagnostics]) from None
    colon = text.find(":") + 1
    start = colon + len(text[colon:]) - len(text[colon:].lstrip())
    return hypothesis, Span(path=option, line=line, col=start + 1)


def _on_line(diagnostic: Diagnostic, line: int, option: str) -> Diagnostic:
    """A parser diagnostic about the `line`-th option (each is parsed as line 1)."""
    span = diagnostic.span
    if span is None or span.path != option:
        return diagnostic
    end_line = None if span.end_line is None else span.end_line + line - 1
    moved = span.model_copy(update={"line": line, "end_line": end_line})
    return diagnostic.model_copy(update={"span": moved})


def _margin_out_of_range(margin: A.Value) -> Diagnostic:
    """The report shows gaps in percentage points, so `within 5` usually means 0.05."""
    value = float(margin.raw)
    points = 1 <= value < 100
    return Diagnostic(
        code="AFS303",
        message="the margin must be more than 0 and less than 1 (a difference of rates)",
        span=margin.span,
        hint=f"{margin.raw} percentage points is `within {value / 100:g}`" if points else None,
    )
