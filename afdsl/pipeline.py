"""`afdsl test` as a function: check -> compile -> run what is missing -> classify -> analyse.

`test_experiment` is what the CLI calls and what a notebook user can call;
`report_from_store` rebuilds the same record from a store without calling any
model. This module composes the stages and does nothing else: each step is one
stage's public function, and the analysis stage (`afdsl.analysis`) turns the
store into the `TestRecord` the renderers read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from afdsl.analysis import (
    SEQUENTIAL_NOTE,
    Problem,
    RoundTests,
    RunRecord,
    SequentialInfo,
    TestRecord,
    budget_reached,
    build_record,
    classify_problems,
    load_run_record,
    merge_problems,
    now_iso,
    prompt_set_hash,
    run_info,
    run_problems,
    save_run_record,
)
from afdsl.diagnostics import error
from afdsl.ir import Experiment, ModelConfig, Prompt
from afdsl.store import Store
from afdsl.store import default_store_path as default_store_path  # re-exported

if TYPE_CHECKING:  # the runner and classifier load only when a test runs (not for a report)
    from afdsl.classify import ClassifySummary
    from afdsl.run import RunOptions, RunSummary
    from afdsl.run.status import StatusRow

StepCallback = Callable[[str], None]


@dataclass
class TestOptions:
    """How to run `afdsl test`. `run` holds the runner's options (defaults when None)."""

    __test__ = False

    store: Path | None = None
    models: list[str] | None = None  # replaces the experiment's models
    run: RunOptions | None = None
    sequential: bool = False
    round_queries: int = 10  # queries added per round in --sequential
    # Keep a row per sample in `record.samples` (only the CSV and the labels export read
    # them; reading them costs seconds on a large design).
    samples: bool = True


def _with_models(experiment: Experiment, specs: list[ModelConfig] | list[str] | None) -> Experiment:
    from afdsl.check import with_models  # checks the specs as a .afs file's are checked

    return with_models(experiment, specs)


def run_experiment(
    experiment: Experiment,
    store: Store,
    options: RunOptions | None = None,
    models: Sequence[ModelConfig | str] | None = None,
) -> RunSummary:
    """Compile `experiment` and run every prompt not yet answered in `store` (`afdsl run`).

    `models` replaces the experiment's models (checked like a .afs file's). The
    store's cell index is replaced by this version of the experiment; a dry run
    prints the estimates to stdout.
    """
    from afdsl.check import with_models
    from afdsl.expand import expand
    from afdsl.run import run_prompts

    experiment = with_models(experiment, models)
    return run_prompts(experiment, expand(experiment), store, options)


def experiment_status(experiment: Experiment, store: Store) -> list[StatusRow]:
    """Done / failed / missing cells per model and variant (`afdsl status`)."""
    from afdsl.expand import expand
    from afdsl.run.status import tally

    return tally(experiment, expand(experiment), store)


def _default_run_options() -> RunOptions:
    from afdsl.run import RunOptions

    return RunOptions.model_validate({})


def _notify(on_step: StepCallback | None, message: str) -> None:
    if on_step is not None:
        on_step(message)


def _store_path(path: str | Path, options: TestOptions) -> Path:
    store_path = Path(options.store) if options.store else default_store_path(path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    return store_path


def test_experiment(
    path: str | Path, options: TestOptions | None = None, on_step: StepCallback | None = None
) -> TestRecord:
    """Check, compile, run only what the store lacks, classify and analyse `path`.

    Raises `AfsError` for language or usage errors. Run failures (calls that
    failed after retries, the budget, missing data) do not raise: they are
    listed in `record.problems` and make `record.exit_code` 3.
    """
    from afdsl.check import load_experiment
    from afdsl.classify.keys import check_keys_before_test
    from afdsl.expand import expand

    options = options or TestOptions()
    started = now_iso()
    clock = time.monotonic()
    _notify(on_step, f"checking {path}")
    experiment = _with_models(load_experiment(path), options.models)
    prompts: list[Prompt] = list(expand(experiment))
    store_path = _store_path(path, options)
    with Store(store_path) as store:
        run_options = options.run or _default_run_options()
        if not run_options.dry_run:  # a judge's missing key, before any model call is paid
            check_keys_before_test(experiment, store, prompts)
        rounds = _run_rounds(experiment, prompts, store, options, on_step)
        facts = RunRecord(
            file=str(path),
            experiment=experiment,
            started_at=started,
            finished_at=now_iso(),
            prompt_set_hash=prompt_set_hash((p.model, p.prompt_hash, p.sample) for p in prompts),
            run=run_info(rounds.totals, time.monotonic() - clock),
            sequential=rounds.sequential_info(experiment),
            queries_used=rounds.used if rounds.tests else None,
            problems=rounds.problems,
            verdicts=rounds.tests.verdicts() if rounds.tests else [],
        )
        _notify(on_step, "analysing")
        record = build_record(
            experiment, store, facts, store_path=store_path, samples=options.samples
        )
        save_run_record(store, facts.model_copy(update={"counts": record.counts}))
        return record


@dataclass
class _Rounds:
    """What the rounds of one `afdsl test` established that the store cannot tell."""

    tests: RoundTests | None  # --sequential
    totals: list[tuple[RunSummary, ClassifySummary]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    used: list[str] = field(default_factory=list)  # the queries run so far

    def sequential_info(self, experiment: Experiment) -> SequentialInfo | None:
        if self.tests is None:
            return None
        return SequentialInfo(
            rounds=len(self.totals),
            queries_used=len(self.used),
            queries_available=len(experiment.queries),
            stopped_early=len(self.used) < len(experiment.queries),
            note=SEQUENTIAL_NOTE,
        )


def _run_rounds(
    experiment: Experiment,
    prompts: list[Prompt],
    store: Store,
    options: TestOptions,
    on_step: StepCallback | None,
) -> _Rounds:
    """Run and classify round by round (one round unless --sequential)."""
    from afdsl.classify import classify_experiment
    from afdsl.run import index_cells, items_from_prompts, run_items, run_prompts

    run_options = options.run or _default_run_options()
    rounds = _Rounds(RoundTests(experiment) if options.sequential else None)
    if rounds.tests is not None:  # one round runs everything through run_prompts (prunes)
        index_cells(experiment, list(items_from_prompts(prompts, experiment)), store)
    spent = 0.0  # one --budget for the whole test: model calls and judge calls, every round
    for batch in _rounds(experiment, options):
        rounds.used += batch
        wanted = set(batch)
        todo = [p for p in prompts if p.query_id in wanted]
        _notify(on_step, f"running {len(todo)} prompts (only what the store lacks)")
        within = _remaining_budget(run_options, spent)
        if rounds.tests is not None:
            summary = run_items(items_from_prompts(todo, experiment), store, within)
        else:  # one round: the runner also forgets cells of an earlier version of the file
            summary = run_prompts(experiment, prompts, store, within)
        spent += summary.cost_usd
        rounds.problems = merge_problems(rounds.problems, run_problems(summary))
        _notify(on_step, "classifying")
        classified = classify_experiment(experiment, store, _remaining_budget(run_options, spent))
        spent += classified.judge_cost_usd
        rounds.totals.append((summary, classified))
        if summary.budget_exhausted or classified.budget_exhausted:
            rounds.problems.append(budget_reached())
            break
        if rounds.tests is not None and rounds.tests.all_decided(store, set(rounds.used)):
            break
    # Why labels are still missing (a judge the provider stopped, failed judge calls):
    # the last round's classification covers every response so far.
    rounds.problems = merge_problems(rounds.problems, classify_problems(rounds.totals[-1][1]))
    return rounds


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


def dry_run(path: str | Path, options: TestOptions) -> None:
    """`afdsl test --dry-run`: show what would be sent and its estimated cost; send nothing."""
    from afdsl.check import load_experiment
    from afdsl.classify.estimate import estimate_judges
    from afdsl.expand import expand
    from afdsl.run import format_estimates, run_prompts

    experiment = _with_models(load_experiment(path), options.models)
    prompts = list(expand(experiment))
    with Store(_store_path(path, options)) as store:
        run_options = options.run or _default_run_options()
        models = run_prompts(experiment, prompts, store, run_options)
        judges = estimate_judges(experiment, prompts, store, run_options)
    if judges.estimates:
        print(f"\njudge calls\n{format_estimates(judges.estimates, judges.cached)}")
        known = [e.cost_usd for e in [*models.estimates, *judges.estimates] if e.cost_usd]
        print(f"\ntotal (model and judge calls): ${sum(known):,.4f}")


test_experiment.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def report_from_store(
    target: str | Path, *, store_path: str | Path | None = None, samples: bool = True
) -> TestRecord:
    """Rebuild the record of the last `afdsl test` from the store, without any model call.

    `target` is the .afs file (its store is the default one unless `store_path`
    is given) or the store itself (then the experiment comes from the run
    record `afdsl test` left in it).
    """
    target = Path(target)
    if target.suffix == ".afs":
        return _report_file(target, store_path, samples)
    if not target.is_file():
        raise error(
            f"no such file: {target}",
            hint="pass the .afs file (afdsl report FILE.afs) or an existing store",
        )
    with Store(target) as store:
        facts = load_run_record(store)
        if facts is None:
            raise error(
                f"{target} has no record of an `afdsl test` run",
                hint="pass the .afs file instead: afdsl report FILE.afs",
            )
        return build_record(facts.experiment, store, facts, store_path=target, samples=samples)


def _report_file(target: Path, store_path: str | Path | None, samples: bool) -> TestRecord:
    """`afdsl report FILE.afs`: the file as it is now, with the models last tested."""
    from afdsl.check import load_experiment

    experiment = load_experiment(target)
    store_file = Path(store_path) if store_path else default_store_path(target)
    if not store_file.exists():
        raise error(
            f"no store at {store_file}",
            hint="run `afdsl test FILE` first, or name the store with --store",
        )
    with Store(store_file) as store:
        facts = load_run_record(store, experiment.name)
        problems: list[Problem] = []
        if facts is None:
            facts = RunRecord(file=str(target), experiment=experiment, started_at=now_iso())
        else:
            # `afdsl test --model` may have replaced the models: report what was tested,
            # with each model's parameters (they key its stored answers).
            tested = facts.experiment
            experiment = _with_models(experiment, list(tested.models))
            if _asks_other_prompts(experiment, tested):
                problems.append(_file_changed(target, facts))
            facts = facts.model_copy(update={"file": str(target)})
        return build_record(
            experiment, store, facts, store_path=store_file, problems=problems, samples=samples
        )


def _file_changed(target: Path, facts: RunRecord) -> Problem:
    return Problem(
        kind="file_changed",
        detail=f"{target} changed since the last `afdsl test` ({facts.finished_at}): "
        "the stored answers may be to the earlier version's prompts (and seed); "
        f"rerun `afdsl test {target}` to bring the store up to date",
    )


# What decides which answers the store holds for a cell. The store keeps the cells of the
# last run's version (samples, measures and hypotheses may change: fewer samples are a
# subset, a changed measure shows as missing labels, hypotheses are re-tested).
_PROMPT_FIELDS = {
    "base_scenario", "models", "queries", "seed", "variants", "training", "deployment"
}  # fmt: skip


def _asks_other_prompts(current: Experiment, tested: Experiment) -> bool:
    """True when the file now compiles to other requests than the ones last tested."""
    return current.model_dump(include=_PROMPT_FIELDS) != tested.model_dump(include=_PROMPT_FIELDS)
