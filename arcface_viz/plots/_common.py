"""Helpers shared by the figure modules: a fresh or given matplotlib axes, degree ticks, log ticks."""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

THETA_LABEL = "θ, angle to the class centre (degrees)"


def _display_figures_in_jupyter() -> None:
    """Show a returned ``Figure`` as a PNG in a Jupyter kernel.

    Our figures are not pyplot figures, and the kernel's inline backend only registers its PNG
    formatter once pyplot resolves its backend: without this a returned figure would print as
    ``<Figure size 700x450 with 1 Axes>``. A formatter already registered (e.g. by ``%matplotlib
    inline`` or a retina setting) is left alone.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_display_figures_in_jupyter()


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The given axes and its figure, or a new figure with one axes.

    New figures are ``matplotlib.figure.Figure`` objects, not pyplot figures: they are not
    registered with pyplot, so Jupyter shows a returned figure once (not twice) and nothing leaks.
    """
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def degree_axis(axis, limits=(0, 180), step: int = 30) -> None:
    """Ticks every ``step`` degrees from ``limits[0]`` to ``limits[1]`` on a matplotlib axis."""
    axis.set_ticks(np.arange(limits[0], limits[1] + 1, step))


def plain_log_axis(axis, low: float, high: float) -> None:
    """A log-scale matplotlib axis labelled with plain numbers (0.05, 0.1, 0.2, 1, 2) instead of 10^k.

    matplotlib's default labels a log axis at powers of ten only, written 10^k (and a range inside
    one decade with minor labels such as 4×10^0): unreadable for a class. The labelled ticks are
    1, 2, 3, 5 × 10^k when the data span at most one decade, 1, 2, 5 × 10^k up to three decades,
    and powers of ten beyond; the other ticks of each decade stay unlabelled.

    Parameters
    ----------
    axis : matplotlib.axis.Axis
        E.g. ``ax.yaxis``; its axes must already use ``set_yscale("log")`` (or x).
    low, high : float
        The smallest and largest positive value drawn on it.
    """
    decades = np.log10(high / low) if 0 < low < high else 0.0
    subs = (1.0, 2.0, 3.0, 5.0) if decades <= 1 else (1.0, 2.0, 5.0) if decades <= 3 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_locator(LogLocator(base=10, subs=np.arange(1.0, 10.0)))
    axis.set_minor_formatter(NullFormatter())
