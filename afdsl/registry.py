"""What the checker and the backends both read: the model providers and the simulated
organisms.

One table of each, so a spec the checker accepts (`provider:name`, `sim:NAME`)
is one a backend exists for, and `check` never imports the backends.
"""

from __future__ import annotations

from dataclasses import dataclass

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
