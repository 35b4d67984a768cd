"""Figures of the robustness study (:mod:`arcface_viz.robustness`): verification vs nuisance level, and
the feature norm against image quality. Both take the study's JSON-ready results, so a saved
``report.json`` redraws them."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..losses import get_loss
from .colors import loss_color

#: Titles of the sweep's metrics (the keys of ``arcface_viz.robustness.METRICS``).
_METRIC_TITLES = {"tar_at_far_1e-2": "TAR@FAR=1e-2", "verification_accuracy": "10-fold accuracy"}
_QUALITY_TITLES = {"blur": "blur (extra edge width, px)", "noise": "noise (grey-level std)",
                   "occlusion": "occluded (0 no, 1 yes)"}


def plot_nuisance_sweep(sweeps: Mapping | Sequence[Mapping], metrics: Sequence[str] = tuple(_METRIC_TITLES)) -> Figure:
    """Verification of unseen people vs the level of one nuisance factor: one column per factor, one row per metric.

    Parameters
    ----------
    sweeps : dict or sequence of dict
        Results of :func:`arcface_viz.robustness.nuisance_sweep`.
    metrics : sequence of str
        Which metrics, rows from top to bottom.

    Returns
    -------
    Figure
        Lines: mean over seeds, in the registry colour of each loss; bands: 95 % t-interval; a dotted
        vertical line marks the training level. Artists carry gids ``sweep:<factor>:<metric>:<loss>``.
    """
    sweeps = [sweeps] if isinstance(sweeps, Mapping) else list(sweeps)
    if not sweeps:
        raise ValueError("sweeps=[]: pass the result of robustness.nuisance_sweep (or a list of them)")
    unknown = [m for m in metrics if m not in _METRIC_TITLES]
    if unknown:
        raise ValueError(f"metrics={list(metrics)!r}: unknown {unknown}; use {', '.join(_METRIC_TITLES)}")
    fig = Figure(figsize=(3.2 * len(sweeps) + 1.0, 2.8 * len(metrics) + 0.6), layout="constrained")
    axes = fig.subplots(len(metrics), len(sweeps), squeeze=False, sharey="row")
    for col, sweep in enumerate(sweeps):
        levels = np.asarray(sweep["levels"], dtype=float)
        for row, metric in enumerate(metrics):
            ax = axes[row, col]
            for loss, per in sweep["metrics"].items():
                s = per[metric]
                mean = np.array([np.nan if v is None else v for v in s["mean"]], dtype=float)
                colour = loss_color(loss)
                ax.plot(levels, mean, "o-", color=colour, label=get_loss(loss).label, lw=1.8, ms=4,
                        gid=f"sweep:{sweep['factor']}:{metric}:{loss}")
                if all(v is not None for v in s["low"]):  # fractions: the band is drawn within [0, 1]
                    ax.fill_between(levels, np.clip(np.asarray(s["low"], float), 0, 1),
                                    np.clip(np.asarray(s["high"], float), 0, 1), color=colour, alpha=0.15, lw=0)
            ax.axvline(sweep["train_level"], color="0.5", ls=":", lw=1)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"{sweep['factor']}", fontsize="medium")
            if row == len(metrics) - 1:
                ax.set_xlabel(f"{sweep['factor']} level (0 none, 1 strong)")
            if col == 0:
                ax.set_ylabel(_METRIC_TITLES[metric])
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize="small")
    seeds = len(sweeps[0]["seeds"])
    fig.suptitle(f"Unseen people, one factor swept, the others at the training level (dotted); "
                 f"mean and 95 % interval over {seeds} seeds (bands cut at 0 and 1)", fontsize="medium")
    return fig


def plot_norm_vs_quality(result: Mapping) -> Figure:
    """The raw feature norm ‖z‖ of unseen faces against blur, noise and occlusion, one row per loss.

    Parameters
    ----------
    result : dict
        From :func:`arcface_viz.robustness.norm_vs_quality` (norms of its first seed are drawn).

    Returns
    -------
    Figure
        Scatter per loss (row) and factor (column) with the Spearman ρ (mean over seeds) and the largest
        p-value over seeds in each title; occlusion is drawn as two jittered strips with their medians.
    """
    losses, factors = list(result["norms"]), list(result["factors"])
    if not losses or not factors:
        raise ValueError("result has no norms or no factors: pass the result of robustness.norm_vs_quality")
    fig = Figure(figsize=(3.3 * len(factors), 2.5 * len(losses) + 0.5), layout="constrained")
    axes = fig.subplots(len(losses), len(factors), squeeze=False)
    rng = np.random.default_rng(0)  # jitter of the 0/1 occlusion strips only
    for row, loss in enumerate(losses):
        norms = np.asarray(result["norms"][loss], dtype=float)
        colour = loss_color(loss)
        for col, factor in enumerate(factors):
            ax = axes[row, col]
            quality = np.asarray(result["quality"][factor], dtype=float)
            if factor == "occlusion":
                x = quality + rng.uniform(-0.15, 0.15, len(quality))
                for value in (0.0, 1.0):
                    chosen = norms[quality == value]
                    if len(chosen):
                        ax.hlines(np.median(chosen), value - 0.25, value + 0.25, color="k", lw=2)
                ax.set_xticks([0, 1])
            else:
                x = quality
            ax.scatter(x, norms, s=6, color=colour, alpha=0.5, lw=0, gid=f"norm:{loss}:{factor}")
            rho = result["spearman"][loss][factor]
            ax.set_title(f"{get_loss(loss).label}: ρ = {rho['mean']:+.2f}, p ≤ {max(rho['p']):.1g}", fontsize="small")
            ax.grid(alpha=0.3)
            if row == len(losses) - 1:
                ax.set_xlabel(_QUALITY_TITLES[factor])
            if col == 0:
                ax.set_ylabel("feature norm ‖z‖")
    fig.suptitle(f"Feature norm vs image quality, {result['n_images']} unseen faces "
                 f"(ρ: Spearman, mean over {len(result['seeds'])} seeds)", fontsize="medium")
    return fig


def plot_drops(sweeps: Mapping | Sequence[Mapping], metric: str = "verification_accuracy") -> Figure:
    """Robustness itself: how much each loss loses from the first level of each factor to its last.

    Parameters
    ----------
    sweeps : dict or sequence of dict
        Results of :func:`arcface_viz.robustness.nuisance_sweep` (their ``drop`` entries).
    metric : str
        ``"verification_accuracy"`` or ``"tar_at_far_1e-2"``.

    Returns
    -------
    Figure
        One group of bars per factor, one bar per loss (registry colour): the mean drop over seeds with
        its 95 % t-interval as an error bar and each seed as a dot. A lower bar is a more robust loss;
        bars whose intervals overlap do not differ measurably. Bars carry gids ``drop:<factor>:<loss>``.
    """
    sweeps = [sweeps] if isinstance(sweeps, Mapping) else list(sweeps)
    if not sweeps:
        raise ValueError("sweeps=[]: pass the result of robustness.nuisance_sweep (or a list of them)")
    if metric not in _METRIC_TITLES:
        raise ValueError(f"metric={metric!r}: unknown; use {', '.join(_METRIC_TITLES)}")
    losses = list(sweeps[0]["losses"])
    width = 0.8 / len(losses)
    fig = Figure(figsize=(1.2 + 1.6 * len(sweeps), 3.6), layout="constrained")
    ax = fig.add_subplot()
    for k, loss in enumerate(losses):
        for i, sweep in enumerate(sweeps):
            drop = sweep["drop"][loss][metric]
            x = i - 0.4 + width * (k + 0.5)
            error = None if drop["low"] is None else [[drop["mean"] - drop["low"]], [drop["high"] - drop["mean"]]]
            ax.bar(x, drop["mean"], width * 0.9, color=loss_color(loss), alpha=0.75, yerr=error, capsize=2,
                   label=get_loss(loss).label if i == 0 else None, gid=f"drop:{sweep['factor']}:{loss}")
            ax.plot([x] * len(drop["values"]), drop["values"], "k.", ms=3)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(range(len(sweeps)), [f"{s['factor']}\n{s['levels'][0]:g} → {s['levels'][-1]:g}" for s in sweeps])
    ax.set_ylabel(f"drop in {_METRIC_TITLES[metric]}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncols=len(losses), loc="upper right")
    ax.set_title(f"Loss of {_METRIC_TITLES[metric]} from none to strong (lower: more robust); "
                 f"mean, 95 % interval and seeds ({len(sweeps[0]['seeds'])})", fontsize="medium")
    return fig
