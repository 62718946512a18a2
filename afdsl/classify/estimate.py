"""What the judges of an experiment would cost, before anything is sent (`afdsl test --dry-run`).

Two sources of judge calls: stored responses that no current label covers
(`classify_experiment` in dry-run mode plans them exactly), and responses the
run has not produced yet. For the latter each expected response is stood in
for by a text of the model's `max_tokens` (the most it can say), so the
estimate is an upper bound; the requests are built by `plan_score` and
priced by the runner's dry run, as real ones would be.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from afdsl.classify.experiment import classify_experiment, effective_measures
from afdsl.classify.measures import measure_spec
from afdsl.classify.score import Plan, Target, plan_score, run_judges
from afdsl.ir import Experiment, Measure, Prompt
from afdsl.run import ModelEstimate  # a field type, so needed at run time by pydantic

if TYPE_CHECKING:
    from afdsl.run import RunItem, RunOptions
    from afdsl.store import Store


_ESTIMATE_CHUNK = 1000  # responses not yet run whose judge calls are priced at once


class JudgeEstimate(BaseModel):
    """The judge calls a run would add: per judge model, and how many are already stored."""

    estimates: list[ModelEstimate] = Field(default_factory=list)
    cached: int = 0


def estimate_judges(
    experiment: Experiment, prompts: Iterable[Prompt], store: Store, options: RunOptions
) -> JudgeEstimate:
    """Judge calls for the stored unlabelled responses and for those the experiment's
    compiled `prompts` have not produced yet; sends nothing."""
    dry = options.model_copy(update={"dry_run": True})
    stored = classify_experiment(experiment, store, dry)
    judges = [m for m in effective_measures(experiment) if measure_spec(m).calls_judge]
    queries = {q.id: q.text for q in experiment.queries}
    ahead: list[ModelEstimate] = []
    unanswered = _unanswered(experiment, prompts, store) if judges else []
    # A stand-in response is as long as max_tokens allows (16 kB at 4,096 tokens): priced a
    # chunk at a time, so memory stays flat however many responses the design expects.
    for start in range(0, len(unanswered), _ESTIMATE_CHUNK):
        plans = [
            _longest_plan(m, _expected_response(item, experiment.name, queries), experiment.seed)
            for item in unanswered[start : start + _ESTIMATE_CHUNK]
            for m in judges
        ]
        run = run_judges(plans, store, dry)
        ahead += run.estimates if run is not None else []
    merged = _merge([*stored.judge_estimates, *ahead])
    return JudgeEstimate(estimates=merged, cached=stored.judge_cached)


def _unanswered(experiment: Experiment, prompts: Iterable[Prompt], store: Store) -> list[RunItem]:
    """The experiment's model calls with no ok response in the store (what a run would send)."""
    from afdsl.run import items_from_prompts
    from afdsl.run.scheduler import GroupKey, group_of

    statuses: dict[GroupKey, dict[tuple[str, int], str]] = {}
    missing: list[RunItem] = []
    seen: set[tuple[str, str, str, int]] = set()
    for item in items_from_prompts(prompts, experiment):
        r = item.request
        group = group_of(r.model)  # params_hash once per model, not once per item
        if group not in statuses:
            statuses[group] = store.statuses(*group)
        key = (*group, r.prompt_hash, r.sample)
        if statuses[group].get((r.prompt_hash, r.sample)) != "ok" and key not in seen:
            seen.add(key)
            missing.append(item)
    return missing


def _expected_response(item: RunItem, experiment: str, queries: dict[str, str]) -> Target:
    """A stand-in for the response `item` will get, as long as its `max_tokens` allows.

    The text is unique per item: the runner counts identical requests once,
    whereas real (sampled) responses each get their own judge calls."""
    from afdsl.run.cost import CHARS_PER_TOKEN

    r = item.request
    tag = f"{r.prompt_hash} {r.sample} "
    filler = tag + "x" * max(r.model.max_tokens * CHARS_PER_TOKEN - len(tag), 0)
    return Target(
        text=filler,
        request=queries.get(item.query_id, ""),
        experiment=experiment,
        variant=item.variant,
        condition=item.condition,
        query_id=item.query_id,
    )


def _longest_plan(measure: Measure, target: Target, seed: int) -> Plan:
    """The judge requests of `measure` for `target`: a faking judge reads the scratchpad,
    a rubric judge the final output, so each is given the whole text as the part it reads."""
    if measure_spec(measure).kind == "faking":
        text = f"<SCRATCHPAD_REASONING>{target.text}</SCRATCHPAD_REASONING>"
        target = target.model_copy(update={"text": text})
    return plan_score(measure, target, seed=seed)


def _merge(estimates: list[ModelEstimate]) -> list[ModelEstimate]:
    """One estimate per judge model, summing the two sources."""
    merged: dict[str, ModelEstimate] = {}
    for e in estimates:
        if e.model not in merged:
            merged[e.model] = e.model_copy()
            continue
        m = merged[e.model]
        m.requests += e.requests
        m.input_tokens += e.input_tokens
        m.output_tokens += e.output_tokens
        m.cache_write_tokens += e.cache_write_tokens
        m.cache_read_tokens += e.cache_read_tokens
        m.cost_usd = None if m.cost_usd is None or e.cost_usd is None else m.cost_usd + e.cost_usd
    return list(merged.values())
