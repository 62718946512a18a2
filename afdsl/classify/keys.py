"""Fail fast on a judge's missing API key, before the models under test are paid for.

The runner checks keys before it sends anything, but `afdsl test` runs the
models under test first and the judges after: a judge without its key would
only be found once the model calls were made. So the test checks, up front,
every key of the judges it will call (and of the models it will call with
them, for one message naming every missing variable).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from afdsl.classify.experiment import effective_measures
from afdsl.classify.measures import judge_model, measure_spec
from afdsl.ir import Experiment, ModelConfig, Prompt

if TYPE_CHECKING:
    from afdsl.store import Store


def judge_models(experiment: Experiment) -> list[ModelConfig]:
    """Every judge model the experiment's measures call, as called (with a faking
    measure's temperature), in measure order."""
    return [judge_model(m, measure_spec(m)) for m in effective_measures(experiment) if m.model]


def check_keys_before_test(experiment: Experiment, store: Store, prompts: Iterable[Prompt]) -> None:
    """Raise `AfsError` naming every unset key variable when the test will call a judge:
    some prompt is not answered yet (its response will need labels) or a stored
    response lacks a judge's label. Nothing to judge: no judge key is asked for."""
    from afdsl.models import check_api_keys

    judges = judge_models(experiment)
    if not judges:
        return
    models = _models_to_call(experiment, store, list(prompts))
    if models or _unlabelled(experiment, store):
        check_api_keys([*models, *judges])


def _models_to_call(
    experiment: Experiment, store: Store, prompts: list[Prompt]
) -> list[ModelConfig]:
    """The models under test with a prompt the store holds no ok response to."""
    needed = []
    for model in experiment.models:
        answered = store.statuses(model.spec, model.params_hash())
        if any(
            answered.get((p.prompt_hash, p.sample)) != "ok"
            for p in prompts
            if p.model == model.spec
        ):
            needed.append(model)
    return needed


def _unlabelled(experiment: Experiment, store: Store) -> bool:
    """Whether a stored ok response lacks the current label of a measure with a judge."""
    ok = {c.id for c in store.cells(experiment.name) if c.status == "ok"}
    for measure in effective_measures(experiment):
        if measure.model is not None:
            labelled = store.labels(measure.name, measure.definition_hash())
            if ok - labelled.keys():
                return True
    return False
