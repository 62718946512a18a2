"""Language commands: check, compile, diff, list, perturbations."""

from __future__ import annotations

import argparse
import difflib
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
        "against another variant (default base), for one condition and the first query.",
    )
    diff.add_argument("file", metavar="FILE")
    diff.add_argument("variant", metavar="VARIANT")
    diff.add_argument("--against", default="base", metavar="VARIANT")
    diff.add_argument("--condition", metavar="C", help="default: the training condition")
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
        emit(result.diagnostics, result.sources, sys.stderr)
        if not result.ok:
            status = EXIT_USAGE
            continue
        if result.experiment is not None:
            e = result.experiment
            sys.stdout.write(
                f"ok: {path}: experiment `{e.name}`, {plural(len(e.variants), 'variant')}, "
                f"{plural(count(e), 'prompt')}\n"
            )
        else:
            sys.stdout.write(f"ok: {path}\n")
    return status


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
    """`afdsl diff FILE VARIANT [--against base] [--condition C]`."""
    from afdsl.expand import render_user

    experiment = _load(args.file)
    new, old = _variant(experiment, args.variant), _variant(experiment, args.against)
    condition_name = args.condition or experiment.training
    texts = []
    for variant in (old, new):
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
        query = experiment.queries[0]
        user = render_user(variant.scenario.user_template, condition, query)
        texts.append(f"[system]\n{variant.scenario.system_prompt()}\n\n[user]\n{user}\n")
    lines = difflib.unified_diff(
        texts[0].splitlines(keepends=True),
        texts[1].splitlines(keepends=True),
        fromfile=f"{old.name} ({condition_name})",
        tofile=f"{new.name} ({condition_name})",
    )
    body = "".join(lines)
    sys.stdout.write(body if body else f"`{new.name}` renders the same as `{old.name}`\n")
    return EXIT_OK


@_reported
def run_list(args: argparse.Namespace) -> int:
    """`afdsl list FILE`."""
    from rich.console import Console
    from rich.table import Table

    from afdsl.expand import count

    e = _load(args.file)
    console = Console()
    table = Table(title=f"experiment {e.name} (base scenario {e.base_scenario})")
    for column in ("variant", "conditions", "system chars", "operations"):
        table.add_column(column, overflow="fold")
    for v in e.variants:
        conditions = ", ".join(c.name for c in v.scenario.conditions)
        table.add_row(
            v.name,
            conditions,
            str(len(v.scenario.system_prompt())),
            " + ".join(v.operations) or "(unperturbed)",
        )
    console.print(table)
    models = ", ".join(m.display for m in e.models)
    console.print(
        f"models: {models}\nqueries: {len(e.queries)}  samples: {e.samples}  seed: {e.seed}\n"
        f"training: {e.training}  deployment: {e.deployment}\n"
        f"measures: {', '.join(m.name for m in e.measures)}  "
        f"hypotheses: {len(e.hypotheses)}\nprompts: {count(e)}",
        highlight=False,
    )
    return EXIT_OK


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
