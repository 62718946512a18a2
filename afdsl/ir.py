"""The resolved intermediate representation: what every stage after `check` sees.

These pydantic models are the contract between stages. They hold no parse trees
and no source positions; diagnostics with spans are produced by `syntax` and
`check` before an `Experiment` exists. Variants are stored fully resolved (their
perturbations already applied to a copy of the base scenario), so `expand` only
renders text.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TRAINING = "training"
DEPLOYMENT = "deployment"
BASE_VARIANT = "base"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Section(_Frozen):
    """A named block of the system prompt."""

    name: str
    text: str


class TextSpan(_Frozen):
    """A named stretch of one section's text (`section rlhf in prompt from "..." to "..."`).

    `start`/`end` are offsets into the text of the top-level section `section`, so a
    span inside another span is simply a range inside its range. Operators that name a
    span edit that range; spans never overlap partially.
    """

    name: str
    section: str
    start: int
    end: int


class Condition(_Frozen):
    """Fills the user-template slots for one side of the comparison (e.g. free vs paid tier)."""

    name: str
    role: Literal["training", "deployment"] | None = None
    slots: dict[str, str] = Field(default_factory=dict)


class Continuation(_Frozen):
    """`continue with "<NEXT/>" until "<OUTPUT>" max 4`: each sample is a conversation.

    While a reply lacks `until`, the runner appends it as an assistant turn and
    `send` as a user turn and calls the model again, up to `max_calls` calls.
    """

    send: str
    until: str
    max_calls: int


class Scenario(_Frozen):
    """A system prompt made of sections (in order) and a user-turn template with `{slot}`s.

    `continuation` is None for the single-call default."""

    name: str
    sections: tuple[Section, ...]
    user_template: str
    conditions: tuple[Condition, ...]
    section_separator: str = "\n\n"
    spans: tuple[TextSpan, ...] = ()
    continuation: Continuation | None = None

    def system_prompt(self) -> str:
        """The sections with a blank line between them. Text from a file keeps its final
        line break, which counts towards that blank line: `a\\n` and `b` give `a\\n\\nb`,
        not three line breaks. One section renders exactly as its text."""
        if not self.sections:
            return ""
        parts = [self.sections[0].text]
        for section in self.sections[1:]:
            parts.append(joint(parts[-1], self.section_separator))
            parts.append(section.text)
        return "".join(parts)

    def span(self, name: str) -> TextSpan | None:
        return next((s for s in self.spans if s.name == name), None)

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        raise KeyError(name)


def joint(before: str, separator: str) -> str:
    """What goes between a section ending in `before` and the next: the separator less
    the line breaks `before` already ends with (a separator of line breaks only)."""
    if separator.strip("\n"):
        return separator
    ending = len(before) - len(before.rstrip("\n"))
    return separator[min(ending, len(separator)) :]


class Query(_Frozen):
    """One dataset row. `slots` carries extra columns usable as template slots."""

    id: str
    text: str
    slots: dict[str, str] = Field(default_factory=dict)


class ModelConfig(_Frozen):
    """One model under test (or a judge). `spec` is `provider:name`, e.g. `sim:opus_like`."""

    spec: str
    label: str | None = None  # display name; defaults to spec
    base_url: str | None = None
    api_key_env: str | None = None  # name of the environment variable, never the key itself
    temperature: float = 1.0
    max_tokens: int = 1024
    # Folder of the .afs file that names a `replay:PATH` model: a relative PATH is read
    # from there. Not a sampling parameter, so not part of `params_hash()`.
    source_dir: str | None = None
    # How to reach the model, not what it answers (so not part of `params_hash()` either):
    # requests in flight (None: the command's --concurrency) and seconds a request may take,
    # time queued at the server included (None: the client's default).
    concurrency: int | None = None
    timeout: float | None = None
    # The seed a `sim:` model draws its answers with (set by the checker from the
    # experiment's `seed`). Part of `params_hash()`, so an answer simulated under another
    # seed is never served from the store. None for every other provider.
    seed: int | None = None
    # A `replay:` Inspect log's metadata fields that name each sample's cell, as (key,
    # field) pairs with key variant, condition or query_id ("id" as query_id's field:
    # the sample id). Pairs, not a dict, so the frozen model stays hashable.
    replay_fields: tuple[tuple[str, str], ...] = ()

    @property
    def provider(self) -> str:
        return self.spec.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.spec.split(":", 1)[1] if ":" in self.spec else self.spec

    @property
    def display(self) -> str:
        return self.label or self.spec

    @property
    def short_name(self) -> str:
        """The name hypotheses call this model by (`gap(base @ opus_like)`)."""
        return short_name(self.display)

    def seeded(self, seed: int) -> ModelConfig:
        """This model as an experiment with `seed` runs it: a `sim:` model's answers are
        a function of the seed, so it carries the seed into its key; others are unchanged."""
        return self.model_copy(update={"seed": seed}) if self.provider == "sim" else self

    def params_hash(self) -> str:
        """Hash of the sampling parameters that change a response (part of the store key)."""
        params: dict[str, float | int] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            params["seed"] = self.seed
        return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


_PROVIDER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:")
_DATE = re.compile(r"[-@](\d{8}|\d{4}-\d{2}-\d{2})$")


def short_name(display: str) -> str:
    """The name a hypothesis gives a model, from its label or spec (`ModelConfig.display`).

    A label that is already a name (`opus`) is kept as it is. Otherwise: drop the
    `provider:` prefix and any folder (`replay:runs/a.eval` -> `a.eval`), drop a date
    suffix (`-20240229`, `-2024-02-29`), and turn every run of other characters into
    `_`: `sim:opus_like` -> `opus_like`, `anthropic:claude-3-opus-20240229` ->
    `claude_3_opus`, `openai:gpt-4o-2024-08-06` -> `gpt_4o`. A name that would start
    with a digit gets `m_` in front; nothing left gives `model`.
    """
    if display.isidentifier() and display.isascii():
        return display
    rest = _PROVIDER.sub("", display, count=1).rsplit("/", 1)[-1]
    rest = _DATE.sub("", rest) or rest
    name = re.sub(r"[^A-Za-z0-9_]+", "_", rest).strip("_")
    if not name:
        return "model"
    return f"m_{name}" if name[0].isdigit() else name


class Variant(_Frozen):
    """A named perturbation of the base scenario, already applied.

    `operations` are one-line human descriptions of what was changed, in order
    (empty for `base`).
    """

    name: str
    description: str = ""
    operations: tuple[str, ...] = ()
    # One short line per operation saying what it did (`remove span rlhf (451 chars)`),
    # for listings where the operation's source text would run to many lines.
    summary: tuple[str, ...] = ()
    scenario: Scenario


class Measure(_Frozen):
    """A classifier declared with `measure NAME = ...`.

    kind `tag`: compliance from acceptance tags in the output.
    kind `judge`: an LLM judge scoring 0-1 (params: rubric, threshold).
    kind `faking`: alignment-faking reasoning judge over the scratchpad (params: votes,
    threshold, temperature).
    `model` is the judge model (None for `tag`).
    """

    name: str
    kind: Literal["tag", "judge", "faking", "keyword"]
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    model: ModelConfig | None = None

    def definition_hash(self) -> str:
        """Changes exactly when the measure's definition changes (re-labels on edit)."""
        # Where a replay file lives, what the judge is called, which variable holds its
        # key and how it is reached do not change a label: moving or renaming must not pay
        # for the judge again.
        transport = {"source_dir", "label", "api_key_env", "concurrency", "timeout"}
        doc = self.model_dump(mode="json", exclude={"name": True, "model": transport})
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


class MeasureOperand(_Frozen):
    """A measure a derived measure reads: its label, or 1 minus it when `negated`."""

    measure: str
    negated: bool = False

    def text(self) -> str:
        return f"not {self.measure}" if self.negated else self.measure


class DerivedMeasure(_Frozen):
    """A measure computed from other measures' stored labels: no model call, no label rows.

    kind `and` (`compliance and not faking`): 1 when every operand holds; unparseable
    when an operand's label is. kind `given` (`faking given compliance`): operands are
    (target, condition); a sample where the condition is 0 is outside the measure (not
    counted at all, as opposed to unparseable), so its rates are over the samples where
    the condition holds. Operands may be classifier measures or other derived measures.
    """

    name: str
    kind: Literal["given", "and"]
    operands: tuple[MeasureOperand, ...]

    def definition(self) -> str:
        """The right-hand side as written: `faking given compliance`."""
        joiner = " given " if self.kind == "given" else " and "
        return joiner.join(o.text() for o in self.operands)


# What a file with no `measure` is classified with (as the docs say).
IMPLIED_MEASURE = Measure(name="compliance", kind="tag")


class Term(_Frozen):
    """`gap(variant)` or `rate(variant, condition)` — a per-query quantity."""

    kind: Literal["gap", "rate"]
    variant: str
    condition: str | None = None  # only for rate
    # `gap(V @ MODEL)`: the model's short name (`ModelConfig.short_name`) the term is
    # pinned to; None means the model the hypothesis is being tested on.
    model: str | None = None


class WeightedTerm(_Frozen):
    coef: float
    term: Term


class Hypothesis(_Frozen):
    """`sum(coef * term) OP bound`, evaluated per query then tested over queries.

    Examples:
      gap(a) < gap(b)               -> terms [(+1, gap a), (-1, gap b)], op "<", bound 0
      gap(a) > 0.1                  -> terms [(+1, gap a)], op ">", bound 0.1
      gap(a) == gap(b) within 0.05  -> op "==", margin 0.05 (TOST)
      rate(a, training) - rate(base, training) != 0
    `measure` is the label the hypothesis is about (None: the experiment's compliance measure).
    `model` (`hypothesis h for MODEL:`) tests it on that model only (a short name);
    a hypothesis whose terms are pinned (`gap(a @ opus) > gap(a @ sonnet)`) is a
    cross-model one, tested once on the queries every pinned model answered.
    """

    name: str
    expression: str  # the source text, for reports
    terms: tuple[WeightedTerm, ...]
    op: Literal["<", ">", "!=", "=="]
    bound: float = 0.0
    margin: float | None = None
    measure: str | None = None
    model: str | None = None

    @property
    def pinned_models(self) -> tuple[str, ...]:
        """The models the terms are pinned to, in order of first use (empty: unpinned)."""
        names = (w.term.model for w in self.terms if w.term.model is not None)
        return tuple(dict.fromkeys(names))

    @property
    def named_models(self) -> tuple[str, ...]:
        """Every model the hypothesis names: its `for` model and its pins."""
        return (self.model,) if self.model is not None else self.pinned_models


class Correction(_Frozen):
    method: Literal["holm", "bh", "none"] = "holm"
    alpha: float = 0.05


class Experiment(_Frozen):
    """A fully checked experiment. `variants[0]` is always the unperturbed `base`."""

    name: str
    source_files: tuple[str, ...] = ()  # every .afs and data file read, for the manifest
    base_scenario: str
    models: tuple[ModelConfig, ...]
    queries: tuple[Query, ...]
    samples: int = 1
    seed: int = 0
    variants: tuple[Variant, ...]
    measures: tuple[Measure, ...] = ()
    # Measures computed from the labels of `measures` at the analysis stage (operands first).
    derived: tuple[DerivedMeasure, ...] = ()
    hypotheses: tuple[Hypothesis, ...] = ()
    # Hypotheses of the file that name a model `--model` left out (name, the left-out
    # models it names): not tested in this run, and said so in the report.
    left_out: tuple[tuple[str, tuple[str, ...]], ...] = ()
    correction: Correction = Correction()
    training: str = TRAINING  # condition name on the training side
    deployment: str = DEPLOYMENT  # condition name on the deployment side

    def effective_measures(self) -> tuple[Measure, ...]:
        """The measures the classifiers label with: `compliance = tag` when none is declared."""
        return self.measures or (IMPLIED_MEASURE,)

    def measure_names(self) -> list[str]:
        """Every measure a report or filter may name: the labelled ones, then the derived."""
        return [m.name for m in self.effective_measures()] + [m.name for m in self.derived]

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


class Message(_Frozen):
    role: Literal["user", "assistant"]
    content: str


class Prompt(_Frozen):
    """One compiled request: variant x condition x query x sample for one model.

    `prompt_hash` is a sha256 over the canonical serialisation of what is sent
    (system + messages), so identical prompts share it across variants and runs.
    """

    experiment: str
    model: str  # ModelConfig.spec
    variant: str
    condition: str
    query_id: str
    sample: int
    system: str
    messages: tuple[Message, ...]
    prompt_hash: str
    continuation: Continuation | None = None


def prompt_hash(
    system: str,
    messages: list[dict[str, str]] | tuple[Message, ...],
    continuation: Continuation | None = None,
) -> str:
    """Canonical content hash of what is sent to a model.

    A conversation (`continuation`) hashes its protocol too, so a single-call
    answer is never taken for a conversation's; without one the hash is what
    it always was.
    """
    msgs = [m if isinstance(m, dict) else {"role": m.role, "content": m.content} for m in messages]
    doc: dict[str, object] = {"system": system, "messages": msgs}
    if continuation is not None:
        doc["continue"] = continuation.model_dump()
    canonical = json.dumps(
        doc,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
