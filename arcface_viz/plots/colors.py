"""Colours shared by every figure: one colour per identity, one per loss.

A lesson shows the same identities in a face grid, on a circle, on a sphere and in histograms;
giving identity k the same colour everywhere lets a class follow one person across figures.
"""
from __future__ import annotations

import colorsys

from matplotlib import colormaps
from matplotlib.colors import to_hex

# Colours for the loss curves (not identities): softmax is black because the paper draws the
# baseline as the reference every margin is compared with.
LOSS_COLORS: dict[str, str] = {
    "softmax": "#222222",
    "normface": "#7f7f7f",
    "sphereface": "#1f77b4",
    "cosface": "#2ca02c",
    "arcface": "#d62728",
    "combined": "#9467bd",
    "subcenter": "#ff7f0e",
    "custom": "#e377c2",
}


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
    """
    if isinstance(n, bool) or not isinstance(n, int) and not hasattr(n, "__index__"):
        raise TypeError(f"n must be an int (number of identities), got {type(n).__name__}")
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0 (number of identities), got {n}")
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
    """The colour of a loss's curve (``LOSS_COLORS``), ``"custom"``'s colour for unknown names."""
    return LOSS_COLORS.get(str(name).lower(), LOSS_COLORS["custom"])
