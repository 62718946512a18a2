"""Turn lark's parse tree into the typed syntax tree of `_ast` (one Transformer)."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from lark import Token, Transformer, v_args

from afdsl.diagnostics import Span
from afdsl.syntax import _ast as A
from afdsl.syntax._strings import StringError, decode_long, decode_short

MAX_NUMBER_CHARS = 20


def token_span(path: str, tok: Token) -> Span:
    """Where a lark token is in `path` (lark leaves positions unset on some tokens)."""
    return Span(
        path=path,
        line=tok.line or 1,
        col=tok.column or 1,
        end_line=tok.end_line,
        end_col=tok.end_column,
    )


def _meta_span(path: str, meta: Any) -> Span:
    return Span(
        path=path, line=meta.line, col=meta.column, end_line=meta.end_line, end_col=meta.end_column
    )


def _present(children: list[Any]) -> list[Any]:
    return [c for c in children if c is not None]


@v_args(meta=True)
class ToAst(Transformer[Token, Any]):
    """Builds `_ast` nodes; string escapes raise `StringError` (unwrapped by the caller)."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__(visit_tokens=True)
        self.path = path
        self.text = text

    def _span(self, meta: Any) -> Span:
        return _meta_span(self.path, meta)

    # ------------------------------------------------------------- tokens
    @v_args(inline=False, meta=False)
    def NAME(self, tok: Token) -> A.Ident:
        return A.Ident(str(tok), token_span(self.path, tok))

    @v_args(inline=False, meta=False)
    def NUMBER(self, tok: Token) -> Token:
        # No setting needs more digits; a longer number would be infinity as a float and
        # too long for Python to turn into an int (over 4,300 digits).
        if len(tok) > MAX_NUMBER_CHARS:
            raise StringError(
                f"a number of {len(tok):,} characters is too long (at most {MAX_NUMBER_CHARS})",
                tok.start_pos or 0,
                hint="every number afdsl reads is far smaller; see the ranges in docs/language.md",
                code="AFS051",
            )
        return tok

    def string(self, meta: Any, children: list[Token]) -> A.Text:
        tok = children[0]
        start = tok.start_pos or 0
        if tok.type == "LONG_STRING":
            value, offsets = decode_long(str(tok), start)
        else:
            value, offsets = decode_short(str(tok), start)
        return A.Text(value, token_span(self.path, tok), self.path, tuple(offsets))

    def _value(self, item: Any) -> A.Value:
        if isinstance(item, A.Text):
            return A.Value("string", item.value, item.span, item)
        if isinstance(item, A.Ident):
            return A.Value("name", item.value, item.span)
        if item.type == "MODEL_SPEC":
            return A.Value("spec", str(item), token_span(self.path, item))
        return A.Value("number", str(item), token_span(self.path, item))

    # -------------------------------------------------------------- file
    def start(self, meta: Any, children: list[Any]) -> list[Any]:
        return children

    def use(self, meta: Any, children: list[Any]) -> A.UseDecl:
        target = children[0]
        if isinstance(target, A.Text):
            return A.UseDecl(target.value, False, self._span(meta))
        return A.UseDecl(target.value, True, self._span(meta))

    # ---------------------------------------------------------- scenarios
    def scenario(self, meta: Any, children: list[Any]) -> A.ScenarioDecl:
        name, extends, *items = children
        return A.ScenarioDecl(
            name=name,
            extends=extends,
            sections=tuple(i for i in items if isinstance(i, A.SectionDecl)),
            users=tuple(i for i in items if isinstance(i, A.TextSource)),
            conditions=tuple(i for i in items if isinstance(i, A.ConditionDecl)),
            span=self._span(meta),
            spans=tuple(i for i in items if isinstance(i, A.SpanDecl)),
            continuations=tuple(i for i in items if isinstance(i, A.ContinueDecl)),
        )

    def section(self, meta: Any, children: list[Any]) -> A.SectionDecl:
        return A.SectionDecl(children[0], children[1], self._span(meta))

    def span_section(self, meta: Any, children: list[Any]) -> A.SpanDecl:
        name, parent, start, end = children
        return A.SpanDecl(name, parent, start, end, self._span(meta))

    def user(self, meta: Any, children: list[Any]) -> A.TextSource:
        return children[0]  # type: ignore[no-any-return]

    def continuation(self, meta: Any, children: list[Any]) -> A.ContinueDecl:
        send, until, max_calls = children
        return A.ContinueDecl(send, until, self._value(max_calls), self._span(meta))

    def condition(self, meta: Any, children: list[Any]) -> A.ConditionDecl:
        name, role, *assigns = children
        return A.ConditionDecl(name, role, tuple(_present(assigns)), self._span(meta))

    def assign(self, meta: Any, children: list[Any]) -> A.Assign:
        return A.Assign(children[0], children[1], self._span(meta))

    def inline_text(self, meta: Any, children: list[Any]) -> A.TextSource:
        return A.TextSource("inline", children[0], self._span(meta))

    def file_text(self, meta: Any, children: list[Any]) -> A.TextSource:
        return A.TextSource("file", children[0], self._span(meta))

    # ------------------------------------------------------- perturbations
    def perturbation(self, meta: Any, children: list[Any]) -> A.PerturbationDecl:
        name, description, ops = children
        return A.PerturbationDecl(name, description, ops, self._span(meta))

    def ops(self, meta: Any, children: list[Any]) -> tuple[A.Op, ...]:
        return tuple(children)

    def op_remove(self, meta: Any, children: list[Any]) -> A.RemoveSection:
        return A.RemoveSection(children[0], self._span(meta))

    def op_remove_between(self, meta: Any, children: list[Any]) -> A.RemoveBetween:
        start, end, section = children
        return A.RemoveBetween(start, end, section, self._span(meta))

    def op_replace(self, meta: Any, children: list[Any]) -> A.Replace:
        regex, old, new, section = children
        return A.Replace(old, new, regex is not None, section, self._span(meta))

    def op_insert(self, meta: Any, children: list[Any]) -> A.InsertSection:
        name, source, place, anchor = children
        return A.InsertSection(name, source, place, anchor, self._span(meta))

    def place(self, meta: Any, children: list[Token]) -> str:
        return str(children[0])

    def op_append(self, meta: Any, children: list[Any]) -> A.AddText:
        return A.AddText(children[0], children[1], "append", self._span(meta))

    def op_prepend(self, meta: Any, children: list[Any]) -> A.AddText:
        return A.AddText(children[0], children[1], "prepend", self._span(meta))

    def op_set(self, meta: Any, children: list[Any]) -> A.SetSlots:
        return A.SetSlots(tuple(children), self._span(meta))

    def slot_set(self, meta: Any, children: list[Any]) -> A.SlotSet:
        return A.SlotSet(children[0], children[1], children[2], self._span(meta))

    def op_swap_section(self, meta: Any, children: list[Any]) -> A.SwapSection:
        return A.SwapSection(children[0], children[1], self._span(meta))

    def op_swap_conditions(self, meta: Any, children: list[Any]) -> A.SwapConditions:
        return A.SwapConditions(self._span(meta))

    def op_user(self, meta: Any, children: list[Any]) -> A.SetUser:
        return A.SetUser(children[0], self._span(meta))

    def op_drop(self, meta: Any, children: list[Any]) -> A.DropCondition:
        return A.DropCondition(children[0], self._span(meta))

    def op_apply(self, meta: Any, children: list[Any]) -> A.Apply:
        return A.Apply(children[0], self._span(meta))

    def op_apply_param(self, meta: Any, children: list[Any]) -> A.ApplyParam:
        return A.ApplyParam(children[0], self._span(meta))

    # --------------------------------------------------------- experiments
    def experiment(self, meta: Any, children: list[Any]) -> A.ExperimentDecl:
        exp = A.ExperimentDecl(name=children[0], span=self._span(meta))
        previous: Any = None
        for item in children[1:]:
            if (
                isinstance(item, A.ModelDecl)
                and item.spec is not None
                and isinstance(previous, A.MeasureDecl)
                and previous.model is None
                and item.span.line == previous.span.end_line
            ):
                # `measure f = faking ... model sim:judge` (or `model GRADER`, a judge
                # block): LALR(1) cannot tell this `model` from the experiment's own
                # `model` statement, so a model on the measure's line belongs to it.
                attached = A.MeasureDecl(
                    previous.name, previous.kind, previous.args, item, previous.span
                )
                exp.measures[-1] = attached
                previous = attached
                continue
            _add_item(exp, item)
            previous = item
        return exp

    def exp_base(self, meta: Any, children: list[Any]) -> A.Setting:
        return A.Setting("base", self._value(children[0]), self._span(meta))

    def exp_samples(self, meta: Any, children: list[Any]) -> A.Setting:
        return A.Setting("samples", self._value(children[0]), self._span(meta))

    def exp_seed(self, meta: Any, children: list[Any]) -> A.Setting:
        return A.Setting("seed", self._value(children[0]), self._span(meta))

    def spec(self, meta: Any, children: list[Any]) -> A.Value:
        return self._value(children[0])

    def exp_model(self, meta: Any, children: list[Any]) -> A.ModelDecl:
        return A.ModelDecl(children[0], None, (), self._span(meta))

    def exp_model_block(self, meta: Any, children: list[Any]) -> A.ModelDecl:
        return A.ModelDecl(None, children[0], tuple(children[1:]), self._span(meta))

    def exp_model_ref(self, meta: Any, children: list[Any]) -> A.ModelDecl:
        return A.ModelDecl(self._value(children[0]), None, (), self._span(meta))

    def judge(self, meta: Any, children: list[Any]) -> A.JudgeDecl:
        name, *fields = children
        span = self._span(meta)
        return A.JudgeDecl(name, A.ModelDecl(None, name, tuple(fields), span), span)

    def model_field(self, meta: Any, children: list[Any]) -> tuple[A.Ident, A.Value]:
        return children[0], self._value(children[1])

    def exp_models(self, meta: Any, children: list[Any]) -> list[A.ModelDecl]:
        return [A.ModelDecl(v, None, (), v.span) for v in _present(children)]

    def exp_queries(self, meta: Any, children: list[Any]) -> A.QueriesDecl:
        source, *options = children
        if isinstance(source, A.Text):
            return A.QueriesDecl(source, (), tuple(options), self._span(meta))
        return A.QueriesDecl(None, tuple(source), tuple(options), self._span(meta))

    def query_option(self, meta: Any, children: list[Any]) -> tuple[A.Ident, A.Value]:
        return children[0], self._value(children[1])

    def query_key(self, meta: Any, children: list[Token]) -> A.Ident:
        return A.Ident(str(children[0]), token_span(self.path, children[0]))

    def variant(self, meta: Any, children: list[Any]) -> A.VariantDecl:
        return A.VariantDecl(children[0], children[1], self._span(meta))

    def variant_family(self, meta: Any, children: list[Any]) -> A.VariantFamilyDecl:
        name, *rest = children
        at = next(i for i, c in enumerate(rest) if isinstance(c, tuple))  # the operators
        loops = tuple(rest[at + 1 :])
        return A.VariantFamilyDecl(name, tuple(rest[:at]), rest[at], loops, self._span(meta))

    def family_loop(self, meta: Any, children: list[Any]) -> A.FamilyLoop:
        return A.FamilyLoop(children[0], children[1], self._span(meta))

    def cross(self, meta: Any, children: list[Any]) -> A.CrossDecl:
        return A.CrossDecl(tuple(children), self._span(meta))

    def string_list(self, meta: Any, children: list[Any]) -> tuple[A.Text, ...]:
        return tuple(_present(children))

    def measure(self, meta: Any, children: list[Any]) -> A.MeasureDecl:
        name, kind, *args = children
        # A quoted argument (`accept "<yes/>"`) arrives as the `string` rule's Text: the
        # grammar inlines it, so it is wrapped here like the other literals.
        values = tuple(self._value(a) if isinstance(a, A.Text) else a for a in args)
        return A.MeasureDecl(name, kind, values, None, self._span(meta))

    def measure_given(self, meta: Any, children: list[Any]) -> A.DerivedMeasureDecl:
        name, target, condition = children
        first = A.MeasureOperand(target, False, target.span)
        return A.DerivedMeasureDecl(name, "given", (first, condition), self._span(meta))

    def measure_and(self, meta: Any, children: list[Any]) -> A.DerivedMeasureDecl:
        name, first, *rest = children
        if isinstance(first, A.Ident):  # a first operand without `not` is a bare NAME
            first = A.MeasureOperand(first, False, first.span)
        return A.DerivedMeasureDecl(name, "and", (first, *rest), self._span(meta))

    def positive(self, meta: Any, children: list[Any]) -> A.MeasureOperand:
        return A.MeasureOperand(children[0], False, self._span(meta))

    def negated(self, meta: Any, children: list[Any]) -> A.MeasureOperand:
        return A.MeasureOperand(children[0], True, self._span(meta))

    def arg_name(self, meta: Any, children: list[Any]) -> A.Value:
        return self._value(children[0])

    def arg_number(self, meta: Any, children: list[Any]) -> A.Value:
        return self._value(children[0])

    def correct(self, meta: Any, children: list[Any]) -> A.CorrectDecl:
        method, alpha = children
        return A.CorrectDecl(
            method, self._value(alpha) if alpha is not None else None, self._span(meta)
        )

    # ---------------------------------------------------------- hypotheses
    def hypothesis(self, meta: Any, children: list[Any]) -> A.HypothesisDecl:
        body: A.HypothesisDecl = children[0]
        return dataclasses.replace(body, span=self._span(meta))

    def hypothesis_text(self, meta: Any, children: list[Any]) -> A.HypothesisDecl:
        return children[0]  # type: ignore[no-any-return]

    def on_measure(self, meta: Any, children: list[Any]) -> _Target:
        return _Target("on", children[0])

    def for_model(self, meta: Any, children: list[Any]) -> _Target:
        return _Target("for", children[0])

    def hypothesis_body(self, meta: Any, children: list[Any]) -> A.HypothesisDecl:
        name, *rest = children
        targets = {t.kind: t.name for t in rest if isinstance(t, _Target)}
        # Optional parts leave None or nothing behind (`_target` and `_amount` are inlined).
        parts = [c for c in rest if c is not None and not isinstance(c, _Target)]
        lhs, (op, op_span), rhs, *within = parts
        margin = within[0] if within else None
        lhs_terms, lhs_meta = lhs
        rhs_terms, rhs_meta = rhs
        end = margin.end_pos if margin is not None else rhs_meta.end_pos
        expression = " ".join(self.text[lhs_meta.start_pos : end].split())
        return A.HypothesisDecl(
            name=name,
            measure=targets.get("on"),
            lhs=lhs_terms,
            op=op,
            op_span=op_span,
            rhs=rhs_terms,
            margin=self._value(margin) if margin is not None else None,
            expression=expression,
            span=self._span(meta),
            model=targets.get("for"),
        )

    def compare(self, meta: Any, children: list[Token]) -> tuple[str, Span]:
        return str(children[0]), token_span(self.path, children[0])

    def addop(self, meta: Any, children: list[Token]) -> str:
        return str(children[0])

    def expr(self, meta: Any, children: list[Any]) -> tuple[tuple[A.LinTerm, ...], Any]:
        terms: list[A.LinTerm] = []
        sign = 1.0
        for child in children:
            if isinstance(child, str):
                sign = -1.0 if child == "-" else 1.0
                continue
            terms.extend(_scale(t, sign) for t in child)
        return tuple(terms), meta

    def signed_term(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        sign, term = children
        return tuple(_scale(t, -1.0 if sign == "-" else 1.0) for t in term)

    def scaled(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        number, atom = children
        return tuple(_scale(t, float(number)) for t in atom)

    def constant(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        number, points = amount(str(children[0]))
        return (A.LinTerm(number, "const", None, None, self._span(meta), points=points),)

    def pin(self, meta: Any, children: list[Any]) -> A.Ident:
        return children[0]  # type: ignore[no-any-return]

    def gap(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        variant, model = children
        return (A.LinTerm(1.0, "gap", variant, None, self._span(meta), model=model),)

    def rate(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        variant, first, condition, second = children
        if first is not None and second is not None:
            raise StringError(
                "a term is pinned to one model: `@ MODEL` once",
                meta.start_pos,
                hint=f"write `rate({variant.value}, {condition.value} @ {second.value})`",
                code="AFS309",
            )
        model = first or second
        return (A.LinTerm(1.0, "rate", variant, condition, self._span(meta), model=model),)

    def effect(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        return (A.LinTerm(1.0, "effect", None, None, self._span(meta), tuple(children)),)

    def interaction(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        return (A.LinTerm(1.0, "interaction", None, None, self._span(meta), tuple(children)),)

    def group(self, meta: Any, children: list[Any]) -> tuple[A.LinTerm, ...]:
        return children[0][0]  # type: ignore[no-any-return]


def _scale(term: A.LinTerm, factor: float) -> A.LinTerm:
    return dataclasses.replace(term, coef=term.coef * factor)


def amount(raw: str) -> tuple[float, bool]:
    """A bound or margin as a proportion, and whether it was written in points (`5pp`)."""
    if raw.endswith("pp"):
        return float(raw[:-2]) / 100.0, True
    return float(raw), False


class _Target(NamedTuple):
    """`on MEASURE` or `for MODEL` in a hypothesis's head (in either order)."""

    kind: str
    name: A.Ident


def _add_item(exp: A.ExperimentDecl, item: Any) -> None:
    if isinstance(item, A.Setting):
        exp.settings.append(item)
    elif isinstance(item, A.ModelDecl):
        exp.models.append(item)
    elif isinstance(item, A.JudgeDecl):
        exp.judges.append(item)
    elif isinstance(item, list):  # `models [a, b]`
        exp.models.extend(item)
    elif isinstance(item, A.QueriesDecl):
        exp.queries.append(item)
    elif isinstance(item, A.VariantDecl | A.VariantFamilyDecl):
        exp.variants.append(item)
    elif isinstance(item, A.MeasureDecl):
        exp.measures.append(item)
    elif isinstance(item, A.DerivedMeasureDecl):
        exp.derived.append(item)
    elif isinstance(item, A.HypothesisDecl):
        exp.hypotheses.append(item)
    elif isinstance(item, A.CorrectDecl):
        exp.corrections.append(item)
    elif isinstance(item, A.CrossDecl):
        exp.crosses.append(item)
