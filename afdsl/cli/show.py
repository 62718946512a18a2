"""`afdsl show`: read the stored responses behind a report (never calls a model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """examples:
  afdsl show exp.afs --variant base --condition training --where faking=1
  afdsl show exp.afs --query fake_review --full
  afdsl show exp.afs --where compliance=0 --limit 0 --json > refusals.jsonl
  afdsl show exp.afs --hypothesis goal_guarding          (queries by contribution)
  afdsl show exp.afs --hypothesis goal_guarding --query q12   (their transcripts)
  afdsl show exp.afs --by-query --variant rlhf_hidden    (per-query rates and gaps)

--where takes MEASURE=0, MEASURE=1 or MEASURE=unparseable and may be repeated
(all must hold). --limit 0 shows every match. exit codes: 0 shown (or nothing
matched), 2 usage error (unknown name, no store)."""


def register(subparsers: Any) -> None:
    """Add the `show` command."""
    show = subparsers.add_parser(
        "show",
        help="read stored responses (scratchpad and output) with their labels",
        description="Print the stored responses of an experiment that match the filters, "
        "with every measure's label, the query, the scratchpad and the output. "
        "Reads the store only; no model is called.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("file", metavar="FILE", help="the .afs experiment")
    show.add_argument("--store", metavar="PATH", help="the store (default: the file's own)")
    show.add_argument("--model", metavar="SPEC", action="append", default=[], help="model spec")
    show.add_argument("--variant", metavar="V", action="append", default=[], help="repeatable")
    show.add_argument("--condition", metavar="C", help="e.g. training or deployment")
    show.add_argument("--query", metavar="ID", action="append", default=[], help="repeatable")
    show.add_argument(
        "--where",
        metavar="MEASURE=0|1|unparseable",
        action="append",
        default=[],
        help="keep responses with this label (repeatable)",
    )
    show.add_argument("--sample", type=int, metavar="N", help="only sample N (from 0)")
    show.add_argument("--limit", type=int, default=10, metavar="N", help="at most N (default 10)")
    show.add_argument("--full", action="store_true", help="do not shorten long responses")
    show.add_argument(
        "--hypothesis",
        metavar="NAME",
        help="list the queries by their contribution to this hypothesis' estimate, with "
        "their labels; with --query, show that query's transcripts in its cells",
    )
    show.add_argument(
        "--by-query",
        action="store_true",
        help="the per-query table of each --variant (default base): rates, gap, Δgap",
    )
    show.add_argument(
        "--measure",
        metavar="NAME",
        help="the measure --by-query counts (default: the compliance measure)",
    )
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    show.set_defaults(func=cmd_show)

    export = subparsers.add_parser(
        "export-inspect",
        help="write a stored run as Inspect AI eval logs (one per model)",
        description="Write the stored answers of FILE's experiment as Inspect eval logs in "
        "DIR, one per model: each sample holds the prompt messages, the answer, every "
        "measure's label as a score and the variant, condition, query_id and sample as "
        "metadata. `inspect view --log-dir DIR` opens them. Needs afdsl[inspect].",
    )
    export.add_argument("file", metavar="FILE", help="the .afs experiment")
    export.add_argument("--out", required=True, metavar="DIR", help="folder for the logs")
    export.add_argument("--store", metavar="PATH", help="the store (default: the file's own)")
    export.set_defaults(func=cmd_export_inspect)


def cmd_show(args: argparse.Namespace) -> int:
    from afdsl.analysis import TranscriptFilter, parse_where, select_transcripts
    from afdsl.check import load_experiment
    from afdsl.diagnostics import error
    from afdsl.store import Store, default_store_path

    if args.limit < 0:
        raise error(f"--limit {args.limit}: expected 0 (no limit) or more")
    experiment = load_experiment(args.file)
    store_path = Path(args.store) if args.store else default_store_path(args.file)
    hypothesis = find_hypothesis(experiment, args.hypothesis) if args.hypothesis else None
    if args.by_query or (hypothesis is not None and not args.query):
        from afdsl.cli.show_queries import show_queries

        return show_queries(args, experiment, _existing(store_path), hypothesis)
    variants = args.variant or (_variants_of(hypothesis) if hypothesis else [])
    wanted = TranscriptFilter(
        models=args.model or (_models_of(experiment, hypothesis) if hypothesis else []),
        variants=variants,
        condition=args.condition,
        queries=args.query,
        where=[parse_where(w) for w in args.where],
        sample=args.sample,
    )
    store = Store(_existing(store_path))
    try:
        found = select_transcripts(experiment, store, wanted)
        stored = len(store.cells(experiment.name)) if not found else 0
    finally:
        store.close()
    if not found:
        if stored:
            message = f"no stored response of `{experiment.name}` matches these filters "
            message += f"({stored} stored in {store_path})"
        else:
            message = f"{store_path} holds no response of `{experiment.name}`; "
            message += "run `afdsl test FILE` first"
        # With --json, stdout holds records only: `| wc -l` counts 0 and `| jq` reads nothing.
        (sys.stderr if args.json else sys.stdout).write(message + "\n")
        return 0
    shown = found[: args.limit] if args.limit else found
    measures = experiment.measure_names()
    if args.json:
        from afdsl.report.transcript_view import json_record
        from afdsl.sanitize import json_line

        for t in shown:
            sys.stdout.write(json_line(json_record(t)) + "\n")
    else:
        _print(shown, measures, full=args.full)
    if len(shown) < len(found):
        # On stderr with --json, so the JSONL stays clean.
        out = sys.stderr if args.json else sys.stdout
        out.write(f"showing {len(shown)} of {len(found)} matching responses; --limit 0 shows all\n")
    return 0


def _existing(store_path: Path) -> Path:
    from afdsl.diagnostics import error

    if not store_path.is_file():
        raise error(
            f"no store at {store_path}",
            hint="run `afdsl test FILE` first, or name the store with --store",
        )
    return store_path


def find_hypothesis(experiment: Any, name: str) -> Any:
    """The hypothesis called `name` (a usage error naming the file's hypotheses if none)."""
    from afdsl.diagnostics import error

    for hypothesis in experiment.hypotheses:
        if hypothesis.name == name:
            return hypothesis
    names = ", ".join(h.name for h in experiment.hypotheses) or "none"
    raise error(f"no hypothesis `{name}` in {experiment.name}", hint=f"its hypotheses: {names}")


def _models_of(experiment: Any, hypothesis: Any) -> list[str]:
    """The models a hypothesis reads (its `@` pins, or its `for` model), by display name;
    none (every model) for a hypothesis tested on each."""
    names = hypothesis.pinned_models or ((hypothesis.model,) if hypothesis.model else ())
    return [m.display for m in experiment.models if m.short_name in names]


def _variants_of(hypothesis: Any) -> list[str]:
    """The variants a hypothesis' terms read, in order."""
    return list(dict.fromkeys(w.term.variant for w in hypothesis.terms))


def _print(shown: list[Any], measures: list[str], *, full: bool) -> None:
    """Panels on a terminal; plain text with rules otherwise (pipes, files, less)."""
    from rich.console import Console

    from afdsl.report.transcript_view import panel, plain_text

    console = Console(highlight=False)
    if console.is_terminal:
        for t in shown:
            console.print(panel(t, measures, full=full))
        return
    sys.stdout.write("\n".join(plain_text(t, measures, full=full) for t in shown))


def cmd_export_inspect(args: argparse.Namespace) -> int:
    from afdsl.analysis import select_transcripts
    from afdsl.check import load_experiment
    from afdsl.diagnostics import error
    from afdsl.expand import expand
    from afdsl.report.inspect_export import export_logs
    from afdsl.store import Store, default_store_path

    experiment = load_experiment(args.file)
    store_path = Path(args.store) if args.store else default_store_path(args.file)
    if not store_path.is_file():
        raise error(
            f"no store at {store_path}",
            hint="run `afdsl test FILE` first, or name the store with --store",
        )
    store = Store(store_path)
    try:
        transcripts = select_transcripts(experiment, store)
    finally:
        store.close()
    for path, count in export_logs(experiment, expand(experiment), transcripts, Path(args.out)):
        sys.stdout.write(f"{path}: {count} sample{'' if count == 1 else 's'}\n")
    return 0
