"""The 3-D lesson exported with ``jupyter nbconvert --to html --execute`` shows its figure offline.

A teacher may hand out the HTML; students open it without a server and perhaps without internet.
So plotly.js must be inside the file (plotly's "notebook" renderer), not fetched from a CDN, and
the 3-D scene must draw in Chromium with every network request refused.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

from .jupyterlab import copy_notebooks, isolated_env

pytestmark = pytest.mark.browser

LESSON = "notebooks/03_hypersphere_3d.ipynb"
# plotly.js's own bundle starts with a licence comment naming its version.
PLOTLY_BUNDLE = re.compile(r"plotly\.js v\d+\.\d+\.\d+")
# plotly.js from elsewhere: a <script src=...plotly...> or the "notebook_connected" renderer's
# require.js path to cdn.plot.ly (plotly.js itself mentions https://cdn.plot.ly/un/ for map data).
PLOTLY_FROM_NETWORK = re.compile(r"""src=["'][^"']*plotly[^"']*["']|https?://cdn\.plot\.ly/plotly""")


@pytest.fixture(scope="module")
def exported_html(tmp_path_factory, browser_home) -> Path:
    """The lesson executed and exported to HTML in a temporary copy of notebooks/."""
    if not (ROOT / LESSON).is_file():
        pytest.fail(f"{LESSON} does not exist in the repository", pytrace=False)
    work = tmp_path_factory.mktemp("html-export")
    copy_notebooks(ROOT / "notebooks", work / "notebooks")
    command = [sys.executable, "-m", "nbconvert", "--to", "html", "--execute",
               "--ExecutePreprocessor.timeout=600", "--output-dir", str(work / "html"), str(work / LESSON)]
    done = subprocess.run(command, env=isolated_env(browser_home), capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"nbconvert failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return work / "html" / (Path(LESSON).stem + ".html")


def test_html_embeds_plotly_js(exported_html):
    html = exported_html.read_text(encoding="utf-8")
    has_3d_figure = '"type":"scatter3d"' in html.replace(" ", "")
    assert has_3d_figure, (
        "the exported lesson holds no 3-D plotly figure; plotly's default renderer in a kernel "
        "(plotly_mimetype) is invisible in HTML: call arcface_viz.plots.use_offline_html_renderer() first")
    assert not PLOTLY_FROM_NETWORK.search(html), (
        "the exported lesson loads plotly.js from the network: "
        f"{PLOTLY_FROM_NETWORK.search(html).group(0)!r}")
    assert PLOTLY_BUNDLE.search(html), (
        "the exported lesson does not embed plotly.js: its figures are invisible outside JupyterLab; "
        "call arcface_viz.plots.use_offline_html_renderer() before the first figure")


def test_html_draws_3d_scene_offline(exported_html, chromium, artifacts):
    if not PLOTLY_BUNDLE.search(exported_html.read_text(encoding="utf-8")):
        pytest.fail("no plotly.js inside the exported HTML (see test_html_embeds_plotly_js)", pytrace=False)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = chromium.new_page()
    refused = []

    def offline(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/*", offline)
    try:
        page.goto(exported_html.as_uri())
        scene = page.locator(".js-plotly-plot .gl-container canvas").first
        try:
            scene.wait_for(timeout=30_000)
        except PlaywrightTimeout:
            pytest.fail(f"no 3-D scene drawn offline; refused requests: {refused}; page errors: {errors}",
                        pytrace=False)
        assert scene.bounding_box()["width"] > 100
        scene.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "03_hypersphere_3d-html-offline.png"))
        assert not [e for e in errors if "plotly" in e.lower()], errors
    finally:
        page.close()
