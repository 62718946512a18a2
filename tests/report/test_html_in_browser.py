"""The demo's HTML report laid out by a real browser: nothing cut on a phone, a desktop
or an A4 page.

Headless Chromium lays the page out at 420 px (as a phone: the viewport meta tag
decides the layout width), at 1400 px, and with the print stylesheet at 680 px
(A4 less 15 mm margins at 96 px an inch); the checks read the layout from the
DOM (element boxes, computed styles), so no HTML is parsed here. `.ci/run`
installs Chromium when it is missing; elsewhere the test says why it skips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from afdsl.cli import main
from tests.report.browser import Browser, find_chromium

DEMO = Path(__file__).parents[2] / "examples" / "motivations.afs"

# Every element whose box leaves the viewport sideways and that is not inside a box that
# scrolls sideways; each SVG's box, zero line and marks. Closed <details> are opened first.
LAYOUT = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const vw = document.documentElement.clientWidth;
  const scrolls = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const overflowing = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left >= -0.5 && r.right <= vw + 0.5) continue;
    if (!scrolls(el)) {
      overflowing.push(`${el.tagName.toLowerCase()}.${el.className} ` +
                       `${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  const svgs = [...document.querySelectorAll('svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    const zero = svg.querySelector('line.zero');
    const z = zero ? zero.getBoundingClientRect() : null;
    const marks = [...svg.querySelectorAll('circle')].map(c => c.getBoundingClientRect())
      .map(c => ({left: c.left, right: c.right}));
    return {cls: svg.getAttribute('class'), left: box.left, right: box.right,
            zero: z ? (z.left + z.right) / 2 : null, marks,
            simulator: svg.querySelector('.sim-mark') !== null};
  });
  const hiddenHeaders = [...document.querySelectorAll('th')]
    .filter(th => th.getBoundingClientRect().width === 0).map(th => th.textContent);
  return {vw, pageWidth: document.documentElement.scrollWidth, overflowing, svgs,
          hiddenHeaders, title: document.title};
})()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip(
            "no Chromium on PATH, so the HTML report's layout is not checked in a browser: "
            "install it (`apt-get install -y chromium`, as .ci/run does) to run this test"
        )
    return found


@pytest.fixture(scope="module")
def demo_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    html = folder / "demo.html"
    store = folder / "demo.sqlite"
    assert main(["test", str(DEMO), "--store", str(store), "--html", str(html)]) == 0
    return html


# name -> (width in CSS px, laid out as a phone, media)
SCREENS = {
    "phone": (420, True, "screen"),
    "desktop": (1400, False, "screen"),
    "A4 print": (680, False, "print"),
}


@pytest.fixture(scope="module")
def layouts(chromium: str, demo_html: Path) -> dict[str, dict[str, Any]]:
    found = {}
    with Browser(chromium) as browser:
        for name, (width, phone, media) in SCREENS.items():
            browser.open(demo_html, width, mobile=phone, media=media)
            found[name] = browser.evaluate(LAYOUT)
    return found


@pytest.mark.parametrize("screen", SCREENS)
def test_nothing_leaves_the_viewport_except_inside_a_scroll_box(layouts, screen):
    layout, width = layouts[screen], SCREENS[screen][0]
    assert layout["vw"] == width  # laid out at the device's width (the viewport meta tag)
    assert layout["overflowing"] == []
    assert layout["pageWidth"] == width  # so the page itself never scrolls sideways
    assert layout["hiddenHeaders"] == []  # narrow tables scroll (or wrap, on paper)


@pytest.mark.parametrize("screen", SCREENS)
def test_every_figure_fits_with_its_zero_line_and_marks_inside(layouts, screen):
    svgs, width = layouts[screen]["svgs"], SCREENS[screen][0]
    # The hypotheses, then the Δgap of each measure (compliance and faking in the demo).
    assert [s["cls"] for s in svgs] == ["forest hypotheses", "forest", "forest"]
    for svg in svgs:
        assert svg["left"] >= 0 and svg["right"] <= width
        assert svg["zero"] is not None and svg["left"] < svg["zero"] < svg["right"]
        assert svg["marks"] and all(
            svg["left"] <= m["left"] and m["right"] <= svg["right"] for m in svg["marks"]
        )
        assert svg["simulator"]  # a figure cropped out of the page still says so


def test_the_title_says_simulator(layouts):
    assert layouts["desktop"]["title"] == "afdsl: motivations · SIMULATOR"
