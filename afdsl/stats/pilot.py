"""Labels of a pilot run, read from a store, for power planning."""

from __future__ import annotations

from pathlib import Path

from afdsl.diagnostics import AfsError, Diagnostic
from afdsl.ir import Experiment, Measure
from afdsl.stats.table import LabelTable, build_table


def compliance_measure(experiment: Experiment, name: str | None = None) -> Measure:
    """The measure a hypothesis is about: `name`, else `compliance`, else the first tag measure.

    Without any declared measure, `compliance = tag` is implied (docs/language.md).
    """
    measures = experiment.measures
    if name is not None:
        for m in measures:
            if m.name == name:
                return m
        raise AfsError(Diagnostic(message=f"unknown measure {name!r}"))
    for m in measures:
        if m.name == "compliance":
            return m
    for m in measures:
        if m.kind == "tag":
            return m
    return measures[0] if measures else Measure(name="compliance", kind="tag")


def pilot_tables(experiment: Experiment, path: str | Path) -> dict[str | None, LabelTable]:
    """Per-query counts for each measure the hypotheses use (key None: the default measure).

    Unparseable labels (None) and failed calls are left out, as in the analysis.
    """
    if not Path(path).exists():
        raise AfsError(Diagnostic(message=f"{path}: no such store"))
    from afdsl.store import Store

    store = Store(path)
    try:
        rows = [r for r in store.responses(experiment=experiment.name) if r.status == "ok"]
        tables: dict[str | None, LabelTable] = {}
        for measure_name in {h.measure for h in experiment.hypotheses}:
            measure = compliance_measure(experiment, measure_name)
            labels = store.labels(measure.name, measure.definition_hash())
            records = [
                {
                    "model": r.model,
                    "variant": r.variant,
                    "condition": r.condition,
                    "query_id": r.query_id,
                    "sample": r.sample,
                    "complied": labels[r.id].label,
                }
                for r in rows
                if r.id in labels and labels[r.id].label is not None
            ]
            if not records:
                raise AfsError(
                    Diagnostic(
                        message=f"{path}: no {measure.name} labels for experiment "
                        f"{experiment.name!r}",
                        hint="run the pilot with `afdsl run` and label it with `afdsl classify`",
                    )
                )
            tables[measure_name] = build_table(records)
    finally:
        store.close()
    return tables
