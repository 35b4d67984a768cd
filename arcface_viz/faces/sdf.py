"""Signed-distance shapes used to draw the toy faces, vectorised over a batch of images.

Every function takes pixel coordinates ``x, y`` of shape (N, H, W) (face units, y pointing down)
and shape parameters that broadcast against them (scalars or (N, 1, 1) arrays). It returns the
signed distance to the shape outline: negative inside, positive outside. Drawing through a
distance instead of a mask gives anti-aliased edges at any image size (:func:`coverage`).
Formulas: the standard 2-D distance functions (I. Quilez, "2D distance functions").
"""
from __future__ import annotations

import numpy as np

_EPS = np.float32(1e-6)


def coverage(distance: np.ndarray, edge: np.ndarray | float) -> np.ndarray:
    """Fraction of a pixel covered by a shape: 1 inside, 0 outside, a linear ramp ``edge`` wide.

    Parameters
    ----------
    distance : numpy.ndarray
        Signed distance to the outline (negative inside), in face units.
    edge : numpy.ndarray or float
        Width of the ramp in face units, broadcasting against ``distance``: one pixel for a crisp,
        anti-aliased edge; wider edges blur the shape.

    Returns
    -------
    numpy.ndarray
        Coverage in [0, 1], the shape of ``distance`` broadcast with ``edge``; 0.5 on the outline.

    Examples
    --------
    >>> import numpy as np
    >>> coverage(np.array([-1.0, 0.0, 0.25, 1.0]), 1.0).tolist()
    [1.0, 0.5, 0.25, 0.0]
    """
    return np.clip(np.float32(0.5) - distance / edge, 0.0, 1.0)


def paint(canvas: np.ndarray, alpha: np.ndarray, value: np.ndarray | float) -> None:
    """Composite ``value`` over ``canvas`` in place with opacity ``alpha`` ("over" operator).

    Parameters
    ----------
    canvas : numpy.ndarray, shape (N, H, W), float32
        Grey levels, changed in place: ``canvas + alpha·(value − canvas)``.
    alpha : numpy.ndarray
        Opacity in [0, 1], broadcasting against ``canvas`` (e.g. from :func:`coverage`).
    value : numpy.ndarray or float
        Grey level of the paint, broadcasting against ``canvas``.
    """
    canvas += alpha * (value - canvas)


def ellipse(x: np.ndarray, y: np.ndarray, cx, cy, a, b) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse (centre cx, cy; half-axes a, b).

    First-order estimate (implicit value over gradient length): exact on the outline, which is
    all anti-aliasing needs; deep inside it is -min(a, b) at the centre.

    Parameters
    ----------
    x, y : numpy.ndarray, shape (N, H, W), float32
        Pixel coordinates in face units, y pointing down.
    cx, cy : float or numpy.ndarray
        Centre, broadcasting against ``x`` (scalars or (N, 1, 1)).
    a, b : float or numpy.ndarray
        Half-axes along x and y; only their size counts, and sizes below 1e-6 count as 1e-6 (a
        squashed outline can reach 0 at a pixel, where dividing by it would give NaN).

    Returns
    -------
    numpy.ndarray, shape (N, H, W)
        Approximate signed distance, negative inside; always finite.
    """
    a, b = _half_axis(a), _half_axis(b)
    u = (x - cx) / a
    v = (y - cy) / b
    k2 = u * u + v * v
    grad2 = ((u / a) ** 2 + (v / b) ** 2 + _EPS / np.minimum(a, b) ** 2) / (k2 + _EPS)
    return (np.sqrt(k2) - 1.0) / np.sqrt(grad2)


def _half_axis(h):
    """|h|, at least _EPS; keeps the dtype (the distances use only h², so |h| changes no other value)."""
    if isinstance(h, np.ndarray):
        return np.maximum(np.abs(h), _EPS)
    return max(abs(h), float(_EPS))


def segment(x: np.ndarray, y: np.ndarray, ax, ay, bx, by, radius) -> np.ndarray:
    """Signed distance to a capsule: the segment (ax, ay)-(bx, by) thickened by ``radius``.

    Parameters
    ----------
    x, y : numpy.ndarray, shape (N, H, W), float32
        Pixel coordinates in face units, y pointing down.
    ax, ay, bx, by : float or numpy.ndarray
        End points, broadcasting against ``x``.
    radius : float or numpy.ndarray
        Half the thickness of the stroke.

    Returns
    -------
    numpy.ndarray, shape (N, H, W)
        Signed distance, negative inside.
    """
    px, py = x - ax, y - ay
    dx, dy = bx - ax, by - ay
    h = np.clip((px * dx + py * dy) / (dx * dx + dy * dy + _EPS), 0.0, 1.0)
    ex, ey = px - dx * h, py - dy * h
    return np.sqrt(ex * ex + ey * ey) - radius


def box(x: np.ndarray, y: np.ndarray, cx, cy, half_w, half_h, radius=0.0) -> np.ndarray:
    """Signed distance to an axis-aligned rectangle with corners rounded by ``radius``.

    Parameters
    ----------
    x, y : numpy.ndarray, shape (N, H, W), float32
        Pixel coordinates in face units, y pointing down.
    cx, cy : float or numpy.ndarray
        Centre, broadcasting against ``x``.
    half_w, half_h : float or numpy.ndarray
        Half width and half height.
    radius : float or numpy.ndarray, default 0.0
        Corner radius, at most ``min(half_w, half_h)``.

    Returns
    -------
    numpy.ndarray, shape (N, H, W)
        Signed distance, negative inside.
    """
    qx = np.abs(x - cx) - half_w + radius
    qy = np.abs(y - cy) - half_h + radius
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - radius


def arc(x: np.ndarray, y: np.ndarray, cx, cy, half_w, bend, thickness) -> np.ndarray:
    """Distance to a thick parabolic stroke ``y = cy + bend * (1 - ((x - cx) / half_w)^2)``, |x - cx| <= half_w.

    ``bend > 0`` sags in the middle (y points down: a smile), ``bend < 0`` arches (a frown).
    The vertical gap is divided by the slope factor to approximate the true distance.

    Parameters
    ----------
    x, y : numpy.ndarray, shape (N, H, W), float32
        Pixel coordinates in face units, y pointing down.
    cx, cy : float or numpy.ndarray
        Centre of the chord, broadcasting against ``x``.
    half_w : float or numpy.ndarray
        Half the width of the stroke, > 0.
    bend : float or numpy.ndarray
        Sag of the middle below the ends (negative: above).
    thickness : float or numpy.ndarray
        Half the thickness of the stroke.

    Returns
    -------
    numpy.ndarray, shape (N, H, W)
        Approximate signed distance, negative inside.
    """
    t = (x - cx) / half_w
    curve_y = cy + bend * (1.0 - t * t)
    slope = -2.0 * bend * t / half_w
    across = np.abs(y - curve_y) / np.sqrt(1.0 + slope * slope) - thickness
    return np.maximum(across, np.abs(x - cx) - half_w)
