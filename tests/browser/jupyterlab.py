"""A JupyterLab server and a page driver for the browser tests.

The server runs in the project's Python (``sys.executable``) on 127.0.0.1 with a free port and a
random token. It serves a *copy* of the notebooks from a temporary folder, so autosave, checkpoints
and anything a lesson writes next to itself never touch the repository; Jupyter, IPython and
matplotlib state goes to the same temporary folder instead of the home folder.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_data_dir

# The lab extensions students need: without them widgets show as "Loading widget..." and plotly
# figures as an empty output.
REQUIRED_EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "jupyterlab-plotly")

# Lab settings written to a temporary user-settings folder: no autosave (belt and braces: the
# notebooks are copies anyway), no news pop-up (it needs the network and hides the page in
# screenshots), no "Select Kernel" dialog, and every cell kept in the DOM so that selectors see
# cells below the fold.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
}

SERVER_START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(home: Path) -> dict[str, str]:
    """The environment with Jupyter, IPython and matplotlib state moved under ``home``.

    The user's own data folder stays readable through ``JUPYTER_PATH``, so lab extensions installed
    with ``pip install --user`` are still found; ``sys.prefix/share/jupyter`` is always searched.
    """
    env = dict(os.environ)
    user_data = jupyter_data_dir()
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
        IPYTHONDIR=str(home / "ipython"),
        MPLCONFIGDIR=str(home / "matplotlib"),
        JUPYTER_PATH=os.pathsep.join(p for p in (os.environ.get("JUPYTER_PATH"), user_data) if p),
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class LabServer:
    """A running JupyterLab; ``url`` ends with a slash, ``root`` is the folder it serves."""

    process: subprocess.Popen
    url: str
    token: str
    root: Path
    log_path: Path

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API; returns the decoded JSON body (None when empty)."""
        request = urllib.request.Request(
            self.url + path.lstrip("/"), method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def page_config(self) -> dict:
        """The ``jupyter-config-data`` JSON that the lab page embeds (lists the loaded extensions)."""
        request = urllib.request.Request(self.url + "lab", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            html = response.read().decode()
        match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
        if match is None:
            raise RuntimeError("the /lab page carries no jupyter-config-data")
        return json.loads(match.group(1))

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "api/kernels") or []:
            try:
                self.api("DELETE", f"api/kernels/{kernel['id']}")
            except urllib.error.URLError:
                pass

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except (urllib.error.URLError, OSError):
                pass
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_lab(root: Path, home: Path, token: str) -> LabServer:
    """Start JupyterLab serving ``root`` and wait until its API answers.

    Raises RuntimeError with the end of the server log when it exits or does not answer within
    ``SERVER_START_TIMEOUT`` seconds.
    """
    settings = home / "lab-user-settings"
    for name, value in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = free_port()
    log_path = home / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",  # not "jupyter lab": that looks up jupyter-lab on PATH first
        "--no-browser", "--allow-root", "--ip", "127.0.0.1", "--port", str(port),
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = log_path.open("w")
    process = subprocess.Popen(
        command, cwd=root, env=isolated_env(home), stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    server = LabServer(process, f"http://127.0.0.1:{port}/", token, root, log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "api/status")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"JupyterLab did not answer within {SERVER_START_TIMEOUT:.0f} s:\n{server.log_tail()}"
                ) from None
            time.sleep(0.25)


def copy_notebooks(src: Path, dst: Path) -> None:
    """Copy the lesson notebooks (not checkpoints or released student copies) to ``dst``."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "release"))


# ----------------------------------------------------------------------------- driving a notebook
# A code cell's prompt while queued or running is "[*]:"; after running "[7]:".
_RUN_DONE = """(n) => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .slice(0, n === null ? undefined : n).map(p => p.textContent.trim());
    const failed = [...document.querySelectorAll('.jp-OutputArea-output')]
        .some(o => o.textContent.includes('Traceback (most recent call last)'));
    return prompts.length > 0 && !prompts.some(p => p.includes('*'))
        && (failed || prompts.every(p => /^\\[\\d+\\]:$/.test(p)));
}"""


class NotebookPage:
    """One notebook opened in JupyterLab's simple (single-document) mode in a browser page."""

    def __init__(self, page, server: LabServer, path: str, artifacts: Path):
        self.page = page
        self.server = server
        self.path = path  # relative to the server root, with forward slashes
        self.artifacts = artifacts

    def open(self, timeout: float = 90.0) -> None:
        """Load the notebook and wait until its kernel is started and idle."""
        self.page.goto(f"{self.server.url}doc/tree/{self.path}?reset&token={self.server.token}")
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while self.kernel_state() != "idle":
            if time.monotonic() > deadline:
                self.fail(f"the kernel of {self.path} is not idle after {timeout:.0f} s "
                          f"(state {self.kernel_state()!r})")
            time.sleep(0.2)

    def session(self) -> dict | None:
        for session in self.server.api("GET", "api/sessions") or []:
            if session.get("path") == self.path:
                return session
        return None

    def kernel_state(self) -> str | None:
        session = self.session()
        return session["kernel"].get("execution_state") if session and session.get("kernel") else None

    def run_all(self, timeout: float = 600.0) -> None:
        """Run → Run All Cells from the menu bar; wait for every cell; fail on a traceback.

        A lesson should run in under 2 minutes; the 10-minute limit (nbval's cell timeout, set in
        conftest.py) only leaves room for a busy machine.
        """
        self._run("runmenu:run-all", None, timeout)

    def run_through(self, text: str, timeout: float = 600.0) -> None:
        """Run the cells from the top through the first code cell whose source contains ``text``.

        Selects the cell after it and uses Run → Run All Above Selected Cell, as a student who
        only wants to reach that cell would; the cells below (nbval runs them) are not executed.
        """
        cells = self.cells()
        target = next((i for i, c in enumerate(cells) if c["cell_type"] == "code" and text in "".join(c["source"])),
                      None)
        if target is None:
            self.fail(f"{self.path} has no code cell containing {text!r}")
        if target == len(cells) - 1:
            self.run_all(timeout)
            return
        self.page.locator(".jp-Notebook .jp-Cell").nth(target + 1).locator(".jp-InputPrompt").click()
        n_code = sum(c["cell_type"] == "code" for c in cells[:target + 1])
        self._run("notebook:run-all-above", n_code, timeout)

    def _run(self, command: str, n_code: int | None, timeout: float) -> None:
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.locator(f'li[data-command="{command}"]').click()
        try:
            self.page.wait_for_function(_RUN_DONE, arg=n_code, timeout=timeout * 1000, polling=250)
        except Exception as error:  # playwright's TimeoutError: report what the page shows
            prompts = self.page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
            self.fail(f"running the cells did not finish within {timeout:.0f} s ({type(error).__name__}); "
                      f"prompts: {' '.join(prompts)}")
        errors = self.error_outputs()
        if errors:
            self.fail(f"{self.path} raised while running its cells:\n" + "\n---\n".join(errors))

    def cells(self) -> list[dict]:
        """The notebook's cells as stored in the served copy."""
        return json.loads((self.server.root / self.path).read_text(encoding="utf-8"))["cells"]

    def error_outputs(self) -> list[str]:
        """Tracebacks shown under cells, except cells tagged ``raises-exception`` (errors on purpose)."""
        cells = self.cells()
        on_purpose = {i for i, cell in enumerate(cells)
                      if "raises-exception" in cell.get("metadata", {}).get("tags", [])}
        shown = self.page.locator(".jp-Notebook .jp-Cell").evaluate_all(
            "cells => cells.map(c => [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n'))")
        return [f"cell {i}: {text}" for i, text in enumerate(shown)
                if i not in on_purpose and "Traceback (most recent call last)" in text]

    def dismiss_notifications(self) -> None:
        """Close toasts such as the "Jupyter news" question, which cover the page in screenshots."""
        for button in self.page.locator(".jp-toast-button, .Toastify__close-button").all():
            if button.is_visible():
                button.click()

    def screenshot(self, name: str, target=None) -> Path:
        """Save a viewport screenshot to the artifacts folder with ``target`` (a locator) at the top."""
        self.dismiss_notifications()
        if target is not None:
            target.evaluate("element => element.scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(300)  # let plotly/matplotlib finish their last paint
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def fail(self, message: str) -> None:
        """Raise AssertionError with the message, a failure screenshot and the end of the server log."""
        shot = self.screenshot(Path(self.path).stem + "-failure")
        pytest.fail(f"{message}\nscreenshot: {shot}\nserver log:\n{self.server.log_tail(15)}", pytrace=False)

    def close(self) -> None:
        session = self.session()
        self.page.close()
        if session is not None:
            self.server.api("DELETE", f"api/sessions/{session['id']}")
