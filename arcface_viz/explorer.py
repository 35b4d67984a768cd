"""Pure computations behind the margin figures and the widgets (no plotting, no widgets).

Angles are radians in code; functions whose names or arguments say ``deg`` take degrees because
their callers are sliders and plot axes. The target logit is always computed by
:func:`arcface_viz.heads.margin_logits`, so a figure shows exactly what the package trains with.

Source: the combined margin target logit ``s*(cos(m1*theta + m2) - m3)`` of Deng et al.,
"ArcFace", CVPR 2019 (arXiv 1801.07698), Eq. 4; the scale bound of Wang et al., "NormFace",
ACM MM 2017 (Proposition 2), stated in this form by CosFace (Wang et al., CVPR 2018).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from .heads import margin_logits

# (m1, m2, m3) of each loss in the combined-margin form; the paper's settings for 2-D toy examples
# and its target-logit figure (SphereFace m1=1.35, CosFace m3=0.35, ArcFace m2=0.5, CM (1, 0.3, 0.2)).
LOSS_PRESETS: dict[str, tuple[float, float, float]] = {
    "softmax": (1.0, 0.0, 0.0),
    "normface": (1.0, 0.0, 0.0),
    "sphereface": (1.35, 0.0, 0.0),
    "cosface": (1.0, 0.0, 0.35),
    "arcface": (1.0, 0.5, 0.0),
    "combined": (1.0, 0.3, 0.2),
}
LOSS_LABELS: dict[str, str] = {
    "softmax": "Softmax",
    "normface": "NormFace",
    "sphereface": "SphereFace",
    "cosface": "CosFace",
    "arcface": "ArcFace",
    "combined": "Combined",
    "custom": "Custom",
}
# Which of (m1, m2, m3) a single "m" means for each loss.
_MAIN_MARGIN = {"sphereface": "m1", "cosface": "m3", "arcface": "m2"}


def _loss_name(loss: str) -> str:
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a str such as 'arcface', got {type(loss).__name__}")
    name = loss.lower()
    if name not in LOSS_LABELS:
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSS_LABELS)}")
    return name


def _finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_margins(s: float, m1: float, m2: float, m3: float) -> tuple[float, float, float, float]:
    """Validate a scale and margins; return them as floats.

    Raises
    ------
    TypeError
        If a value is not a number.
    ValueError
        If ``s <= 0``, ``m1 < 1``, ``m2 < 0`` or ``m3 < 0`` (a negative margin rewards the target
        class instead of penalising it), or any value is not finite.
    """
    s, m1, m2, m3 = (_finite(v, n) for v, n in ((s, "s"), (m1, "m1"), (m2, "m2"), (m3, "m3")))
    if s <= 0:
        raise ValueError(f"s must be > 0 (the scale of the cosine logits), got {s}")
    if m1 < 1:
        raise ValueError(f"m1 must be >= 1 (multiplicative angular margin; 1 means none), got {m1}")
    if m2 < 0:
        raise ValueError(f"m2 must be >= 0 radians (additive angular margin), got {m2}")
    if m3 < 0:
        raise ValueError(f"m3 must be >= 0 (additive cosine margin), got {m3}")
    return s, m1, m2, m3


def margins_for(
    loss: str, m: float | None = None, m1: float | None = None, m2: float | None = None, m3: float | None = None
) -> tuple[float, float, float]:
    """(m1, m2, m3) for a loss: its preset, with ``m`` setting its own margin and m1/m2/m3 overriding.

    Parameters
    ----------
    loss : str
        A key of ``LOSS_PRESETS`` or ``"custom"`` (starts from no margin).
    m : float, optional
        The loss's single margin: m1 for SphereFace, m2 (radians) for ArcFace, m3 for CosFace.
        Raises ValueError for a loss without a single margin (softmax, NormFace, combined, custom).
    m1, m2, m3 : float, optional
        Explicit values, applied last.

    Returns
    -------
    tuple of float
        ``(m1, m2, m3)``.
    """
    name = _loss_name(loss)
    values = dict(zip(("m1", "m2", "m3"), LOSS_PRESETS.get(name, (1.0, 0.0, 0.0))))
    if m is not None:
        if name not in _MAIN_MARGIN:
            raise ValueError(f"loss {loss!r} has no single margin m; pass m1, m2 and m3 instead")
        values[_MAIN_MARGIN[name]] = _finite(m, "m")
    for key, value in (("m1", m1), ("m2", m2), ("m3", m3)):
        if value is not None:
            values[key] = _finite(value, key)
    return values["m1"], values["m2"], values["m3"]


def describe(loss: str, s: float, m1: float, m2: float, m3: float) -> str:
    """A short title such as ``"ArcFace (s=16, m=0.5)"`` (the style of ``head.describe()``).

    Softmax has no scale or margin in its head; here ``s`` is the factor its curve is drawn with,
    so the text says ``"Softmax (cos θ × s=16)"``.
    """
    name = _loss_name(loss)
    label = LOSS_LABELS[name]
    if name == "softmax":
        return f"{label} (cos θ × s={s:g})"
    if name == "normface":
        return f"{label} (s={s:g})"
    values = {"m1": m1, "m2": m2, "m3": m3}
    if name in _MAIN_MARGIN:
        main = _MAIN_MARGIN[name]
        # The single-m form only when the other two margins are "off" (m1=1, m2=0, m3=0).
        if all(values[k] == (1.0 if k == "m1" else 0.0) for k in values if k != main):
            return f"{label} (s={s:g}, m={values[main]:g})"
    return f"{label} (s={s:g}, m1={m1:g}, m2={m2:g}, m3={m3:g})"


def _theta_array(theta, name: str = "theta") -> np.ndarray:
    array = np.asarray(theta, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite angles in radians")
    if np.any(array < 0) or np.any(array > math.pi + 1e-9):
        raise ValueError(f"{name} must lie in [0, π] radians (got {array.min():.4g}..{array.max():.4g}); "
                         "convert degrees with np.radians")
    return array


def target_logit(theta, *, s: float, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0) -> np.ndarray:
    """Target logit at angle θ, as :func:`arcface_viz.heads.margin_logits` computes it.

    Parameters
    ----------
    theta : array_like of float
        Angles between an embedding and its class centre, radians in [0, π], any shape.
    s, m1, m2, m3 : float
        Scale and margins (see :func:`check_margins`).

    Returns
    -------
    numpy.ndarray
        float64 array of ``theta``'s shape: ``s*(cos(m1*θ + m2) - m3)`` with the package's
        monotone fallback where ``m1*θ + m2`` passes π (ArcFace Eq. 4).
    """
    s, m1, m2, m3 = check_margins(s, m1, m2, m3)
    array = _theta_array(theta)
    cos = torch.as_tensor(np.cos(array).reshape(-1, 1), dtype=torch.float32)
    labels = torch.zeros(cos.shape[0], dtype=torch.int64)
    logits = margin_logits(cos, labels, s=s, m1=m1, m2=m2, m3=m3)
    return logits[:, 0].detach().double().numpy().reshape(array.shape)


def target_probability(theta, *, s: float, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0,
                       n_classes: int = 8) -> np.ndarray:
    """Softmax probability of the target class when the other C−1 centres are at 90° (logit 0).

    ``P = exp(t) / (exp(t) + (C−1))`` with ``t`` the :func:`target_logit`. Centres at 90° is the
    typical case in high dimensions, where random directions are nearly orthogonal.

    Parameters
    ----------
    theta : array_like of float
        Target angles, radians in [0, π].
    s, m1, m2, m3 : float
        Scale and margins.
    n_classes : int
        Number of classes C >= 2.

    Returns
    -------
    numpy.ndarray
        float64 probabilities in [0, 1], ``theta``'s shape (computed with log-sum-exp: no overflow).
    """
    n_classes = _n_classes(n_classes)
    t = target_logit(theta, s=s, m1=m1, m2=m2, m3=m3)
    return np.exp(t - np.logaddexp(t, math.log(n_classes - 1)))


def _n_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"n_classes must be an int, got {type(n_classes).__name__}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2 (a softmax over one class is always 1), got {n_classes}")
    return int(n_classes)


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
    """
    n_classes = _n_classes(n_classes)
    p = _finite(p, "p")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be a probability strictly between 0 and 1, got {p}")
    return (n_classes - 1) / n_classes * math.log((n_classes - 1) * p / (1.0 - p))


def decision_boundary(theta, *, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0) -> np.ndarray:
    """Binary case: the θ2 at which class 1 starts to win with its margin, for each θ1.

    Class 1 wins when ``cos(m1·θ1 + m2) − m3 > cos θ2`` (the scale s multiplies both sides, so
    it does not move the boundary). Class 2's boundary is the mirror image (swap θ1 and θ2).

    Parameters
    ----------
    theta : array_like of float
        θ1 values, radians in [0, π].

    Returns
    -------
    numpy.ndarray
        θ2 in radians, ``theta``'s shape; π where class 1 cannot win at all.
    """
    target = target_logit(theta, s=1.0, m1=m1, m2=m2, m3=m3)
    return np.arccos(np.clip(target, -1.0, 1.0))


def decision_regions(theta, *, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0) -> np.ndarray:
    """Binary case on a (θ1, θ2) grid: 1 where class 1 wins, 2 where class 2 wins, 0 in the margin.

    Parameters
    ----------
    theta : array_like of float
        (G,) grid of angles, radians in [0, π], used for both θ1 and θ2.

    Returns
    -------
    numpy.ndarray
        int8 array (G, G); row i is θ2 = theta[i], column j is θ1 = theta[j] (image layout).
    """
    grid = _theta_array(theta).ravel()
    target = target_logit(grid, s=1.0, m1=m1, m2=m2, m3=m3)
    cos = np.cos(grid)
    class1 = target[None, :] > cos[:, None]  # columns θ1 carry the margin, rows θ2 do not
    class2 = target[:, None] > cos[None, :]
    regions = np.zeros(class1.shape, dtype=np.int8)
    regions[class1 & ~class2] = 1
    regions[class2 & ~class1] = 2
    return regions


def explorer_readout(loss: str, s: float, m1: float, m2: float, m3: float, theta_deg: float,
                     n_classes: int) -> str:
    """The margin explorer's text line: target logit and probability at the probe angle.

    Parameters
    ----------
    loss : str
        Loss name for the label (a ``LOSS_PRESETS`` key or ``"custom"``).
    s, m1, m2, m3 : float
        Scale and margins (m2 in radians).
    theta_deg : float
        Probe angle in degrees, [0, 180].
    n_classes : int
        Number of classes C >= 2 (the other C−1 centres are taken at 90°).

    Returns
    -------
    str
        e.g. ``"θ = 60.0°: target logit 0.38, probability 0.172 | without margin: logit 8.00,
        probability 0.997 | ArcFace (s=16, m=0.5), C = 8, other classes at 90°"``. The first part up
        to the first ``|`` always has this form (tests and the browser test parse it).
    """
    name = _loss_name(loss)
    s, m1, m2, m3 = check_margins(s, m1, m2, m3)
    theta_deg = _finite(theta_deg, "theta_deg")
    if not 0.0 <= theta_deg <= 180.0:
        raise ValueError(f"theta_deg must be in [0, 180] degrees, got {theta_deg}")
    n_classes = _n_classes(n_classes)
    theta = math.radians(theta_deg)
    logit = float(target_logit(theta, s=s, m1=m1, m2=m2, m3=m3))
    prob = float(target_probability(theta, s=s, m1=m1, m2=m2, m3=m3, n_classes=n_classes))
    plain = float(target_logit(theta, s=s))
    plain_prob = float(target_probability(theta, s=s, n_classes=n_classes))
    return (f"θ = {theta_deg:.1f}°: target logit {logit:.2f}, probability {prob:.3f} | "
            f"without margin: logit {plain:.2f}, probability {plain_prob:.3f} | "
            f"{describe(name, s, m1, m2, m3)}, C = {n_classes}, other classes at 90°")


def training_summary(description: str, accuracy: float, stats) -> str:
    """The training lab's final line, e.g. ``"ArcFace (s=16, m=0.5): train accuracy 97.5%, mean
    angle to centre 12.3°, min angle between centres 41.0°"``.

    Parameters
    ----------
    description : str
        The head's ``describe()``.
    accuracy : float
        Final train accuracy as a fraction in [0, 1].
    stats : AngleStats or Mapping
        :class:`arcface_viz.metrics.AngleStats` (radians) or a mapping with ``target_angles`` and
        ``min_center_angle`` in radians.
    """
    accuracy = _finite(accuracy, "accuracy")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1], got {accuracy}")
    get = stats.get if isinstance(stats, Mapping) else lambda key: getattr(stats, key)
    mean_angle = math.degrees(float(np.mean(get("target_angles"))))
    min_center = float(get("min_center_angle"))
    centre_text = "n/a (one class)" if math.isnan(min_center) else f"{math.degrees(min_center):.1f}°"
    return (f"{description}: train accuracy {100 * accuracy:.1f}%, mean angle to centre "
            f"{mean_angle:.1f}°, min angle between centres {centre_text}")


def warmup_note(head, warmup_epochs: int, epochs_done: int) -> str:
    """What the training lab adds when the margin warm-up outlasted the run, else ``""``.

    Parameters
    ----------
    head : a head from :func:`arcface_viz.heads.make_head`
        After training: its ``margin_factor`` (in [0, 1]) and nominal margins ``m1, m2, m3``.
    warmup_epochs, epochs_done : int
        The warm-up length asked for and the epochs actually trained.

    Returns
    -------
    str
        ``""`` when the full margin was reached or the head has none (softmax, NormFace); else e.g.
        ``" The margin reached only 50% of its value: the warm-up (4 epochs) is longer than the run
        (2 epochs)."``
    """
    if (head.m1, head.m2, head.m3) == (1.0, 0.0, 0.0) or head.margin_factor == 1.0:
        return ""
    return (f" The margin reached only {100 * head.margin_factor:.0f}% of its value: the warm-up "
            f"({warmup_epochs} epochs) is longer than the run ({epochs_done} epochs).")
