"""The loss registry: one entry per loss, the single source of every loss's vocabulary.

Each :class:`Loss` holds what the rest of the package used to keep in its own tables: the name
used in code and on the command line, the display label, the curve colour, which of the combined
margin's (m1, m2, m3) its single margin ``m`` means, its default scale and margins, the legal and
teaching ranges of ``m``, and the paper that defines it. Heads, the explorer, the figures, the
widgets, the training loop, the ``compare`` command and the assignment checks read this module;
adding a loss is one entry here plus its head class in :mod:`arcface_viz.heads`.

All margins use InsightFace's combined form (angles in radians): with unit embedding x, unit class
centres W_j and cos θ_j = W_j·x, the target logit is ``s·(cos(m1·θ_y + m2) − m3)`` and every
other logit is ``s·cos θ_j`` (Deng et al., "ArcFace", CVPR 2019, arXiv 1801.07698, eq. 4).

This module imports nothing from the package, so every other module may import it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "Loss",
    "LOSSES",
    "LOSS_NAMES",
    "MARGIN_NAMES",
    "DEFAULT_S",
    "S_RANGE",
    "M1_RANGE",
    "EXPLORER_SLIDERS",
    "M2_RANGE",
    "M3_RANGE",
    "CUSTOM_COLOR",
    "CUSTOM_LABEL",
    "INTERACTIVE_LOSSES",
    "get_loss",
]

#: Names of the three margins of the combined form, in order.
MARGIN_NAMES = ("m1", "m2", "m3")

#: One scale for every normalised head unless a caller chooses another: the paper's 64 trains 512-D
#: features on 10^4–10^5 identities (CASIA-WebFace ~10k, MS1MV2 ~85k; Deng et al. 2019, sec. 4.1);
#: 16 trains the few-identity problems of the lessons.
DEFAULT_S = 16.0

#: Legal scales: far beyond any useful value (16 to 64), well inside float32 for s².
S_RANGE = (1e-3, 1e4)
#: Legal multiplicative angular margin m1 (1 means none): (0, 10]. Below 1 only together with
#: m2 >= (1 − m1)·π, so that m1·θ + m2 >= θ on all of [0, π] and the margin never rewards the target:
#: the paper's second combined margin (m1, m2, m3) = (0.9, 0.4, 0.15) is one such setting. Above 10
#: (original SphereFace used 4) cos(m1·θ) folds over many times; a typo such as 35 for 3.5 is caught.
M1_RANGE = (0.0, 10.0)
#: (min, max, step) of the explorer's m1, m2 and m3 sliders (the combined form, any loss).
EXPLORER_SLIDERS = {"m1": (0.8, 2.0, 0.05), "m2": (0.0, 1.0, 0.01), "m3": (0.0, 0.6, 0.01)}
#: Legal additive angular margin m2 in radians: [0, π) (m2 = π would turn the target around).
M2_RANGE = (0.0, math.pi)
#: Legal additive cosine margin m3: [0, 2] (a negative margin would reward the target class; with
#: m3 >= 2 the target logit cos θ_y − m3 <= −1 can never beat another class's cos θ_j >= −1).
M3_RANGE = (0.0, 2.0)

#: Colour of a user-defined ("custom") margin in the explorer: not a loss of its own.
CUSTOM_COLOR = "#e377c2"
#: Display name of a user-defined margin in the explorer.
CUSTOM_LABEL = "Custom"


@dataclass(frozen=True)
class Loss:
    """One loss of the margin family (its constructor arguments are also its attributes).

    Parameters
    ----------
    name : str
        Key used in code, file names and on the command line, e.g. ``"arcface"``.
    label : str
        Display name, e.g. ``"ArcFace"``.
    color : str
        Hex colour ``"#rrggbb"`` of the loss in every figure.
    margins : tuple of float
        Default ``(m1, m2, m3)`` in the combined form; m2 in radians. For a loss whose margin adapts to
        each sample (AdaFace), the margins of a sample of average feature norm.
    main_margin : str or None
        Which of ``"m1"``, ``"m2"``, ``"m3"`` the loss's single margin ``m`` sets; None for losses
        without a single margin (softmax, NormFace, the combined margin).
    m_range : tuple of float or None
        Legal values of ``m``: ``[low, high)`` for m2, ``[low, high]`` otherwise.
    m_slider : tuple of float or None
        ``(min, max, step)`` of ``m`` offered to students by the widgets.
    normalized : bool
        Whether embeddings and class centres are L2-normalised (every loss but softmax).
    default_s : float or None
        Default scale ``s``; None for softmax (no scale).
    reference : str
        The paper that defines the loss, with the equation used.
    extra : Mapping
        Other constructor defaults of the head (e.g. ``{"k": 3}`` sub-centres).
    interactive : bool
        Offered in the margin explorer and the training lab (sub-center ArcFace is not: its target
        logit is ArcFace's, and its sub-centres do not show on a circle).
    """

    name: str
    label: str
    color: str
    margins: tuple[float, float, float]
    main_margin: str | None
    m_range: tuple[float, float] | None
    m_slider: tuple[float, float, float] | None
    normalized: bool
    default_s: float | None
    reference: str
    extra: Mapping[str, object] = field(default_factory=dict)
    interactive: bool = True

    @property
    def default_m(self) -> float | None:
        """The default of the single margin ``m`` (None when the loss has none)."""
        if self.main_margin is None:
            return None
        return self.margins[MARGIN_NAMES.index(self.main_margin)]


_ENTRIES = (
    Loss("softmax", "Softmax", "#222222", (1.0, 0.0, 0.0), None, None, None, False, None,
         "plain linear layer with bias and cross-entropy (the baseline of Deng et al. 2019, Table 2)"),
    Loss("normface", "NormFace", "#8c564b", (1.0, 0.0, 0.0), None, None, None, True, DEFAULT_S,
         'F. Wang et al., "NormFace: L2 Hypersphere Embedding for Face Verification", ACM MM 2017'),
    # m1 >= 1: with m2 = 0 a multiplicative margin below 1 rewards the target (M1_RANGE's m1 < 1 needs m2 > 0)
    Loss("sphereface", "SphereFace", "#1f77b4", (1.35, 0.0, 0.0), "m1", (1.0, M1_RANGE[1]), (1.0, 2.0, 0.05), True,
         DEFAULT_S, 'W. Liu et al., "SphereFace", CVPR 2017; combined form of Deng et al. 2019, eq. 4'),
    Loss("cosface", "CosFace", "#2ca02c", (1.0, 0.0, 0.35), "m3", M3_RANGE, (0.0, 0.6, 0.01), True, DEFAULT_S,
         'H. Wang et al., "CosFace: Large Margin Cosine Loss", CVPR 2018, eq. 4'),
    Loss("arcface", "ArcFace", "#d62728", (1.0, 0.5, 0.0), "m2", M2_RANGE, (0.0, 1.0, 0.01), True, DEFAULT_S,
         'J. Deng et al., "ArcFace: Additive Angular Margin Loss", CVPR 2019, eq. 3'),
    Loss("combined", "Combined", "#9467bd", (1.0, 0.3, 0.2), None, None, None, True, DEFAULT_S,
         "J. Deng et al., CVPR 2019, eq. 4 (InsightFace's combined margin)"),
    Loss("subcenter", "Sub-center ArcFace", "#ff7f0e", (1.0, 0.5, 0.0), "m2", M2_RANGE, (0.0, 1.0, 0.01), True,
         DEFAULT_S, 'J. Deng et al., "Sub-center ArcFace", ECCV 2020', MappingProxyType({"k": 3}),
         interactive=False),
    # The margin adapts to each sample's feature norm; the entry's margins are those of a sample of average
    # norm (ẑ = 0), where AdaFace is CosFace with m3 = m. Not interactive: its target logit is a family of
    # curves (one per ẑ), and its margin needs the embeddings' norms, which a circle of unit vectors hides.
    Loss("adaface", "AdaFace", "#17becf", (1.0, 0.0, 0.4), "m3", (0.0, 1.0), (0.0, 0.8, 0.01), True, DEFAULT_S,
         'M. Kim, A. K. Jain, X. Liu, "AdaFace: Quality Adaptive Margin for Face Recognition", CVPR 2022 '
         "(arXiv 2204.00964), eqs. 16-19", MappingProxyType({"h": 0.333, "momentum": 0.01}), interactive=False),
)

#: Every loss by name, in the order the lessons introduce them.
LOSSES: Mapping[str, Loss] = MappingProxyType({loss.name: loss for loss in _ENTRIES})
#: The registered names, in order.
LOSS_NAMES: tuple[str, ...] = tuple(LOSSES)
#: The losses the margin explorer and the training lab offer, in order.
INTERACTIVE_LOSSES: tuple[str, ...] = tuple(loss.name for loss in _ENTRIES if loss.interactive)


def get_loss(name: str) -> Loss:
    """The registry entry of a loss, by case-insensitive name.

    Parameters
    ----------
    name : str
        One of :data:`LOSS_NAMES`.

    Returns
    -------
    Loss
        The frozen registry entry (the same object on every call).

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If no loss has that name; the message lists the known ones.

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, eq. 4 (the combined margin form).

    Examples
    --------
    >>> get_loss("ArcFace").margins
    (1.0, 0.5, 0.0)
    >>> get_loss("cosface").main_margin
    'm3'
    """
    if not isinstance(name, str):
        raise TypeError(f"loss={name!r}: pass a loss name as a str, one of {', '.join(LOSS_NAMES)}")
    key = name.lower()
    if key not in LOSSES:
        raise ValueError(f"loss={name!r}: unknown loss; use one of {', '.join(LOSS_NAMES)}")
    return LOSSES[key]
