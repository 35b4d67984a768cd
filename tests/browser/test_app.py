"""`make app`: Voilà serves the margin explorer and the training lab as apps, on 127.0.0.1, without code.

A student moves a slider of the explorer with the keyboard and sees a new figure; clicks Train in the
training lab and sees the metrics.
"""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

from .jupyterlab import free_port, isolated_env

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila(chromium, browser_home):
    """Voilà on 127.0.0.1 (free port) serving apps/, as `make app` starts it; stopped at the end."""
    port = free_port()
    log = (browser_home / f"voila-{port}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(ROOT / "apps"), "--Voila.ip=127.0.0.1",
                             f"--port={port}", "--no-browser"], env=isolated_env(browser_home),
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"Voilà did not start: {(browser_home / f'voila-{port}.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield url
    proc.terminate()  # Voilà shuts its kernels down first: slow on a busy machine
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
    log.close()


def _open(chromium, url: str):
    page = chromium.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, timeout=180_000)
    return page, errors


def test_margin_explorer_app_redraws_on_a_key_press(voila, chromium, artifacts):
    page, errors = _open(chromium, voila + "/voila/render/margin_explorer.ipynb")
    try:
        panel = page.locator(".arcface-margin-explorer").first
        panel.wait_for(timeout=180_000)
        assert "margin_explorer()" not in page.inner_text("body"), "Voilà must not show the code"
        image = panel.locator("img").first
        image.wait_for()
        before = image.get_attribute("src")
        panel.locator(".widget-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("([img, old]) => img.getAttribute('src') !== old", arg=[image.element_handle(), before],
                               timeout=60_000)
        page.screenshot(path=str(artifacts / "voila-margin-explorer.png"))
        assert not errors, errors
    finally:
        page.close()


def test_training_lab_app_trains_on_click(voila, chromium, artifacts):
    page, errors = _open(chromium, voila + "/voila/render/training_lab.ipynb")
    try:
        lab = page.locator(".arcface-training-lab").first
        lab.wait_for(timeout=180_000)
        assert "training_lab(data)" not in page.inner_text("body"), "Voilà must not show the code"
        epochs = lab.locator(".widget-slider", has=page.locator(".widget-label", has_text="epochs")).first
        epochs.locator(".noUi-handle").focus()
        for _ in range(8):  # 10 -> 2 epochs: a short run
            page.keyboard.press("ArrowLeft")
        lab.locator(".arcface-train-button").click()
        metrics = lab.locator(".arcface-metrics .widget-html-content")
        status = lab.locator(".arcface-status .widget-html-content")
        page.wait_for_function(
            "([m, s]) => m.textContent.trim() !== '' || s.textContent.startsWith('Training failed')",
            arg=[metrics.element_handle(), status.element_handle()], timeout=300_000)
        assert not status.inner_text().startswith("Training failed"), status.inner_text()
        page.screenshot(path=str(artifacts / "voila-training-lab.png"))
        assert not errors, errors
    finally:
        page.close()


def test_an_app_opened_with_lang_zh_shows_chinese_labels(voila, chromium, artifacts):
    page, errors = _open(chromium, voila + "/voila/render/training_lab.ipynb?lang=zh")
    try:
        lab = page.locator(".arcface-training-lab").first
        lab.wait_for(timeout=180_000)
        assert lab.locator(".arcface-train-button").inner_text().strip() == "开始训练"
        assert lab.locator(".widget-label", has_text="间隔 m").count() == 1
        assert lab.locator(".arcface-status .widget-html-content").inner_text().startswith("就绪")
        assert not page.locator(".arcface-error").count(), "lang=zh is a known language: no note"
        english = page.locator("a", has_text="English").first
        assert english.get_attribute("href") == "?lang=en", "the page links the English version"
        page.screenshot(path=str(artifacts / "voila-training-lab-zh.png"))
        assert not errors, errors
    finally:
        page.close()


def test_an_app_opened_with_an_unknown_lang_is_english_under_a_note(voila, chromium):
    page, errors = _open(chromium, voila + "/voila/render/margin_explorer.ipynb?lang=fr")
    try:
        page.locator(".arcface-margin-explorer").first.wait_for(timeout=180_000)
        note = page.locator(".arcface-error").first.inner_text()
        assert note.startswith("lang='fr': must be one of 'en', 'zh'; open the page with ?lang=zh"), note
        assert page.locator(".arcface-margin-explorer .widget-label", has_text="scale s").count() == 1
        assert not errors, errors
    finally:
        page.close()
