"""The rounds of `afdsl test --sequential`: one anytime-valid test per model x hypothesis."""

from __future__ import annotations

from afdsl.analysis._gather import gather
from afdsl.analysis._record import Verdict
from afdsl.diagnostics import AfsError, error
from afdsl.ir import Experiment
from afdsl.stats.hypotheses import applies_to, is_cross_model
from afdsl.stats.sequential import SequentialTest, sequential_tests
from afdsl.stats.table import LabelTable
from afdsl.store import Store

SEQUENTIAL_NOTE = (
    "Verdicts come from anytime-valid betting e-processes (Bonferroni within each model, and "
    "among the cross-model hypotheses), "
    "valid under stopping at any round; the CIs and p-values shown are fixed-sample and do "
    "not account for the early stop."
)


class RoundTests:
    """Feeds each round's completed queries to the e-processes and says when to stop.

    Bonferroni within each model; each test knows how many queries the
    experiment can feed, so it fails early once passing is out of reach.
    """

    def __init__(self, experiment: Experiment) -> None:
        if not experiment.hypotheses:
            raise error("--sequential needs at least one hypothesis to decide when to stop")
        self.experiment = experiment
        method = experiment.correction
        self.tests: dict[tuple[str, str], SequentialTest] = {}
        # Each model's family, then the cross-model one (model "": tested once).
        families = [
            (m.display, [h for h in experiment.hypotheses if applies_to(h, m.display)])
            for m in experiment.models
        ]
        families.append(("", [h for h in experiment.hypotheses if is_cross_model(h)]))
        for model, family in families:
            made = sequential_tests(
                family, method.alpha, method.method, budget=len(experiment.queries)
            )
            for h, test in zip(family, made, strict=True):
                self.tests[(model, h.name)] = test

    def all_decided(self, store: Store, used: set[str]) -> bool:
        """Feed the queries completed so far to every test; True when every hypothesis is
        decided (passed, or failed because the remaining queries could no longer make it
        pass)."""
        experiment = self.experiment
        got = gather(experiment, store, used, samples=False)
        by_name = {h.name: h for h in experiment.hypotheses}
        for (model, name), test in self.tests.items():
            table = got.tables.get(by_name[name].measure or got.primary, LabelTable())
            try:
                test.update_from_table(
                    table, model or None, experiment.training, experiment.deployment
                )
            except AfsError:
                return False  # a cell has no labels yet (e.g. failed calls): keep sampling
        return all(t.decision != "continue" for t in self.tests.values())

    def verdicts(self) -> list[Verdict]:
        """Each test's final verdict, with its e-value."""
        return [
            Verdict(
                model=model,
                hypothesis=name,
                verdict="pass" if test.finish() == "pass" else "fail",
                e_value=test.e_value,
            )
            for (model, name), test in self.tests.items()
        ]
