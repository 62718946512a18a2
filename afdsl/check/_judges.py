"""`judge NAME { ... }` blocks: judge models that measures name with `model NAME`.

A judge block takes the fields of a model block (spec, base_url, api_key_env,
temperature, max_tokens, label) but is not a model under test: it never joins
`Experiment.models`, it only becomes the `model` of the measures that name it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from afdsl import ir
from afdsl.check._context import Context, suggest
from afdsl.check._models import build_model
from afdsl.diagnostics import Note
from afdsl.syntax import nodes as A


class Judge(NamedTuple):
    """A declared judge block and its model (None when the block has an error, already
    reported, so a measure naming it is not reported again)."""

    decl: A.JudgeDecl
    config: ir.ModelConfig | None

    def sets(self, field: str) -> bool:
        """Whether the block writes `field` itself (rather than taking the default)."""
        return any(key.value == field for key, _ in self.decl.block.fields)


def build_judges(ctx: Context, decl: A.ExperimentDecl, folder: Path) -> dict[str, Judge]:
    """Every judge block of the experiment by name; a repeated name is an error."""
    judges: dict[str, Judge] = {}
    for judge in decl.judges:
        name = judge.name.value
        if name in judges:
            ctx.error(
                "AFS149",
                f"judge `{name}` is defined twice",
                judge.name.span,
                notes=[Note(span=judges[name].decl.name.span, message="first defined here")],
            )
            continue
        judges[name] = Judge(judge, build_model(ctx, judge.block, folder))
    _check_distinct(ctx, judges)
    return judges


def _check_distinct(ctx: Context, judges: dict[str, Judge]) -> None:
    """Two judges with one spec and the same settings (on different servers, say) would
    share stored replies: judge requests are keyed by prompt, spec and settings."""
    seen: dict[tuple[str, str], Judge] = {}
    for judge in judges.values():
        if judge.config is None:
            continue
        key = (judge.config.spec, judge.config.params_hash())
        other = seen.setdefault(key, judge)
        if other is judge:
            continue
        ctx.error(
            "AFS198",
            f"judges `{other.decl.name.value}` and `{judge.decl.name.value}` share the spec "
            f"`{judge.config.spec}` and its temperature and max_tokens, so their stored "
            "replies could not be told apart",
            judge.decl.name.span,
            notes=[Note(span=other.decl.name.span, message="the other judge")],
            hint="give each its own spec name (e.g. the server's model alias), or a "
            "different temperature or max_tokens",
        )


def names_judge(value: A.Value) -> bool:
    """A measure's `model X` names a judge block when X has no `provider:` part."""
    return ":" not in value.value


def resolve_judge(
    ctx: Context, value: A.Value, judges: dict[str, Judge]
) -> tuple[Judge | None, bool]:
    """The judge block `value` names and whether it is usable; an unknown name is an
    error at the name, with the nearest judge (or how to declare one) as the hint."""
    judge = judges.get(value.value)
    if judge is not None:
        return judge, judge.config is not None
    if judges:
        hint = suggest(value.value, set(judges), "judges")
    else:
        hint = (
            f'declare `judge {value.value} {{ spec "provider:name" }}` in the experiment, '
            "or write a model spec such as sim:judge"
        )
    ctx.error("AFS159", f"unknown judge `{value.value}`", value.span, hint=hint)
    return None, False


def warn_unused_judges(
    ctx: Context, judges: dict[str, Judge], measures: list[A.MeasureDecl]
) -> None:
    """A judge block no measure names is probably a typo on a measure's line."""
    named = {
        m.model.spec.value
        for m in measures
        if m.model is not None and m.model.spec is not None and names_judge(m.model.spec)
    }
    for name, judge in judges.items():
        if name not in named:
            ctx.warning(
                "AFS904",
                f"judge `{name}` is not used by any measure",
                judge.decl.name.span,
                hint=f"name it on a measure's line, e.g. `measure faking = faking model {name}`",
            )
