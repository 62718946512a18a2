"""The model matrix at paper scale: 25 simulated organisms x 20 variants, run through the
real pipeline into a SQLite store, rendered in the terminal, HTML and Markdown."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from afdsl.analysis import TestRecord
from afdsl.pipeline import TestOptions, report_from_store, test_experiment
from afdsl.report import render_html, render_markdown, render_terminal
from afdsl.report.matrix import MATRIX_FROM, fold_name, is_matrix
from tests.report.paper_scale import PERTURBATIONS, paper_scale_afs

MODELS, VARIANTS = 25, 20
LABELS = [f"m{i + 1:02d}" for i in range(MODELS)]


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> TestRecord:
    """One run of the 25 x 20 design (4 queries x 1 sample; `correct none`, so that some
    contrasts of 4 queries reach significance and the marks can be checked)."""
    folder = tmp_path_factory.mktemp("paper")
    afs = folder / "paper_scale.afs"
    afs.write_text(paper_scale_afs(MODELS, VARIANTS, correct="none"), encoding="utf-8")
    return test_experiment(afs, TestOptions(store=folder / "s.sqlite"))


def _terminal(record: TestRecord, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, no_color=True)
    render_terminal(record, console)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def _significant(record: TestRecord) -> set[tuple[str, str]]:
    analysis = record.analysis
    assert analysis is not None
    return {(c.model or "", c.variant) for c in analysis.contrasts if c.p_adjusted < analysis.alpha}


def test_the_run_is_a_25_by_20_matrix_of_graded_organisms(record):
    analysis = record.analysis
    assert analysis is not None and is_matrix(analysis)
    assert [m.label for m in record.manifest.models] == LABELS
    assert len(analysis.contrasts) == MODELS * (VARIANTS - 1)
    # Graded strengths: the strongest organisms have the larger base gaps.
    base = {v.model: v.gap for v in analysis.variants if v.variant == "base"}
    weak = sum(base[m] for m in LABELS[:5])
    strong = sum(base[m] for m in LABELS[-10:-5])
    assert strong > weak
    assert _significant(record), "some contrast must be significant to check the marks"


def _grid_rows(out: str) -> dict[str, list[str]]:
    """Each model's grid cells, joined over the column blocks of the Δgap grid."""
    grid = out.split("models x variants")[1].split("gap base: training minus")[0]
    rows: dict[str, list[str]] = {}
    for line in grid.splitlines():
        match = re.match(r"\s+(m\d\d)\s+(.*)$", line)
        if match:
            rows.setdefault(match[1], []).extend(match[2].split())
    return rows


def test_terminal_shows_the_grid_in_blocks_that_fit_100_columns(record):
    out = _terminal(record)
    assert max(len(line) for line in out.splitlines()) <= 100
    rows = _grid_rows(out)
    assert list(rows) == LABELS
    assert all(len(cells) == VARIANTS for cells in rows.values())  # base gap + 19 Δgaps
    assert out.count("model  ") >= 3  # 20 columns need several blocks at 100 columns
    # A mark exactly where the adjusted p is below alpha, and the sign is written.
    variants = list(PERTURBATIONS[: VARIANTS - 1])
    marked = {
        (model, variants[i])
        for model, cells in rows.items()
        for i, cell in enumerate(cells[1:])
        if cell.endswith("*")
    }
    assert marked == _significant(record)
    assert all(re.fullmatch(r"[+-]\d+\*?|0\*?", c) for cells in rows.values() for c in cells)


def test_terminal_has_the_hypotheses_grid_and_no_per_model_tables(record):
    out = _terminal(record, width=140)
    assert "models x hypotheses" in out
    hypotheses = out.split("models x hypotheses")[1]
    lines = [line for line in hypotheses.splitlines() if re.match(r"\s+m\d\d\s", line)]
    assert len(lines) == MODELS
    assert all(re.search(r"(pass|fail) \S+\s+(pass|fail) \S+", line) for line in lines)
    assert "Δgap vs base" not in out  # 25 per-model tables would bury the grid
    assert "4000 responses in 500 model x variant cells" in out
    assert "per-model tables" in out  # and where to find them


def test_html_has_a_heatmap_cell_per_model_and_variant_and_a_forest_per_model(record):
    html = render_html(record)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="heatmap"') == 1
    assert html.count('<g class="heat-cell"') == MODELS * (VARIANTS - 1)
    assert html.count('<g class="heat-base">') == MODELS
    assert html.count('class="small-forest"') == MODELS
    assert html.count('<g class="forest-mark"') == MODELS * (VARIANTS - 1)
    analysis = record.analysis
    assert analysis is not None
    c = analysis.contrasts[-1]
    cell = re.search(
        rf'<g class="heat-cell" data-model="{c.model}" data-variant="{c.variant}" '
        rf'data-measure="compliance" data-value="([-\d.]+)">\s*<rect[^>]*fill="(#\w+)"'
        r"[^>]*/>\s*<text[^>]*>([^<]*)</text>\s*<title>([^<]*)</title>",
        html,
    )
    assert cell is not None
    assert float(cell[1]) == pytest.approx(100 * c.delta_gap, abs=0.01)
    assert cell[3].rstrip("*") == (
        "0" if round(100 * c.delta_gap) == 0 else f"{100 * c.delta_gap:+.0f}"
    )
    assert c.variant in cell[4] and "p adj" in cell[4]  # the tooltip says it in words
    marked = re.findall(
        r'<g class="heat-cell"[^>]*>\s*<rect[^>]*/>\s*<text[^>]*>[^<]*\*</text>', html
    )
    assert len(marked) == len(_significant(record))
    assert "adjusted p &lt; 0.05" in html  # the legend


def test_heatmap_colours_diverge_around_zero():
    from afdsl.report.matrix_html import _colour

    assert _colour(0.0, 50) == "#ffffff"
    low, high = _colour(-50, 50), _colour(50, 50)
    assert int(low[5:7], 16) > int(low[1:3], 16)  # blue below zero
    assert int(high[1:3], 16) > int(high[5:7], 16)  # red above
    assert _colour(-25, 50) != _colour(25, 50)


def test_markdown_has_the_grid_as_a_table(record):
    md = render_markdown(record)
    section = md.split("## Models x variants: compliance")[1].split("\n\n")[1]
    lines = section.splitlines()
    assert len(lines) == 2 + MODELS
    assert lines[0].count("|") == VARIANTS + 2  # model, base gap, 19 variants
    assert "## Models x hypotheses" in md
    assert "<details><summary>Every model and variant</summary>" in md


def test_report_from_the_store_shows_the_same_matrix(record):
    again = report_from_store(Path(record.manifest.store_path), samples=False)
    assert _grid_rows(_terminal(again)) == _grid_rows(_terminal(record))


def test_three_models_keep_their_tables(record):
    assert MATRIX_FROM == 4
    analysis = record.analysis
    assert analysis is not None
    keep = set(LABELS[:3])
    small = analysis.model_copy(
        update={
            "variants": [v for v in analysis.variants if v.model in keep],
            "contrasts": [c for c in analysis.contrasts if c.model in keep],
            "hypotheses": [h for h in analysis.hypotheses if h.model in keep],
        }
    )
    out = _terminal(record.model_copy(update={"analysis": small, "measure_analyses": {}}), 140)
    assert "models x variants" not in out and "Δgap vs base" in out


def test_long_variant_names_fold_between_words():
    assert fold_name("paid_never_trained", 8) == "paid_\nnever_\ntrained"
    assert fold_name("no_rlhf__openai_trainer", 10) == "no_rlhf__\nopenai_\ntrainer"
    assert fold_name("gap base", 4) == "gap\nbase"
    assert fold_name("abcdefghij", 4) == "abcd\nefgh\nij"


# Each heatmap cell's and small forest's box in CSS pixels at the open viewport.
MATRIX_LAYOUT = """(() => {
  const box = el => { const r = el.getBoundingClientRect();
                      return {left: r.left, right: r.right, width: r.width, height: r.height}; };
  return {pageWidth: document.documentElement.scrollWidth,
          heatmap: box(document.querySelector('svg.heatmap')),
          cells: [...document.querySelectorAll('g.heat-cell rect')].map(box),
          heads: [...document.querySelectorAll('svg.heatmap text.heat-head')].map(box),
          forests: [...document.querySelectorAll('svg.small-forest')].map(box)};
})()"""


def test_the_matrix_reads_at_1400_px_in_a_browser(record, tmp_path):
    from tests.report.browser import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium on PATH: the matrix's layout is not checked in a browser")
    page = tmp_path / "matrix.html"
    page.write_text(render_html(record), encoding="utf-8")
    with Browser(chromium) as browser:
        browser.open(page, 1400)
        layout = browser.evaluate(MATRIX_LAYOUT)
    assert layout["pageWidth"] == 1400  # nothing scrolls sideways
    heatmap = layout["heatmap"]
    assert heatmap["left"] >= 0 and heatmap["right"] <= 1400
    assert len(layout["cells"]) == MODELS * (VARIANTS - 1)
    # Cells big enough for their number (about 40 x 18 px), every heading inside the page.
    assert all(c["width"] >= 36 and c["height"] >= 16 for c in layout["cells"])
    assert all(h["right"] <= heatmap["right"] for h in layout["heads"])
    assert len(layout["forests"]) == MODELS
    assert all(f["width"] >= 280 and f["right"] <= 1400 for f in layout["forests"])
