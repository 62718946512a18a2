"""Read a `Measure`'s parameters with their defaults, and decide what its labels depend on.

Label freshness: labels are keyed by `Measure.definition_hash()` (name, kind,
params, judge model) as the architecture fixes, so every stage finds them with
that key. The judge prompt templates live in code, outside the IR, so their
hash (`template_version`) is written into each label's `detail["template"]`,
and `classify` treats a stored label whose template differs as stale and
re-labels it. Editing a template or a threshold thus re-labels; nothing else does.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel

from afdsl.classify import faking, keyword, tag
from afdsl.classify.judge import RUBRICS, template_hash
from afdsl.diagnostics import error
from afdsl.ir import Measure, ModelConfig

JUDGE_THRESHOLD = 0.5
TAG_THRESHOLD = 0.5  # tag scores are 0 or 1; any cut in (0, 1] gives the same labels


class MeasureSpec(BaseModel):
    """A measure's parameters, resolved and checked."""

    name: str
    kind: str
    threshold: float
    rubric: str | None = None
    votes: int = 1
    temperature: float | None = None
    accept: str = tag.DEFAULT_ACCEPT
    reject: str = tag.DEFAULT_REJECT
    anywhere: bool = False  # tag: count a tag anywhere in the output, not only at its start

    @property
    def calls_judge(self) -> bool:
        return self.kind in ("judge", "faking")


def _number(measure: Measure, key: str, default: float) -> float:
    value = measure.params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"measure `{measure.name}`: `{key}` must be a number, got {value!r}")
    return float(value)


def measure_spec(measure: Measure) -> MeasureSpec:
    """Defaults filled in; a bad value raises `AfsError` naming the measure."""
    kind = measure.kind
    if kind == "tag":
        return MeasureSpec(
            name=measure.name,
            kind=kind,
            threshold=TAG_THRESHOLD,
            accept=str(measure.params.get("accept", tag.DEFAULT_ACCEPT)),
            reject=str(measure.params.get("reject", tag.DEFAULT_REJECT)),
            anywhere=measure.params.get("anywhere") is True,
        )
    if kind == "keyword":
        threshold = _number(measure, "threshold", keyword.DEFAULT_THRESHOLD)
        return MeasureSpec(name=measure.name, kind=kind, threshold=threshold)
    if measure.model is None:
        raise error(
            f"measure `{measure.name}` ({kind}) needs a judge model",
            hint=f"add `model SPEC`, e.g. `measure {measure.name} = {kind} ... model sim:judge`",
        )
    if kind == "judge":
        rubric = str(measure.params.get("rubric", "strongreject"))
        if rubric not in RUBRICS:
            raise error(
                f"measure `{measure.name}`: unknown rubric `{rubric}`",
                hint=f"rubrics: {', '.join(RUBRICS)}",
            )
        threshold = _number(measure, "threshold", JUDGE_THRESHOLD)
        return MeasureSpec(name=measure.name, kind=kind, threshold=threshold, rubric=rubric)
    votes = int(_number(measure, "votes", faking.DEFAULT_VOTES))
    if votes < 1:
        raise error(f"measure `{measure.name}`: `votes` must be at least 1")
    return MeasureSpec(
        name=measure.name,
        kind=kind,
        threshold=_number(measure, "threshold", faking.DEFAULT_THRESHOLD),
        votes=votes,
        temperature=_number(measure, "temperature", faking.DEFAULT_TEMPERATURE),
    )


def judge_model(measure: Measure, spec: MeasureSpec) -> ModelConfig:
    """The judge model as called: the measure's `temperature` overrides the model's."""
    assert measure.model is not None
    if spec.temperature is None:
        return measure.model
    return _with_temperature(measure.model, spec.temperature)


@lru_cache(maxsize=64)
def _with_temperature(model: ModelConfig, temperature: float) -> ModelConfig:
    """One copy per judge, not one per response judged: a copy is a pydantic validation,
    and every judge request of the experiment then shares the one object."""
    return model.model_copy(update={"temperature": temperature})


def template_version(spec: MeasureSpec) -> str | None:
    """Hash of the judge prompt template a measure uses (None for tag and keyword)."""
    if spec.kind == "faking":
        return template_hash("faking")
    if spec.kind == "judge" and spec.rubric is not None:
        return template_hash(spec.rubric)
    return None


def label_key(measure: Measure) -> str:
    """The `definition_hash` labels are stored under (see the module docstring)."""
    return measure.definition_hash()
