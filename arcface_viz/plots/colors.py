"""Colours shared by every figure: one colour per identity, one per loss.

A lesson shows the same identities in a face grid, on a circle, on a sphere and in histograms;
giving identity k the same colour everywhere lets a class follow one person across figures. A
loss has one colour in every figure and lesson, read from the loss registry
(:mod:`arcface_viz.losses`).
"""
from __future__ import annotations

import colorsys

from matplotlib import colormaps
from matplotlib.colors import to_hex

from .._validation import check_int, check_loss
from ..losses import CUSTOM_COLOR, LOSSES

#: Colour of each loss's curves (from the registry), plus ``"custom"`` for a user-defined margin.
LOSS_COLORS: dict[str, str] = {**{name: loss.color for name, loss in LOSSES.items()}, "custom": CUSTOM_COLOR}

#: Colour of the margin (wedges on the circle, the band where neither class wins): no identity and
#: no loss has it, so a shaded margin is never mistaken for a class.
MARGIN_COLOR = "#9a9a9a"

# tab10 without its grey (index 7), which looks like the margin wedges, plus one dark blue from
# tab20b so that ten identities still get ten colours.
_IDENTITY_PALETTE = [to_hex(colormaps["tab10"](k)) for k in (0, 1, 2, 3, 4, 5, 6, 8, 9)] + ["#393b79"]


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
        use matplotlib's ``tab10`` (colour-blind friendlier than a hue wheel) with its grey replaced
        by a dark blue, since grey is the colour of the margin (:data:`MARGIN_COLOR`); more
        identities get evenly spaced hues with alternating lightness so that neighbours stay
        distinguishable.

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
    if n <= len(_IDENTITY_PALETTE):
        return _IDENTITY_PALETTE[:n]
    colors = []
    for k in range(n):
        lightness = 0.42 if k % 2 == 0 else 0.62
        r, g, b = colorsys.hls_to_rgb(k / n, lightness, 0.7)
        colors.append(to_hex((r, g, b)))
    return colors


def loss_color(name: str) -> str:
    """The registry colour of a loss, by name or display label (case-insensitive).

    Parameters
    ----------
    name : str
        A loss name of :data:`arcface_viz.losses.LOSS_NAMES` or its label (``"ArcFace"``), or
        ``"custom"``; any other value (converted with ``str``) gets the custom colour.

    Returns
    -------
    str
        A hex colour ``"#rrggbb"``.

    Examples
    --------
    >>> loss_color("ArcFace"), loss_color("Sub-center ArcFace"), loss_color("custom") == loss_color("no such loss")
    ('#d62728', '#ff7f0e', True)
    """
    key = str(name).lower()
    if key in LOSS_COLORS:
        return LOSS_COLORS[key]
    for loss in LOSSES.values():
        if key == loss.label.lower():
            return loss.color
    return LOSS_COLORS["custom"]


#: Line styles that tell apart several series of one loss (same colour): solid, dashed, dotted, dash-dot.
SERIES_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))


def series_styles(names, losses=None) -> list[tuple[str, object]]:
    """(colour, line style) per series: a loss's own colour, a new line style for each repeat of a loss.

    Parameters
    ----------
    names : sequence of str
        Series names (legend entries).
    losses : sequence of str, optional
        The loss (registry name) of each series, in order. Without it only a series named exactly
        as a loss (its name or label, any case) belongs to that loss: longer display strings such as
        "ArcFace s=64" are not parsed, so pass ``losses`` to give several runs of one loss its colour.

    Returns
    -------
    list of (str, str or tuple)
        Hex colour and matplotlib line style per series. Series of no loss get colours no loss uses
        (then new line styles), so that they are never mistaken for a loss.

    Raises
    ------
    ValueError
        ``losses`` of another length than ``names``, or an unknown loss name.

    Examples
    --------
    >>> [style for _, style in series_styles(["s=16", "s=64", "softmax"], ["arcface", "arcface", "softmax"])]
    ['-', '--', '-']
    >>> series_styles(["ArcFace"])[0] == (LOSS_COLORS["arcface"], "-")
    True
    """
    names = [str(n) for n in names]
    if losses is None:
        by_name = {**{key: key for key in LOSSES}, **{loss.label.lower(): key for key, loss in LOSSES.items()}}
        keys = [by_name.get(name.lower()) for name in names]
    else:
        keys = list(losses)
        if len(keys) != len(names):
            raise ValueError(f"losses={keys!r}: {len(keys)} names for {len(names)} series; "
                             "give one loss name per series, in order")
        keys = [check_loss(f"losses[{i}]", key) for i, key in enumerate(keys)]
    free = [c for c in _IDENTITY_PALETTE if c not in LOSS_COLORS.values()]
    seen: dict[str | None, int] = {}
    styles = []
    for key in keys:
        if key is None:
            other = seen.get(None, 0)
            seen[None] = other + 1
            styles.append((free[other % len(free)], SERIES_STYLES[(other // len(free)) % len(SERIES_STYLES)]))
            continue
        repeat = seen.get(key, 0)
        seen[key] = repeat + 1
        styles.append((LOSS_COLORS[key], SERIES_STYLES[repeat % len(SERIES_STYLES)]))
    return styles
