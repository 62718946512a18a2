"""Model specs and model blocks -> `ir.ModelConfig`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from afdsl import ir
from afdsl.check._context import Context, number_of, suggest
from afdsl.check._limits import in_range
from afdsl.diagnostics import AfsError, Diagnostic
from afdsl.inputs import MAX_DATA_BYTES, NOT_FOUND, file_problem
from afdsl.redact import key_name_problem
from afdsl.registry import ORGANISMS, PROVIDERS, OrganismError, organism_named
from afdsl.syntax import display_path
from afdsl.syntax import nodes as A

_FIELDS: tuple[str, ...] = (
    "spec", "label", "base_url", "api_key_env", "temperature", "max_tokens", "concurrency",
    "timeout",
)  # fmt: skip
# `replay:` of an Inspect log: the sample metadata field naming each part of the cell.
_REPLAY_FIELDS = {"variant_field": "variant", "condition_field": "condition"}
_REPLAY_FIELDS |= {"query_id_field": "query_id"}
_FIELDS += tuple(_REPLAY_FIELDS)


def spec_problem(spec: str) -> tuple[str, str, str | None] | None:
    """What is wrong with a model spec as (code, message, hint), or None when it is valid.

    One rule for specs in a file and on the command line (`--model`)."""
    provider, colon, name = spec.partition(":")
    if not colon or not name:
        example = "write `provider:name`, e.g. sim:opus_like or anthropic:NAME"
        return "AFS140", f"`{spec}` is not a model spec", example
    if provider not in PROVIDERS:
        hint = suggest(provider, set(PROVIDERS), "providers")
        return "AFS141", f"unknown model provider `{provider}`", hint
    if provider == "sim":
        return _organism_problem(name)
    return None


def _organism_problem(name: str) -> tuple[str, str, str | None] | None:
    """`sim:NAME` names a simulated organism or the judge; caught when checking, not at
    run time, so a typo is reported at the spec with the nearest name."""
    if name.startswith("judge"):
        return None
    try:
        organism_named(name)
    except OrganismError as exc:
        if name.partition("?")[0] in ORGANISMS:  # a known organism, a bad parameter
            return "AFS148", str(exc), exc.hint
        base = name.partition("?")[0]
        hint = suggest(f"sim:{base}", {f"sim:{n}" for n in ORGANISMS}, "organisms")
        return "AFS148", str(exc), hint
    return None


def check_model_specs(specs: Sequence[str] | None, option: str = "--model") -> None:
    """Raise AfsError (every bad spec, with a did-you-mean hint) for specs given on the
    command line, so a typo stops the command instead of matching nothing."""
    problems = [spec_problem(spec) for spec in specs or ()]
    diagnostics = [
        Diagnostic(code=code, message=f"{option}: {message}", hint=hint)
        for code, message, hint in filter(None, problems)
    ]
    if diagnostics:
        raise AfsError(diagnostics)


def with_models(
    experiment: ir.Experiment, models: Sequence[ir.ModelConfig | str] | None
) -> ir.Experiment:
    """The experiment with its models replaced (`--model`), or unchanged.

    Spec strings are checked as in a .afs file (AfsError for an unknown provider
    or simulator organism)."""
    if not models:
        return experiment
    check_model_specs([m for m in models if isinstance(m, str)])
    configs = tuple(
        (m if isinstance(m, ir.ModelConfig) else ir.ModelConfig(spec=m)).seeded(experiment.seed)
        for m in models
    )
    # A hypothesis that names a model no longer run cannot be tested: it is left out and
    # listed, not reported as missing labels (a rerun would not bring them).
    names = {m.short_name for m in configs}
    kept = [h for h in experiment.hypotheses if set(h.named_models) <= names]
    left_out = tuple(
        (h.name, tuple(m for m in h.named_models if m not in names))
        for h in experiment.hypotheses
        if h not in kept
    )
    update = {"models": configs, "hypotheses": tuple(kept), "left_out": left_out}
    return experiment.model_copy(update=update)


def _spec_ok(ctx: Context, value: A.Value) -> bool:
    problem = spec_problem(value.value)
    if problem is not None:
        code, message, hint = problem
        ctx.error(code, message, value.span, hint=hint)
    return problem is None


def _number(ctx: Context, value: A.Value, what: str, *, integer: bool) -> float | None:
    number = number_of(value, integer=integer)
    if number is None:
        kind = "a whole number" if integer else "a number"
        ctx.error("AFS142", f"`{what}` must be {kind}", value.span)
    return number


def _replay_ok(ctx: Context, value: A.Value, folder: Path) -> bool:
    """`replay:PATH` names a file that exists (a relative PATH is beside the .afs file)."""
    written = value.value.partition(":")[2]
    path = folder / Path(written).expanduser()
    problem = file_problem(path, MAX_DATA_BYTES)
    if problem is None:
        ctx.data_files.append(str(path.resolve()))
        return True
    if problem != NOT_FOUND:
        ctx.error("AFS147", f"cannot read replay file `{written}`: it {problem}", value.span)
        return False
    ctx.error(
        "AFS147",
        f"cannot find replay file `{written}`",
        value.span,
        hint=f"a relative path is read from {display_path(folder)}/ (the .afs file's folder)",
    )
    return False


def _key_env_ok(ctx: Context, key_env: A.Value | None) -> bool:
    """`api_key_env` names a key variable (see `afdsl.redact.key_name_problem`)."""
    problem = key_name_problem(key_env.value) if key_env is not None else None
    if key_env is not None and problem is not None:
        ctx.error(
            "AFS146",
            problem,
            key_env.span,
            hint="never write the key itself into a .afs file; the variable's value is sent "
            "as a bearer token to the model's server",
        )
        return False
    return True


def build_model(ctx: Context, decl: A.ModelDecl, folder: Path) -> ir.ModelConfig | None:
    """A `ModelConfig` from `model SPEC` or a `model LABEL { ... }` block; `folder` is
    the folder of the .afs file, where a `replay:PATH` model's relative PATH starts."""
    config = _build(ctx, decl)
    if config is None or config.provider != "replay":
        return config
    spec = decl.spec or next(v for k, v in decl.fields if k.value == "spec")
    if not _replay_ok(ctx, spec, folder):
        return None
    # The spec stays as written (it is part of the store key); the folder travels apart.
    return config.model_copy(update={"source_dir": str(folder)})


def _build(ctx: Context, decl: A.ModelDecl) -> ir.ModelConfig | None:
    if decl.spec is not None:
        return ir.ModelConfig(spec=decl.spec.value) if _spec_ok(ctx, decl.spec) else None
    fields: dict[str, A.Value] = {}
    for key, value in decl.fields:
        if key.value not in _FIELDS:
            ctx.unknown("AFS143", "model field", key, set(_FIELDS), "fields")
            continue
        if key.value in fields:
            ctx.error("AFS144", f"`{key.value}` is set twice", key.span)
        fields[key.value] = value
    if "spec" not in fields:
        ctx.error(
            "AFS145",
            "a model block needs a `spec`",
            decl.span,
            hint='add `spec "provider:name"`',
        )
        return None
    ok = _spec_ok(ctx, fields["spec"])
    config: dict[str, object] = {
        "spec": fields["spec"].value,
        "label": decl.label.value if decl.label else None,
    }
    if "label" in fields:
        config["label"] = fields["label"].value
    for name in ("base_url", "api_key_env"):
        if name in fields:
            config[name] = fields[name].value
    ok = _key_env_ok(ctx, fields.get("api_key_env")) and ok
    if "temperature" in fields:
        temperature = _number(ctx, fields["temperature"], "temperature", integer=False)
        temperature = in_range(ctx, "temperature", temperature, fields["temperature"].span)
        ok = ok and temperature is not None
        config["temperature"] = temperature
    ok = _replay_fields(ctx, fields, config) and ok
    for name, integer in (("max_tokens", True), ("concurrency", True), ("timeout", False)):
        if name in fields:
            number = _positive(ctx, fields[name], name, integer=integer)
            number = in_range(ctx, name, number, fields[name].span)
            ok = ok and number is not None
            config[name] = number
    return ir.ModelConfig.model_validate(config) if ok else None


def _positive(ctx: Context, value: A.Value, what: str, *, integer: bool) -> float | None:
    """A `max_tokens`, `concurrency` (whole numbers, at least 1) or `timeout` (seconds, > 0)."""
    number = _number(ctx, value, what, integer=integer)
    if number is None:
        return None
    if integer and number < 1:
        ctx.error("AFS142", f"`{what}` must be at least 1", value.span)
        return None
    if not integer and number <= 0:
        ctx.error("AFS142", f"`{what}` must be more than 0 seconds", value.span)
        return None
    return int(number) if integer else number


def _replay_fields(ctx: Context, fields: dict[str, A.Value], config: dict[str, object]) -> bool:
    """`variant_field` / `condition_field` / `query_id_field`: only a replay model reads them."""
    mapping = {key: fields[name].value for name, key in _REPLAY_FIELDS.items() if name in fields}
    if not mapping:
        return True
    if not fields["spec"].value.startswith("replay:"):
        name = next(n for n in _REPLAY_FIELDS if n in fields)
        ctx.error(
            "AFS175",
            f"`{name}` is for a `replay:` model (it names an Inspect log's metadata field)",
            fields[name].span,
        )
        return False
    config["replay_fields"] = tuple(mapping.items())
    return True
