"""Spans stay on their text whatever the edit: properties over generated prompts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from afdsl import ir
from afdsl.diagnostics import Span
from afdsl.perturb import apply_operator
from afdsl.spans import overlap_partially
from afdsl.syntax import _ast as A

WORDS = st.sampled_from(["alpha", "beta", "gamma", "RLHF", "delta", "a", "bb"])
SPOT = Span(path="p", line=1, col=1)


@st.composite
def prompts(draw: st.DrawFn) -> ir.Scenario:
    """A section of words and line breaks, with nested spans on word edges."""
    words = draw(st.lists(WORDS, min_size=4, max_size=30))
    gaps = draw(st.lists(st.sampled_from([" ", "\n", "\n\n"]), min_size=len(words)))
    text, starts, ends = "", [], []
    for word, gap in zip(words, gaps, strict=False):
        starts.append(len(text))
        text += word
        ends.append(len(text))
        text += gap
    spans: list[ir.TextSpan] = []
    for n in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(words) - 1))
        j = draw(st.integers(i, len(words) - 1))
        span = ir.TextSpan(name=f"s{n}", section="p", start=starts[i], end=ends[j])
        if not any(overlap_partially(span, other) for other in spans):
            spans.append(span)
    sections = (ir.Section(name="p", text=text),)
    return ir.Scenario(
        name="x", sections=sections, user_template="{query}", conditions=(), spans=tuple(spans)
    )


def _texts(scenario: ir.Scenario) -> dict[str, str]:
    text = scenario.sections[0].text
    return {s.name: text[s.start : s.end] for s in scenario.spans}


def _ident(name: str) -> A.Ident:
    return A.Ident(name, SPOT)


def _text(value: str) -> A.Text:
    return A.Text(value, SPOT, "p")


def _apply(scenario: ir.Scenario, op: A.Op) -> ir.Scenario | None:
    try:
        return apply_operator(scenario, op, lambda source: source.text.value)
    except Exception as exc:  # only "changes nothing" or "matches no text" may happen
        assert "changes nothing" in str(exc) or "matches no text" in str(exc), exc
        return None


@settings(max_examples=150, deadline=None)
@given(prompts(), WORDS, st.sampled_from(["", "X", "longer text"]))
def test_a_replace_changes_each_span_as_it_changes_its_text(
    scenario: ir.Scenario, word: str, new: str
) -> None:
    op = A.Replace(_text(word), A.TextSource("inline", _text(new), SPOT), False, None, SPOT)
    changed = _apply(scenario, op)
    if changed is None:
        return
    before, after = _texts(scenario), _texts(changed)
    assert after == {name: text.replace(word, new) for name, text in before.items()}


@settings(max_examples=150, deadline=None)
@given(prompts(), st.data())
def test_removing_a_span_keeps_every_span_outside_it(
    scenario: ir.Scenario, data: st.DataObject
) -> None:
    if not scenario.spans:
        return
    removed = data.draw(st.sampled_from(scenario.spans))
    changed = _apply(scenario, A.RemoveSection(_ident(removed.name), SPOT))
    assert changed is not None
    before, after = _texts(scenario), _texts(changed)
    for span in scenario.spans:
        if removed.start <= span.start and span.end <= removed.end:
            assert span.name not in after  # the span and those inside it are gone
        elif span.start <= removed.start and removed.end <= span.end:
            gone = removed.end - removed.start
            assert len(after[span.name]) <= len(before[span.name]) - gone
        else:
            assert after[span.name] == before[span.name]
    # No gap is left doubled: no new run of blank lines, no new pair of spaces.
    for doubled in ("\n\n\n", "  "):
        assert doubled not in changed.sections[0].text or doubled in scenario.sections[0].text


@settings(max_examples=150, deadline=None)
@given(prompts(), st.data(), st.sampled_from(["append", "prepend"]))
def test_adding_to_a_span_grows_it_and_its_enclosers_only(
    scenario: ir.Scenario, data: st.DataObject, where: str
) -> None:
    if not scenario.spans:
        return
    target = data.draw(st.sampled_from(scenario.spans))
    op = A.AddText(_ident(target.name), A.TextSource("inline", _text("NEW"), SPOT), where, SPOT)  # type: ignore[arg-type]
    changed = _apply(scenario, op)
    assert changed is not None
    before, after = _texts(scenario), _texts(changed)
    for span in scenario.spans:
        grows = span.start <= target.start and target.end <= span.end
        if span.name == target.name:
            expected = (
                f"{before[span.name]}\nNEW" if where == "append" else f"NEW\n{before[span.name]}"
            )
            assert after[span.name] == expected
        elif grows:
            assert "NEW" in after[span.name]
        else:
            assert after[span.name] == before[span.name]
