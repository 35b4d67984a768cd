"""The browser pipeline itself, on a notebook written here: JupyterLab serves it, Run All works,
an ipywidgets slider renders and moves with the keyboard, and a plotly 3-D scene gets a WebGL canvas.

When this passes and a lesson's browser test fails, the lesson (or its widgets) is at fault.
"""
from __future__ import annotations

import nbformat
import pytest

pytestmark = pytest.mark.browser

SLIDER_CELL = """\
import ipywidgets as widgets
slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="m")
label = widgets.Label(value=f"m = {slider.value:.2f}")
label.add_class("smoke-readout")
slider.observe(lambda change: setattr(label, "value", f"m = {change['new']:.2f}"), names="value")
widgets.VBox([slider, label])
"""
PLOTLY_CELL = """\
import numpy as np
import plotly.graph_objects as go
t = np.linspace(0, 6, 50)
go.Figure(go.Scatter3d(x=np.cos(t), y=np.sin(t), z=np.linspace(-1, 1, 50), mode="markers")).show()
"""


@pytest.fixture(scope="module")
def smoke_notebook(lab_root) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SLIDER_CELL), nbformat.v4.new_code_cell(PLOTLY_CELL)]
    (lab_root / "smoke").mkdir(exist_ok=True)
    nbformat.write(nb, lab_root / "smoke" / "smoke.ipynb")
    return "smoke/smoke.ipynb"


def test_widget_keyboard_and_plotly_3d(open_notebook, smoke_notebook):
    nb = open_notebook(smoke_notebook)
    nb.run_all(timeout=90)
    page = nb.page
    readout = page.locator(".smoke-readout")
    readout.wait_for()
    assert readout.inner_text() == "m = 0.50"
    page.locator(".widget-hslider .noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.smoke-readout').textContent.includes('0.55')")
    assert readout.inner_text() == "m = 0.55"
    scene = page.locator(".js-plotly-plot .gl-container canvas")
    scene.wait_for(timeout=60_000)
    assert scene.count() >= 1
    nb.screenshot("smoke", target=page.locator(".js-plotly-plot"))
