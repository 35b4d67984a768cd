"""`make site`: the static site opens offline and shows every lesson's figures and typeset math.

Executing all seven lessons takes minutes, so the test builds the site for two of them: lesson 1
(formulas and matplotlib figures) and lesson 3 (plotly 3-D figures). Every request that is not for a
local file is refused and recorded: a page that needs the network fails the test.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

from .jupyterlab import isolated_env

pytestmark = pytest.mark.browser

LESSONS = ["01", "03"]
PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser_home) -> Path:
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, str(ROOT / "scripts" / "build_site.py"), "--out", str(out),
               "--lessons", ",".join(LESSONS)]
    done = subprocess.run(command, env=isolated_env(browser_home), capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"build_site failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return out


def expected_figures(executed: Path) -> tuple[int, int]:
    """(PNG images, plotly figures) among the executed notebook's outputs."""
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    pngs = sum("image/png" in o.get("data", {}) for o in outputs)
    # plotly's offline renderer writes text/html holding plotly.js and the figure's div.
    plotly = sum("plotly-graph-div" in o.get("data", {}).get("text/html", "") or PLOTLY in o.get("data", {})
                 for o in outputs)
    return pngs, plotly


def _offline_page(chromium):
    page = chromium.new_page()
    refused, errors = [], []

    def offline(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, refused, errors


def test_index_links_every_built_lesson(site, chromium):
    page, refused, _ = _offline_page(chromium)
    try:
        page.goto((site / "index.html").as_uri())
        hrefs = page.locator("ol.lessons > li > a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert sorted(h[:2] for h in hrefs) == LESSONS
        assert all((site / h).is_file() for h in hrefs)
        assert refused == []
    finally:
        page.close()


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_page_shows_its_figures_and_math_offline(site, chromium, artifacts, lesson):
    html_page = next(site.glob(f"{lesson}_*.html"))
    pngs, plotly = expected_figures(site / "ipynb" / (html_page.stem + ".ipynb"))
    assert pngs + plotly > 0, f"{html_page.name}: the executed lesson has no figure at all"
    page, refused, errors = _offline_page(chromium)
    try:
        page.goto(html_page.as_uri())
        page.wait_for_load_state("load")
        # Every PNG decoded (naturalWidth > 0) and every plotly figure drawn (its SVG exists).
        page.wait_for_function(
            """([pngs, plotly]) => {
                const imgs = [...document.querySelectorAll('.jp-OutputArea-output img[src^="data:image/png"]')];
                const drawn = document.querySelectorAll('.js-plotly-plot .main-svg').length;
                return imgs.length >= pngs && imgs.every(i => i.complete && i.naturalWidth > 0)
                    && document.querySelectorAll('.js-plotly-plot').length >= plotly && drawn >= plotly;
            }""", arg=[pngs, plotly], timeout=60_000)
        # MathJax typeset the formulas from the local copy: rendered math elements, no TeX left over.
        page.wait_for_function("() => window.MathJax && document.querySelectorAll('.MathJax_CHTML, .MathJax').length > 0",
                               timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts / f"site-{html_page.stem}.png"))
        assert refused == [], f"{html_page.name} asked the network for {refused}"
        assert not errors, f"{html_page.name}: page errors {errors}"
    finally:
        page.close()
