"""Check a .afs program: resolve names, check types, apply perturbations, build the IR.

`check_file` collects every independent problem (up to 20 errors) with its
position; `load_experiment` is the one-call API for later stages.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from afdsl import ir
from afdsl.check._context import MAX_ERRORS, Context, TooManyErrors
from afdsl.check._cross import cell_name, contrast_weights
from afdsl.check._experiment import BuiltExperiment, build_experiment
from afdsl.check._families import family_member_name, family_members
from afdsl.check._layout import describe_layout
from afdsl.check._models import check_model_specs, with_models
from afdsl.check._scenarios import ScenarioBuilder, check_slots
from afdsl.diagnostics import AfsError, Diagnostic
from afdsl.syntax import LoadedProgram, load_program
from afdsl.syntax import nodes as A

__all__ = [
    "CheckResult",
    "cell_name",
    "check_file",
    "check_model_specs",
    "check_program",
    "contrast_weights",
    "experiment_of",
    "family_member_name",
    "family_members",
    "load_experiment",
    "with_models",
]


class CheckResult(BaseModel):
    """The outcome of checking one file. `experiment` is None when there are errors
    (or the file defines no experiment)."""

    experiment: ir.Experiment | None = None
    diagnostics: list[Diagnostic] = []
    sources: dict[str, str] = {}
    # How the base system prompt relates to its files ("byte-identical to prompt.txt ...");
    # empty when no section of the base comes from a file.
    layout: str = ""

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def check_file(path: str | Path, *, strict: bool = False) -> CheckResult:
    """Check `path` and everything it uses. Never raises for problems in the input."""
    return check_program(load_program(path), strict=strict)


def check_program(program: LoadedProgram, *, strict: bool = False) -> CheckResult:
    """Check a loaded program (the language server loads one with unsaved texts)."""
    ctx = Context(program=program, diagnostics=list(program.diagnostics))
    experiment = None
    layout = ""
    if program.root is not None:
        try:
            experiment, layout = _check(ctx, program.root)
        except TooManyErrors:
            experiment = None
    diagnostics = ctx.diagnostics
    if strict:
        diagnostics = [d.model_copy(update={"severity": "error"}) for d in diagnostics]
    errors = [d for d in diagnostics if d.is_error][:MAX_ERRORS]
    warnings = [d for d in diagnostics if not d.is_error]
    final = sorted(errors + warnings, key=_position)
    if errors:
        experiment = None
    return CheckResult(
        experiment=experiment, diagnostics=final, sources=dict(program.sources), layout=layout
    )


def load_experiment(path: str | Path, *, strict: bool = False) -> ir.Experiment:
    """The checked experiment of `path`; raises AfsError with every error (warnings are
    not raised unless `strict`)."""
    result = check_file(path, strict=strict)
    errors = [d for d in result.diagnostics if d.is_error]
    if errors:
        raise AfsError(errors)
    return experiment_of(result, path)


def experiment_of(result: CheckResult, path: str | Path) -> ir.Experiment:
    """The experiment of an error-free check; AfsError if the file defines none."""
    if result.experiment is None:
        raise AfsError(
            Diagnostic(
                code="AFS186",
                message=f"{path} defines no experiment",
                hint="add `experiment NAME { base ... model ... queries ... }` "
                "(a file of only scenarios and perturbations is checked with `afdsl check`)",
            )
        )
    return result.experiment


def _position(d: Diagnostic) -> tuple[int, str, int, int]:
    if d.span is None:
        return (0, "", 0, 0)
    return (1, d.span.path, d.span.line, d.span.col)


def _check(ctx: Context, root: A.FileAst) -> tuple[ir.Experiment | None, str]:
    ctx.register()
    scenarios = ScenarioBuilder(ctx)
    for extra in root.experiments[1:]:
        ctx.error(
            "AFS187",
            "at most one experiment per file",
            extra.name.span,
            hint="put each experiment in its own file; share scenarios with `use`",
        )
    experiment_decl = root.experiments[0] if root.experiments else None
    base_name = _base_name(experiment_decl)
    # Scenarios of this file are checked even when no experiment uses them.
    for decl in root.scenarios:
        built = scenarios.get(decl.name)
        if built is not None and decl.name.value != base_name:
            check_slots(ctx, built, set())
    experiment = None
    if experiment_decl is not None:
        outcome = build_experiment(ctx, root, experiment_decl, scenarios)
        experiment = outcome.experiment
        _warn_unused(ctx, root, experiment_decl, base_name, scenarios, outcome)
    base = scenarios.built.get(base_name) if base_name else None
    layout = describe_layout(base.scenario, base.origins, ctx.program.sources) if base else ""
    return experiment, layout


def _base_name(decl: A.ExperimentDecl | None) -> str | None:
    if decl is None:
        return None
    return next((s.value.value for s in decl.settings if s.key == "base"), None)


def _warn_unused(
    ctx: Context,
    root: A.FileAst,
    decl: A.ExperimentDecl,
    base_name: str | None,
    scenarios: ScenarioBuilder,
    built: BuiltExperiment,
) -> None:
    """Things defined in this file that the experiment never uses (warnings)."""
    extended = {s.decl.extends.value for s in scenarios.built.values() if s and s.decl.extends}
    for scenario in root.scenarios:
        if scenario.name.value not in {base_name} | extended:
            ctx.warning(
                "AFS901", f"scenario `{scenario.name.value}` is not used", scenario.name.span
            )
    for perturbation in root.perturbations:
        if perturbation.name.value not in built.applied:
            ctx.warning(
                "AFS902",
                f"perturbation `{perturbation.name.value}` is not applied by any variant",
                perturbation.name.span,
            )
    tested = {
        t.variant.value for h in decl.hypotheses for t in (*h.lhs, *h.rhs) if t.variant is not None
    }
    for variant in built.variants:
        if variant.cross:
            continue  # a cross's cells are its design, tested or not
        if variant.name.value not in tested | built.applied:
            ctx.warning(
                "AFS903",
                f"variant `{variant.name.value}` is not tested by any hypothesis",
                variant.name.span,
                hint=f"add e.g. `hypothesis h_{variant.name.value}: "
                f"gap({variant.name.value}) != gap(base)`, or remove the variant",
            )
