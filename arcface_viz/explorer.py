"""Pure computations behind the margin figures and the widgets (no plotting, no widgets, no text).

Angles are radians in code. The target logit is always :func:`arcface_viz.heads.target_logit`, the
function the heads' margin comes from, so a figure shows exactly what the package trains with. Loss
names, labels and preset margins come from the registry, :mod:`arcface_viz.losses`.

Source: the combined margin target logit ``s*(cos(m1*theta + m2) - m3)`` of Deng et al.,
"ArcFace", CVPR 2019 (arXiv 1801.07698), Eq. 4; the scale bound of Wang et al., "NormFace",
ACM MM 2017 (Proposition 2), stated in this form by CosFace (Wang et al., CVPR 2018).
"""
from __future__ import annotations

import math

import numpy as np

from ._validation import check_angles, check_int, check_loss, check_margin, check_margins, check_probability
from . import heads
from .losses import CUSTOM_LABEL, LOSSES, MARGIN_NAMES

_NO_MARGIN = (1.0, 0.0, 0.0)


def label(loss: str) -> str:
    """Display name of a registered loss, or ``"Custom"`` for a user-defined margin.

    Parameters
    ----------
    loss : str
        A registered loss name (case-insensitive) or ``"custom"``.

    Returns
    -------
    str
        The registry's display label, e.g. ``"ArcFace"``.

    Raises
    ------
    TypeError
        ``loss`` not a str.
    ValueError
        An unknown loss.

    Examples
    --------
    >>> label("cosface"), label("custom")
    ('CosFace', 'Custom')
    """
    name = check_loss("loss", loss, custom=True)
    return CUSTOM_LABEL if name == "custom" else LOSSES[name].label


def margins_for(
    loss: str, m: float | None = None, m1: float | None = None, m2: float | None = None, m3: float | None = None
) -> tuple[float, float, float]:
    """(m1, m2, m3) for a loss: its registry margins, with ``m`` setting its own margin and m1/m2/m3 overriding.

    Parameters
    ----------
    loss : str
        A registered loss name (:data:`arcface_viz.losses.LOSS_NAMES`) or ``"custom"`` (starts from no margin).
    m : float, optional
        The loss's single margin: m1 for SphereFace, m2 (radians) for ArcFace, m3 for CosFace, within
        the loss's ``m_range``.
    m1, m2, m3 : float, optional
        Explicit values, applied last.

    Returns
    -------
    tuple of float
        ``(m1, m2, m3)``, each within the registry's legal range.

    Raises
    ------
    TypeError
        ``loss`` not a str; a margin not a real number.
    ValueError
        An unknown loss; ``m`` for a loss without a single margin (softmax, NormFace, combined,
        custom); a margin outside its legal range.
    """
    name = check_loss("loss", loss, custom=True)
    values = dict(zip(MARGIN_NAMES, _NO_MARGIN if name == "custom" else LOSSES[name].margins))
    if m is not None:
        if name == "custom":
            raise ValueError(f"m={m!r}: a custom margin has no single margin m; pass m1, m2 and m3 instead")
        values[LOSSES[name].main_margin or "m"] = check_margin(name, m)
    for key, value in (("m1", m1), ("m2", m2), ("m3", m3)):
        if value is not None:
            values[key] = value
    return check_margins(values["m1"], values["m2"], values["m3"])


def describe(loss: str, s: float, m1: float, m2: float, m3: float) -> str:
    """A short title such as ``"ArcFace (s=16, m=0.5)"`` (the style of ``head.describe()``).

    Softmax has no scale or margin in its head; here ``s`` is the factor its curve is drawn with,
    so the text says ``"Softmax (cos θ × s=16)"``.

    Parameters
    ----------
    loss : str
        A registered loss name or ``"custom"``.
    s : float
        Scale.
    m1, m2, m3 : float
        Margins of the combined form (m2 in radians). The single-m form ``m=...`` is used when the
        loss has a single margin and the other two are off (m1 = 1, m2 = 0, m3 = 0).

    Returns
    -------
    str
        The title.

    Raises
    ------
    TypeError, ValueError
        ``loss`` not a str, or unknown.

    Examples
    --------
    >>> describe("arcface", 16, 1.0, 0.5, 0.0), describe("arcface", 16, 1.0, 0.5, 0.1)
    ('ArcFace (s=16, m=0.5)', 'ArcFace (s=16, m1=1, m2=0.5, m3=0.1)')
    """
    name = check_loss("loss", loss, custom=True)
    text = label(name)
    if name == "softmax":
        return f"{text} (cos θ × s={s:g})"
    if name == "normface":
        return f"{text} (s={s:g})"
    values = dict(zip(MARGIN_NAMES, (m1, m2, m3)))
    main = None if name == "custom" else LOSSES[name].main_margin
    if main is not None:
        # The single-m form only when the other two margins are "off" (m1=1, m2=0, m3=0).
        if all(values[k] == off for k, off in zip(MARGIN_NAMES, _NO_MARGIN) if k != main):
            return f"{text} (s={s:g}, m={values[main]:g})"
    return f"{text} (s={s:g}, m1={m1:g}, m2={m2:g}, m3={m3:g})"


def target_probability(theta, *, s: float, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0,
                       n_classes: int = 8) -> np.ndarray:
    """Softmax probability of the target class when the other C−1 centres are at 90° (logit 0).

    ``P = exp(t) / (exp(t) + (C−1))`` with ``t`` from :func:`arcface_viz.heads.target_logit`. Centres at 90° is the
    typical case in high dimensions, where random directions are nearly orthogonal.

    Parameters
    ----------
    theta : array_like of float
        Target angles, radians in [0, π].
    s : float
        Scale, in [1e-3, 1e4].
    m1 : float, default 1.0
        Multiplicative angular margin.
    m2 : float, default 0.0
        Additive angular margin, radians.
    m3 : float, default 0.0
        Additive cosine margin.
    n_classes : int, default 8
        Number of classes C >= 2.

    Returns
    -------
    numpy.ndarray
        Probabilities in [0, 1], float64, ``theta``'s shape (computed with log-sum-exp: no overflow).

    Raises
    ------
    TypeError, ValueError
        Angles outside [0, π] (e.g. degrees), ``n_classes`` < 2, or bad s and margins (as
        :func:`arcface_viz.heads.target_logit`).

    Examples
    --------
    ArcFace (s = 16, m = 0.5) with 8 classes: at θ = 0 the target logit is 16·cos 0.5 = 14.04 and
    P = e^14.04 / (e^14.04 + 7) = 0.999994; at θ = 90° it is 16·cos(π/2 + 0.5) = −7.67 and P = 6.7e-5.

    >>> import math
    >>> p = target_probability([0.0, math.pi / 2], s=16.0, m2=0.5, n_classes=8)
    >>> [float(f"{v:.3g}") for v in p]
    [1.0, 6.66e-05]
    """
    n_classes = _n_classes(n_classes)
    t = heads.target_logit(check_angles("theta", theta), s=s, m1=m1, m2=m2, m3=m3).numpy()
    return np.exp(t - np.logaddexp(t, math.log(n_classes - 1)))


def _n_classes(n_classes) -> int:
    return check_int("n_classes", n_classes, minimum=2, fix="a softmax over one class is always 1; pass C >= 2")


def scale_lower_bound(n_classes: int, p: float) -> float:
    """Smallest scale s with which normalised softmax can reach class probability ``p``.

    ``s >= (C−1)/C · ln((C−1)·p / (1−p))`` (NormFace, Wang et al. 2017, Prop. 2; stated in this form by CosFace, 2018):
    the best case puts each embedding on its centre and the C centres as a regular simplex.

    Parameters
    ----------
    n_classes : int
        Number of classes C >= 2.
    p : float
        Target probability in (0, 1).

    Returns
    -------
    float
        The bound. It is <= 0 when ``p <= 1/C`` (any positive s reaches such a probability).

    Raises
    ------
    ValueError
        If ``n_classes < 2`` or ``p`` is not in (0, 1).

    References
    ----------
    .. [1] F. Wang, X. Xiang, J. Cheng, A. L. Yuille, "NormFace: L2 Hypersphere Embedding for Face
       Verification", ACM MM 2017, arXiv:1704.06369, Proposition 2.
    .. [2] H. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018,
       arXiv:1801.09414 (the bound in the form used here).

    Examples
    --------
    10 classes, p = 0.9: 0.9·ln(9·0.9/0.1) = 0.9·ln 81 = 3.955.

    >>> round(scale_lower_bound(10, 0.9), 4)
    3.955
    """
    n_classes = _n_classes(n_classes)
    p = check_probability("p", p)
    return (n_classes - 1) / n_classes * math.log((n_classes - 1) * p / (1.0 - p))


def decision_boundary(theta, *, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0) -> np.ndarray:
    """Binary case: the θ2 at which class 1 starts to win with its margin, for each θ1.

    Class 1 wins when ``cos(m1·θ1 + m2) − m3 > cos θ2`` (the scale s multiplies both sides, so
    it does not move the boundary). Class 2's boundary is the mirror image (swap θ1 and θ2).

    Parameters
    ----------
    theta : array_like of float
        The angles θ1, radians in [0, π].
    m1 : float, default 1.0
        Multiplicative angular margin.
    m2 : float, default 0.0
        Additive angular margin, radians.
    m3 : float, default 0.0
        Additive cosine margin.

    Returns
    -------
    numpy.ndarray
        The angles θ2 in radians, ``theta``'s shape; π where class 1 cannot win at all.

    Raises
    ------
    TypeError, ValueError
        Angles outside [0, π] (e.g. degrees) or bad margins.

    Examples
    --------
    For ArcFace the boundary is θ2 = θ1 + m (below the fallback angle): 30° + 28.65° and 60° + 28.65°.

    >>> import numpy as np
    >>> np.degrees(decision_boundary(np.radians([30.0, 60.0]), m2=0.5)).round(2).tolist()
    [58.65, 88.65]
    """
    target = heads.target_logit(check_angles("theta", theta), s=1.0, m1=m1, m2=m2, m3=m3).numpy()
    return np.arccos(np.clip(target, -1.0, 1.0))


def decision_regions(theta, *, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0) -> np.ndarray:
    """Binary case on a (θ1, θ2) grid: 1 where class 1 wins, 2 where class 2 wins, 0 in the margin.

    Parameters
    ----------
    theta : array_like of float
        (G,) grid of angles, radians in [0, π], used for both θ1 and θ2.
    m1 : float, default 1.0
        Multiplicative angular margin.
    m2 : float, default 0.0
        Additive angular margin, radians.
    m3 : float, default 0.0
        Additive cosine margin.

    Returns
    -------
    numpy.ndarray
        Region codes, int8 array (G, G); row i is θ2 = theta[i], column j is θ1 = theta[j] (image
        layout).

    Raises
    ------
    TypeError, ValueError
        Angles outside [0, π] (e.g. degrees) or bad margins.
    """
    grid = check_angles("theta", theta).ravel()
    target = heads.target_logit(grid, s=1.0, m1=m1, m2=m2, m3=m3).numpy()
    cos = np.cos(grid)
    class1 = target[None, :] > cos[:, None]  # columns θ1 carry the margin, rows θ2 do not
    class2 = target[:, None] > cos[None, :]
    regions = np.zeros(class1.shape, dtype=np.int8)
    regions[class1 & ~class2] = 1
    regions[class2 & ~class1] = 2
    return regions
