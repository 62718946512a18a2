"""`afdsl classify` (label what is stored) and `afdsl validate` (a measure against human labels)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from afdsl.classify import ClassifySummary, ValidationResult
    from afdsl.ir import Experiment, Measure
    from afdsl.run import RunOptions

EXIT_OK, EXIT_INCOMPLETE = 0, 3
ROC_ROWS = 12  # the terminal shows at most this many ROC points; --json has all


def register(subparsers: Any) -> None:
    classify = subparsers.add_parser(
        "classify",
        help="label the stored responses of an experiment with its measures",
        description="Label every stored response with every measure of FILE. Never calls the "
        "model under test; judge calls go through the runner (cached, resumable, costed).",
        epilog="exit codes: 0 all labelled, 2 usage error, 3 some judge calls failed or the "
        "budget was reached (rerun to continue).",
    )
    classify.add_argument("file", metavar="FILE", help="the .afs experiment")
    # --model (from the run options) restricts labelling to those models' responses.
    _add_run_options(classify)
    classify.set_defaults(func=cmd_classify)

    validate = subparsers.add_parser(
        "validate",
        help="measure how well a classifier agrees with human labels",
        description="Score every record of LABELS with MEASURE (declared in FILE) and report "
        "AUROC, accuracy, precision, recall, the confusion matrix and ROC points.",
        epilog='LABELS is JSONL: {"text": <full response>, "label": 0 or 1} per line. '
        "exit codes: 0 ok, 2 usage or labels-file error, 3 judge calls failed.",
    )
    validate.add_argument("file", metavar="FILE", help="the .afs file declaring the measure")
    validate.add_argument("measure", metavar="MEASURE", help="name of the measure to validate")
    validate.add_argument("--labels", required=True, metavar="LABELS.jsonl", help="labelled data")
    validate.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the result as JSON to PATH (to stdout without PATH)",
    )
    _add_run_options(validate)
    validate.set_defaults(func=cmd_validate)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The runner's options (judge calls go through the runner, `--store` among them)."""
    from afdsl.cli.run import add_run_options

    add_run_options(parser)
    parser.add_argument(
        "--judge",
        metavar="SPEC",
        help="use this judge model for every judge and faking measure instead of the file's "
        "(each keeps its temperature and max_tokens)",
    )


def _with_judge(
    measures: tuple[Measure, ...], spec: str | None, *, seed: int
) -> tuple[Measure, ...]:
    """The measures with their judge model replaced by `spec` (tag and keyword need none).

    Each keeps its judge's temperature and max_tokens (what its rubric needs), not the
    old endpoint's base_url and key variable; a `sim:` judge is keyed by `seed`.
    """
    if spec is None:
        return measures
    from afdsl.ir import ModelConfig

    replaced = []
    for m in measures:
        if m.model is not None:
            judge = ModelConfig(
                spec=spec, temperature=m.model.temperature, max_tokens=m.model.max_tokens
            ).seeded(seed)
            m = m.model_copy(update={"model": judge})
        replaced.append(m)
    return tuple(replaced)


def _run_options(args: argparse.Namespace) -> RunOptions:
    from afdsl.cli.run import run_options_from_args

    options: RunOptions = run_options_from_args(args)
    return options


def _store_path(args: argparse.Namespace) -> Path:
    from afdsl.store import default_store_path

    return Path(args.store) if args.store else default_store_path(args.file)


def cmd_classify(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from afdsl.check import check_model_specs, load_experiment
    from afdsl.classify import classify_experiment
    from afdsl.diagnostics import error
    from afdsl.sanitize import for_terminal
    from afdsl.store import Store

    experiment = load_experiment(args.file)
    check_model_specs(args.model)  # a misspelt spec would silently match no response
    path = _store_path(args)
    if not path.exists():
        raise error(
            f"no store at {path}: nothing to classify",
            hint=f"run the experiment first: afdsl run {args.file}",
        )
    store = Store(path)
    try:
        # Which models have responses: the lean read (no text), not a second copy of them all.
        stored = {cell.model for cell in store.cells(experiment.name)}
        if not stored:
            raise error(
                f"the store {path} has no responses of experiment `{experiment.name}`",
                hint=f"run the experiment first: afdsl run {args.file}",
            )
        _warn_models_not_stored(args.model, stored, experiment.name)
        from afdsl.classify import effective_measures

        measures = _with_judge(effective_measures(experiment), args.judge, seed=experiment.seed)
        summary = classify_experiment(
            experiment, store, _run_options(args), measures=measures, models=args.model
        )
    finally:
        store.close()
    if summary.dry_run:
        from afdsl.run import format_estimates

        print(f"dry run: {summary.pending} labels need judge calls; nothing was sent or stored")
        if summary.judge_estimates:
            print(format_estimates(summary.judge_estimates, summary.judge_cached))
        return EXIT_OK
    Console().print(_classify_table(summary))
    problems = summary.problems()
    for problem in problems:
        shown = escape(for_terminal(problem))  # may quote a provider's message: made inert
        Console(stderr=True).print(f"[yellow]{shown}[/yellow]", highlight=False)
    return EXIT_INCOMPLETE if problems else EXIT_OK


def _warn_models_not_stored(specs: list[str] | None, stored: set[str], experiment: str) -> None:
    """Say so when a `--model` has no stored response: its labels would silently be none."""
    from rich.console import Console
    from rich.markup import escape

    missing = [spec for spec in specs or [] if spec not in stored]
    if missing:
        Console(stderr=True).print(
            f"[yellow]warning: no stored response of {escape(', '.join(missing))} in experiment "
            f"`{escape(experiment)}`, so nothing of it is labelled; models with responses: "
            f"{escape(', '.join(sorted(stored)))}[/yellow]",
            highlight=False,
        )


def _classify_table(summary: ClassifySummary) -> Any:
    from rich.table import Table

    table = Table(title=f"labels of experiment {summary.experiment}")
    table.add_column("measure", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    # "n" = responses; "new" labelled now, "kept" labelled before (still current).
    for column in ("n", "new", "kept", "yes", "no", "unparseable", "pending"):
        table.add_column(column, justify="right", no_wrap=True)
    for m in summary.measures:
        table.add_row(
            m.measure,
            m.kind,
            str(m.responses),
            str(m.labelled),
            str(m.already_labelled),
            str(m.positive),
            str(m.negative),
            str(m.unparseable),
            str(m.pending),
        )
    if summary.judge_calls:
        # Identical judge prompts share one call: "sent" is what was paid for.
        table.caption = (
            f"judge calls: {summary.judge_sent} sent ({summary.judge_failed} failed), "
            f"{summary.judge_cached} cached, {summary.judge_calls} asked for; "
            f"cost ${summary.judge_cost_usd:.4f}"
        )
    return table


def find_measure(experiment: Experiment, name: str) -> Measure:
    """The measure called `name` in the experiment, or an error suggesting the nearest name."""
    from afdsl.classify import effective_measures
    from afdsl.diagnostics import error, suggest

    measures = effective_measures(experiment)
    for measure in measures:
        if measure.name == name:
            return measure
    names = [m.name for m in measures]
    hint = suggest(name, names, "measures") or f"measures: {', '.join(names)}"
    raise error(f"experiment `{experiment.name}` has no measure `{name}`", hint=hint)


def cmd_validate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from afdsl.check import load_experiment
    from afdsl.classify import load_labelled, measure_spec, validate_measure
    from afdsl.diagnostics import error

    if args.model:
        raise error(
            "`--model` has no meaning for validate: it scores texts, not a model under test",
            hint="use --judge SPEC to validate the measure with another judge model",
        )
    experiment = load_experiment(args.file)
    (measure,) = _with_judge(
        (find_measure(experiment, args.measure),), args.judge, seed=experiment.seed
    )
    spec = measure_spec(measure)
    records = load_labelled(args.labels)
    store = None
    if spec.calls_judge:
        from afdsl.store import Store

        path = _store_path(args)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = Store(path)  # judge replies are cached here, so a rerun costs nothing
    options = _run_options(args)
    try:
        if options.dry_run:
            return _validate_dry_run(measure, records, store, options, experiment.seed)
        result = validate_measure(
            measure,
            records,
            store=store,
            options=options,
            seed=experiment.seed,
            labels_file=str(args.labels),
        )
    finally:
        if store is not None:
            store.close()
    if args.json == "-":
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    else:
        if args.json:
            _write_json(result, args.json)
        Console().print(*_validation_renderables(result))
    return EXIT_INCOMPLETE if result.pending else EXIT_OK


def _validate_dry_run(
    measure: Measure, records: list[Any], store: Any, options: RunOptions, seed: int
) -> int:
    from afdsl.classify.validate import estimate_validation
    from afdsl.run import format_estimates

    if store is None:
        print(f"dry run: measure `{measure.name}` calls no judge; validation would cost nothing")
        return EXIT_OK
    run = estimate_validation(measure, records, store=store, options=options, seed=seed)
    print(f"dry run: {len(records)} records; nothing was sent")
    if run is not None and run.estimates:
        print(format_estimates(run.estimates, run.cached))
    return EXIT_OK


def _write_json(result: ValidationResult, target: str) -> None:
    from afdsl.diagnostics import error

    try:
        Path(target).write_text(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    except OSError as exc:
        raise error(f"cannot write --json {target}: {exc.strerror}") from None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _validation_renderables(result: ValidationResult) -> list[Any]:
    from rich.table import Table

    metrics = Table(title=f"validation of measure {result.measure} ({result.kind})")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    scored = result.n - result.unparseable - result.pending
    rows = [
        ("records", str(result.n)),
        ("scored", str(scored)),
        ("unparseable", str(result.unparseable)),
        ("AUROC", _fmt(result.auroc)),
        (f"accuracy at threshold {result.threshold:g}", _fmt(result.accuracy)),
        ("precision", _fmt(result.precision)),
        ("recall", _fmt(result.recall)),
    ]
    if result.pending:
        rows.insert(3, ("judge calls failed", str(result.pending)))
    for name, value in rows:
        metrics.add_row(name, value)
    c = result.confusion
    matrix = Table(title="confusion matrix")
    matrix.add_column("")
    matrix.add_column("labelled 1", justify="right")
    matrix.add_column("labelled 0", justify="right")
    matrix.add_row("predicted 1", str(c.tp), str(c.fp))
    matrix.add_row("predicted 0", str(c.fn), str(c.tn))
    roc = Table(title="ROC points (predict 1 when score >= threshold)")
    for column in ("threshold", "FPR", "TPR"):
        roc.add_column(column, justify="right")
    points = result.roc
    if len(points) > ROC_ROWS:
        step = (len(points) - 1) / (ROC_ROWS - 1)
        points = [points[round(i * step)] for i in range(ROC_ROWS)]
    for p in points:
        shown = "above all" if p.threshold is None else f"{p.threshold:.3f}"
        roc.add_row(shown, f"{p.fpr:.3f}", f"{p.tpr:.3f}")
    return [metrics, matrix, roc]
