"""Figures of results: target-angle histograms, verification ROC, training history (matplotlib)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._common import degree_axis, figure_and_axes, plain_log_axis
from .._validation import check_angles, check_array, check_label_array, check_real, message
from ..losses import LOSSES
from .colors import identity_colors, series_styles

_FARS = (1e-3, 1e-2, 1e-1)


def _stage_colors(names: Sequence[str]) -> list[str]:
    """Ordered stages (epochs): light to dark along viridis."""
    cmap = colormaps["viridis"]
    return [to_hex(cmap(0.85 * i / max(len(names) - 1, 1))) for i in range(len(names))]


def _target_angles(value, name: str) -> np.ndarray:
    """Target angles in radians from an AngleStats-like object or an array."""
    if hasattr(value, "target_angles"):
        value = value.target_angles
    angles = check_angles(name, check_array(name, value, ndim=1))
    if angles.size == 0:
        raise ValueError(message(f"{name}.shape", angles.shape, "holds no angles: nothing to draw (and no mean)",
                                 "pass the target angles of at least one embedding"))
    return angles


def plot_angle_histograms(angles, labels=None, *, identities: Sequence[str] | None = None,
                          bin_width_deg: float = 3.0, title: str | None = None, ax: Axes | None = None,
                          losses: Sequence[str] | None = None) -> Figure:
    """Histogram of the target angle θ_y (embedding to its own class centre), in degrees.

    The paper (Deng et al., CVPR 2019, Fig. 6) shows this distribution moving from about 90° towards
    small angles as training proceeds; pass a mapping of stages to overlay them.

    Parameters
    ----------
    angles : AngleStats, array_like (N,) float, or Mapping[str, AngleStats | array_like]
        Target angles in radians (``metrics.AngleStats.target_angles``). A mapping such as
        ``{"epoch 1": ..., "epoch 20": ...}`` overlays one outlined histogram per stage (in order).
    labels : array_like (N,) int, optional
        With a single array: stack the histogram by identity, in the identity colours.
    identities : sequence of str, optional
        Identity names for the legend.
    bin_width_deg : float, default 3.0
        Bin width in degrees (> 0).
    title : str, optional
        The title, e.g. ``head.describe()``.
    ax : matplotlib Axes, optional
        Draw into this Axes (its figure is returned); default a new figure.
    losses : sequence of str, optional
        With a mapping whose entries are losses (not training stages): the loss (registry name) of
        each entry, in order, for its colour (as in :func:`plot_roc`). Without it, a mapping keyed by
        loss names or labels only ("softmax", "ArcFace") takes their colours too; other keys are
        stages, drawn light to dark.

    Returns
    -------
    matplotlib.figure.Figure
        The histogram: x θ in degrees over [0, 180], y number of embeddings; each stage's mean is
        a dashed line.

    Raises
    ------
    TypeError
        Angles that are not numbers, labels that are not integers.
    ValueError
        Angles outside [0, π] radians (e.g. degrees), no angles, an empty mapping, a bin width <= 0,
        or fewer identity names than labels.

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, Fig. 6 (target-angle distributions).
    """
    bin_width_deg = check_real("bin_width_deg", bin_width_deg, low=0.0, low_open=True, fix="pass a bin width in degrees, e.g. 3")
    bins = np.arange(0.0, 180.0 + bin_width_deg, bin_width_deg)
    fig, ax = figure_and_axes(ax, (7.0, 4.2))
    if isinstance(angles, Mapping):
        if not angles:
            raise ValueError("angles is an empty mapping: pass e.g. {'epoch 1': stats1, 'epoch 20': stats20}")
        names = list(angles)
        known = {key for key in LOSSES} | {loss.label.lower() for loss in LOSSES.values()}
        if losses is not None or all(name.lower() in known for name in names):  # losses: their registry colours
            styles = series_styles(names, losses)
        else:  # training stages: light to dark
            styles = [(color, "-") for color in _stage_colors(names)]
        for name, (color, style) in zip(names, styles):
            degrees = np.degrees(_target_angles(angles[name], f"angles[{name!r}]"))
            ax.hist(degrees, bins=bins, histtype="stepfilled", alpha=0.25, color=color)
            ax.hist(degrees, bins=bins, histtype="step", lw=1.8, color=color, ls=style,
                    label=f"{name}: mean {degrees.mean():.1f}°")
            ax.axvline(degrees.mean(), color=color, ls="--", lw=1.2)
    else:
        degrees = np.degrees(_target_angles(angles, "angles"))
        if labels is None:
            ax.hist(degrees, bins=bins, color="#4c72b0", alpha=0.8, label=f"all: mean {degrees.mean():.1f}°")
        else:
            y = check_label_array("labels", labels, len(degrees))
            n = int(y.max()) + 1 if y.size else 0
            names = [str(x) for x in identities] if identities is not None else [f"identity {k}" for k in range(n)]
            if len(names) < n:
                raise ValueError(f"identities has {len(names)} names but the labels need {n}")
            ax.hist([degrees[y == k] for k in range(n)], bins=bins, stacked=True, color=identity_colors(n),
                    label=names[:n])
        ax.axvline(degrees.mean(), color="black", ls="--", lw=1.2)
    ax.set_xlim(0, 180)
    degree_axis(ax.xaxis)
    ax.set_xlabel("θ, angle between embedding and its class centre (degrees)")
    ax.set_ylabel("number of embeddings")
    ax.set_title(title or "Distribution of the target angle θ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _fraction(values, name: str, what: str) -> np.ndarray:
    """A 1-D array of rates in [0, 1]; percentages (up to 100) would be drawn off the axes."""
    array = check_array(name, values, ndim=1)
    if array.size and (array.min() < 0 or array.max() > 1):
        bad = array.min() if array.min() < 0 else array.max()
        raise ValueError(message(name, float(bad), f"must be fractions in [0, 1] ({what}), got values up to "
                                 f"{array.max():g}", "percent? divide by 100"))
    return array


def _roc_series(results, tpr) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """name -> (fpr, tpr, legend suffix) from the accepted ``plot_roc`` inputs."""
    if tpr is not None:
        items = [("ROC", (results, tpr))]
    else:
        items = list(results.items()) if isinstance(results, Mapping) else [("ROC", results)]
    if not items:
        raise ValueError("results is an empty mapping: no ROC to draw")
    series = {}
    for name, value in items:
        if hasattr(value, "fpr"):
            suffix = f": AUC {value.auc:.3f}, EER {100 * value.eer:.1f}%"
            series[str(name)] = (check_array("fpr", value.fpr, ndim=1), check_array("tpr", value.tpr, ndim=1), suffix)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            series[str(name)] = (_fraction(value[0], "fpr", "false accept rate"),
                                 _fraction(value[1], "tpr", "true accept rate"), "")
        else:
            raise TypeError(f"ROC entry {name!r}: pass a VerificationResult or an (fpr, tpr) pair, "
                            f"got {type(value).__name__}")
    for name, (f, t, _) in series.items():
        if f.shape != t.shape:
            raise ValueError(f"{name}: fpr and tpr must have the same shape, got {f.shape} and {t.shape}")
        if f.size == 0:
            raise ValueError(f"{name}: no ROC points (empty fpr and tpr)")
    return series


def plot_roc(results, tpr=None, *, log_far: bool = True, title: str | None = None, ax: Axes | None = None,
             losses: Sequence[str] | None = None) -> Figure:
    """Verification ROC: true accept rate (TAR) against false accept rate (FAR).

    Parameters
    ----------
    results : VerificationResult, Mapping[str, VerificationResult | (fpr, tpr)], or array_like
        ``metrics.verification`` results (legend shows AUC and EER), several of them by name to
        compare losses, or a raw FPR array together with ``tpr``.
    tpr : array_like, optional
        TPR values when ``results`` is a raw FPR array.
    log_far : bool, default True
        Logarithmic FAR axis (the face-verification convention, TAR@FAR = 1e-3 ... 1e-1 marked).
        Points at FAR = 0 cannot be drawn on it and are left out.
    title : str, optional
        The title.
    ax : matplotlib Axes, optional
        Draw into this Axes (its figure is returned); default a new figure.
    losses : sequence of str, optional
        The loss (registry name) of each series, in order: its line takes that loss's colour.
        Without it a series whose name starts with a loss's name or label (``"ArcFace s=64"``)
        does. Several series of one loss keep its colour and get distinct line styles.

    Returns
    -------
    matplotlib.figure.Figure
        One line per series (gid ``"roc:<name>"``); x FAR, y TAR, both fractions in [0, 1].

    Raises
    ------
    TypeError
        A mapping entry that is neither a VerificationResult nor an (fpr, tpr) pair.
    ValueError
        An empty mapping, fpr and tpr of different shapes or empty, rates outside [0, 1], or
        ``losses`` whose length or names do not fit the series.
    """
    series = _roc_series(results, tpr)
    fig, ax = figure_and_axes(ax, (6.0, 4.6))
    styles = series_styles(list(series), losses)
    smallest = 1.0
    for (name, (fpr, tpr_values, suffix)), (color, style) in zip(series.items(), styles):
        keep = fpr > 0 if log_far else np.ones_like(fpr, dtype=bool)
        if log_far and keep.any():
            smallest = min(smallest, float(fpr[keep].min()))
        label = suffix.lstrip(": ") if name == "ROC" and suffix else f"{name}{suffix}"
        (line,) = ax.plot(fpr[keep], tpr_values[keep], color=color, ls=style, lw=2.0, label=label,
                          drawstyle="steps-post")
        line.set_gid(f"roc:{name}")
    if log_far:
        ax.set_xscale("log")
        left = min(_FARS[0], smallest) / 2
        ax.set_xlim(left, 1.0)
        for far in _FARS:
            ax.axvline(far, color="#999999", ls=":", lw=1.0)
        ax.set_xlabel("FAR, false accept rate (log scale; dotted: 1e-3, 1e-2, 1e-1)")
    else:
        ax.plot([0, 1], [0, 1], color="#bbbbbb", ls="--", lw=1.0, label="chance")
        ax.set_xlim(0, 1)
        ax.set_xlabel("FAR, false accept rate")
    ax.set_ylim(0, 1.01)
    ax.set_ylabel("TAR, true accept rate")
    ax.set_title(title or "Verification ROC (identities unseen in training)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="lower right")
    return fig


def _history_of(value, name: str) -> Mapping[str, Sequence[float]]:
    history = value.history if hasattr(value, "history") else value
    if not isinstance(history, Mapping) or "loss" not in history:
        raise TypeError(f"{name}: pass a TrainResult or a history dict with 'loss' (and 'eval_accuracy_train') lists")
    return history


def plot_training_history(history, *, title: str | None = None, losses: Sequence[str] | None = None) -> Figure:
    """Training loss and eval-mode accuracy per epoch, for one run or several runs side by side.

    Parameters
    ----------
    history : TrainResult, Mapping[str, list[float]], or Mapping[str, TrainResult | Mapping]
        ``TrainResult.history`` (keys ``"loss"``, ``"eval_accuracy_train"`` and optionally
        ``"eval_accuracy_heldout"``, accuracies as fractions), the TrainResult itself, or several of
        them by name (e.g. ``{"softmax": r1, "ArcFace": r2}``). Training accuracy is drawn with filled circles,
        held-out accuracy with open squares, both in the series' line style.
    title : str, optional
        Default: the head's ``describe()`` for a single TrainResult, else "Training history".
    losses : sequence of str, optional
        The loss (registry name) of each run, in order, for its colour (as in :func:`plot_roc`).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: loss (log scale labelled with plain numbers, when every loss is positive) and
        accuracy (%) against epoch (1-based).
    """
    if hasattr(history, "history") or (isinstance(history, Mapping) and "loss" in history):
        runs = {"": _history_of(history, "history")}
        if title is None and hasattr(history, "head") and hasattr(history.head, "describe"):
            title = history.head.describe()
    elif isinstance(history, Mapping) and history:
        runs = {str(name): _history_of(value, f"history[{name!r}]") for name, value in history.items()}
    else:
        raise TypeError("history must be a TrainResult, a history dict or a non-empty mapping of them")
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    styles = series_styles(list(runs), losses)
    for (name, run), (color, style) in zip(runs.items(), styles):
        loss = check_array("loss", run["loss"], ndim=1)
        if loss.size == 0:
            raise ValueError(f"history {name!r} has no epochs (empty 'loss'): nothing to draw")
        epochs = np.arange(1, len(loss) + 1)
        loss_ax.plot(epochs, loss, marker="o", ms=3, ls=style, color=color, label=name or None)
        # training accuracy: filled circles; held-out accuracy: open squares, in the series' own line style
        for key, marker, face, what in (("eval_accuracy_train", "o", color, "training images"),
                                        ("eval_accuracy_heldout", "s", "white", "held-out images")):
            if key in run:
                accuracy = 100 * _fraction(run[key], key, "TrainResult.history keeps a fraction")
                # say which images only when a run has both lines
                label = ", ".join(filter(None, (name, what if "eval_accuracy_heldout" in run else ""))) or None
                acc_ax.plot(np.arange(1, len(accuracy) + 1), accuracy, marker=marker, ms=4, mfc=face, ls=style,
                            color=color, label=label)
    every_loss = np.concatenate([np.asarray(r["loss"], dtype=float) for r in runs.values()])
    if np.all(every_loss > 0):  # ticks as plain numbers (0.1, 0.2, 0.5, 1), not 10^k
        loss_ax.set_yscale("log")
        plain_log_axis(loss_ax.yaxis, float(every_loss.min()), float(every_loss.max()))
        loss_ax.set_ylabel("nats (log scale)")
    else:
        loss_ax.set_ylabel("nats")
    loss_ax.set_title("training loss (cross-entropy)", fontsize="medium")
    loss_ax.set_xlabel("epoch")
    acc_ax.set_xlabel("epoch")
    heldout = any("eval_accuracy_heldout" in r for r in runs.values())
    acc_ax.set_ylabel("% of images" if heldout else "% of training images")
    acc_ax.set_title("accuracy, model in eval mode", fontsize="medium")
    acc_ax.set_ylim(0, 101)
    for axis, where in ((loss_ax, "best"), (acc_ax, "lower right")):  # accuracy rises: its lower right is empty
        axis.grid(alpha=0.3, which="both")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(runs) > 1 or (axis is acc_ax and heldout):
            axis.legend(fontsize="small", loc=where)
    fig.suptitle(title or "Training history")
    return fig
