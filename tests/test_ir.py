"""Hashes that key the store: what changes them and what must not."""

from __future__ import annotations

from afdsl.ir import Measure, Message, ModelConfig, prompt_hash


def _faking(**model: str | float) -> Measure:
    config = ModelConfig(spec=str(model.pop("spec", "sim:judge")), **model)  # type: ignore[arg-type]
    return Measure(name="faking", kind="faking", params={"votes": 20}, model=config)


def test_measure_hash_ignores_where_the_project_lives() -> None:
    here = _faking(spec="replay:judge.jsonl", source_dir="/home/a/project")
    moved = _faking(spec="replay:judge.jsonl", source_dir="/srv/b/project")
    assert here.definition_hash() == moved.definition_hash()


def test_measure_hash_ignores_the_judges_name_and_key_variable() -> None:
    named = _faking(spec="openai:gpt-4o", label="grader", api_key_env="GRADER_KEY")
    renamed = _faking(spec="openai:gpt-4o", label="judge2", api_key_env="OTHER_KEY")
    assert (
        named.definition_hash()
        == renamed.definition_hash()
        == _faking(spec="openai:gpt-4o").definition_hash()
    )


def test_measure_hash_follows_the_definition() -> None:
    base = _faking()
    assert base.definition_hash() != _faking(spec="sim:judge_b").definition_hash()
    assert base.definition_hash() != _faking(temperature=0.5).definition_hash()
    renamed = base.model_copy(update={"name": "faking_v2"})
    assert renamed.definition_hash() == base.definition_hash()  # the key has the name already


def test_prompt_hash_is_the_content_not_the_container() -> None:
    as_dicts = prompt_hash("sys", [{"role": "user", "content": "hi"}])
    as_models = prompt_hash("sys", (Message(role="user", content="hi"),))
    assert as_dicts == as_models
    assert as_dicts != prompt_hash("sys ", [{"role": "user", "content": "hi"}])
