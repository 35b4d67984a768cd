"""The interactive lessons in a real browser: what nbval cannot see (widgets, plotly WebGL).

Each test opens a copy of a lesson in JupyterLab, runs its cells from the Run menu (all of them,
or for lesson 05 those up to the training lab), uses the widget the way a student does (keyboard on a slider, a click on Train) and saves a screenshot to
tests/artifacts/browser/. Expected texts come from the package's pure functions
(:func:`arcface_viz.widgets.explorer_readout`, the registry's labels), never from strings copied into the test.
"""
from __future__ import annotations

import re

import pytest

from arcface_viz.losses import CUSTOM_LABEL, LOSSES
from arcface_viz.widgets import explorer_readout

pytestmark = pytest.mark.browser

# The "m" of ArcFace is the additive angular margin m2 (radians).
M_SLIDER = "m2"
LOSS_OF_LABEL = {**{loss.label: name for name, loss in LOSSES.items()}, CUSTOM_LABEL: "custom"}
SUMMARY = re.compile(r".+: accuracy \d+\.\d% \(eval mode, training faces\), (margin .+ satisfied by \d+\.\d%, )?"
                     r"mean angle to centre \d+\.\d°, "
                     r"min angle between centres (\d+\.\d°|n/a \(one class\))")


def slider(scope, description: str):
    """The ipywidgets slider whose description is exactly ``description``."""
    label = scope.page.locator(".widget-label").filter(has_text=re.compile(f"^{re.escape(description)}$"))
    return scope.locator(".widget-slider", has=label)


def explorer_settings(panel, descriptions: dict[str, str]) -> dict:
    """The margin explorer's settings as the page shows them (slider readouts, selected loss)."""
    values = {name: float(slider(panel, text).locator(".widget-readout").inner_text())
              for name, text in descriptions.items() if name != "loss"}
    loss_label = panel.locator(".widget-dropdown select").first.evaluate("s => s.options[s.selectedIndex].text")
    return {"loss": LOSS_OF_LABEL[loss_label], "s": values["s"], "m1": values["m1"], "m2": values["m2"],
            "m3": values["m3"], "theta_deg": values["theta"], "n_classes": int(values["n_classes"])}


def assert_not_upscaled(scope) -> None:
    """PNG panels are shown at most at their own size: an upscaled plot is blurry and overflows the screen."""
    sizes = scope.locator("img").evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.clientWidth])")
    stretched = [(natural, shown) for natural, shown in sizes if natural and shown > 1.1 * natural]
    assert not stretched, (f"plots stretched beyond their pixel size (natural, shown width in px): {stretched}; "
                           "give the ipywidgets.Image an explicit width")


def test_margin_explorer_m_slider_moves_with_keyboard(open_notebook):
    from arcface_viz.widgets import margin_explorer

    reference = margin_explorer()  # slider descriptions and steps, from the widget's public controls
    descriptions = {name: control.description for name, control in reference.controls.items()}
    step = reference.controls[M_SLIDER].step

    nb = open_notebook("notebooks/04_margin_explorer.ipynb")
    nb.run_all()
    page = nb.page
    panel = page.locator(".arcface-margin-explorer").first
    readout = panel.locator(".arcface-readout .widget-html-content")
    readout.wait_for(timeout=30_000)
    before = explorer_settings(panel, descriptions)
    before_text = readout.inner_text()
    assert before_text == explorer_readout(**before)

    slider(panel, descriptions[M_SLIDER]).locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([el, old]) => el.textContent !== old", arg=[readout.element_handle(), before_text],
                           timeout=30_000)
    after = explorer_settings(panel, descriptions)
    assert after["m2"] == pytest.approx(before["m2"] + step)
    assert readout.inner_text() == explorer_readout(**after)
    nb.screenshot("04_margin_explorer", target=panel)
    assert_not_upscaled(panel)


def test_hypersphere_lesson_draws_3d_scene(open_notebook):
    nb = open_notebook("notebooks/03_hypersphere_3d.ipynb")
    nb.run_all()
    scene = nb.page.locator(".js-plotly-plot .gl-container canvas").first
    scene.wait_for(timeout=60_000)
    box = scene.bounding_box()
    assert box["width"] > 100 and box["height"] > 100, f"the 3-D scene's canvas is {box}"
    nb.screenshot("03_hypersphere_3d", target=nb.page.locator(".js-plotly-plot").first)


def test_training_lab_trains_and_reports(open_notebook):
    nb = open_notebook("notebooks/05_training_lab.ipynb")
    # Only the cells up to the lab: the trainings further down are nbval's to run, not the widget's.
    nb.run_through("training_lab(")
    page = nb.page
    lab = page.locator(".arcface-training-lab").first
    lab.wait_for(timeout=30_000)
    metrics = lab.locator(".arcface-metrics .widget-html-content")
    status = lab.locator(".arcface-status .widget-html-content")
    lab.locator(".arcface-train-button").click()
    page.wait_for_function(
        # the metrics are written a moment before the status line says "Done:": wait for both
        "([metrics, status]) => (metrics.textContent.trim() !== '' && status.textContent.startsWith('Done:'))"
        " || status.textContent.startsWith('Training failed')",
        arg=[metrics.element_handle(), status.element_handle()], timeout=300_000)
    assert not status.inner_text().startswith("Training failed"), status.inner_text()
    text = metrics.inner_text()
    assert SUMMARY.fullmatch(text), f"unexpected training summary {text!r}"
    assert status.inner_text().startswith("Done:"), status.inner_text()
    nb.screenshot("05_training_lab", target=lab)
    assert_not_upscaled(lab)
