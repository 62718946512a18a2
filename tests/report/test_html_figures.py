"""The HTML report's figures and page furniture, read with the standard library's parser."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pytest

from afdsl.report import render_html
from afdsl.report._svg import nice_axis, nice_step
from afdsl.stats.models import HypothesisResult


class _Page(HTMLParser):
    """Each SVG's tick labels, marks, bound and margin shapes; the title; code in notes."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, list[str]]] = []
        self.title = ""
        self.meta: list[dict[str, str | None]] = []
        self._in: list[str] = []
        self._ticks = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in.append(tag)
        if tag == "meta":
            self.meta.append(a)
        if tag == "svg":
            self.svgs.append({"class": [a.get("class") or ""], "ticks": [], "text": [], "g": []})
        elif self.svgs and "svg" in self._in:
            if tag == "g":
                self.svgs[-1]["g"].append(a.get("class") or "")
            if tag in ("line", "rect") and a.get("class") in ("bound", "margin", "zero"):
                self.svgs[-1]["g"].append(a["class"] or "")
        self._ticks = tag == "text" and a.get("class") == "tick"

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data):
        if self._in and self._in[-1] == "title" and "svg" not in self._in:
            self.title += data
        if self.svgs and "svg" in self._in and self._in[-1] == "text":
            self.svgs[-1]["text"].append(data)
            if self._ticks:
                self.svgs[-1]["ticks"].append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


@pytest.mark.parametrize("span", [0.3, 3.5, 7, 17.5, 35, 37, 70, 130])
def test_tick_steps_are_one_two_or_five_times_a_power_of_ten(span):
    step = nice_step(span)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in (1, 2, 5)
    assert 1.6 <= span / step <= 4 + 1e-9  # two to four intervals, never one or twenty


@pytest.mark.parametrize(
    "values", [[-17.5, 17.5], [-35, -10, 2], [12, 40], [-3, -1], [], [0.4], [-100, 100]]
)
def test_the_axis_holds_zero_and_every_value_and_ends_on_ticks(values):
    low, high, step = nice_axis(values)
    assert low <= min([0, *values]) and max([0, *values]) <= high
    for end in (low, high):
        assert math.isclose(end / step, round(end / step), abs_tol=1e-9)


def test_ticks_fall_on_round_values_in_every_figure(make_outcome):
    page = _page(render_html(make_outcome()))
    for svg in page.svgs:
        ticks = [t for t in svg["ticks"] if t != "percentage points"]
        assert ticks and "0" in ticks
        assert all(re.fullmatch(r"0|[+-]\d+", t) for t in ticks), ticks  # no +17.5


def test_every_figure_and_the_title_say_simulator(make_outcome):
    page = _page(render_html(make_outcome(models=("sim:opus_like", "anthropic:claude"))))
    assert page.title == "afdsl: demo · SIMULATOR"
    assert len(page.svgs) == 2  # the hypotheses and the Δgap of the one measure
    assert all("SIMULATOR" in svg["text"] for svg in page.svgs)
    assert all("sim-mark" in svg["g"] for svg in page.svgs)


def test_real_models_alone_are_not_marked_simulator(make_outcome):
    outcome = make_outcome(models=("anthropic:claude",))
    page = _page(render_html(outcome))
    assert page.title == "afdsl: demo"
    assert all("SIMULATOR" not in svg["text"] for svg in page.svgs)


def test_one_delta_gap_figure_per_measure(make_outcome):
    outcome = make_outcome()
    outcome.measure_analyses["faking"] = outcome.analysis.model_copy(deep=True)
    page = _page(render_html(outcome))
    titles = [svg["text"][0] for svg in page.svgs]
    assert titles == [
        "Hypotheses: estimate (CI) against its bound",
        "Δgap against base, compliance (95% CI)",
        "Δgap against base, faking (95% CI)",
    ]


def test_hypothesis_figure_draws_each_bound_and_an_equivalence_margin(make_outcome):
    outcome = make_outcome()
    first, second = outcome.analysis.hypotheses
    outcome.analysis.hypotheses = [
        first.model_copy(update={"op": "<", "bound": 0.0}),
        HypothesisResult(
            **{**second.model_dump(), "op": "==", "bound": 0.0, "margin": 0.15},
        ),
    ]
    (hypotheses,) = [s for s in _page(render_html(outcome)).svgs if "hypotheses" in s["class"][0]]
    assert hypotheses["g"].count("hypothesis-mark") == 2
    assert hypotheses["g"].count("bound") == 2 and hypotheses["g"].count("margin") == 1
    # The margin's ends (±15 points) are on the axis, so the band is never cut.
    assert "-20" in hypotheses["ticks"] and "+20" in hypotheses["ticks"]


def test_page_scales_to_the_screen_and_prints_on_a4(make_outcome):
    html = render_html(make_outcome())
    page = _page(html)
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in page.meta
    assert 'width="100%"' in html and "viewBox=" in html
    assert "@page { size: A4" in html and "@media print" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_footnotes_show_code_not_backticks(make_outcome):
    html = render_html(make_outcome())
    notes = html[html.index('<ol class="notes">') :]
    assert "`" not in notes
    assert "<code>base</code>" in notes


def test_a_hypothesis_with_many_queries_shows_its_ten_largest_and_ten_smallest(make_outcome):
    from afdsl.stats.contributions import CellLabels, HypothesisQueries, QueryContribution

    outcome = make_outcome()
    hypothesis = outcome.analysis.hypotheses[0]
    queries = [
        QueryContribution(
            query_id=f"q{i:02d}",
            value=(25 - i) / 100,
            cells=[CellLabels(variant="base", condition="training", complied=i % 4, samples=4)],
        )
        for i in range(25)
    ]
    outcome.query_contributions = [
        HypothesisQueries(
            model=hypothesis.model,
            hypothesis=hypothesis.name,
            measure=None,
            estimate=sum(q.value for q in queries) / 25,
            queries=queries,
        )
    ]
    html = render_html(outcome)
    assert f'<a href="#queries-{hypothesis.name}-0">{hypothesis.name}</a>' in html
    section = html[html.index(f'<h3 id="queries-{hypothesis.name}-0">') :]
    shown = re.findall(r"<td>(q\d\d)</td>", section)
    assert shown == [f"q{i:02d}" for i in (*range(10), *range(15, 25))]
    assert "… 5 more …" in section and "+25.0" in section and "1/4" in section
