"""Power planning from an experiment: the level each hypothesis is planned at, and
effects and spreads estimated from a pilot store (`afdsl power`)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from afdsl.analysis._gather import gather, primary_measure
from afdsl.diagnostics import AfsError, Diagnostic
from afdsl.ir import Experiment, Hypothesis
from afdsl.stats.power import MIN_QUERIES, PowerPlan, directed_effect, plan
from afdsl.stats.table import LabelTable
from afdsl.store import Store


def family_of(experiment: Experiment, hypothesis: Hypothesis) -> str:
    """The multiple-comparison family of `hypothesis`: the measure it tests (the
    cross-model hypotheses of a measure are a family of their own)."""
    measure = hypothesis.measure or primary_measure(experiment)
    return f"{measure} across models" if hypothesis.pinned_models else measure


def family_levels(experiment: Experiment, alpha: float) -> dict[str, float]:
    """The level each hypothesis is planned at, per family (the measure it tests).

    The analysis corrects within each measure's hypotheses (a hypothesis `on faking` is
    not in the compliance family), so each is planned at alpha / (its family's size):
    Bonferroni, conservative and simple for Holm or BH.
    """
    sizes = Counter(family_of(experiment, h) for h in experiment.hypotheses)
    if experiment.correction.method == "none":
        return {family: alpha for family in sizes}
    return {family: alpha / k for family, k in sizes.items()}


def pilot_plans(
    experiment: Experiment, store_path: str, levels: dict[str, float], power: float
) -> list[PowerPlan]:
    """Effect and sd per model and hypothesis from the pilot's labels."""
    from afdsl.stats.hypotheses import applies_to, hypothesis_values

    tables = pilot_tables(experiment, store_path)
    plans = []
    for h in experiment.hypotheses:
        table = tables[h.measure]
        level = levels[family_of(experiment, h)]
        # A cross-model hypothesis is planned once; a `for` one on its model only.
        models = [None] if h.pinned_models else [m for m in table.models() if applies_to(h, m)]
        for model in models:
            data = hypothesis_values(table, model, h, experiment.training, experiment.deployment)
            if len(data.queries) < MIN_QUERIES:
                raise AfsError(
                    Diagnostic(
                        message=f"the pilot has fewer than {MIN_QUERIES} complete queries "
                        f"for {h.name}"
                    )
                )
            mean = float(data.values.mean())
            sd = float(data.values.std(ddof=1))
            effect = directed_effect(h, mean)
            # A query without a usable sample in a cell the test needs (a conditional
            # measure's query that never complied there) is dropped: plan for the share
            # of queries that enter the test, as the pilot saw it.
            share = len(data.queries) / max(len(table.queries(model)), 1)
            usable = max(round(len(experiment.queries) * share), 1)
            found = plan(h, effect, sd, usable, level, power, model)
            plans.append(_allowing_for_drops(found, share, len(experiment.queries)))
    return plans


def _allowing_for_drops(found: PowerPlan, share: float, n_queries: int) -> PowerPlan:
    """`found` (planned on the queries that enter the test) in queries to ask."""
    if share >= 1:
        return found
    needed = found.queries_needed
    return found.model_copy(
        update={
            "n_queries": n_queries,
            "queries_needed": None if needed is None else math.ceil(needed / share),
            "method": f"{found.method}; {share:.0%} of the pilot's queries enter the test "
            "(the others lack a usable sample in a cell it needs), allowed for",
            "usable_share": share,
        }
    )


def pilot_tables(experiment: Experiment, path: str) -> dict[str | None, LabelTable]:
    """Per-query counts from a pilot store, per measure the hypotheses use (None: default).

    The records are the ones `afdsl test` and `afdsl report` analyse (`gather`):
    ok responses of the experiment's models at their current sampling
    parameters, its variants, queries and samples, with a parseable label.
    """
    hint = "pass the store of a pilot run (`afdsl test` writes .afdsl/EXPERIMENT.sqlite)"
    if not Path(path).exists():
        raise AfsError(Diagnostic(message=f"{path}: no such store", hint=hint))
    try:
        store = Store(path)
    except AfsError as exc:  # its hint is about `--store`, an option power does not have
        first = exc.diagnostics[0]
        raise AfsError(first.model_copy(update={"hint": hint})) from None
    try:
        got = gather(experiment, store, samples=False)
    finally:
        store.close()
    tables: dict[str | None, LabelTable] = {}
    for name in {h.measure for h in experiment.hypotheses}:
        measure = name or got.primary
        if measure not in got.tables:
            raise AfsError(Diagnostic(message=f"unknown measure {measure!r}"))
        if not got.tables[measure].cells:
            raise AfsError(
                Diagnostic(
                    message=f"{path}: no {measure} labels for experiment {experiment.name!r}",
                    hint="run the pilot with `afdsl run`, then label it with `afdsl classify`",
                )
            )
        tables[name] = got.tables[measure]
    return tables
