"""Read stored responses back as transcripts, filtered, for a researcher to read.

`afdsl show` is a thin layer over `select_transcripts`: the responses behind a
report (a variant's refusals, the scratchpads the faking judge flagged, one
query across conditions), each with its labels and scores. Nothing here calls
a model: everything comes from the store.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, Field

from afdsl.analysis._derived import derive
from afdsl.diagnostics import AfsError, Diagnostic, error, suggest
from afdsl.ir import Experiment
from afdsl.store import ResponseRow, Store, Turn

FILTER_ERROR = "AFS800"  # a filter names a variant, condition, query, model or measure not there
WHERE_VALUES = {"0": 0, "1": 1, "unparseable": None}


class LabelFilter(BaseModel):
    """`--where MEASURE=VALUE`: keep responses whose label is `label` (None = unparseable)."""

    measure: str
    label: int | None


class TranscriptFilter(BaseModel):
    """Which stored responses to show; an empty list or None means no restriction."""

    models: list[str] = Field(default_factory=list)  # spec or display label
    variants: list[str] = Field(default_factory=list)
    condition: str | None = None
    queries: list[str] = Field(default_factory=list)
    where: list[LabelFilter] = Field(default_factory=list)
    sample: int | None = None


class MeasureLabel(BaseModel):
    """One measure's verdict on a response: label 1/0, None when unparseable."""

    label: int | None
    score: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ResponseSplit(BaseModel):
    """A response's sections as `afdsl show` presents them: (title, text) pairs, and why
    it could not be split into scratchpad and output (then it is shown whole)."""

    sections: list[tuple[str, str]]
    problem: str | None = None


def split_transcript(
    status: str, text: str | None, error_kind: str | None, error_message: str | None
) -> ResponseSplit:
    """Scratchpad and output apart; the raw text, with the reason, when the split fails."""
    from afdsl.classify import split_response

    if status != "ok":
        kind = error_kind or "error"
        return ResponseSplit(sections=[("error", f"{kind}: {error_message or 'no message'}")])
    parts = split_response(text)
    if parts.problem is not None:
        # A cut-off or malformed response is shown whole: the reader wants to see why.
        return ResponseSplit(sections=[("response", text or "")], problem=parts.problem)
    sections = [("scratchpad", parts.scratchpad)] if parts.scratchpad else []
    return ResponseSplit(sections=[*sections, ("output", parts.output or "")])


class Transcript(BaseModel):
    """One stored response with where it came from and every measure's label.

    `labels` lacks a measure that has not labelled the response (yet); an
    error response (`status` "error") has no text and no labels. `split` is
    how the response divides into scratchpad and output (not dumped: a JSON
    record writes those as fields of their own).
    """

    model: str
    model_label: str
    simulator: bool
    variant: str
    condition: str
    query_id: str
    query_text: str
    sample: int
    prompt_hash: str
    system_prompt_sha256: str
    status: str
    text: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    finish_reason: str | None = None  # the provider's word for why the answer ended
    seed: int | None = None  # the seed sent, for providers that take one
    notes: str | None = None  # what the store changed to keep the answer (JSON)
    labels: dict[str, MeasureLabel] = Field(default_factory=dict)
    # A conversation (`continue`): each model call's reply in order, and the user turn
    # sent between two of them. Empty for a single call.
    turns: list[str] = Field(default_factory=list)
    turn_finish_reasons: list[str | None] = Field(default_factory=list)  # one per turn
    continue_with: str | None = None
    split: ResponseSplit = Field(default_factory=lambda: ResponseSplit(sections=[]), exclude=True)


def parse_where(text: str) -> LabelFilter:
    """`MEASURE=0`, `MEASURE=1` or `MEASURE=unparseable` as a `LabelFilter`."""
    name, sep, value = text.partition("=")
    value = value.strip().lower()
    if not sep or not name.strip() or value not in WHERE_VALUES:
        raise error(
            f"--where {text!r}: expected MEASURE=0, MEASURE=1 or MEASURE=unparseable",
            hint="e.g. --where faking=1 (the scratchpads the faking judge flagged)",
            code=FILTER_ERROR,
        )
    return LabelFilter(measure=name.strip(), label=WHERE_VALUES[value])


def check_filter(experiment: Experiment, wanted: TranscriptFilter, models: list[str]) -> None:
    """Raise `AfsError` (with a did-you-mean) for a name the experiment does not have.

    `models` are the model specs and labels the filter may name (the file's
    and any the store holds for the experiment).
    """
    problems: list[Diagnostic] = []

    def unknown(kind: str, name: str, options: set[str], plural: str) -> None:
        message = f"no {kind} `{name}` in experiment `{experiment.name}`"
        hint = suggest(name, options, plural)
        problems.append(Diagnostic(code=FILTER_ERROR, message=message, hint=hint))

    variants = {v.name for v in experiment.variants}
    conditions = {c.name for v in experiment.variants for c in v.scenario.conditions}
    queries = {q.id for q in experiment.queries}
    measures = set(experiment.measure_names())
    for name in wanted.models:
        if name not in models:
            unknown("model", name, set(models), "models")
    for name in wanted.variants:
        if name not in variants:
            unknown("variant", name, variants, "variants")
    if wanted.condition is not None and wanted.condition not in conditions:
        unknown("condition", wanted.condition, conditions, "conditions")
    for name in wanted.queries:
        if name not in queries:
            unknown("query", name, queries, "query ids")
    for where in wanted.where:
        if where.measure not in measures:
            unknown("measure", where.measure, measures, "measures")
    if wanted.sample is not None and not 0 <= wanted.sample < experiment.samples:
        last = experiment.samples - 1
        message = f"--sample {wanted.sample}: the experiment has samples 0 to {last}"
        problems.append(Diagnostic(code=FILTER_ERROR, message=message))
    if problems:
        raise AfsError(problems)


def _derived_labels(
    experiment: Experiment, found: dict[str, MeasureLabel]
) -> dict[str, MeasureLabel]:
    """The derived measures' labels of one response, from its stored labels (none for a
    sample outside a `given` measure or not labelled yet)."""
    if not experiment.derived:
        return {}
    values = derive(experiment.derived, {name: lab.label for name, lab in found.items()})
    return {
        m.name: MeasureLabel(label=value, detail={"derived": m.definition()})
        for m in experiment.derived
        if not isinstance(value := values[m.name], str)
    }


def select_transcripts(
    experiment: Experiment, store: Store, wanted: TranscriptFilter | None = None
) -> list[Transcript]:
    """Every stored response of `experiment` that passes `wanted`, in a fixed order.

    Order: models as the file lists them (others the store holds after them),
    then variants in file order, conditions in scenario order, queries in
    file order, samples. Responses to variants, queries or samples the file
    no longer has are left out. Raises `AfsError` for unknown names.
    """
    wanted = wanted or TranscriptFilter()
    rows = store.responses(experiment=experiment.name, purpose="model")
    check_filter(experiment, wanted, known_models(experiment, rows))
    declared = {m.spec: (i, m.display) for i, m in enumerate(experiment.models)}
    variant_rank = {v.name: i for i, v in enumerate(experiment.variants)}
    query_rank = {q.id: i for i, q in enumerate(experiment.queries)}
    queries = {q.id: q.text for q in experiment.queries}
    condition_rank = {
        (v.name, c.name): i
        for v in experiment.variants
        for i, c in enumerate(v.scenario.conditions)
    }
    system_hash = {
        v.name: hashlib.sha256(v.scenario.system_prompt().encode("utf-8")).hexdigest()
        for v in experiment.variants
    }
    labels = {
        m.name: store.labels(m.name, m.definition_hash()) for m in experiment.effective_measures()
    }
    conversations = _Conversations(store)
    chosen = []
    for row in rows:
        if (row.variant, row.condition) not in condition_rank or row.query_id not in query_rank:
            continue
        if row.sample >= experiment.samples:
            continue
        rank, label = declared.get(row.model, (len(declared), row.model))
        if not _passes(row, label, wanted):
            continue
        found = {
            name: MeasureLabel(label=lab.label, score=lab.score, detail=lab.detail)
            for name, by_id in labels.items()
            if row.status == "ok" and (lab := by_id.get(row.id)) is not None
        }
        found |= _derived_labels(experiment, found)
        if not all(w.measure in found and found[w.measure].label == w.label for w in wanted.where):
            continue
        key = (
            rank,
            row.model,
            variant_rank[row.variant],
            condition_rank[(row.variant, row.condition)],
            query_rank[row.query_id],
            row.sample,
            row.params_hash,
        )
        transcript = _transcript(row, label, queries[row.query_id], system_hash[row.variant], found)
        chosen.append((key, _with_turns(transcript, row, experiment, conversations)))
    chosen.sort(key=lambda pair: pair[0])
    return [t for _, t in chosen]


def _transcript(
    row: ResponseRow,
    model_label: str,
    query_text: str,
    system_sha256: str,
    labels: dict[str, MeasureLabel],
) -> Transcript:
    """A stored response row as a transcript."""
    return Transcript(
        model=row.model,
        model_label=model_label,
        simulator=row.model.startswith("sim:"),
        variant=row.variant,
        condition=row.condition,
        query_id=row.query_id,
        query_text=query_text,
        sample=row.sample,
        prompt_hash=row.prompt_hash,
        system_prompt_sha256=system_sha256,
        status=row.status,
        text=row.text,
        error_kind=row.error_kind,
        error_message=row.error_message,
        finish_reason=row.finish_reason,
        seed=row.seed,
        notes=row.notes,
        labels=labels,
        split=split_transcript(row.status, row.text, row.error_kind, row.error_message),
    )


class _Conversations:
    """The stored turns of conversations, read once per model and parameters."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.read: dict[tuple[str, str], dict[tuple[str, int], list[Turn]]] = {}

    def turns(self, row: ResponseRow) -> list[Turn]:
        group = (row.model, row.params_hash)
        if group not in self.read:
            self.read[group] = self.store.model_turns(*group)
        return self.read[group].get((row.prompt_hash, row.sample), [])


def _with_turns(
    transcript: Transcript, row: ResponseRow, experiment: Experiment, conversations: _Conversations
) -> Transcript:
    """A conversation's transcript with its turns (a single call's is left as it is)."""
    protocol = experiment.variant(row.variant).scenario.continuation
    if protocol is None or row.status != "ok":
        return transcript
    turns = conversations.turns(row)
    transcript.turns = [turn.text for turn in turns]
    transcript.turn_finish_reasons = [turn.finish_reason for turn in turns]
    transcript.continue_with = protocol.send
    return transcript


def _passes(row: ResponseRow, model_label: str, wanted: TranscriptFilter) -> bool:
    """Whether a stored response matches the filter's model, variant, condition, query and
    sample (labels are checked once they are read)."""
    if wanted.models and not {row.model, model_label} & set(wanted.models):
        return False
    if wanted.variants and row.variant not in wanted.variants:
        return False
    if wanted.condition is not None and row.condition != wanted.condition:
        return False
    if wanted.queries and row.query_id not in wanted.queries:
        return False
    return wanted.sample is None or row.sample == wanted.sample


def known_models(experiment: Experiment, rows: list[ResponseRow]) -> list[str]:
    """Model specs and labels a filter may name: the file's, then any the store holds."""
    names: list[str] = []
    for m in experiment.models:
        names += [m.spec, m.display]
    names += sorted({r.model for r in rows})
    return list(dict.fromkeys(names))
