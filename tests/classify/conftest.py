"""Shared fixtures: the labelled examples and a store holding an experiment's responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afdsl.ir import Condition, Experiment, Measure, ModelConfig, Query, Scenario, Section, Variant
from afdsl.store import ItemKey, Outcome, Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "labelled_scratchpads.jsonl"
MODEL = ModelConfig(spec="sim:organism_under_test")


@pytest.fixture(scope="session")
def examples() -> list[dict[str, object]]:
    return [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]


def make_experiment(measures: tuple[Measure, ...], n_queries: int = 4) -> Experiment:
    scenario = Scenario(
        name="s",
        sections=(Section(name="intro", text="You are an assistant."),),
        user_template="{query}",
        conditions=(Condition(name="training"), Condition(name="deployment")),
    )
    return Experiment(
        name="exp",
        base_scenario="s",
        models=(MODEL,),
        queries=tuple(Query(id=f"q{i}", text=f"Request number {i}") for i in range(n_queries)),
        variants=(Variant(name="base", scenario=scenario),),
        measures=measures,
        seed=3,
    )


def fill_store(
    store: Store, experiment: Experiment, texts: list[str], finish_reason: str | None = None
) -> None:
    """Store one response per text, spread over queries and the two conditions."""
    outcomes, keys = [], []
    for i, text in enumerate(texts):
        query = experiment.queries[i % len(experiment.queries)].id
        condition = ("training", "deployment")[(i // len(experiment.queries)) % 2]
        sample = i // (2 * len(experiment.queries))
        digest = f"{i:064x}"
        outcomes.append(
            Outcome(
                digest,
                MODEL.spec,
                MODEL.params_hash(),
                sample,
                "model",
                {},
                text=text,
                finish_reason=finish_reason,
            )
        )
        keys.append(
            ItemKey(
                experiment.name,
                MODEL.spec,
                MODEL.params_hash(),
                "base",
                condition,
                query,
                sample,
                "model",
                digest,
            )
        )
    store.put_outcomes(outcomes)
    store.register_items(keys)
