"""Control response end to end, in Chromium: key press on a control -> the new figure decoded and painted.

Goal: median <= 100 ms per control, for every control of the margin explorer (six sliders and the loss
selector) and of lesson 6's threshold explorer (its one slider).

The script serves a small notebook with Voilà on 127.0.0.1 (the same widget manager and comm path as
JupyterLab), opens it in Debian's headless Chromium (Playwright, /usr/bin/chromium), focuses each control
and presses an arrow key ``--presses`` times: Right/Left on a slider's handle, Down/Up on the loss
selector (a ``<select>``: each press picks the next or previous loss, as a student does from the
keyboard; a preset moves the three margin sliders too, "custom" leaves them). Every press changes the
value. The selector's row starts at "custom" (the margin sliders left the preset) and visits Combined for
the first time: that press draws Combined's panels in full (its maximum); the others reuse panels drawn
before. In the page, a keydown listener stamps the press and a MutationObserver stamps each panel image
whose ``src`` changes, after ``img.decode()`` and two animation frames (the frame that shows it). One
press's time is the last panel's stamp minus the key press.

To see where the time goes it prints, per control, beside the browser median:
- where one change spends it, as medians: ``to kernel`` (key press -> the message reaches the widget in the
  kernel: browser, server, kernel's queue), ``in kernel`` (until the widget has redrawn and sent every
  panel; the kernel's clock, stamped by an observer that runs after the widget's own), ``back`` (-> the
  last update reaches the page: its ``src`` or text set) and ``paint`` (decoding and up to two frames);
  for the bare slider ``back`` is the whole way there and back;
- ``kernel``: the same change made in this Python process (readout + redrawn panels, JPEG encoded), wall
  and CPU time (CPU time does not grow with the machine's load);
- ``KB``: the bytes of the images one change sends;
and once, ``round trip``: the same measurement on a bare IntSlider whose observer only sets a Label
(key press -> comm to the kernel -> comm back -> DOM update), i.e. the cost of the path with no figure.

Run: python benchmarks/bench_browser_sliders.py [--presses 15]. Prints the load average; on a busy machine
the numbers grow with it.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("ARCFACE_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
BUDGET_MS = 100.0
SCORES_CODE = """import numpy as np
rng = np.random.default_rng(0)  # lesson 6's sizes: 450 genuine and 4,500 impostor pairs
genuine, impostor = rng.normal(0.55, 0.15, 450), rng.normal(0.05, 0.2, 4500)"""
NOTEBOOK_CELLS = [
    "import ipywidgets as w\nbare = w.IntSlider(value=50, description='bare')\nbare.add_class('bench-bare')\n"
    "echo = w.Label('50')\necho.add_class('bench-echo')\n"
    "bare.observe(lambda c: setattr(echo, 'value', str(c['new'])), names='value')\nw.HBox([bare, echo])",
    # done: a hidden label that each control's last observer (after the widget's own redraw) sets to the
    # kernel's clock when the message from the page reached the widget and when the change was done
    "import time\ndone = w.Label('0 0', layout=w.Layout(display='none'))\ndone.add_class('bench-done')\n"
    "received = [0.0]\nset_state = w.Widget.set_state\n"
    "def timed_set_state(self, sync_data):\n    received[0] = 1000 * time.time()\n    return set_state(self, sync_data)\n"
    "w.Widget.set_state = timed_set_state\n"
    "def stamp_when_done(control):\n"
    "    control.observe(lambda c: setattr(done, 'value', f'{received[0]:.3f} {1000 * time.time():.3f}'),\n"
    "                    names='value')\ndone",
    "from arcface_viz.widgets import margin_explorer\nexplorer = margin_explorer()\n"
    "for control in explorer.controls.values():\n    stamp_when_done(control)\nexplorer",
    SCORES_CODE + "\nfrom arcface_viz.threshold import threshold_explorer\nthr = threshold_explorer(genuine, impostor)\n"
    "stamp_when_done(thr.controls['threshold'])\nthr",
]
INSTRUMENT = """() => {
  window.__bench = {t0: 0, last: 0, n: 0, arrived: 0, received: 0, done: 0};
  document.addEventListener('keydown', () => { __bench.t0 = performance.now(); __bench.last = 0; __bench.n = 0;
                                               __bench.arrived = 0; __bench.received = 0; __bench.done = 0; },
                            true);
  const stamp = () => requestAnimationFrame(() => requestAnimationFrame(() => {
      __bench.last = performance.now(); __bench.n++; }));
  new MutationObserver(muts => {
    for (const m of muts) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.tagName === 'IMG' && m.type === 'attributes') {
        __bench.arrived = performance.now(); el.decode().then(stamp, stamp);
      } else if (el && el.closest && el.closest('.bench-echo')) { __bench.arrived = performance.now(); stamp(); }
      else if (el && el.closest && el.closest('.bench-done')) {  // the kernel's clock, as the page's
        const [received, done] = el.closest('.bench-done').textContent.split(' ').map(parseFloat);
        __bench.received = received - performance.timeOrigin; __bench.done = done - performance.timeOrigin;
      }
    }
  }).observe(document.body, {attributes: true, attributeFilter: ['src'], childList: true, characterData: true,
                             subtree: true});
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "bench_sliders.ipynb"
    nbformat.write(nb, path)
    return path


def start_voila(folder: Path, home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "jc"), JUPYTER_RUNTIME_DIR=str(home / "jr"),
               IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "mpl"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(folder), "--Voila.ip=127.0.0.1", f"--port={port}",
                             "--no-browser"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=5)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("Voilà did not start")
            time.sleep(0.5)


def directions(presses: int, forward_first: bool = True) -> list[int]:
    """+1 / -1 per press: two forward, two back, ... so that the value stays within two steps of its start
    (inside a slider's range; among a selector's options when it starts two away from the end it heads to)."""
    sign = 1 if forward_first else -1
    return [sign if (i // 2) % 2 == 0 else -sign for i in range(presses)]


def press_times(page, handle, presses: int, keys: tuple[str, str] = ("ArrowRight", "ArrowLeft"),
                forward_first: bool = True) -> tuple[list[float], list[float], list[tuple[float, float]]]:
    """Milliseconds from each key press on ``handle`` to the last figure/label update it caused, to the
    moment that update reached the page (its ``src`` or text set; the rest is decoding and painting), and
    to the kernel receiving and finishing the change (its clock; not stamped for the bare slider).
    ``keys`` are the keys that step the control forward and back."""
    times, arrivals, kernel = [], [], []
    handle.focus()
    for step in directions(presses, forward_first):
        page.keyboard.press(keys[0] if step > 0 else keys[1])
        page.wait_for_function("() => __bench.n > 0", timeout=30_000)
        # Quiet for 300 ms: every panel of this change has been shown.
        page.wait_for_function("() => __bench.n > 0 && performance.now() - __bench.last > 300", timeout=30_000)
        last, arrived, received, done = page.evaluate(
            "() => [__bench.last - __bench.t0, __bench.arrived - __bench.t0, __bench.received - __bench.t0, "
            "__bench.done - __bench.t0]")
        times.append(last)
        arrivals.append(arrived)
        kernel.append((received, done))
    return times, arrivals, kernel


def next_value(control, step: int):
    """The value one step forward (+1) or back (-1): a slider's step (clamped), or a selector's next option."""
    if hasattr(control, "step"):
        return min(max(control.value + step * control.step, control.min), control.max)
    return control.options[control.index + step][1]


def kernel_side(presses: int) -> dict[str, tuple[float, float, float]]:
    """Per control: median wall and CPU ms of one change made in-process, and KB of the images it sends."""
    from arcface_viz.threshold import threshold_explorer
    from arcface_viz.widgets import margin_explorer

    scope: dict = {}
    exec(SCORES_CODE, scope)
    out = {}
    explorer = margin_explorer()
    # The browser's order: the sliders (the margin ones leave the preset: "custom"), then the loss selector.
    widgets = [(name, explorer, control) for name, control in explorer.controls.items() if hasattr(control, "step")]
    widgets.append(("loss", explorer, explorer.controls["loss"]))
    thr = threshold_explorer(scope["genuine"], scope["impostor"])
    widgets.append(("threshold", thr, thr.controls["threshold"]))
    for name, owner, control in widgets:
        ms, cpu, sent = [], [], []
        forward_first = hasattr(control, "step") or control.index + 2 < len(control.options)  # as in the browser
        for step in directions(presses, forward_first):
            before = {k: v.value for k, v in owner.images.items()}
            value = next_value(control, step)
            start, start_cpu = time.perf_counter(), time.process_time()
            control.value = value
            ms.append(1000 * (time.perf_counter() - start))
            cpu.append(1000 * (time.process_time() - start_cpu))
            sent.append(sum(len(v.value) for k, v in owner.images.items() if v.value != before[k]) / 1024)
        out[name] = (statistics.median(ms), statistics.median(cpu), statistics.median(sent))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Median key-press-to-figure time per control, in Chromium.")
    parser.add_argument("--presses", type=int, default=15)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from arcface_viz.widgets import margin_explorer

    descriptions = {name: c.description for name, c in margin_explorer().controls.items() if hasattr(c, "step")}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.presses} presses per control")
    kernel = kernel_side(args.presses)
    with tempfile.TemporaryDirectory(prefix="bench-sliders-") as tmp:
        folder, home = Path(tmp) / "nb", Path(tmp) / "home"
        folder.mkdir()
        write_notebook(folder)
        proc, url = start_voila(folder, home)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1400})
                page.goto(url + "/voila/render/bench_sliders.ipynb", timeout=300_000)
                page.locator(".arcface-threshold-explorer img").first.wait_for(timeout=300_000)
                page.wait_for_timeout(1000)
                page.evaluate(INSTRUMENT)
                rows = [("round trip", page.locator(".bench-bare .noUi-handle").first, None)]
                panel = page.locator(".arcface-margin-explorer").first
                for name, text in descriptions.items():
                    label = page.locator(".widget-label", has_text=text)
                    rows.append((name, panel.locator(".widget-slider", has=label).locator(".noUi-handle").first, name))
                # after the sliders, as in kernel_side: the margin sliders have switched it to "custom"
                rows.append(("loss", panel.locator(".widget-dropdown select").first, "loss"))
                rows.append(("threshold", page.locator(".arcface-threshold-explorer .noUi-handle").first, "threshold"))
                print(f"{'control':12s} {'browser median ms':>18s} {'(min-max)':>14s} {'to kernel':>10s} "
                      f"{'in kernel':>10s} {'back':>5s} {'paint':>6s} {'kernel ms':>10s} {'kernel CPU ms':>14s} "
                      f"{'KB sent':>8s}")
                for label, handle, key in rows:
                    if label == "loss":  # Down/Up; towards the end of the list with two options to go
                        index, count = handle.evaluate("s => [s.selectedIndex, s.options.length]")
                        times, arrivals, stamps = press_times(page, handle, args.presses, ("ArrowDown", "ArrowUp"),
                                                              forward_first=index + 2 < count)
                    else:
                        times, arrivals, stamps = press_times(page, handle, args.presses)
                    arrived = statistics.median(arrivals)
                    if key is None:
                        steps = f"{'':10s} {'':10s} {arrived:5.0f}"  # the bare slider: the whole way, there and back
                    else:
                        there = statistics.median(received for received, _ in stamps)
                        inside = statistics.median(done - received for received, done in stamps)
                        back = statistics.median(a - done for a, (_, done) in zip(arrivals, stamps))
                        steps = f"{there:10.0f} {inside:10.0f} {back:5.0f}"
                    paint = statistics.median(t - a for t, a in zip(times, arrivals))
                    k_ms, k_cpu, kb = kernel.get(key, (float("nan"),) * 3)
                    mark = "" if key is None else ("  ok" if statistics.median(times) <= BUDGET_MS else "  over 100 ms")
                    print(f"{label:12s} {statistics.median(times):18.0f} {f'({min(times):.0f}-{max(times):.0f})':>14s} "
                          f"{steps} {paint:6.0f} {k_ms:10.0f} {k_cpu:14.0f} {kb:8.1f}{mark}")
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
