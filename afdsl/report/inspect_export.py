"""A stored run as Inspect AI eval logs (`afdsl show --export-inspect`): one per model,
which `inspect view` opens. Written with the `inspect_ai` package's own writer."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from afdsl.analysis import Transcript
from afdsl.inspect_io import require_inspect
from afdsl.ir import Experiment, Prompt


def _model_name(spec: str) -> str:
    """Inspect names models `provider/name`."""
    return spec.replace(":", "/", 1)


def _file_name(experiment: str, spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{experiment}_{spec}") + ".eval"


def export_logs(
    experiment: Experiment,
    prompts: Iterable[Prompt],
    transcripts: Sequence[Transcript],
    out: Path,
) -> list[tuple[Path, int]]:
    """Write the answered `transcripts` as one Inspect log per model in `out`, each
    sample with its prompt (from the experiment's compiled `prompts`); returns
    (path, samples) per log."""
    require_inspect()
    from inspect_ai.log import write_eval_log

    by_hash = {p.prompt_hash: p for p in prompts}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    models = dict.fromkeys(t.model for t in transcripts if t.status == "ok")
    for spec in models:
        mine = [t for t in transcripts if t.model == spec and t.status == "ok"]
        samples = [_sample(t, by_hash.get(t.prompt_hash)) for t in mine]
        path = out / _file_name(experiment.name, spec)
        write_eval_log(_log(experiment, spec, samples), str(path))
        written.append((path, len(samples)))
    return written


def _sample(t: Transcript, prompt: Prompt | None) -> Any:
    from inspect_ai.log import EvalSample
    from inspect_ai.model import (
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageUser,
        ModelOutput,
    )
    from inspect_ai.scorer import Score

    messages: list[Any] = []
    if prompt is not None:
        messages.append(ChatMessageSystem(content=prompt.system))
        for m in prompt.messages:
            kind = ChatMessageUser if m.role == "user" else ChatMessageAssistant
            messages.append(kind(content=m.content))
    else:
        messages.append(ChatMessageUser(content=t.query_text))
    text = t.text or ""
    scores = {
        name: Score(value=found.label, metadata={"score": found.score})
        for name, found in t.labels.items()
        if found.label is not None
    }
    return EvalSample(
        id=f"{t.variant}/{t.condition}/{t.query_id}",
        epoch=t.sample + 1,
        input=messages,
        target="",
        messages=[*messages, ChatMessageAssistant(content=text)],
        output=ModelOutput.from_content(_model_name(t.model), text),
        scores=scores,
        metadata={
            "variant": t.variant,
            "condition": t.condition,
            "query_id": t.query_id,
            "sample": t.sample,
            "prompt_hash": t.prompt_hash,
            "model": t.model,
        },
    )


def _log(experiment: Experiment, spec: str, samples: list[Any]) -> Any:
    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalLog,
        EvalMetric,
        EvalResults,
        EvalScore,
        EvalSpec,
    )

    names = dict.fromkeys(name for s in samples for name in s.scores)
    results = EvalResults(
        total_samples=len(samples),
        completed_samples=len(samples),
        scores=[_score(name, samples, EvalScore, EvalMetric) for name in names],
    )
    spec_ = EvalSpec(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        task=experiment.name,
        dataset=EvalDataset(name=experiment.name, samples=len(experiment.queries)),
        model=_model_name(spec),
        config=EvalConfig(epochs=experiment.samples),
        metadata={"afdsl_spec": spec, "source": "afdsl export-inspect"},
    )
    return EvalLog(status="success", eval=spec_, results=results, samples=samples)


def _score(name: str, samples: list[Any], score_cls: Any, metric_cls: Any) -> Any:
    values = [float(s.scores[name].value) for s in samples if name in s.scores]
    mean = sum(values) / len(values) if values else 0.0
    metric = metric_cls(name="mean", value=mean)
    return score_cls(name=name, scorer=name, metrics={"mean": metric})
