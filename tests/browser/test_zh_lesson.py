"""The Chinese edition in a real browser: lesson 4's Chinese text renders, and its lang="zh" margin explorer shows
Chinese labels and a Chinese readout that follows the keyboard, with the numbers of the English widget.

Expected texts come from the package (``margin_explorer(lang="zh")``'s control labels, ``explorer_readout(...,
lang="zh")``) and from the notebook file itself, never from strings copied into the test. The screenshot in
tests/artifacts/browser/ shows boxes instead of Chinese characters on a machine without a CJK font (Debian:
fonts-noto-cjk); the checks read the page's text, which does not depend on the font.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from arcface_viz.widgets import explorer_readout, margin_explorer
from tests.conftest import ROOT

from .test_lessons import assert_not_upscaled, slider

pytestmark = pytest.mark.browser

LESSON = "notebooks/zh/04_margin_explorer.ipynb"
CJK = re.compile(r"[\u4e00-\u9fff]")


def settings(panel, reference) -> dict:
    """The explorer's settings as the page shows them; the selected loss read through the zh widget's captions."""
    loss_of_caption = dict(reference.controls["loss"].options)
    values = {name: float(slider(panel, control.description).locator(".widget-readout").inner_text())
              for name, control in reference.controls.items() if name != "loss"}
    caption = panel.locator(".widget-dropdown select").first.evaluate("s => s.options[s.selectedIndex].text")
    return {"loss": loss_of_caption[caption], "s": values["s"], "m1": values["m1"], "m2": values["m2"],
            "m3": values["m3"], "theta_deg": values["theta"], "n_classes": int(values["n_classes"])}


def test_chinese_lesson_4_renders_its_text_and_a_chinese_explorer(open_notebook):
    reference = margin_explorer(lang="zh")  # the Chinese slider labels and steps, from the widget itself
    descriptions = {name: control.description for name, control in reference.controls.items()}
    assert all(CJK.search(descriptions[name]) for name in ("loss", "s", "theta", "n_classes"))
    title = nbformat.read(ROOT / LESSON, as_version=4).cells[0].source.splitlines()[0].lstrip("# ").strip()
    assert CJK.search(title), title

    nb = open_notebook(LESSON)
    # The cells through the readout check; the trainings further down are nbval's (make test-zh) to run.
    nb.run_through("readout = explorer_widget.readout.value")
    page = nb.page

    # Markdown: rendered (a heading, not "# ..." source), in Chinese
    heading = page.locator(".jp-MarkdownOutput h1").first
    heading.wait_for(timeout=30_000)
    assert heading.inner_text().strip().startswith(title), heading.inner_text()
    section = page.locator(".jp-MarkdownOutput h2", has_text="间隔探索器").first
    assert section.is_visible()

    # The widget: Chinese labels and readout, the numbers of explorer_readout
    panel = page.locator(".arcface-margin-explorer").first
    readout = panel.locator(".arcface-readout .widget-html-content")
    readout.wait_for(timeout=30_000)
    labels = panel.locator(".widget-label").all_inner_texts()
    for name in ("loss", "s", "m2", "theta", "n_classes"):
        assert descriptions[name] in labels, (descriptions[name], labels)
    options = panel.locator(".widget-dropdown select option").all_inner_texts()
    assert dict(reference.controls["loss"].options).keys() == set(options)  # "自定义" among them
    before = settings(panel, reference)
    before_text = readout.inner_text()
    assert before_text == explorer_readout(**before, lang="zh")
    assert CJK.search(before_text), before_text

    slider(panel, descriptions["m2"]).locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([el, old]) => el.textContent !== old", arg=[readout.element_handle(), before_text],
                           timeout=30_000)
    after = settings(panel, reference)
    assert after["m2"] == pytest.approx(before["m2"] + reference.controls["m2"].step)
    assert after["loss"] == "custom"  # a margin slider left the ArcFace preset: the selector says 自定义
    assert readout.inner_text() == explorer_readout(**after, lang="zh")
    # the printed readout of the check cell is the Chinese line too
    printed = page.locator(".jp-OutputArea-output pre", has_text=before_text.split("|")[0]).first.inner_text()
    assert printed.strip() == before_text
    nb.screenshot("zh_04_margin_explorer", target=panel)
    assert_not_upscaled(panel)
