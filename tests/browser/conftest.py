"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session.

Chromium is Debian's (``/usr/bin/chromium``, or ``$ARCFACE_VIZ_CHROMIUM``) driven by the
``playwright`` Python package; Playwright's own browser download is never used. Without either,
every test here is skipped with the reason. Screenshots go to ``tests/artifacts/browser/``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.conftest import ROOT

from .jupyterlab import REQUIRED_EXTENSIONS, NotebookPage, copy_notebooks, start_lab

CHROMIUM = Path(os.environ.get("ARCFACE_VIZ_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; never `playwright install`)"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set ARCFACE_VIZ_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def browser_home(tmp_path_factory) -> Path:
    """A temporary home for Jupyter, IPython, matplotlib and Chromium state."""
    return tmp_path_factory.mktemp("browser-home")


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    """A copy of notebooks/ served by JupyterLab (its root folder).

    Autosave, checkpoints, trust signatures and files the lessons write all land in this copy, so
    the repository's notebooks never change, whatever the tests do.
    """
    root = tmp_path_factory.mktemp("lab-root")
    copy_notebooks(ROOT / "notebooks", root / "notebooks")
    return root


@pytest.fixture(scope="session")
def chromium(browser_home):
    """A headless Chromium context (temporary profile), shared by the session."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    env = dict(os.environ, HOME=str(browser_home), XDG_CONFIG_HOME=str(browser_home / "config"),
               XDG_CACHE_HOME=str(browser_home / "cache"))
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(browser_home / "chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            env=env, viewport={"width": 1280, "height": 1000},
        )
        context.set_default_timeout(30_000)
        yield context
        context.close()


@pytest.fixture(scope="session")
def jupyter_lab(chromium, lab_root, browser_home):
    """JupyterLab on 127.0.0.1 (free port, random token) serving ``lab_root``; stopped at the end.

    Fails (not skips) when the widget or plotly lab extension is missing: then students would see
    "Loading widget..." and empty figures.
    """
    server = start_lab(lab_root, browser_home, secrets.token_hex(24))
    try:
        loaded = {ext["name"] for ext in server.page_config().get("federated_extensions", [])}
        missing = [name for name in REQUIRED_EXTENSIONS if name not in loaded]
        if missing:
            pytest.fail(f"JupyterLab runs without the lab extension(s) {missing}; install jupyterlab_widgets>=3,<4 "
                        "and plotly in the server's environment", pytrace=False)
        yield server
    finally:
        server.stop()


@pytest.fixture
def open_notebook(chromium, jupyter_lab, lab_root):
    """``open_notebook("notebooks/04_margin_explorer.ipynb")`` -> an opened :class:`NotebookPage`.

    The notebook's page is closed and its kernel shut down after the test.
    """
    opened = []

    def _open(path: str) -> NotebookPage:
        if not (lab_root / path).is_file():
            pytest.fail(f"{path} does not exist in the repository", pytrace=False)
        notebook = NotebookPage(chromium.new_page(), jupyter_lab, path, ARTIFACTS)
        opened.append(notebook)
        notebook.open()
        return notebook

    yield _open
    for notebook in opened:
        notebook.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

