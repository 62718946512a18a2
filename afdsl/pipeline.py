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
from typing import Any

from pydantic import BaseModel, ConfigDict

from afdsl.diagnostics import error
from afdsl.ir import Experiment, ModelConfig, Prompt
from afdsl.report.collect import collect_outcome
from afdsl.report.manifest import now_iso, prompt_set_hash
from afdsl.report.outcome import RunInfo, TestOutcome

SIDECAR_SUFFIX = ".last-test.json"  # beside the store: what `afdsl report STORE` re-renders

StepCallback = Callable[[str], None]


class TestOptions(BaseModel):
    """How to run `afdsl test`. `run` is an `afdsl.run.RunOptions` (defaults when None)."""

    __test__ = False
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Path | None = None
    models: list[str] | None = None  # replaces the experiment's models
    run: Any = None
    sequential: bool = False
    round_queries: int = 10  # queries added per round in --sequential


def default_store_path(path: str | Path) -> Path:
    """`.afdsl/<file stem>.sqlite` beside the .afs file (the runner's default too)."""
    p = Path(path)
    return p.parent / ".afdsl" / f"{p.stem}.sqlite"


def _with_models(experiment: Experiment, specs: list[str] | None) -> Experiment:
    if not specs:
        return experiment
    return experiment.model_copy(update={"models": tuple(ModelConfig(spec=s) for s in specs)})


def _run_info(summary: Any, classified: Any = None) -> RunInfo:
    cost = float(getattr(summary, "cost_usd", 0.0) or 0.0)
    if classified is not None:
        cost += float(getattr(classified, "judge_cost_usd", 0.0) or 0.0)
    return RunInfo(
        total=summary.total,
        cached=summary.cached,
        sent=summary.sent,
        succeeded=summary.succeeded,
        failed=summary.failed,
        cost_usd=cost,
        elapsed_s=float(summary.elapsed_s),
        budget_exhausted=bool(summary.budget_exhausted)
        or bool(getattr(classified, "budget_exhausted", False)),
    )


def _sidecar(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + SIDECAR_SUFFIX)


def _save_sidecar(outcome: TestOutcome, experiment: Experiment, store_path: Path) -> None:
    """Remember what was tested so `afdsl report STORE` can re-render it without the .afs file."""
    doc = {
        "file": outcome.file,
        "experiment": experiment.model_dump(mode="json"),
        "started_at": outcome.manifest.started_at,
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
    from afdsl.expand import expand
    from afdsl.run import RunOptions, items_from_prompts, run_items
    from afdsl.store import Store

    options = options or TestOptions()
    run_options = options.run if options.run is not None else RunOptions()
    started = now_iso()
    clock = time.monotonic()
    _notify(on_step, f"checking {path}")
    experiment = _with_models(load_experiment(path), options.models)
    prompts: list[Prompt] = list(expand(experiment))
    store_path = Path(options.store) if options.store else default_store_path(path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    try:
        if options.sequential:
            raise error(
                "--sequential is not available yet: the statistics stage has no sequential "
                "test in this build",
                hint="run without --sequential",
            )
        _notify(on_step, f"running {len(prompts)} prompts (only what the store lacks)")
        summary = run_items(items_from_prompts(prompts, experiment), store, run_options)
        problems: list[str] = []
        if summary.budget_exhausted:
            problems.append("the budget was reached; rerun with a higher --budget to continue")
        _notify(on_step, "classifying")
        classified = classify_experiment(experiment, store, run_options)
        if getattr(classified, "budget_exhausted", False) and not summary.budget_exhausted:
            problems.append("the budget was reached while judging; rerun to continue")
        run = _run_info(summary, classified)
        run.elapsed_s = time.monotonic() - clock
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
        )
        _save_sidecar(outcome, experiment, store_path)
        return outcome
    finally:
        store.close()


def dry_run(path: str | Path, options: TestOptions) -> None:
    """`afdsl test --dry-run`: show what would be sent and its estimated cost; send nothing."""
    from afdsl.check import load_experiment
    from afdsl.run import run_experiment
    from afdsl.store import Store

    experiment = _with_models(load_experiment(path), options.models)
    store_path = Path(options.store) if options.store else default_store_path(path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    try:
        run_experiment(experiment, store, options.run)
    finally:
        store.close()


def report_from_store(target: str | Path, *, store_path: str | Path | None = None) -> TestOutcome:
    """Rebuild the outcome of the last `afdsl test` from the store, without any model call.

    `target` is the .afs file (its store is the default one unless `store_path`
    is given) or the store itself (then the experiment comes from the record
    `afdsl test` left beside it).
    """
    from afdsl.store import Store

    target = Path(target)
    if target.suffix == ".afs":
        from afdsl.check import load_experiment

        experiment = load_experiment(target)
        store_file = Path(store_path) if store_path else default_store_path(target)
        saved = _load_sidecar(store_file)
        if saved and saved["experiment"].get("name") == experiment.name:
            # `afdsl test --model` may have replaced the models: report what was tested.
            experiment = _with_models(
                experiment, [m["spec"] for m in saved["experiment"]["models"]]
            )
        file = str(target)
    else:
        store_file = target
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
    same = saved is not None and saved["experiment"].get("name") == experiment.name
    store = Store(store_file)
    try:
        return collect_outcome(
            experiment,
            store,
            file=file,
            store_path=store_file,
            started_at=saved["started_at"] if same and saved else now_iso(),
            run=RunInfo.model_validate(saved["run"]) if same and saved and saved["run"] else None,
        )
    finally:
        store.close()


def _load_sidecar(store_path: Path) -> dict[str, Any] | None:
    path = _sidecar(store_path)
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data
