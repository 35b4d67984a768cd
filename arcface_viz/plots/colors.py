"""Colours shared by every figure: one colour per identity, one per loss.

A lesson shows the same identities in a face grid, on a circle, on a sphere and in histograms;
giving identity k the same colour everywhere lets a class follow one person across figures.
"""
from __future__ import annotations

import colorsys

from matplotlib import colormaps
from matplotlib.colors import to_hex

from .._validation import check_int
from ..losses import CUSTOM_COLOR, LOSSES

#: Colour of each loss's curves, from the registry (:mod:`arcface_viz.losses`), plus ``"custom"``:
#: softmax is black because the paper draws the baseline as the reference every margin is compared with.
LOSS_COLORS: dict[str, str] = {**{name: loss.color for name, loss in LOSSES.items()}, "custom": CUSTOM_COLOR}


def identity_colors(n: int) -> list[str]:
    """One distinct colour per identity, the same for a given ``n`` in every figure.

    Parameters
    ----------
    n : int
        Number of identities (classes), ``n >= 0``.

    Returns
    -------
    list of str
        ``n`` hex colours ``"#rrggbb"``; colour ``k`` belongs to label ``k``. Up to 10 identities
        use matplotlib's ``tab10`` (colour-blind friendlier than a hue wheel); more identities get
        evenly spaced hues with alternating lightness so that neighbours stay distinguishable.

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n`` is negative.

    Examples
    --------
    >>> identity_colors(3)
    ['#1f77b4', '#ff7f0e', '#2ca02c']
    """
    n = check_int("n", n, minimum=0, fix="pass the number of identities")
    if n <= 10:
        tab10 = colormaps["tab10"]
        return [to_hex(tab10(k)) for k in range(n)]
    colors = []
    for k in range(n):
        lightness = 0.42 if k % 2 == 0 else 0.62
        r, g, b = colorsys.hls_to_rgb(k / n, lightness, 0.7)
        colors.append(to_hex((r, g, b)))
    return colors


def loss_color(name: str) -> str:
    """The registry colour of a loss, by name (case-insensitive).

    Parameters
    ----------
    name : str
        A loss name of :data:`arcface_viz.losses.LOSS_NAMES`, or ``"custom"``; any other value
        (converted with ``str``) gets the custom colour.

    Returns
    -------
    str
        A hex colour ``"#rrggbb"``.

    Examples
    --------
    >>> loss_color("ArcFace"), loss_color("custom") == loss_color("no such loss")
    ('#d62728', True)
    """
    return LOSS_COLORS.get(str(name).lower(), CUSTOM_COLOR)
