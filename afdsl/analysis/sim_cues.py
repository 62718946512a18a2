"""What a `sim:` organism reads in an experiment's prompts, and where it reads nothing.

The simulator's documented behaviour (docs/simulator.md) assumes the prompt shows a
tier cue, an explanation of how RLHF changes the model, and scratchpad
instructions, in wording it recognises. A prompt in other words (a paper's original
text, say) silently turns the corresponding features on; these warnings say so.
"""

from __future__ import annotations

from afdsl import ir
from afdsl.expand import render_user
from afdsl.models.sim import extract_features
from afdsl.registry import OrganismError, organism_named

# Each cue the organism needs, the feature (or tier) that says it is missing, and its name.
CUES = (
    ("tier", "tier cue"),
    ("rlhf_not_explained", "RLHF explanation"),
    ("no_scratchpad", "scratchpad instructions"),
)
NO_TIER = "tier"
CUE_HINT = "docs/simulator.md lists the wording the simulator recognises for each cue"


def variant_features(experiment: ir.Experiment, variant: ir.Variant) -> dict[str, frozenset[str]]:
    """Per condition, the simulator features the variant's prompt turns on (for the
    first query), with `tier:VALUE` for the tier the organism reads."""
    system = variant.scenario.system_prompt()
    out: dict[str, frozenset[str]] = {}
    for condition in variant.scenario.conditions:
        user = render_user(variant.scenario.user_template, condition, experiment.queries[0])
        features = extract_features(system, user)
        out[condition.name] = features.active | {f"tier:{features.tier}"}
    return out


def _missing(features: dict[str, frozenset[str]]) -> set[str]:
    """The cues of CUES that no condition of the prompt shows."""
    missing = {
        feature
        for feature, _ in CUES
        if feature != NO_TIER and all(feature in f for f in features.values())
    }
    if all("tier:unknown" in f for f in features.values()):
        missing.add(NO_TIER)
    return missing


def cue_warnings(experiment: ir.Experiment) -> list[str]:
    """One warning per variant, organism and cue that the prompt never shows: missing
    from the base too, so it is not what the variant set out to remove."""
    organisms = [m.spec for m in experiment.models if m.provider == "sim" and _drive(m.name) > 0]
    if not organisms or not experiment.queries:
        return []
    base = _missing(variant_features(experiment, experiment.variants[0]))
    warnings: list[str] = []
    for variant in experiment.variants:
        missing = base & _missing(variant_features(experiment, variant))
        names = [name for feature, name in CUES if feature in missing]
        if not names:
            continue
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        warnings += [
            f"variant `{variant.name}`: {spec} recognises no {listed} in this prompt; its "
            "numbers here do not follow its documented behaviour"
            for spec in organisms
        ]
    return warnings


def features_line(experiment: ir.Experiment, variant: ir.Variant) -> str:
    """`free/paid: rlhf_not_explained`: the tier the organism reads in each condition,
    then the features the variant turns on (for `base`, all it turns on; for another
    variant, those the base does not)."""
    mine = variant_features(experiment, variant)
    tiers = "/".join(_tier(features) for features in mine.values())
    turned_on = _features(mine)
    if variant.name != ir.BASE_VARIANT:
        turned_on -= _features(variant_features(experiment, experiment.variants[0]))
    return f"{tiers}: {', '.join(sorted(turned_on)) or 'no feature'}"


def _tier(features: frozenset[str]) -> str:
    return next((f.removeprefix("tier:") for f in features if f.startswith("tier:")), "?")


def _features(by_condition: dict[str, frozenset[str]]) -> set[str]:
    return {f for features in by_condition.values() for f in features if not f.startswith("tier:")}


def _drive(name: str) -> float:
    """The strategic drive of organism `name` (0 for the judge or an unknown name)."""
    try:
        return organism_named(name).strength
    except OrganismError:
        return 0.0
