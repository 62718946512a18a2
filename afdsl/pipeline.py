"""`afdsl test` as a function: check -> compile -> run what is missing -> classify -> analyse.

`test_experiment` is what the CLI calls and what a notebook user can call;
`report_from_store` rebuilds the same outcome from a store without calling any
model. Both end in `collect_outcome`, which reads responses and labels back
from the store, counts what could not be used and runs the statistics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from afdsl.diagnostics import AfsError, error
from afdsl.ir import Experiment, ModelConfig, Prompt
from afdsl.report.collect import Gathered, collect_outcome, gather
from afdsl.report.manifest import now_iso, prompt_set_hash
from afdsl.report.outcome import RunInfo, SequentialInfo, TestOutcome
from afdsl.stats.table import LabelTable
from afdsl.store import default_store_path as default_store_path  # re-exported

if TYPE_CHECKING:
    from afdsl.classify.models import ClassifySummary
    from afdsl.run import RunOptions
    from afdsl.run.types import RunSummary

SIDECAR_SUFFIX = ".last-test.json"  # beside the store: what `afdsl report STORE` re-renders

StepCallback = Callable[[str], None]

SEQUENTIAL_NOTE = (
    "Verdicts come from anytime-valid betting e-processes (Bonferroni within each model), "
    "valid under stopping at any round; the CIs and p-values shown are fixed-sample and do "
    "not account for the early stop."
)


class TestOptions(BaseModel):
    """How to run `afdsl test`. `run` is an `afdsl.run.RunOptions` (defaults when None)."""

    __test__ = False
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Path | None = None
    models: list[str] | None = None  # replaces the experiment's models
    run: Any = None
    sequential: bool = False
    round_queries: int = 10  # queries added per round in --sequential
    # Keep a row per sample in `outcome.samples` (only the CSV and the labels export read
    # them; reading them costs seconds on a large design).
    samples: bool = True


def _with_models(experiment: Experiment, specs: list[ModelConfig] | list[str] | None) -> Experiment:
    from afdsl.run import with_models  # checks the specs as a .afs file's are checked

    return with_models(experiment, specs)


def _run_info(rounds: list[tuple[RunSummary, ClassifySummary]]) -> RunInfo:
    """Sum the runner's and the classifier's summaries over rounds (judge cost included)."""
    info = RunInfo()
    for summary, classified in rounds:
        info.total += summary.total
        info.cached += summary.cached
        info.sent += summary.sent
        info.succeeded += summary.succeeded
        info.failed += summary.failed
        info.cost_usd += summary.cost_usd + classified.judge_cost_usd
        info.budget_exhausted |= summary.budget_exhausted or classified.budget_exhausted
        info.unpriced += [spec for spec in summary.unpriced if spec not in info.unpriced]
    return info


def _sidecar(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + SIDECAR_SUFFIX)


def _save_sidecar(
    outcome: TestOutcome,
    experiment: Experiment,
    store_path: Path,
    queries_used: list[str] | None = None,
    verdicts: dict[tuple[str, str], tuple[str, float]] | None = None,
    run_problems: list[str] | None = None,
) -> None:
    """Remember what was tested so `afdsl report` re-renders the same report without the file.

    `run_problems` are the runner's and the classifier's words for what failed (the
    provider's message, a stopped judge): the store keeps only that calls failed. They
    hold while the store's counts are still `counts`."""
    doc = {
        "queries_used": queries_used,
        "run_problems": run_problems or [],
        "counts": [c.model_dump(mode="json") for c in outcome.counts],
        "verdicts": [[m, n, v, e] for (m, n), (v, e) in (verdicts or {}).items()],
        "file": outcome.file,
        "experiment": experiment.model_dump(mode="json"),
        "started_at": outcome.manifest.started_at,
        "finished_at": outcome.manifest.finished_at,
        "prompt_set_hash": outcome.manifest.prompt_set_hash,
        "run": outcome.run.model_dump(mode="json") if outcome.run else None,
        "sequential": outcome.sequential.model_dump(mode="json") if outcome.sequential else None,
    }
    _sidecar(store_path).write_text(json.dumps(doc, indent=1), encoding="utf-8")


def _notify(on_step: StepCallback | None, message: str) -> None:
    if on_step is not None:
        on_step(message)


def test_experiment(
    path: str | Path, options: TestOptions | None = None, on_step: StepCallback | None = None
) -> TestOutcome:
    """Check, compile, run only what the store lacks, classify and analyse `path`.

    Raises `AfsError` for language or usage errors. Run failures (calls that
    failed after retries, the budget, missing data) do not raise: they are
    listed in `outcome.problems` and make `outcome.exit_code` 3.
    """
    from afdsl.check import load_experiment
    from afdsl.classify import classify_experiment
    from afdsl.classify.keys import check_keys_before_test
    from afdsl.expand import expand
    from afdsl.run import RunOptions, items_from_prompts, run_experiment, run_items
    from afdsl.run.experiment import check_budget_prices, index_cells
    from afdsl.run.types import BUDGET_REACHED
    from afdsl.store import Store

    options = options or TestOptions()
    run_options = options.run if options.run is not None else RunOptions.model_validate({})
    started = now_iso()
    clock = time.monotonic()
    _notify(on_step, f"checking {path}")
    experiment = _with_models(load_experiment(path), options.models)
    prompts: list[Prompt] = list(expand(experiment))
    check_budget_prices(experiment, run_options, judges=True)  # before the store is created
    store_path = Path(options.store) if options.store else default_store_path(path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    try:
        if not run_options.dry_run:  # a judge's missing key, before any model call is paid
            check_keys_before_test(experiment, store, prompts)
        plan = _rounds(experiment, options)
        totals: list[tuple[RunSummary, ClassifySummary]] = []
        problems: list[str] = []
        tests = _sequential_tests(experiment) if options.sequential else {}
        if options.sequential:  # one round runs everything through run_experiment, which prunes
            index_cells(experiment, list(items_from_prompts(prompts, experiment)), store)
        used: list[str] = []
        spent = 0.0  # one --budget for the whole test: model calls and judge calls, every round
        for batch in plan:
            used += batch
            wanted = set(batch)
            todo = [p for p in prompts if p.query_id in wanted]
            _notify(on_step, f"running {len(todo)} prompts (only what the store lacks)")
            within = _remaining_budget(run_options, spent)
            if options.sequential:
                summary = run_items(items_from_prompts(todo, experiment), store, within)
            else:  # one round: the runner also forgets cells of an earlier version of the file
                summary = run_experiment(experiment, store, within)
            spent += summary.cost_usd
            problems += [p for p in summary.problems() if p not in problems]
            _notify(on_step, "classifying")
            classified = classify_experiment(
                experiment, store, _remaining_budget(run_options, spent)
            )
            spent += classified.judge_cost_usd
            totals.append((summary, classified))
            if summary.budget_exhausted or classified.budget_exhausted:
                problems.append(BUDGET_REACHED)
                break
            if tests and _all_decided(
                tests, gather(experiment, store, set(used), samples=False), experiment
            ):
                break
        # Why labels are still missing (a judge the provider stopped, failed judge calls):
        # the last round's classification covers every response so far.
        problems += [p for p in totals[-1][1].problems() if p not in problems]
        run = _run_info(totals)
        run.elapsed_s = time.monotonic() - clock
        sequential = None
        if options.sequential:
            sequential = SequentialInfo(
                rounds=len(totals),
                queries_used=len(used),
                queries_available=len(experiment.queries),
                stopped_early=len(used) < len(experiment.queries),
                note=SEQUENTIAL_NOTE,
            )
        _notify(on_step, "analysing")
        outcome = collect_outcome(
            experiment,
            store,
            file=str(path),
            store_path=store_path,
            started_at=started,
            prompt_set=prompt_set_hash((p.model, p.prompt_hash, p.sample) for p in prompts),
            run=run,
            problems=problems,
            sequential=sequential,
            only_queries=set(used) if options.sequential else None,
            samples=options.samples,
        )
        verdicts = {key: (t.finish(), t.e_value) for key, t in tests.items()}
        outcome = _apply_sequential(outcome, verdicts)
        _save_sidecar(
            outcome,
            experiment,
            store_path,
            used if options.sequential else None,
            verdicts,
            problems,
        )
        return outcome
    finally:
        store.close()


def _remaining_budget(options: RunOptions, spent: float) -> RunOptions:
    """`options` with what is left of `--budget` after `spent` dollars (no budget: unchanged)."""
    if options.budget_usd is None:
        return options
    return options.model_copy(update={"budget_usd": max(options.budget_usd - spent, 0.0)})


def _rounds(experiment: Experiment, options: TestOptions) -> list[list[str]]:
    """Query ids per round: all at once, or `round_queries` at a time in file order.

    The order is fixed before any outcome is seen, which the sequential
    guarantee needs.
    """
    ids = [q.id for q in experiment.queries]
    if not options.sequential:
        return [ids]
    k = max(1, options.round_queries)
    return [ids[i : i + k] for i in range(0, len(ids), k)]


def _sequential_tests(experiment: Experiment) -> dict[tuple[str, str], Any]:
    """One anytime-valid test per model x hypothesis (Bonferroni within each model)."""
    from afdsl.stats.sequential import sequential_tests

    if not experiment.hypotheses:
        raise error("--sequential needs at least one hypothesis to decide when to stop")
    method = experiment.correction
    tests: dict[tuple[str, str], Any] = {}
    queries = len(experiment.queries)  # lets a test fail early once passing is out of reach
    for model in experiment.models:
        made = sequential_tests(experiment.hypotheses, method.alpha, method.method, budget=queries)
        for h, t in zip(experiment.hypotheses, made, strict=True):
            tests[(model.display, h.name)] = t
    return tests


def _all_decided(tests: dict[tuple[str, str], Any], got: Gathered, experiment: Experiment) -> bool:
    """Feed the queries completed so far to every test; True when every hypothesis is decided
    (passed, or failed because the remaining queries could no longer make it pass)."""
    by_name = {h.name: h for h in experiment.hypotheses}
    for (model, name), test in tests.items():
        measure = by_name[name].measure or got.primary
        table = got.tables.get(measure, LabelTable())
        try:
            test.update_from_table(table, model, experiment.training, experiment.deployment)
        except AfsError:
            return False  # a cell has no labels yet (e.g. failed calls): keep sampling
    return all(t.decision != "continue" for t in tests.values())


def _apply_sequential(
    outcome: TestOutcome, verdicts: dict[tuple[str, str], tuple[str, float]]
) -> TestOutcome:
    """Replace fixed-sample verdicts by the sequential ones (p-values are not valid after
    optional stopping; the e-process verdicts are)."""
    if not verdicts or outcome.analysis is None:
        return outcome
    updated = []
    for h in outcome.analysis.hypotheses:
        verdict = verdicts.get((h.model or "", h.name))
        if verdict is not None:
            h = h.model_copy(
                update={
                    "verdict": verdict[0],
                    "method": f"{h.method}; verdict by anytime-valid e-process (e = "
                    f"{verdict[1]:.3g})",
                }
            )
        updated.append(h)
    analysis = outcome.analysis.model_copy(update={"hypotheses": updated})
    return outcome.model_copy(update={"analysis": analysis})


def dry_run(path: str | Path, options: TestOptions) -> None:
    """`afdsl test --dry-run`: show what would be sent and its estimated cost; send nothing."""
    from afdsl.check import load_experiment
    from afdsl.classify.estimate import estimate_judges
    from afdsl.run import format_estimates, run_experiment
    from afdsl.run.experiment import total_cost
    from afdsl.store import Store

    experiment = _with_models(load_experiment(path), options.models)
    store_path = Path(options.store) if options.store else default_store_path(path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    try:
        models = run_experiment(experiment, store, options.run)
        judges = estimate_judges(experiment, store, options.run)
    finally:
        store.close()
    everything = [*models.estimates, *judges.estimates]
    if judges.estimates:
        print(f"\njudge calls\n{format_estimates(judges.estimates, judges.cached)}")
        print(f"\ntotal (model and judge calls): {total_cost(everything)}")


test_experiment.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def report_from_store(
    target: str | Path, *, store_path: str | Path | None = None, samples: bool = True
) -> TestOutcome:
    """Rebuild the outcome of the last `afdsl test` from the store, without any model call.

    `target` is the .afs file (its store is the default one unless `store_path`
    is given) or the store itself (then the experiment comes from the record
    `afdsl test` left beside it).
    """
    from afdsl.store import Store

    target = Path(target)
    problems: list[str] = []
    if target.suffix == ".afs":
        from afdsl.check import load_experiment

        experiment = load_experiment(target)
        store_file = Path(store_path) if store_path else default_store_path(target)
        saved = _load_sidecar(store_file)
        if saved and saved["experiment"].get("name") == experiment.name:
            # `afdsl test --model` may have replaced the models: report what was tested,
            # with each model's parameters (they key its stored answers).
            tested = Experiment.model_validate(saved["experiment"])
            experiment = _with_models(experiment, list(tested.models))
            if _asks_other_prompts(experiment, tested):
                problems.append(
                    f"{target} changed since the last `afdsl test` ({saved['finished_at']}): "
                    "the stored answers may be to the earlier version's prompts (and seed); "
                    f"rerun `afdsl test {target}` to bring the store up to date"
                )
        file = str(target)
    else:
        store_file = target
        if not store_file.is_file():
            raise error(
                f"no such file: {store_file}",
                hint="pass the .afs file (afdsl report FILE.afs) or an existing store",
            )
        saved = _load_sidecar(store_file)
        if saved is None:
            raise error(
                f"{store_file} has no record of an `afdsl test` run",
                hint="pass the .afs file instead: afdsl report FILE.afs",
            )
        experiment = Experiment.model_validate(saved["experiment"])
        file = saved["file"]
    if not store_file.exists():
        raise error(
            f"no store at {store_file}",
            hint="run `afdsl test FILE` first, or name the store with --store",
        )
    last: dict[str, Any] = {}
    if saved is not None and saved["experiment"].get("name") == experiment.name:
        last = saved
    used = last.get("queries_used")
    earlier: list[str] = last.get("run_problems") or []
    store = Store(store_file)
    try:
        outcome = collect_outcome(
            experiment,
            store,
            file=file,
            store_path=store_file,
            started_at=last.get("started_at") or now_iso(),
            finished_at=last.get("finished_at"),  # the test's end, not this re-render's
            prompt_set=last.get("prompt_set_hash"),
            run=RunInfo.model_validate(last["run"]) if last.get("run") else None,
            sequential=SequentialInfo.model_validate(last["sequential"])
            if last.get("sequential")
            else None,
            problems=problems + earlier,
            only_queries=set(used) if used is not None else None,
            samples=samples,
        )
    finally:
        store.close()
    if earlier and [c.model_dump(mode="json") for c in outcome.counts] != last.get("counts"):
        # A later run or classify changed the store: the test's reasons may no longer hold.
        kept = [p for p in outcome.problems if p not in earlier]
        outcome = outcome.model_copy(update={"problems": kept})
    # A sequential run's verdicts come from its e-processes, which the store cannot replay.
    verdicts = {(m, n): (v, e) for m, n, v, e in last.get("verdicts") or []}
    return _apply_sequential(outcome, verdicts)


# What decides which answers the store holds for a cell. The store keeps the cells of the
# last run's version (samples, measures and hypotheses may change: fewer samples are a
# subset, a changed measure shows as missing labels, hypotheses are re-tested).
_PROMPT_FIELDS = {
    "base_scenario", "models", "queries", "seed", "variants", "training", "deployment"
}  # fmt: skip


def _asks_other_prompts(current: Experiment, tested: Experiment) -> bool:
    """True when the file now compiles to other requests than the ones last tested."""
    return current.model_dump(include=_PROMPT_FIELDS) != tested.model_dump(include=_PROMPT_FIELDS)


def _load_sidecar(store_path: Path) -> dict[str, Any] | None:
    path = _sidecar(store_path)
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data
