"""Why a hypothesis could not be tested, in the reader's terms, and whether a rerun can help.

A hypothesis needs labels in each cell its terms name (`gap(v)`: v's training
and deployment; `rate(v, c)`: v's c). A cell whose every answer came back but
none could be read (a model that does not follow the format) will not change
on a rerun: the hypothesis fails for that reason (exit 1). A cell with failed
calls, missing samples or labels still pending might: that stays a problem of
the run (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from afdsl.analysis._record import Problem
from afdsl.ir import DerivedMeasure, Experiment, Hypothesis
from afdsl.stats.models import AnalysisResult
from afdsl.stats.table import LabelTable
from afdsl.store import LabelCounts

CellKey = tuple[str, str, str]  # (model display name, variant, condition)


def reason_key(reason: str | None) -> str:
    """The reason a report counts: the stored one without its note in parentheses
    ("neither tag in output (it has `<Rejected/>`...)" counts as "neither tag in output")."""
    return (reason or "unparseable").split(" (", 1)[0]


def top_reasons(reasons: dict[str, int], shown: int = 2) -> str:
    """`29 neither tag in output, 3 truncated`: the most common reasons first."""
    common = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{n} {reason}" for reason, n in common[:shown])
    others = sum(n for _, n in common[shown:])
    return text + (f", {others} other" if others else "")


@dataclass
class CellCounts:
    """One model x variant x condition on the compliance measure."""

    expected: int = 0
    answered: int = 0  # ok responses
    errors: int = 0
    labelled: int = 0  # readable labels
    unparseable: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, answered: int, errors: int, labels: LabelCounts) -> None:
        """One query's responses and its labels of the measure."""
        self.answered += answered
        self.errors += errors
        self.labelled += labels.labelled - labels.unparseable
        self.unparseable += labels.unparseable

    @property
    def unreadable(self) -> bool:
        """Every expected answer came back, and none has a readable label."""
        complete = self.answered >= self.expected and not self.errors
        return complete and self.answered > 0 and self.unparseable == self.answered


def needed_cells(h: Hypothesis, training: str, deployment: str) -> list[tuple[str, str]]:
    """The (variant, condition) cells a hypothesis reads, in the order it names them."""
    cells: list[tuple[str, str]] = []
    for weighted in h.terms:
        term = weighted.term
        if term.kind == "gap":
            cells += [(term.variant, training), (term.variant, deployment)]
        else:
            cells.append((term.variant, term.condition or ""))
    return list(dict.fromkeys(cells))


def unreadable_reason(
    h: Hypothesis, model: str, cells: dict[CellKey, CellCounts], training: str, deployment: str
) -> str | None:
    """`all 32 training labels of base are unparseable: 29 neither tag in output, 3
    truncated` for each needed cell without labels, when every such cell is unreadable;
    None when some cell lacks labels for a reason a rerun may fix (or none lacks any)."""
    found = []
    for variant, condition in needed_cells(h, training, deployment):
        c = cells.get((model, variant, condition))
        if c is not None and c.labelled:
            continue
        if c is None or not c.unreadable:
            return None
        found.append(
            f"all {c.answered} {condition} labels of {variant} are unparseable: "
            + top_reasons(c.reasons)
        )
    return "; ".join(found) or None


def unreadable_problems(
    experiment: Experiment,
    hypotheses: list[Hypothesis],
    result: AnalysisResult | None,
    cells: dict[CellKey, CellCounts],
) -> list[Problem]:
    """A problem of kind `unreadable` for each hypothesis and model with no verdict because
    the labels it needs are all unparseable."""
    tested = {(h.name, h.model or "") for h in result.hypotheses} if result else set()
    found = []
    for h in hypotheses:
        # A cross-model hypothesis reads several models' cells: the statistics say why
        # it was not tested.
        for model in tested_on(experiment, h):
            if (h.name, model) in tested:
                continue
            reason = unreadable_reason(h, model, cells, experiment.training, experiment.deployment)
            if reason is not None:
                detail = f"not tested: {h.name} ({model}): {reason}"
                found.append(
                    Problem(kind="unreadable", detail=detail, hypothesis=h.name, model=model)
                )
    return found


def _term_cells(
    h: Hypothesis, model: str, conditions: tuple[str, str], displays: dict[str, str]
) -> list[CellKey]:
    """The (model, variant, condition) cells `h` reads on `model`; a pinned term's cells
    are its model's (`displays`: short name -> display name)."""
    cells: list[CellKey] = []
    for weighted in h.terms:
        term = weighted.term
        owner = displays.get(term.model, model) if term.model else model
        if term.kind == "gap":
            cells += [(owner, term.variant, conditions[0]), (owner, term.variant, conditions[1])]
        else:
            cells.append((owner, term.variant, term.condition or ""))
    return list(dict.fromkeys(cells))


def outside_reason(
    measure: DerivedMeasure,
    needed: list[CellKey],
    table: LabelTable,
    cells: dict[CellKey, CellCounts],
    pinned: bool,
) -> str | None:
    """Why a hypothesis on the `given` measure has no value in a cell whose answers all
    came back: no answer there is inside the measure (its condition never holds) with a
    readable label. None when a cell lacks answers, which a rerun may bring."""
    target, condition = (o.text() for o in measure.operands)
    found = []
    for key in needed:
        held = table.cell(*key)
        if held is not None and any(held.samples.values()):
            continue
        c = cells.get(key)
        if c is None or c.answered < c.expected or c.errors or not c.answered:
            return None
        model, variant, cond = key
        found.append(f"{variant} {cond}{f' of {model}' if pinned else ''} ({c.answered} answers)")
    if not found:
        return None
    return (
        f"`{measure.name}` ({measure.definition()}) has no sample in {', '.join(found)}: "
        f"no answer there has `{condition}` holding and a readable `{target}`"
    )


def outside_problems(
    experiment: Experiment,
    hypotheses: list[Hypothesis],
    result: AnalysisResult,
    table: LabelTable,
    cells: dict[CellKey, CellCounts],
) -> list[Problem]:
    """An `unreadable` problem (it fails: a rerun would draw the same labels) for each
    hypothesis and model left untested because its `given` measure is empty in a cell
    (a cross-model hypothesis: once, model "")."""
    derived = {m.name: m for m in experiment.derived if m.kind == "given"}
    tested = {(h.name, "" if h.models else h.model or "") for h in result.hypotheses}
    conditions = (experiment.training, experiment.deployment)
    displays = {m.short_name: m.display for m in experiment.models}
    found = []
    for h in hypotheses:
        measure = derived.get(h.measure or "")
        if measure is None:
            continue
        pinned = bool(h.pinned_models)
        for model in [""] if pinned else tested_on(experiment, h):
            if (h.name, model) in tested:
                continue
            needed = _term_cells(h, model, conditions, displays)
            reason = outside_reason(measure, needed, table, cells, pinned)
            if reason is not None:
                detail = f"not tested: {h.name} ({model or 'across models'}): {reason}"
                found.append(
                    Problem(kind="unreadable", detail=detail, hypothesis=h.name, model=model)
                )
    return found


def tested_on(experiment: Experiment, h: Hypothesis) -> list[str]:
    """The models (display names) an unpinned hypothesis is tested on: every one, or its
    `for` model; none for a cross-model hypothesis."""
    from afdsl.stats.hypotheses import applies_to

    return [m.display for m in experiment.models if applies_to(h, m.display)]
