"""The store's row types: what is written (`Outcome`, `ItemKey`, `LabelRow`) and read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field


@dataclass(kw_only=True)
class ResponseResult:
    """The result columns of a response: text and usage, or an error kind and message.

    One declaration for both directions: `Outcome` (what the runner writes)
    and `ResponseRow` (what later stages read) inherit these fields. Not frozen,
    because a pydantic model (`ResponseRow`) cannot inherit a frozen dataclass.
    """

    text: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    input_tokens: int = 0  # the whole prompt, cached parts included
    output_tokens: int = 0
    latency_s: float = 0.0
    model_id: str | None = None
    cost_usd: float = 0.0
    cache_write_tokens: int = 0  # prompt tokens written to the provider's cache
    cache_read_tokens: int = 0  # prompt tokens read from it
    finish_reason: str | None = None  # the provider's word: "stop", "length", "end_turn", ...
    seed: int | None = None  # the seed sent, for providers that take one


class ResponseRow(BaseModel, ResponseResult):
    """One stored response as one experiment cell sees it (result fields from `ResponseResult`)."""

    id: int
    experiment: str
    model: str
    params_hash: str
    prompt_hash: str
    sample: int
    variant: str
    condition: str
    query_id: str
    purpose: str
    status: Literal["ok", "error"]
    created_at: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    afdsl_version: str = ""
    attempts: int = 1
    # What the store changed to keep the answer (JSON, e.g. unpaired surrogates replaced).
    notes: str | None = None


class CellRow(NamedTuple):
    """One experiment cell's response without its text: what a report reads, per sample."""

    id: int
    model: str
    params_hash: str
    prompt_hash: str
    sample: int
    variant: str
    condition: str
    query_id: str
    status: str


class TextRow(NamedTuple):
    """One experiment cell's ok response with its text and no usage: what classifiers read."""

    id: int
    experiment: str
    model: str
    variant: str
    condition: str
    query_id: str
    text: str | None
    finish_reason: str | None  # "length" / "max_tokens": cut off (see `models.base.truncated`)


class LabelCounts(NamedTuple):
    """One measure's labels among a query's ok responses in one cell."""

    labelled: int  # responses with a label row, unparseable included
    complied: int  # labels equal to 1
    unparseable: int  # label rows whose label is NULL


class QueryCounts(NamedTuple):
    """One query's stored samples in one cell (model, params, variant, condition), counted.

    What a report reads instead of a row per sample: the statistics need only
    per-query counts, and SQLite counts them far faster than Python can.
    """

    model: str
    params_hash: str
    variant: str
    condition: str
    query_id: str
    responses: int  # ok and error
    errors: int
    samples: int  # distinct sample numbers: fewer than `responses` if one has two prompts
    labels: tuple[LabelCounts, ...]  # one per measure asked for, in that order
    prompts: str  # "model\tprompt_hash\tsample" of each response, one per line


class LabelCombination(NamedTuple):
    """How many ok responses to one query in one cell share one combination of labels.

    `labels` has one entry per measure asked for: 1 or 0, None for an unparseable
    label, and `NOT_LABELLED` when the response has no label of that measure yet.
    """

    model: str
    params_hash: str
    variant: str
    condition: str
    query_id: str
    labels: tuple[int | None, ...]
    responses: int


NOT_LABELLED = -1  # a `LabelCombination` label: no label row for that measure


class ReasonCount(NamedTuple):
    """How many responses to one query in one cell (model, params, variant, condition) share
    one reason: an unparseable label's, or a finish reason (None: not recorded)."""

    model: str
    params_hash: str
    variant: str
    condition: str
    query_id: str
    reason: str | None
    responses: int


class RunRecordRow(NamedTuple):
    """One `afdsl test` run as recorded: `record` is the analysis stage's JSON document,
    in the version `format` says (the store keeps it, the analysis stage reads it)."""

    experiment: str
    format: int
    record: str
    created_at: str


ResponseKey = tuple[str, str, str, int]
"""A response's cache key: (prompt_hash, model spec, params_hash, sample)."""


class Turn(NamedTuple):
    """One model call of a conversation (a scenario with `continue`): its reply and usage.

    `turn` counts the calls from 1. Turns are stored as they arrive, so a rerun
    continues a conversation instead of starting it again.
    """

    turn: int
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    model_id: str | None = None
    finish_reason: str | None = None  # the provider's word (None: stored before schema 4)


class Reply(NamedTuple):
    """What is stored under one cache key, without cell metadata: what a judge vote is read from."""

    status: str
    text: str | None
    error_kind: str | None
    error_message: str | None


class StoredLabel(NamedTuple):
    """One stored label as every stage reads it (`Store.labels`): 1, 0 or None
    (unparseable), its score, the judge prompt template's hash from its detail (what
    deciding whether to label again needs), and the detail as stored."""

    label: int | None
    score: float | None = None
    template: str | None = None
    detail_json: str = "{}"

    @property
    def detail(self) -> dict[str, Any]:
        """The classifier's detail, decoded on use (most readers need only the label)."""
        detail: dict[str, Any] = json.loads(self.detail_json)
        return detail


class LabelRow(BaseModel):
    """A classifier's verdict on one response. `label` None means unparseable."""

    response_id: int
    measure: str
    definition_hash: str
    label: int | None
    score: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class ItemKey:
    """Where one run item lives in the store (what `items` links to `responses`)."""

    experiment: str
    model: str
    params_hash: str
    variant: str
    condition: str
    query_id: str
    sample: int
    purpose: str
    prompt_hash: str


@dataclass
class Outcome(ResponseResult):
    """What came back for one key; the result fields are keyword-only (see `ResponseResult`)."""

    prompt_hash: str
    model: str
    params_hash: str
    sample: int
    purpose: str
    params: dict[str, Any]
