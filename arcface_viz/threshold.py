"""The verification threshold as a slider: genuine/impostor score histograms and the ROC point it selects.

- :func:`operating_point` -- TAR and FAR at one threshold (a pair is accepted when its score >= threshold,
  the convention of :func:`sklearn.metrics.roc_curve` and :mod:`arcface_viz.metrics`);
- :func:`threshold_readout` -- the one-line text the widget shows;
- :func:`threshold_explorer` -- the widget (lesson 6): a threshold slider, the two histograms with the
  threshold line, and the ROC curve with the operating point.

Only the threshold line, the ROC point and the titles are redrawn when the slider moves (the histograms and
the curve are a cached background, :class:`arcface_viz.blit.BlitPanel`), and the panels are sent as JPEG: see
benchmarks/bench_browser_sliders.py.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from .blit import PANEL_DPI, BlitPanel
from ._validation import check_real
from .i18n import check_lang, text

GENUINE_COLOR = "#2a9d4b"
IMPOSTOR_COLOR = "#d1495b"


@dataclass(frozen=True)
class OperatingPoint:
    """Where one threshold puts a verifier.

    Parameters
    ----------
    threshold : float
        Pairs with a score >= threshold are accepted.
    tar : float
        True accept rate, ``genuine_accepted / n_genuine``, in [0, 1].
    far : float
        False accept rate, ``impostor_accepted / n_impostor``, in [0, 1].
    genuine_accepted : int
        Genuine pairs accepted.
    n_genuine : int
        Genuine pairs in all.
    impostor_accepted : int
        Impostor pairs accepted.
    n_impostor : int
        Impostor pairs in all.
    """

    threshold: float
    tar: float
    far: float
    genuine_accepted: int
    n_genuine: int
    impostor_accepted: int
    n_impostor: int


def _scores(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name}: shape {array.shape}; pass a non-empty 1-D array of pair scores")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: {int((~np.isfinite(array)).sum())} non-finite score(s); "
                         "compute scores from finite embeddings (metrics.pair_scores)")
    return array


def operating_point(genuine, impostor, threshold: float) -> OperatingPoint:
    """TAR and FAR when pairs with a score >= ``threshold`` are accepted as the same person.

    Parameters
    ----------
    genuine : array-like of float, shape (G,)
        Scores (e.g. cosine similarities) of pairs of the same person.
    impostor : array-like of float, shape (I,)
        Scores of pairs of different people.
    threshold : float
        Accept a pair when its score >= threshold (unitless, on the scores' scale).

    Returns
    -------
    OperatingPoint
        TAR (true accept rate) = accepted genuine / G; FAR (false accept rate) = accepted impostors / I.

    Raises
    ------
    TypeError
        A threshold that is not a real number (a str, a bool, a tensor).
    ValueError
        Empty, non-1-D or non-finite scores, or a non-finite threshold.

    Examples
    --------
    >>> p = operating_point([0.9, 0.8, 0.3], [0.1, 0.5, 0.85, 0.2], threshold=0.5)
    >>> p.tar, p.far
    (0.6666666666666666, 0.5)
    """
    genuine, impostor = _scores(genuine, "genuine"), _scores(impostor, "impostor")
    threshold = check_real("threshold", threshold, fix="pass a finite number on the scores' scale")
    g = int(np.count_nonzero(genuine >= threshold))
    i = int(np.count_nonzero(impostor >= threshold))
    return OperatingPoint(float(threshold), g / genuine.size, i / impostor.size, g, genuine.size, i, impostor.size)


def threshold_readout(point: OperatingPoint, *, lang: str = "en") -> str:
    """One line: the threshold, TAR and FAR with the counts behind them.

    Parameters
    ----------
    point : OperatingPoint
        From :func:`operating_point`.
    lang : {"en", "zh"}, default "en"
        Language of the line (:mod:`arcface_viz.i18n`); the numbers are the same in both.

    Returns
    -------
    str
        E.g. ``"threshold 0.50: TAR 66.7 % (2/3 genuine pairs accepted), FAR 50.00 % (2/4 impostor pairs
        accepted)"``; in Chinese ``"阈值 0.50：通过率 TAR 66.7 %（接受了 2/3 个同人对），误识率 FAR 50.00 %
        （接受了 2/4 个异人对）"``.

    Raises
    ------
    TypeError, ValueError
        ``lang`` not "en"/"zh".
    """
    return text("threshold.readout", check_lang(lang), threshold=point.threshold, tar=100 * point.tar,
                genuine_accepted=point.genuine_accepted, n_genuine=point.n_genuine, far=100 * point.far,
                impostor_accepted=point.impostor_accepted, n_impostor=point.n_impostor)


class ThresholdExplorer(widgets.VBox):
    """The widget returned by :func:`threshold_explorer`.

    Parameters
    ----------
    genuine, impostor : array-like of float, shapes (G,) and (I,)
        Pair scores of the same person and of different people.
    threshold : float, optional
        Initial threshold; default: the impostor scores' 99th percentile (FAR about 1 %).
    label : str, default ""
        Shown in the histogram's title.
    lang : {"en", "zh"}, default "en"
        Language of the slider label and the readout (figures keep English labels).

    Attributes
    ----------
    controls : dict[str, ipywidgets.FloatSlider]
        ``"threshold"``.
    readout : ipywidgets.HTML
        :func:`threshold_readout` of the current point (HTML-escaped plain text).
    point : OperatingPoint
        The current operating point.
    images : dict[str, ipywidgets.Image]
        ``"scores"`` (histograms) and ``"roc"``.

    Raises
    ------
    ValueError
        Empty, non-1-D or non-finite scores, or ``lang`` not "en"/"zh" (TypeError if not a str).
    """

    def __init__(self, genuine, impostor, threshold: float | None = None, label: str = "", *, lang: str = "en"):
        self.lang = check_lang(lang)
        self._genuine, self._impostor = _scores(genuine, "genuine"), _scores(impostor, "impostor")
        low = math.floor(min(self._genuine.min(), self._impostor.min()) * 100) / 100
        high = math.ceil(max(self._genuine.max(), self._impostor.max()) * 100) / 100
        if threshold is None:  # FAR about 1 %: where lesson 6 reads TAR@FAR
            threshold = float(np.quantile(self._impostor, 0.99))
        threshold = min(max(float(threshold), low), high)
        self.label = label
        self.controls = {"threshold": widgets.FloatSlider(
            value=round(threshold, 2), min=low, max=high, step=0.01, description=text("threshold.slider", self.lang),
            continuous_update=True, readout_format=".2f", layout=widgets.Layout(width="520px"))}
        self.readout = widgets.HTML()
        self.readout.add_class("arcface-readout")
        self._panels = {"scores": BlitPanel((5.2, 3.4)), "roc": BlitPanel((3.6, 3.4))}
        self._panels["scores"].rebuild(self._draw_scores, dynamic=("threshold",), overlay=("title",))
        self._panels["roc"].rebuild(self._draw_roc, dynamic=("point",), overlay=("title",))
        self.images = {name: widgets.Image(format="jpeg", width=str(round(p.figure.get_figwidth() * PANEL_DPI)))
                       for name, p in self._panels.items()}
        for image in self.images.values():
            image.add_class("arcface-plot")
        self.controls["threshold"].observe(lambda change: self._update(change["new"]), names="value")
        super().__init__([self.controls["threshold"], self.readout,
                          widgets.HBox([self.images["scores"], self.images["roc"]])])
        self.add_class("arcface-threshold-explorer")
        self._update(self.controls["threshold"].value)

    def _draw_scores(self, ax) -> None:
        bins = np.linspace(min(self._genuine.min(), self._impostor.min()),
                           max(self._genuine.max(), self._impostor.max()), 41)
        ax.hist(self._impostor, bins=bins, density=True, alpha=0.6, color=IMPOSTOR_COLOR,
                label=f"impostor pairs ({self._impostor.size})")
        ax.hist(self._genuine, bins=bins, density=True, alpha=0.6, color=GENUINE_COLOR,
                label=f"genuine pairs ({self._genuine.size})")
        ax.axvline(0.0, color="black", lw=1.5, gid="threshold")
        ax.set_xlabel("pair score (cos θ between embeddings)")
        ax.set_ylabel("density")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.set_title(" ")

    def _draw_roc(self, ax) -> None:
        from sklearn.metrics import roc_curve

        scores = np.concatenate([self._genuine, self._impostor])
        is_same = np.concatenate([np.ones(self._genuine.size), np.zeros(self._impostor.size)])
        fpr, tpr, _ = roc_curve(is_same, scores)
        self._far_floor = 0.5 / self._impostor.size  # FAR = 0 drawn at the left edge of the log axis
        ax.plot(np.maximum(fpr, self._far_floor), tpr, color="black", lw=1.2)
        ax.plot([self._far_floor], [0.0], "o", ms=8, color="#1f6fb4", gid="point", zorder=5)
        ax.set_xscale("log")
        ax.set_xlim(self._far_floor, 1.0)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("FAR (log scale)")
        ax.set_ylabel("TAR")
        ax.set_title(" ")

    def _update(self, threshold: float) -> None:
        self.point = operating_point(self._genuine, self._impostor, threshold)
        scores, roc = self._panels["scores"], self._panels["roc"]
        scores.artist("threshold").set_xdata([threshold, threshold])
        prefix = f"{self.label}: " if self.label else ""
        scores.ax.set_title(f"{prefix}accept pairs right of {threshold:.2f}", fontsize=10)
        roc.artist("point").set_data([max(self.point.far, self._far_floor)], [self.point.tar])
        roc.ax.set_title(f"TAR {100 * self.point.tar:.1f} % at FAR {100 * self.point.far:.2f} %", fontsize=10)
        self.readout.value = html.escape(threshold_readout(self.point, lang=self.lang))
        for name, panel in self._panels.items():
            self.images[name].value = panel.render()


def threshold_explorer(genuine, impostor, threshold: float | None = None, label: str = "", *,
                       lang: str = "en") -> ThresholdExplorer:
    """A threshold slider linked to the genuine/impostor score histograms and the ROC operating point.

    Parameters
    ----------
    genuine, impostor : array-like of float, shapes (G,) and (I,)
        Pair scores, e.g. ``metrics.pair_scores(embeddings, pairs)`` split by whether the pair is the same person.
    threshold : float, optional
        Initial threshold; default: the impostor scores' 99th percentile (FAR about 1 %).
    label : str, optional
        Shown in the histogram's title, e.g. the loss's name.
    lang : {"en", "zh"}, default "en"
        Language of the slider label and the readout: ``"zh"`` for Simplified Chinese (the Chinese
        lessons pass it). Figures keep English labels; the numbers are the same in both languages.

    Returns
    -------
    ThresholdExplorer
        The widget; ``.point`` is the current :class:`OperatingPoint`.

    Raises
    ------
    ValueError
        Empty, non-1-D or non-finite scores, or ``lang`` not "en"/"zh" (TypeError if not a str).
    """
    return ThresholdExplorer(genuine, impostor, threshold, label, lang=lang)
