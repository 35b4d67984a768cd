"""How fast does the margin explorer answer a slider? Goal: median <= 100 ms per change.

Moves each control of ``margin_explorer()`` through a range of values (as a dragged slider does) and
prints, per control, the median wall-clock and CPU time of one change (readout + redrawn panels,
images encoded). Side by side, in the same run, it times the naive way -- clear the axes, call the
plot functions again and save PNGs -- and prints the ratio. CPU time is printed because the machine is
shared: wall-clock grows with the load average (printed too) while the work done does not.

Run: ``python benchmarks/bench_widgets.py [--repeats N]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from arcface_viz.widgets import margin_explorer, render_png
from arcface_viz.plots import plot_decision_boundaries, plot_probability_vs_angle, plot_target_logits

BUDGET_MS = 100.0
SWEEPS = {
    "theta": np.linspace(5, 175, 18),
    "m2": np.linspace(0.05, 0.95, 18),
    "m3": np.linspace(0.02, 0.5, 18),
    "s": np.linspace(4, 60, 18),
    "n_classes": np.arange(3, 21),
}


def time_changes(explorer, name: str, values) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each value change of one control."""
    walls, cpus = [], []
    for value in values:
        wall, cpu = time.perf_counter(), time.process_time()
        explorer.controls[name].value = type(explorer.controls[name].value)(value)
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    return walls, cpus


def naive_redraw_ms(explorer, repeats: int) -> tuple[float, float]:
    """Median wall/CPU ms of clearing and re-plotting all three panels and encoding PNGs."""
    p = explorer.settings
    m = {"m1": p["m1"], "m2": p["m2"], "m3": p["m3"]}
    walls, cpus = [], []
    for i in range(repeats):
        theta = 20.0 + 7 * i
        wall, cpu = time.perf_counter(), time.process_time()
        for name, fig in explorer.figures.items():
            ax = fig.axes[0]
            ax.clear()
            if name == "logits":
                plot_target_logits(None, p["s"], theta_probe_deg=theta, highlight={"loss": p["loss"], **m}, ax=ax)
            elif name == "boundary":
                plot_decision_boundaries(p["loss"], s=p["s"], ax=ax, **m)
            else:
                plot_probability_vs_angle(p["s"], None, p["n_classes"], loss=p["loss"], theta_probe_deg=theta,
                                          ax=ax, **m)
            render_png(fig)
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="sweeps per control (default 2)")
    args = parser.parse_args()
    explorer = margin_explorer()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    all_walls, all_cpus = [], []
    print(f"{'control':<10} {'median wall ms':>15} {'median CPU ms':>14} {'changes':>8}")
    for name, values in SWEEPS.items():
        walls, cpus = [], []
        for _ in range(args.repeats):
            w, c = time_changes(explorer, name, values)
            walls += w
            cpus += c
        all_walls += walls
        all_cpus += cpus
        print(f"{name:<10} {statistics.median(walls):>15.1f} {statistics.median(cpus):>14.1f} {len(walls):>8}")
    explorer.controls["loss"].value = "arcface"
    wall, cpu = statistics.median(all_walls), statistics.median(all_cpus)
    naive_wall, naive_cpu = naive_redraw_ms(explorer, 6)
    print(f"{'all':<10} {wall:>15.1f} {cpu:>14.1f} {len(all_walls):>8}")
    print(f"naive full redraw of the 3 panels: median wall {naive_wall:.1f} ms, CPU {naive_cpu:.1f} ms")
    print(f"ratio naive / explorer (CPU): {naive_cpu / cpu:.1f}x   (wall: {naive_wall / wall:.1f}x)")
    print(f"median slider change / budget {BUDGET_MS:.0f} ms: wall {wall / BUDGET_MS:.2f}, CPU {cpu / BUDGET_MS:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
