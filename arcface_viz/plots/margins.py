"""The paper's margin figures: target logit vs θ, binary decision boundaries, probability vs θ.

All values come from :func:`arcface_viz.heads.target_logit` (directly or through
:mod:`arcface_viz.explorer`): the curves are what the package trains with, not a re-derivation.
Loss names, labels, preset margins and colours come from the registry, :mod:`arcface_viz.losses`.
Each ``plot_*`` function has an ``update_*`` twin that moves the artists of a drawn figure in place
(the margin explorer redraws only those). Matplotlib, because these are the static
figures a teacher projects (Deng et al., CVPR 2019, Fig. 4(b)/Table 1 style).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from .. import explorer
from .._validation import check_degrees, check_int, check_scale
from ..heads import target_logit
from ..losses import DEFAULT_S
from ._common import THETA_LABEL, degree_axis, figure_and_axes
from .colors import MARGIN_COLOR, identity_colors, loss_color

PAPER_WINDOW_DEG = (20.0, 100.0)  # the θ range of the paper's target-logit figure
DEFAULT_CONFIGS = ("softmax", "sphereface", "cosface", "arcface", "combined")
THETA_GRID_DEG = np.linspace(0.0, 180.0, 361)  # the θ samples (degrees) of every curve
_CONFIG_KEYS = ("loss", "label", "m", "m1", "m2", "m3")


def _probe_deg(theta_probe_deg) -> float | None:
    """The probe angle: None, or degrees in [0, 180] (a radians value would just sit near 0°)."""
    return None if theta_probe_deg is None else check_degrees("theta_probe_deg", theta_probe_deg)


def _curve(theta, s: float, m1: float, m2: float, m3: float) -> np.ndarray:
    """Target logits (float64 numpy) at angles ``theta`` (radians)."""
    return target_logit(theta, s=s, m1=m1, m2=m2, m3=m3).numpy()


def logits_ylim(s: float) -> tuple[float, float]:
    """The y-limits of :func:`plot_target_logits`, from s alone.

    The lowest curve, cos θ − m3 − δ at 180°, stays above −1.75·s, so the axes do not jump while a
    margin slider moves.

    Parameters
    ----------
    s : float
        Scale.

    Returns
    -------
    tuple of float
        ``(−1.75·s, 1.1·s)``.

    Examples
    --------
    >>> logits_ylim(16.0)
    (-28.0, 17.6)
    """
    return -1.75 * s, 1.1 * s


def logits_yticks(s: float) -> np.ndarray:
    """The y-ticks of :func:`plot_target_logits`: fixed fractions of s.

    The axes then look the same for every s (the margin explorer only relabels them).

    Parameters
    ----------
    s : float
        Scale.

    Returns
    -------
    numpy.ndarray, shape (6,), float64
        ``s·(−1.5, −1, −0.5, 0, 0.5, 1)``.
    """
    return s * np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0])


def logits_ylabel(s: float) -> str:
    """The y-axis label of :func:`plot_target_logits`.

    Parameters
    ----------
    s : float
        Scale.

    Returns
    -------
    str
        The formula of the target logit with the value of s.
    """
    return f"target logit  s·(cos(m1·θ + m2) − m3),  s = {s:g}"


def logits_title(s: float) -> str:
    """Default title of :func:`plot_target_logits`.

    Parameters
    ----------
    s : float
        Scale.

    Returns
    -------
    str
        ``"Target logit vs θ (s = <s>)"``.
    """
    return f"Target logit vs θ (s = {s:g})"


def _config_entries(configs) -> list[tuple[str, str, float, float, float]]:
    """(key, legend label, m1, m2, m3) for each entry of ``configs``."""
    if isinstance(configs, (str, Mapping)):
        configs = [configs]
    entries = []
    for config in configs:
        if isinstance(config, str):
            key = config.lower()
            m1, m2, m3 = explorer.margins_for(key)
            label = explorer.label(key)
        elif isinstance(config, Mapping):
            unknown = sorted(str(k) for k in config if k not in _CONFIG_KEYS)
            if unknown:  # a misspelt margin would otherwise be ignored and the preset drawn
                raise ValueError(f"config keys {unknown} are unknown; use {', '.join(_CONFIG_KEYS)}")
            key = str(config.get("loss", "custom")).lower()
            m1, m2, m3 = explorer.margins_for(key, m=config.get("m"), m1=config.get("m1"), m2=config.get("m2"),
                                              m3=config.get("m3"))
            label = str(config.get("label", explorer.label(key)))
        else:
            raise TypeError(f"each config must be a loss name or a mapping with m1/m2/m3, got {type(config).__name__}")
        if key == "softmax":
            label += " (cos θ)"
        elif (m1, m2, m3) != (1.0, 0.0, 0.0):
            parts = [f"{n}={v:g}" for n, v, off in (("m1", m1, 1.0), ("m2", m2, 0.0), ("m3", m3, 0.0)) if v != off]
            label += f" ({', '.join(parts)})"
        entries.append((key, label, m1, m2, m3))
    if not entries:
        raise ValueError("configs is empty: pass loss names such as ['softmax', 'arcface']")
    return entries


def fallback_jump(s: float = 1.0, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0
                  ) -> tuple[float, float, float] | None:
    """Where the monotone fallback starts, and the jump of the target logit there.

    Past θ_t = (π − m2)/m1 the target logit s·(cos(m1·θ + m2) − m3) would rise again; the package
    (like InsightFace's older ArcFace code and pytorch-metric-learning's ``ArcFaceLoss`` since
    v1.7.0, 2022) switches to s·(cos θ − m3 − δ) there. For ArcFace δ = m·sin m, the first-order
    size of the angular margin at θ_t, which is larger than the exact drop 1 − cos m that
    cos(θ + m) makes there: the curve stays monotone but jumps *down* at θ_t (m = 0.5: from −1 to
    −1.117, times s).

    Parameters
    ----------
    s, m1, m2, m3 : float
        Scale and margins (m2 in radians).

    Returns
    -------
    tuple of float or None
        ``(θ_t in degrees, target logit just before θ_t, target logit just after θ_t)``, or None
        when θ_t is not inside (0°, 180°) (no margin in angle: softmax, NormFace, CosFace).
    """
    theta_t = (math.pi - m2) / m1
    if not 0.0 < theta_t < math.pi - 1e-9:
        return None
    eps = 1e-9
    before = float(target_logit(theta_t - eps, s=s, m1=m1, m2=m2, m3=m3))
    after = float(target_logit(theta_t + eps, s=s, m1=m1, m2=m2, m3=m3))
    return math.degrees(theta_t), before, after


def mark_fallback_jump(ax: Axes, *, s: float = 1.0, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0,
                       color: str = "black", label: str | None = "fallback jump at θ = (π − m2)/m1",
                       annotate: bool = False):
    """Mark the fallback's jump on a target-logit plot whose x axis is θ in degrees.

    Draws a dotted vertical segment from the value just before θ_t to the value just after it, an
    open circle where cos(m1·θ + m2) − m3 ends (−1 − m3, times s) and a filled one where the fallback
    starts; see :func:`fallback_jump`.

    Parameters
    ----------
    ax : matplotlib Axes
        A plot of the target logit (times ``s``) against θ in degrees.
    s, m1, m2, m3 : float
        The scale and margins of the curve drawn.
    color : str
        Colour of the markers (the curve's colour).
    label : str or None
        Legend entry of the segment (None: no entry, e.g. for the second curve of a figure).
    annotate : bool
        Also write the two values next to the jump ("−1.000 → −1.117").

    Returns
    -------
    matplotlib.lines.Line2D or None
        The segment (gid ``"fallback-jump"``), or None when the curve has no fallback in (0°, 180°).
    """
    jump = fallback_jump(s, m1, m2, m3)
    if jump is None:
        return None
    theta_deg, before, after = jump
    (segment,) = ax.plot([theta_deg, theta_deg], [before, after], ls=":", lw=1.6, color=color, label=label,
                         marker="o", markevery=[1], ms=5, zorder=6)
    segment.set_gid("fallback-jump")
    ax.plot([theta_deg], [before], "o", mfc="white", mec=color, ms=5, zorder=6)
    if annotate:
        ax.annotate(f"step at θ = {theta_deg:.1f}°:\n{before:.3f} → {after:.3f}", (theta_deg, (before + after) / 2),
                    xytext=(-8, 10), textcoords="offset points", ha="right", va="bottom", fontsize="small",
                    color=color)
    return segment


def plot_target_logits(configs: Sequence[str | Mapping] | None = None, s: float = DEFAULT_S, *,
                       theta_probe_deg: float | None = None, highlight: str | Mapping | None = None,
                       ax: Axes | None = None, title: str | None = None, mark_fallback: bool = True) -> Figure:
    """Target logit vs the target angle θ for several losses (ArcFace paper, Fig. 4(b)).

    Parameters
    ----------
    configs : sequence of str or mapping, optional
        Registered loss names (:data:`arcface_viz.losses.LOSS_NAMES`) and/or mappings ``{"loss": ..., "label": ...,
        "m": ..., "m1": ..., "m2": ..., "m3": ...}`` (``m``: the loss's single margin, as in
        ``explorer.margins_for``; missing margins come from the loss's preset; other keys raise).
        Default: softmax, SphereFace (m1=1.35), CosFace (m3=0.35), ArcFace (m2=0.5), combined (1, 0.3, 0.2).
    s : float
        Scale applied to every curve, so the curves compare with the logits a head produces.
        The paper plots the unscaled cosine form (s = 1).
    theta_probe_deg : float, optional
        Draw a vertical line at this angle (degrees), and mark the highlighted curve there.
    highlight : str or mapping, optional
        One more configuration (same forms as ``configs``) drawn thick on top, gid
        ``"target-logit:highlight"``; the other curves are then drawn thinner as references.
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.
    title : str, optional
        Default ``"Target logit vs θ (s = 16)"``.
    mark_fallback : bool
        Mark, on each curve with a margin in angle, where the monotone fallback starts and the
        jump down it makes there (:func:`mark_fallback_jump`; one legend entry for all of them).

    Returns
    -------
    matplotlib.figure.Figure
        Each curve is a Line2D with gid ``"target-logit:<loss>"``; x in degrees, y the target logits
        from ``heads.margin_logits``.

    Notes
    -----
    Softmax's true target logit is W·x + b, which depends on norms and bias, not on θ alone; as in
    the paper, its curve is the angular part cos θ (times s here). Past θ + m > π the curves use
    the package's monotone fallback, so they keep falling where cos(θ + m) would rise again; the
    fallback is monotone but not continuous (see :func:`fallback_jump`).
    """
    entries = _config_entries(DEFAULT_CONFIGS if configs is None else configs)
    s = check_scale(s)
    theta_probe_deg = _probe_deg(theta_probe_deg)
    fig, ax = figure_and_axes(ax, (7.0, 4.5))
    theta = np.radians(THETA_GRID_DEG)
    ax.axvspan(*PAPER_WINDOW_DEG, color="#f2e6c9", alpha=0.6, lw=0, label="paper's window (20°–100°)")
    ax.axhline(0.0, color="#999999", lw=0.8)
    width, alpha = (1.3, 0.55) if highlight is not None else (2.0, 1.0)
    jump_labelled = False
    for key, label, m1, m2, m3 in entries:
        values = _curve(theta, s, m1, m2, m3)
        style = "--" if key == "softmax" else "-"
        (line,) = ax.plot(THETA_GRID_DEG, values, style, color=loss_color(key), lw=width, alpha=alpha, label=label)
        line.set_gid(f"target-logit:{key}")
        if mark_fallback:
            marked = mark_fallback_jump(ax, s=s, m1=m1, m2=m2, m3=m3, color=loss_color(key),
                                        label=None if jump_labelled else "fallback jump at θ = (π − m2)/m1")
            jump_labelled = jump_labelled or marked is not None
    if highlight is not None:
        key, label, m1, m2, m3 = _config_entries(highlight)[0]
        values = _curve(theta, s, m1, m2, m3)
        # The legend names the loss only: the margins are in the title/readout, which can change in place.
        name = explorer.label(key)
        (line,) = ax.plot(THETA_GRID_DEG, values, color=loss_color(key), lw=3.6, label=f"selected: {name}", zorder=5)
        line.set_gid("target-logit:highlight")
        if theta_probe_deg is not None:
            probe = float(_curve(np.radians(theta_probe_deg), s, m1, m2, m3))
            (marker,) = ax.plot([theta_probe_deg], [probe], "o", color=loss_color(key), mec="black", ms=8, zorder=6)
            marker.set_gid("probe:marker")
    if theta_probe_deg is not None:
        ax.axvline(theta_probe_deg, color="#444444", lw=1.0, ls=":").set_gid("probe:line")
    ax.set_xlim(0, 180)
    ax.set_ylim(*logits_ylim(s))
    ax.set_yticks(logits_yticks(s))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    degree_axis(ax.xaxis)
    ax.set_xlabel(THETA_LABEL)
    ax.set_ylabel(logits_ylabel(s))
    ax.set_title(title or logits_title(s))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    return fig


def plot_decision_boundaries(loss: str = "arcface", m1: float | None = None, m2: float | None = None,
                             m3: float | None = None, s: float = DEFAULT_S, *, m: float | None = None,
                             ax: Axes | None = None, title: str | None = None, resolution: int = 181,
                             legend: bool = True) -> Figure:
    """Binary decision boundaries in the (θ1, θ2) plane with the margin region shaded (paper, Table 1).

    Parameters
    ----------
    loss : str
        Loss name; its preset margins are the defaults (see ``explorer.margins_for``).
    m1, m2, m3 : float, optional
        Margins overriding the preset (m2 in radians).
    s : float
        Scale; it multiplies both sides of the boundary equation, so it only appears in the title.
    m : float, optional
        The loss's single margin (ArcFace m2, CosFace m3, SphereFace m1).
    ax : matplotlib Axes, optional
        Draw into this Axes (its figure is returned); default a new figure.
    title : str, optional
        The title; default :func:`boundary_title`.
    resolution : int, default 181
        Grid points per axis for the shaded regions, >= 2.
    legend : bool, default True
        Draw the legend (the margin explorer leaves it out and says it in the title: faster).

    Returns
    -------
    matplotlib.figure.Figure
        An image (gid ``"decision-regions"``) of the regions 1 (class 1 wins with its margin),
        2 (class 2 wins), 0 (margin: neither), and the two boundary lines
        (gids ``"boundary:class1"``, ``"boundary:class2"``) in degrees.

    Notes
    -----
    Class 1 wins when cos(m1·θ1 + m2) − m3 > cos θ2. Softmax with bias is drawn as NormFace (the
    diagonal θ1 = θ2), i.e. equal feature norms and no bias.

    References
    ----------
    .. [1] J. Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
       CVPR 2019, arXiv:1801.07698, Table 1 (binary decision boundaries of the margin family).
    """
    name = loss.lower() if isinstance(loss, str) else loss
    m1, m2, m3 = explorer.margins_for(name, m=m, m1=m1, m2=m2, m3=m3)
    s = check_scale(s)
    resolution = check_int("resolution", resolution, minimum=2, fix="pass grid points per axis (default 181)")
    fig, ax = figure_and_axes(ax, (5.2, 5.0))
    grid_deg = np.linspace(0.0, 180.0, int(resolution))
    regions = explorer.decision_regions(np.radians(grid_deg), m1=m1, m2=m2, m3=m3)
    class_colors = identity_colors(2)
    cmap = ListedColormap([_lighten(MARGIN_COLOR, 0.6), _lighten(class_colors[0]), _lighten(class_colors[1])])
    image = ax.imshow(regions, origin="lower", extent=(0, 180, 0, 180), cmap=cmap, vmin=0, vmax=2,
                      interpolation="nearest", interpolation_stage="data", aspect="equal")
    image.set_gid("decision-regions")
    boundary = np.degrees(explorer.decision_boundary(np.radians(THETA_GRID_DEG), m1=m1, m2=m2, m3=m3))
    (line1,) = ax.plot(THETA_GRID_DEG, boundary, color=class_colors[0], lw=2.2, label="class 1 boundary")
    (line2,) = ax.plot(boundary, THETA_GRID_DEG, color=class_colors[1], lw=2.2, label="class 2 boundary")
    line1.set_gid("boundary:class1")
    line2.set_gid("boundary:class2")
    ax.plot([0, 180], [0, 180], ls=":", color="#555555", lw=1.0, label="no margin (θ1 = θ2)")[0].set_gid("boundary:none")
    ax.text(40, 150, "class 1", color=class_colors[0], fontsize=12, weight="bold", ha="center").set_gid("label:class1")
    ax.text(150, 75, "class 2", color=class_colors[1], fontsize=12, weight="bold", ha="center").set_gid("label:class2")
    ax.set_xlim(0, 180)
    ax.set_ylim(0, 180)
    degree_axis(ax.xaxis)
    degree_axis(ax.yaxis)
    ax.set_xlabel("θ1, angle to centre W1 (degrees)")
    ax.set_ylabel("θ2, angle to centre W2 (degrees)")
    ax.set_title(title or boundary_title(name, s, m1, m2, m3))
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        handles.append(Patch(color=_lighten(MARGIN_COLOR, 0.6), label="margin: neither class wins"))
        ax.legend(handles=handles, fontsize="small", loc="lower right")
    return fig


def boundary_title(loss: str, s: float, m1: float, m2: float, m3: float) -> str:
    """Title of :func:`plot_decision_boundaries` (also used by the margin explorer's in-place updates).

    Parameters
    ----------
    loss : str
        A registered loss name or ``"custom"``.
    s : float
        Scale.
    m1, m2, m3 : float
        Margins of the combined form (m2 in radians).

    Returns
    -------
    str
        Two lines: :func:`arcface_viz.explorer.describe` and what the figure shows.
    """
    return f"{explorer.describe(loss, s, m1, m2, m3)}\nbinary decision boundaries (grey: margin)"


def probability_title(loss: str, s: float, m1: float, m2: float, m3: float, n_classes: int) -> str:
    """Title of :func:`plot_probability_vs_angle`.

    Parameters
    ----------
    loss : str
        A registered loss name or ``"custom"``.
    s : float
        Scale.
    m1, m2, m3 : float
        Margins of the combined form (m2 in radians).
    n_classes : int
        Number of classes C.

    Returns
    -------
    str
        Two lines: :func:`arcface_viz.explorer.describe` and what the figure shows.
    """
    return f"{explorer.describe(loss, s, m1, m2, m3)}\ntarget probability, C = {n_classes} (others at 90°)"


def bound_note(s: float, n_classes: int, p: float) -> str:
    """The NormFace-bound text box of :func:`plot_probability_vs_angle`.

    Parameters
    ----------
    s : float
        Scale in use.
    n_classes : int
        Number of classes C >= 2.
    p : float
        Target probability in (0, 1).

    Returns
    -------
    str
        The bound s >= (C−1)/C·ln((C−1)·p/(1−p)) and whether ``s`` reaches it.

    Raises
    ------
    TypeError, ValueError
        ``n_classes`` < 2 or ``p`` not in (0, 1).

    Examples
    --------
    >>> print(bound_note(16.0, 10, 0.9))
    NormFace bound for P = 0.9, C = 10:
    s ≥ 3.96  (s = 16: enough)
    """
    bound = explorer.scale_lower_bound(n_classes, p)
    verdict = "enough" if s >= bound else "too small"
    return f"NormFace bound for P = {p:g}, C = {n_classes}:\ns ≥ {bound:.2f}  (s = {s:g}: {verdict})"


def _lighten(color: str, amount: float = 0.55) -> tuple[float, float, float, float]:
    """Mix a colour with white so shaded regions stay light under the boundary lines."""
    r, g, b, _ = to_rgba(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount, 1.0)


def plot_probability_vs_angle(s: float = DEFAULT_S, m: float | None = None, n_classes: int = 8, *,
                              loss: str = "arcface", m1: float | None = None, m2: float | None = None,
                              m3: float | None = None, p: float = 0.9, theta_probe_deg: float | None = None,
                              ax: Axes | None = None, title: str | None = None) -> Figure:
    """Target-class probability vs θ when the other C−1 centres are at 90°, with the NormFace bound on s.

    Parameters
    ----------
    s : float
        Scale.
    m : float, optional
        The loss's single margin (ArcFace m2 in radians, CosFace m3, SphereFace m1); default its preset.
    n_classes : int
        Number of classes C >= 2.
    loss : str
        Loss name (preset margins, curve colour, title).
    m1, m2, m3 : float, optional
        Explicit margins overriding the preset.
    p : float
        Target probability for the bound ``s >= (C−1)/C·ln((C−1)p/(1−p))`` (``explorer.scale_lower_bound``).
    theta_probe_deg : float, optional
        Mark the probability at this angle (degrees).
    ax : matplotlib Axes, optional
        Draw into this Axes (its figure is returned); default a new figure.
    title : str, optional
        The title; default :func:`probability_title`.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with gids ``"probability:margin"`` (training, with the margin) and
        ``"probability:no-margin"`` (inference: s·cos θ), x in degrees.
    """
    name = loss.lower() if isinstance(loss, str) else loss
    m1, m2, m3 = explorer.margins_for(name, m=m, m1=m1, m2=m2, m3=m3)
    s = check_scale(s)
    explorer.scale_lower_bound(n_classes, p)  # validates n_classes and p before drawing
    theta_probe_deg = _probe_deg(theta_probe_deg)
    fig, ax = figure_and_axes(ax, (6.5, 4.5))
    theta = np.radians(THETA_GRID_DEG)
    with_margin = explorer.target_probability(theta, s=s, m1=m1, m2=m2, m3=m3, n_classes=n_classes)
    without = explorer.target_probability(theta, s=s, n_classes=n_classes)
    ax.axvspan(*PAPER_WINDOW_DEG, color="#f2e6c9", alpha=0.6, lw=0, label="paper's window (20°–100°)")
    (line,) = ax.plot(THETA_GRID_DEG, with_margin, color=loss_color(name), lw=2.2, label="training (with margin)")
    line.set_gid("probability:margin")
    (plain,) = ax.plot(THETA_GRID_DEG, without, "--", color="#555555", lw=1.6, label="inference (no margin)")
    plain.set_gid("probability:no-margin")
    ax.axhline(p, color="#888888", lw=1.0, ls=":", label=f"P = {p:g}").set_gid("target-p")
    ax.axhline(1.0 / n_classes, color="#bbbbbb", lw=1.0, ls="-.", label="chance 1/C").set_gid("chance")
    if theta_probe_deg is not None:
        value = explorer.target_probability(np.radians(theta_probe_deg), s=s, m1=m1, m2=m2, m3=m3, n_classes=n_classes)
        ax.plot([theta_probe_deg], [float(value)], "o", color=loss_color(name), ms=7, mec="black",
                zorder=6)[0].set_gid("probe:marker")
        ax.axvline(theta_probe_deg, color="#444444", lw=1.0, ls=":").set_gid("probe:line")
    ax.text(0.98, 0.45, bound_note(s, n_classes, p), transform=ax.transAxes, ha="right", va="center",
            fontsize="small", bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc"}).set_gid("bound-note")
    ax.set_xlim(0, 180)
    ax.set_ylim(-0.02, 1.02)
    degree_axis(ax.xaxis)
    ax.set_xlabel(THETA_LABEL)
    ax.set_ylabel("probability of the target class")
    ax.set_title(title or probability_title(name, s, m1, m2, m3, n_classes))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper right")
    return fig


# ----------------------------------------------------------------------------- in-place updates
def _artist(ax: Axes, gid: str):
    """The artist of ``ax`` with ``gid`` (set by the plot functions above)."""
    for child in ax.get_children():
        if child.get_gid() == gid:
            return child
    raise KeyError(f"gid={gid!r}: no such artist in these axes; draw them with the matching plot_* function first")


def update_target_logits(ax: Axes, configs: Sequence[str | Mapping] | None = None, s: float = DEFAULT_S, *,
                         theta_probe_deg: float | None = None, highlight: str | Mapping | None = None,
                         rescale: bool = True) -> None:
    """Move the artists of an axes drawn by :func:`plot_target_logits` to new settings, in place.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn by :func:`plot_target_logits` with the same ``configs``, with a highlight and a probe.
    configs : sequence of str or mapping, optional
        As in :func:`plot_target_logits`.
    s : float, default 16.0
        Scale.
    theta_probe_deg : float
        The probe angle in degrees (required here).
    highlight : str or mapping
        The highlighted curve, as in :func:`plot_target_logits` (required here).
    rescale : bool, default True
        Whether ``s`` changed: then the reference curves, the y axis, its label and the default title
        follow it; otherwise only the highlighted curve and the probe move (much cheaper to redraw).

    Raises
    ------
    KeyError
        ``ax`` was not drawn by :func:`plot_target_logits` with a highlight and a probe.
    TypeError, ValueError
        Bad configs, scale or probe angle.
    """
    s = check_scale(s)
    theta_probe_deg = _probe_deg(theta_probe_deg)
    theta = np.radians(THETA_GRID_DEG)
    if rescale:
        for key, _, m1, m2, m3 in _config_entries(DEFAULT_CONFIGS if configs is None else configs):
            _artist(ax, f"target-logit:{key}").set_ydata(_curve(theta, s, m1, m2, m3))
        ax.set_ylim(*logits_ylim(s))
        ax.set_yticks(logits_yticks(s))
        ax.yaxis.label.set_text(logits_ylabel(s))
        ax.title.set_text(logits_title(s))
    _, _, m1, m2, m3 = _config_entries(highlight)[0]
    _artist(ax, "target-logit:highlight").set_ydata(_curve(theta, s, m1, m2, m3))
    _artist(ax, "probe:line").set_xdata([theta_probe_deg, theta_probe_deg])
    _artist(ax, "probe:marker").set_data([theta_probe_deg], [float(_curve(np.radians(theta_probe_deg), s, m1, m2, m3))])


def update_decision_boundaries(ax: Axes, loss: str = "arcface", m1: float | None = None, m2: float | None = None,
                               m3: float | None = None, s: float = DEFAULT_S, *, m: float | None = None,
                               title: str | None = None) -> None:
    """Move the regions, boundaries and title of an axes drawn by :func:`plot_decision_boundaries`, in place.

    The grid keeps its drawn resolution.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn by :func:`plot_decision_boundaries`.
    loss : str, default "arcface"
        Loss name; its preset margins are the defaults.
    m1, m2, m3 : float, optional
        Margins overriding the preset (m2 in radians).
    s : float, default 16.0
        Scale (only in the title).
    m : float, optional
        The loss's single margin.
    title : str, optional
        The title; default :func:`boundary_title`.

    Raises
    ------
    KeyError
        ``ax`` was not drawn by :func:`plot_decision_boundaries`.
    TypeError, ValueError
        Bad loss, scale or margins (as :func:`arcface_viz.explorer.margins_for`).
    """
    name = loss.lower() if isinstance(loss, str) else loss
    m1, m2, m3 = explorer.margins_for(name, m=m, m1=m1, m2=m2, m3=m3)
    s = check_scale(s)
    image = _artist(ax, "decision-regions")
    grid_deg = np.linspace(0.0, 180.0, image.get_array().shape[0])
    image.set_data(explorer.decision_regions(np.radians(grid_deg), m1=m1, m2=m2, m3=m3))
    boundary = np.degrees(explorer.decision_boundary(np.radians(THETA_GRID_DEG), m1=m1, m2=m2, m3=m3))
    _artist(ax, "boundary:class1").set_data(THETA_GRID_DEG, boundary)
    _artist(ax, "boundary:class2").set_data(boundary, THETA_GRID_DEG)
    ax.title.set_text(title or boundary_title(name, s, m1, m2, m3))


def update_probability_vs_angle(ax: Axes, s: float = DEFAULT_S, m: float | None = None, n_classes: int = 8, *,
                                loss: str = "arcface", m1: float | None = None, m2: float | None = None,
                                m3: float | None = None, p: float = 0.9, theta_probe_deg: float | None = None,
                                title: str | None = None) -> None:
    """Move the curves, probe, bound note and title of an axes drawn by :func:`plot_probability_vs_angle`.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn by :func:`plot_probability_vs_angle` with a probe angle.
    s : float, default 16.0
        Scale.
    m : float, optional
        The loss's single margin; default its preset.
    n_classes : int, default 8
        Number of classes C >= 2.
    loss : str, default "arcface"
        Loss name (preset margins, title).
    m1, m2, m3 : float, optional
        Explicit margins overriding the preset (m2 in radians).
    p : float, default 0.9
        Target probability of the NormFace bound.
    theta_probe_deg : float
        The probe angle in degrees (required here).
    title : str, optional
        The title; default :func:`probability_title`.

    Raises
    ------
    KeyError
        ``ax`` was not drawn by :func:`plot_probability_vs_angle`.
    TypeError, ValueError
        Bad loss, scale, margins, ``n_classes``, ``p`` or probe angle.
    """
    name = loss.lower() if isinstance(loss, str) else loss
    m1, m2, m3 = explorer.margins_for(name, m=m, m1=m1, m2=m2, m3=m3)
    s = check_scale(s)
    note = bound_note(s, n_classes, p)  # validates n_classes and p
    theta_probe_deg = _probe_deg(theta_probe_deg)
    theta = np.radians(THETA_GRID_DEG)
    margins = {"m1": m1, "m2": m2, "m3": m3}
    _artist(ax, "probability:margin").set_ydata(explorer.target_probability(theta, s=s, n_classes=n_classes, **margins))
    _artist(ax, "probability:no-margin").set_ydata(explorer.target_probability(theta, s=s, n_classes=n_classes))
    _artist(ax, "chance").set_ydata([1.0 / n_classes, 1.0 / n_classes])
    _artist(ax, "probe:line").set_xdata([theta_probe_deg, theta_probe_deg])
    value = float(explorer.target_probability(np.radians(theta_probe_deg), s=s, n_classes=n_classes, **margins))
    _artist(ax, "probe:marker").set_data([theta_probe_deg], [value])
    _artist(ax, "bound-note").set_text(note)
    ax.title.set_text(title or probability_title(name, s, m1, m2, m3, n_classes))
