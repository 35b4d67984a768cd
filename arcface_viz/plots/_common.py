"""Helpers shared by the figure modules: a fresh or given matplotlib axes, degree ticks."""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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
