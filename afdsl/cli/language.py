"""Language commands: check, compile, diff, list, perturbations."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from afdsl.diagnostics import AfsError, Diagnostic, emit, plural, suggest

if TYPE_CHECKING:
    from afdsl import ir

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers: Any) -> None:
    """Add the language commands to the `afdsl` parser."""
    check = subparsers.add_parser(
        "check",
        help="check .afs files and explain every problem",
        description="Parse and check each FILE (and what it uses). Prints every error "
        "and warning with its position; exit code 2 if any error.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.set_defaults(func=run_check)

    compile_ = subparsers.add_parser(
        "compile",
        help="expand an experiment into prompts (JSONL)",
        description="One JSON object per prompt (model x variant x condition x query x "
        "sample) with system, messages and prompt_hash.",
    )
    compile_.add_argument("file", metavar="FILE")
    compile_.add_argument("--out", metavar="PATH", help="write here instead of stdout")
    compile_.set_defaults(func=run_compile)

    diff = subparsers.add_parser(
        "diff",
        help="show what a variant changes in the rendered prompt",
        description="A unified diff of the system prompt and user turn of VARIANT "
        "against another variant (default base), for one condition and the first query: "
        "only the changed hunks, with 3 lines of context; a run of more than "
        "12 changed lines shows its first and last 4.",
    )
    diff.add_argument("file", metavar="FILE")
    diff.add_argument("variant", metavar="VARIANT")
    diff.add_argument("--against", default="base", metavar="VARIANT")
    diff.add_argument("--condition", metavar="C", help="default: the training condition")
    shape = diff.add_mutually_exclusive_group()
    shape.add_argument(
        "--word", action="store_true", help="mark changed words inside lines: [-old-]{+new+}"
    )
    shape.add_argument(
        "--stat", action="store_true", help="characters removed and added per section and span"
    )
    diff.add_argument(
        "--full", action="store_true", help="show long runs of changed lines in full (no folding)"
    )
    diff.set_defaults(func=run_diff)

    list_ = subparsers.add_parser("list", help="variants, conditions and sizes of an experiment")
    list_.add_argument("file", metavar="FILE")
    list_.set_defaults(func=run_list)

    perturbations = subparsers.add_parser(
        "perturbations", help="the built-in library of named perturbations"
    )
    perturbations.set_defaults(func=run_perturbations)


def _load(path: str) -> ir.Experiment:
    """Check `path`, print warnings, raise AfsError (rendered here, with sources) on errors."""
    from afdsl.check import check_file, experiment_of

    result = check_file(path)
    emit(result.diagnostics, result.sources, sys.stderr)
    if not result.ok:
        raise _Reported
    return experiment_of(result, path)


class _Reported(Exception):
    """Diagnostics were already printed; exit 2."""


def _reported(func: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except _Reported:
            return EXIT_USAGE

    wrapper.__doc__ = func.__doc__
    return wrapper


def run_check(args: argparse.Namespace) -> int:
    """`afdsl check FILE... [--strict]`."""
    from afdsl.check import check_file
    from afdsl.expand import count

    status = EXIT_OK
    for path in args.files:
        result = check_file(path, strict=args.strict)
        extra = _simulator_warnings(result.experiment, strict=args.strict)
        emit(result.diagnostics + extra, result.sources, sys.stderr)
        if not result.ok or any(d.is_error for d in extra):
            status = EXIT_USAGE
            continue
        if result.experiment is not None:
            e = result.experiment
            sys.stdout.write(
                f"ok: {path}: experiment `{e.name}`, {plural(len(e.variants), 'variant')}, "
                f"{plural(count(e), 'prompt')}\n"
            )
            if result.layout:
                sys.stdout.write(f"  base prompt: {result.layout}\n")
        else:
            sys.stdout.write(f"ok: {path}\n")
    return status


def _simulator_warnings(experiment: ir.Experiment | None, *, strict: bool) -> list[Diagnostic]:
    """A warning (an error with --strict) per variant where a `sim:` organism recognises
    none of the wording of a cue it reads, so its numbers there mean nothing."""
    if experiment is None or not any(m.provider == "sim" for m in experiment.models):
        return []
    from afdsl.analysis.sim_cues import CUE_HINT, cue_warnings

    return [
        Diagnostic(
            severity="error" if strict else "warning", code="AFS905", message=m, hint=CUE_HINT
        )
        for m in cue_warnings(experiment)
    ]


@_reported
def run_compile(args: argparse.Namespace) -> int:
    """`afdsl compile FILE [--out PATH]`."""
    from afdsl.expand import expand
    from afdsl.sanitize import json_safe

    experiment = _load(args.file)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    n = 0
    try:
        for prompt in expand(experiment):
            out.write(json_safe(prompt.model_dump_json()) + "\n")  # queries are data
            n += 1
    finally:
        if args.out:
            out.close()
    sys.stderr.write(plural(n, "prompt") + (f" written to {args.out}\n" if args.out else "\n"))
    return EXIT_OK


def _variant(experiment: ir.Experiment, name: str) -> ir.Variant:
    try:
        return experiment.variant(name)
    except KeyError:
        names = [v.name for v in experiment.variants]
        raise AfsError(
            Diagnostic(
                code="AFS200",
                message=f"unknown variant `{name}`",
                hint=suggest(name, names, "variants") or "variants: " + ", ".join(names),
            )
        ) from None


@_reported
def run_diff(args: argparse.Namespace) -> int:
    """`afdsl diff FILE VARIANT [--against base] [--condition C] [--word | --stat] [--full]`."""
    from afdsl import textdiff

    experiment = _load(args.file)
    new, old = _variant(experiment, args.variant), _variant(experiment, args.against)
    condition_name = args.condition or experiment.training
    old_user, new_user = (_user_turn(experiment, v, condition_name) for v in (old, new))
    old_name, new_name = f"{old.name} ({condition_name})", f"{new.name} ({condition_name})"
    if args.stat:
        sys.stdout.write(_stat_table(textdiff.stat(old.scenario, new.scenario, old_user, new_user)))
        return EXIT_OK
    texts = [
        f"[system]\n{v.scenario.system_prompt()}\n\n[user]\n{user}\n"
        for v, user in ((old, old_user), (new, new_user))
    ]
    if args.word:
        body = textdiff.words(texts[0], texts[1])
        body = f"--- {old_name}\n+++ {new_name}\n{body}" if body else ""
    else:
        body = textdiff.unified(texts[0], texts[1], old_name, new_name, fold=not args.full)
    sys.stdout.write(body if body else f"`{new.name}` renders the same as `{old.name}`\n")
    return EXIT_OK


def _user_turn(experiment: ir.Experiment, variant: ir.Variant, condition_name: str) -> str:
    """The variant's user turn for `condition_name` and the first query."""
    from afdsl.expand import render_user

    try:
        condition = variant.scenario.condition(condition_name)
    except KeyError:
        names = [c.name for c in variant.scenario.conditions]
        raise AfsError(
            Diagnostic(
                code="AFS201",
                message=f"variant `{variant.name}` has no condition `{condition_name}`",
                hint=suggest(condition_name, names, "conditions")
                or "conditions: " + ", ".join(names),
            )
        ) from None
    return render_user(variant.scenario.user_template, condition, experiment.queries[0])


def _stat_table(rows: list[tuple[str, int, int]]) -> str:
    """`--stat`: characters removed and added per section and span, then the total."""
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'part':<{width}}  {'removed':>9}  {'added':>9}"]
    lines += [f"{name:<{width}}  {-removed:>9,}  {added:>+9,}" for name, removed, added in rows]
    return "\n".join(lines) + "\n"


@_reported
def run_list(args: argparse.Namespace) -> int:
    """`afdsl list FILE`."""
    from rich.console import Console
    from rich.table import Table

    from afdsl.expand import count

    e = _load(args.file)
    console = Console()
    table = Table(title=f"experiment {e.name} (base scenario {e.base_scenario})")
    conditions = {v.name: ", ".join(c.name for c in v.scenario.conditions) for v in e.variants}
    # The conditions get a column only when a variant changes them: the operations
    # need the room.
    columns = {"variant": max(len(n) for n in conditions), "system chars": len("system chars")}
    if len(set(conditions.values())) > 1:
        columns["conditions"] = max(len(c) for c in conditions.values())
    for column, width in columns.items():
        table.add_column(column, no_wrap=True, min_width=width)
    # One line per operation, cut to the table's width: a long `replace` or a pasted
    # paragraph would otherwise fill the screen.
    rest = console.width - sum(columns.values()) - 3 * len(columns) - 4
    table.add_column("operations", overflow="ellipsis", no_wrap=True, max_width=max(rest, 24))
    for v in e.variants:
        cells = [v.name, str(len(v.scenario.system_prompt()))]
        cells += [conditions[v.name]] if "conditions" in columns else []
        table.add_row(*cells, "\n".join(v.summary or v.operations) or "(unperturbed)")
    console.print(table)
    _print_simulator_features(console, e)
    models = ", ".join(m.display for m in e.models)
    console.print(
        f"models: {models}\nqueries: {len(e.queries)}  samples: {e.samples}  seed: {e.seed}\n"
        f"conditions (base): {conditions[e.variants[0].name]}\n"
        f"training: {e.training}  deployment: {e.deployment}\n"
        f"measures: {', '.join([m.name for m in e.measures] + [m.name for m in e.derived])}  "
        f"hypotheses: {len(e.hypotheses)}\nprompts: {count(e)}",
        highlight=False,
    )
    return EXIT_OK


def _print_simulator_features(console: Any, e: ir.Experiment) -> None:
    """For a `sim:` experiment, what the simulator reads in each variant's prompt."""
    if not any(m.provider == "sim" and not m.name.startswith("judge") for m in e.models):
        return
    from afdsl.analysis.sim_cues import features_line

    sides = "/".join(c.name for c in e.variants[0].scenario.conditions)
    console.print(
        f"simulator features (tier read in {sides}: features turned on):", highlight=False
    )
    for v in e.variants:
        console.print(f"  {v.name}: {features_line(e, v)}", highlight=False)


def run_perturbations(args: argparse.Namespace) -> int:
    """`afdsl perturbations`: the built-in library, one line each."""
    from rich.console import Console
    from rich.table import Table

    from afdsl.perturb import library

    table = Table(title="built-in perturbations (use with `apply NAME`)")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    for name, description in library():
        table.add_row(name, description)
    Console().print(table)
    return EXIT_OK


__all__ = ["register", "run_check", "run_compile", "run_diff", "run_list", "run_perturbations"]
