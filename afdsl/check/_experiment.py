"""An `experiment` block -> `ir.Experiment`, collecting every independent error."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from afdsl import ir
from afdsl.check._context import Context
from afdsl.check._cross import (
    Factorial,
    expand_contrasts,
    expand_crosses,
    warn_identical_cells,
)
from afdsl.check._families import expand_families
from afdsl.check._judges import Judge, build_judges, warn_unused_judges
from afdsl.check._limits import in_range
from afdsl.check._measures import (
    PARAMS,
    build_correction,
    build_derived,
    build_measure,
    check_hypothesis,
    derived_without_models,
)
from afdsl.check._models import build_model
from afdsl.check._pins import check_model_names, label_hint
from afdsl.check._scenarios import BuiltScenario, ScenarioBuilder, check_slots
from afdsl.check._variants import VariantResolver
from afdsl.datasets import inline_queries, read_queries, select_queries
from afdsl.diagnostics import AfsError, Note, Span
from afdsl.inputs import MAX_DATA_BYTES, NOT_FOUND, file_problem
from afdsl.syntax import display_path
from afdsl.syntax import nodes as A


def _integer(ctx: Context, setting: A.Setting, minimum: int) -> int | None:
    raw = setting.value.raw
    if setting.value.kind != "number" or not raw.isdigit() or int(raw) < minimum:
        ctx.error(
            "AFS180",
            f"`{setting.key}` must be a whole number of at least {minimum}",
            setting.value.span,
        )
        return None
    checked = in_range(ctx, setting.key, int(raw), setting.value.span)
    return None if checked is None else int(raw)


def _settings(ctx: Context, decl: A.ExperimentDecl) -> dict[str, A.Setting]:
    found: dict[str, A.Setting] = {}
    for setting in decl.settings:
        if setting.key in found:
            ctx.error(
                "AFS181",
                f"`{setting.key}` is set twice",
                setting.span,
                notes=[Note(span=found[setting.key].span, message="first set here")],
            )
            continue
        found[setting.key] = setting
    return found


class _SourceOptions(NamedTuple):
    """The options after a `queries` source: `limit`/`sample` counts and field names."""

    given: dict[str, A.Value]
    limit: int | None
    sample: int | None
    fields: dict[str, str]


def _queries(ctx: Context, owner: A.FileAst, decl: A.ExperimentDecl, seed: int) -> list[ir.Query]:
    """Every query of every `queries` source, in order; ids must be unique across them."""
    queries: list[ir.Query] = []
    inline_count = 0
    for source in decl.queries:
        options = _source_options(ctx, source)
        if source.path is None:
            texts = [t.value for t in source.inline]
            batch = select_queries(
                inline_queries(texts, first=inline_count + 1),
                limit=options.limit,
                sample=options.sample,
                seed=seed,
            )
            inline_count += len(source.inline)
        else:
            read = _read_source(ctx, owner, source.path, options, seed)
            if read is None:
                continue
            batch = read
        wanted = options.given.get("sample")
        if wanted is not None and options.sample and options.sample > len(batch):
            ctx.warning(
                "AFS196",
                f"`sample {options.sample}` asks for more rows than there are ({len(batch)}); "
                "all of them are used",
                wanted.span,
            )
        queries.extend(batch)
    seen: set[str] = set()
    for query in queries:
        if query.id in seen:
            ctx.error("AFS195", f"query id `{query.id}` appears in two datasets", decl.name.span)
            break
        seen.add(query.id)
    return queries


def _source_options(ctx: Context, source: A.QueriesDecl) -> _SourceOptions:
    """The source's options, each problem reported; a bad count or field is left unset."""
    given: dict[str, A.Value] = {}
    for option, option_value in source.options:
        if option.value in given:
            ctx.error("AFS190", f"`{option.value}` is given twice", option.span)
        if source.path is None and option.value in ("id", "text"):
            ctx.error("AFS191", f"`{option.value}` only applies to a data file", option.span)
        given[option.value] = option_value
    counts: dict[str, int | None] = {}
    for key in ("limit", "sample"):
        value = given.get(key)
        # 0 would silently leave an experiment without queries.
        if value is not None and (
            value.kind != "number" or not value.raw.isdigit() or int(value.raw) < 1
        ):
            ctx.error("AFS192", f"`{key}` takes a whole number of at least 1", value.span)
        counts[key] = int(value.raw) if value is not None and value.raw.isdigit() else None
    fields: dict[str, str] = {}
    for key in ("id", "text"):
        value = given.get(key)
        if value is not None and value.kind != "string":
            ctx.error("AFS193", f'`{key}` takes a quoted field name, e.g. {key} "x"', value.span)
        elif value is not None:
            fields[key] = value.value
    return _SourceOptions(given, counts["limit"], counts["sample"], fields)


def _read_source(
    ctx: Context, owner: A.FileAst, file: A.Text, options: _SourceOptions, seed: int
) -> list[ir.Query] | None:
    """The queries of a data file (relative to the .afs file), or None (reported)."""
    path = (Path(owner.abs_path).parent / file.value).resolve()
    problem = file_problem(path, MAX_DATA_BYTES)
    if problem == NOT_FOUND:
        ctx.error(
            "AFS194",
            f'cannot find data file "{file.value}"',
            file.span,
            hint=f"paths are relative to {display_path(path.parent)}/",
        )
        return None
    if problem is not None:
        ctx.error("AFS194", f'cannot read data file "{file.value}": it {problem}', file.span)
        return None
    ctx.data_files.append(str(path))
    try:
        return read_queries(
            path,
            shown=display_path(path),
            id_field=options.fields.get("id", "id"),
            text_field=options.fields.get("text", "text"),
            id_required="id" in options.fields,
            limit=options.limit,
            sample=options.sample,
            seed=seed,
        )
    except AfsError as exc:
        for d in exc.diagnostics:
            ctx.error(d.code, d.message, d.span or file.span, d.hint)
        return None


# A run holds its prompt set in memory (about 2.5 KB a prompt: 1.2 GB for 480k), so a far
# larger count would exhaust memory; it is nearly always a typo in `samples` anyway.
MAX_PROMPTS = 2_000_000


def _check_size(
    ctx: Context,
    decl: A.ExperimentDecl,
    samples_setting: A.Setting | None,
    models: int,
    variants: list[ir.Variant],
    queries: int,
    samples: int,
) -> None:
    """Report a design with more than `MAX_PROMPTS` prompts, at `samples` when the file
    sets it (the usual culprit), else at the first `queries` source."""
    per_sample = models * sum(len(v.scenario.conditions) for v in variants) * queries
    total = per_sample * samples
    if total <= MAX_PROMPTS:
        return
    limit = f"(the most afdsl runs is {MAX_PROMPTS:,})"
    if samples_setting is not None:
        ctx.error(
            "AFS188",
            f"`samples {samples}` makes {total:,} prompts {limit}",
            samples_setting.value.span,
            hint=f"at most {_count(MAX_PROMPTS // max(per_sample, 1), 'sample')} for this design",
        )
    elif decl.queries:
        per_query = max(total // max(queries, 1), 1)
        ctx.error(
            "AFS188",
            f"{queries:,} queries make {total:,} prompts {limit}",
            decl.queries[0].span,
            hint=f"at most {_count(MAX_PROMPTS // per_query, 'query', 'queries')} for this design "
            "(`limit N` or `sample N` after the source)",
        )


def _count(n: int, one: str, many: str | None = None) -> str:
    """`1 sample`, `12,000 samples` (at least 1: a design that fits nothing still names one)."""
    n = max(1, n)
    return f"{n:,} {one if n == 1 else many or one + 's'}"


class BuiltExperiment(NamedTuple):
    """`build_experiment`'s result; the names and declarations feed the unused warnings."""

    experiment: ir.Experiment | None  # None if any error
    applied: set[str]  # perturbation and variant names `apply` used
    variants: list[A.VariantDecl]  # as declared, families expanded


def build_experiment(
    ctx: Context, owner: A.FileAst, decl: A.ExperimentDecl, scenarios: ScenarioBuilder
) -> BuiltExperiment:
    """The checked experiment, the names `apply` used and the variant declarations."""
    errors_before = ctx.error_count
    settings = _settings(ctx, decl)
    base = _base(ctx, decl, settings, scenarios)
    samples = _integer(ctx, settings["samples"], 1) if "samples" in settings else 1
    seed = _integer(ctx, settings["seed"], 0) if "seed" in settings else 0
    folder = Path(owner.abs_path).parent
    judges = build_judges(ctx, decl, folder)
    models = _models(ctx, decl, folder, judges)
    errors_before_data = ctx.error_count
    queries = _queries(ctx, owner, decl, seed or 0)
    data_read = ctx.error_count == errors_before_data
    if not decl.queries:
        ctx.error(
            "AFS185",
            f"experiment `{decl.name.value}` has no queries",
            decl.name.span,
            hint='add `queries "file.jsonl"` or `queries ["...", "..."]`',
        )

    variants: list[ir.Variant] = []
    applied: set[str] = set()
    variant_decls = expand_families(ctx, decl.variants)
    crossed, factorials = expand_crosses(ctx, decl.crosses, variant_decls)
    variant_decls += crossed
    if base is not None:
        # Unreadable data is reported at the data; its columns are unknown, so a slot
        # that may name one is not an error too.
        columns = (
            (set.intersection(*(set(q.slots) for q in queries)) if queries else set())
            if data_read
            else None
        )
        check_slots(ctx, base, columns)
        resolver = VariantResolver(ctx, owner, base.scenario, variant_decls, columns)
        variants = resolver.resolve_all(variant_decls)
        applied = resolver.applied
        warn_identical_cells(ctx, variants, variant_decls)

    measures = _measures(ctx, decl, folder, judges)
    derived_without_models(ctx, decl.derived, decl.models)
    derived = build_derived(
        ctx, decl.derived, {m.name.value for m in decl.measures} or {"compliance"},
        implied=not decl.measures,
    )  # fmt: skip
    warn_unused_judges(ctx, judges, decl.measures)
    hypotheses = _hypotheses(ctx, decl, variants, variant_decls, factorials, models)
    correction = build_correction(ctx, decl.corrections)
    if samples:
        _check_size(
            ctx, decl, settings.get("samples"), len(models), variants, len(queries), samples
        )

    if ctx.error_count > errors_before or base is None:
        return BuiltExperiment(None, applied, variant_decls)
    scenario = base.scenario
    training = next((c.name for c in scenario.conditions if c.role == ir.TRAINING), None)
    deployment = next((c.name for c in scenario.conditions if c.role == ir.DEPLOYMENT), None)
    if training is None or deployment is None:  # reported when the scenario was built
        return BuiltExperiment(None, applied, variant_decls)
    experiment = ir.Experiment(
        name=decl.name.value,
        source_files=tuple(dict.fromkeys([*ctx.program.source_files, *ctx.data_files])),
        base_scenario=scenario.name,
        models=tuple(m.seeded(seed or 0) for m in models),
        queries=tuple(queries),
        samples=samples or 1,
        seed=seed or 0,
        variants=tuple(variants),
        measures=tuple(_seeded_judge(m, seed or 0) for m in measures),
        derived=tuple(derived),
        hypotheses=tuple(hypotheses),
        correction=correction,
        training=training,
        deployment=deployment,
    )
    return BuiltExperiment(experiment, applied, variant_decls)


def _seeded_judge(measure: ir.Measure, seed: int) -> ir.Measure:
    """`measure` with its judge keyed by `seed` when the judge is a simulator."""
    if measure.model is None:
        return measure
    return measure.model_copy(update={"model": measure.model.seeded(seed)})


def _base(
    ctx: Context,
    decl: A.ExperimentDecl,
    settings: dict[str, A.Setting],
    scenarios: ScenarioBuilder,
) -> BuiltScenario | None:
    """The scenario named by `base`, or None (reported) when it is missing or broken."""
    if "base" not in settings:
        ctx.error(
            "AFS182",
            f"experiment `{decl.name.value}` has no `base` scenario",
            decl.name.span,
            hint="add `base SCENARIO_NAME`",
        )
        return None
    value = settings["base"].value
    return scenarios.get(A.Ident(value.value, value.span))


def _models(
    ctx: Context, decl: A.ExperimentDecl, folder: Path, judges: dict[str, Judge]
) -> list[ir.ModelConfig]:
    """The experiment's well-formed model specs; a missing or repeated model is an error."""
    built = [(d, _model_under_test(ctx, d, folder, judges)) for d in decl.models]
    if not decl.models:
        ctx.error(
            "AFS183",
            f"experiment `{decl.name.value}` has no model",
            decl.name.span,
            hint="add `model sim:opus_like` (or anthropic:NAME, openai:NAME)",
        )
    first: dict[str, A.ModelDecl] = {}
    same_key: dict[tuple[str, str], tuple[A.ModelDecl, ir.ModelConfig]] = {}
    for d, model in built:
        if model is None:
            continue
        if model.display in first:
            ctx.error(
                "AFS184",
                f"model `{model.display}` is listed twice",
                _model_span(d),
                notes=[Note(span=_model_span(first[model.display]), message="first listed here")],
            )
            continue
        first[model.display] = d
        key = (model.spec, model.params_hash())
        if key in same_key:
            other_decl, other = same_key[key]
            ctx.error(
                "AFS197",
                f"models `{other.display}` and `{model.display}` share the spec `{model.spec}` "
                "and its temperature and max_tokens, so the store could not tell their "
                "answers apart",
                _model_span(d),
                notes=[Note(span=_model_span(other_decl), message=f"`{other.display}` is here")],
                hint="give each server's model its own spec name (e.g. the server's model "
                "alias), or a different temperature or max_tokens",
            )
            continue
        same_key[key] = (d, model)
    _warn_shared_short_names(ctx, [(d, m) for d, m in built if m is not None])
    return [model for _, model in built if model is not None]


def _warn_shared_short_names(ctx: Context, built: list[tuple[A.ModelDecl, ir.ModelConfig]]) -> None:
    """Two models with one short name (two dated versions of one model) cannot be named in
    a hypothesis: a warning here, an error (AFS166) where a hypothesis names them."""
    seen: dict[str, ir.ModelConfig] = {}
    for d, model in built:
        other = seen.setdefault(model.short_name, model)
        if other is model:
            continue
        ctx.warning(
            "AFS167",
            f"models `{other.display}` and `{model.display}` share the short name "
            f"`{model.short_name}`, so no hypothesis can name either",
            _model_span(d),
            hint=label_hint(model, "b"),
        )


def _model_under_test(
    ctx: Context, decl: A.ModelDecl, folder: Path, judges: dict[str, Judge]
) -> ir.ModelConfig | None:
    """`build_model`, except that `model NAME` on its own line naming a judge block says
    where a judge belongs (a judge is never a model under test)."""
    if decl.spec is None or decl.spec.value not in judges:
        return build_model(ctx, decl, folder)
    ctx.error(
        "AFS189",
        f"`{decl.spec.value}` is a judge, not a model under test",
        decl.spec.span,
        hint=f"name it at the end of a judge or faking measure's line: "
        f"`measure faking = faking model {decl.spec.value}`",
    )
    return None


def _model_span(decl: A.ModelDecl) -> Span:
    """Where a model's display name is written: its spec, or a block's label (the
    `label` field over the block's name, as `build_model` takes them), else its spec."""
    if decl.spec is not None:
        return decl.spec.span
    fields = {key.value: value for key, value in decl.fields}
    if "label" in fields:
        return fields["label"].span
    if decl.label is not None:
        return decl.label.span
    return fields["spec"].span if "spec" in fields else decl.span


def _measures(
    ctx: Context, decl: A.ExperimentDecl, folder: Path, judges: dict[str, Judge]
) -> list[ir.Measure]:
    """The declared measures, or the default `compliance` tag measure when none is."""
    measures: list[ir.Measure] = []
    for m in decl.measures:
        if any(m.name.value == other.name for other in measures):
            ctx.error("AFS158", f"measure `{m.name.value}` is defined twice", m.name.span)
            continue
        built = build_measure(ctx, m, folder, judges)
        if built is not None:
            measures.append(built)
    if not decl.measures:
        measures.append(ir.Measure(name="compliance", kind="tag", params=_tag_defaults()))
    return measures


def _hypotheses(
    ctx: Context,
    decl: A.ExperimentDecl,
    variants: list[ir.Variant],
    variant_decls: list[A.VariantDecl],
    factorials: list[Factorial],
    models: list[ir.ModelConfig],
) -> list[ir.Hypothesis]:
    """The checked hypotheses, `effect()` and `interaction()` expanded over their cross.
    Names are checked against every declared variant, not only the ones that resolved,
    so a broken variant is not also reported as unknown."""
    by_name = {v.name: v for v in variants}
    all_names = {ir.BASE_VARIANT} | {v.name.value for v in variant_decls}
    measure_names = {m.name.value for m in decl.measures} or {"compliance"}
    measure_names |= {m.name.value for m in decl.derived}
    hypotheses: list[ir.Hypothesis] = []
    seen: set[str] = set()
    for h in decl.hypotheses:
        if h.name.value in seen:
            ctx.error("AFS163", f"hypothesis `{h.name.value}` is defined twice", h.name.span)
            continue
        seen.add(h.name.value)
        expanded = expand_contrasts(ctx, h, factorials)
        if expanded is None:
            continue
        built = check_hypothesis(ctx, expanded, by_name, all_names, measure_names)
        if check_model_names(ctx, h, models) and built is not None:
            hypotheses.append(built)
    return hypotheses


def _tag_defaults() -> dict[str, str | int | float | bool]:
    """The tag measure's default parameters, for the implied `compliance` measure."""
    return {k: v for k, (_, v) in PARAMS["tag"].items()}  # type: ignore[misc]
