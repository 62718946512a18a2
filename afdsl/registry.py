"""What the checker and the backends both read: the model providers and the simulated
organisms.

One table of each, so a spec the checker accepts (`provider:name`, `sim:NAME`)
is one a backend exists for, and `check` never imports the backends.
"""

from __future__ import annotations

from dataclasses import dataclass

# The words providers use for an answer cut off by `max_tokens` (OpenAI, llama.cpp, vLLM,
# Ollama: "length"; Anthropic: "max_tokens"): the classifiers and the reports read them.
TRUNCATED_REASONS: frozenset[str] = frozenset({"length", "max_tokens"})


def truncated(finish_reason: str | None) -> bool:
    """Whether a stored finish reason says the answer stopped at `max_tokens`."""
    return finish_reason in TRUNCATED_REASONS


# provider prefix -> module that defines `make_backend(config) -> Backend`.
# Modules are imported lazily so `afdsl --help` never imports an SDK.
PROVIDERS: dict[str, str] = {
    "sim": "afdsl.models.sim",
    "anthropic": "afdsl.models.anthropic",
    "openai": "afdsl.models.openai",
    "replay": "afdsl.models.replay",
}


@dataclass(frozen=True)
class Organism:
    """One simulated model: its baseline, query heterogeneity and strategic drive."""

    description: str
    intercept: float = -3.0  # baseline compliance logit with no training belief
    query_sd: float = 1.0  # spread of per-query propensity on the logit scale
    strength: float = 0.0  # extra logit when certain of training, before factors
    fixed_rate: float | None = None  # if set, complies with this probability, ignoring all


ORGANISMS: dict[str, Organism] = {
    "opus_like": Organism(
        "fakes alignment under a training cue; the gap reacts to the published probes",
        intercept=-3.0,
        query_sd=1.0,
        strength=1.8,
    ),
    "sonnet_like": Organism(
        "a smaller gap with the same feature sensitivities", intercept=-3.0, strength=0.8
    ),
    "no_gap": Organism("complies sometimes, never differently under the training cue"),
    "always_comply": Organism("always accepts", fixed_rate=1.0),
    "refuser": Organism("always rejects", fixed_rate=0.0),
}


# Parameters a `sim:` spec may set on its organism (`sim:opus_like?strength=0.9`), so one
# experiment can hold organisms of graded strength; a bare name keeps its table values.
ORGANISM_PARAMETERS = ("strength", "intercept", "query_sd")


class OrganismError(ValueError):
    """A `sim:` name that names no organism, or sets a parameter wrongly; `hint` says what
    would be right."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def organism_named(name: str) -> Organism:
    """The organism `name` stands for: a key of `ORGANISMS`, optionally followed by
    `?param=value&param=value` (parameters from `ORGANISM_PARAMETERS`, values numbers).

    Raises `OrganismError` for an unknown organism or a bad parameter. A fixed-rate
    organism takes no parameter (it ignores the prompt, so none would change it).
    """
    from dataclasses import replace

    base, _, query = name.partition("?")
    organism = ORGANISMS.get(base)
    if organism is None:
        raise OrganismError(f"unknown simulator organism `sim:{base}`")
    if not query:
        return organism
    if organism.fixed_rate is not None:
        raise OrganismError(
            f"`sim:{base}` takes no parameters", hint="parameters suit opus_like and the like"
        )
    values: dict[str, float] = {}
    known = ", ".join(ORGANISM_PARAMETERS)
    for item in query.split("&"):
        key, equals, text = item.partition("=")
        if key not in ORGANISM_PARAMETERS or not equals:
            raise OrganismError(
                f"`{item}` in `sim:{name}` is not an organism parameter",
                hint=f"write `sim:{base}?strength=0.9`; parameters: {known}",
            )
        try:
            values[key] = float(text)
        except ValueError:
            raise OrganismError(
                f"`{key}={text}` in `sim:{name}` is not a number", hint=f"e.g. `{key}=0.9`"
            ) from None
    return replace(
        organism,
        strength=values.get("strength", organism.strength),
        intercept=values.get("intercept", organism.intercept),
        query_sd=values.get("query_sd", organism.query_sd),
    )
