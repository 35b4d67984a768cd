"""ipywidgets apps that wire controls to the package's pure functions (no maths of their own).

- :func:`margin_explorer` -- sliders for s, m1, m2, m3, a loss preset selector, a θ probe and the
  number of classes; three matplotlib panels (target logits, decision boundaries, probability) and
  a text readout from :func:`explorer_readout`.
- :func:`training_lab` -- trains a small CNN with a chosen loss in a background thread via
  :func:`arcface_viz.training.fit`, with a progress bar, a live embedding plot and final metrics.

Test-facing attributes (stable): ``.controls`` (dict of name -> widget), ``.readout`` /
``.status`` / ``.metrics`` (ipywidgets HTML whose ``.value`` is plain text, HTML-escaped), ``.error``
(None or the message shown). CSS classes on key widgets let a browser test find them:
``arcface-margin-explorer``, ``arcface-readout`` (plus ``arcface-error`` while the settings are
invalid), ``arcface-plot``, ``arcface-training-lab``, ``arcface-train-button``,
``arcface-stop-button``, ``arcface-progress``, ``arcface-status``, ``arcface-metrics``,
``arcface-embedding-plot``.

The explorer's panels are matplotlib figures shown as JPEG in ``ipywidgets.Image`` widgets: plotly's
FigureWidget needs the ``anywidget`` package with plotly >= 6, which the environment does not have;
swapping an image does not flicker and stays in the saved widget state. Only the artists a control
moves are redrawn, over cached pixels (:class:`arcface_viz.blit.BlitPanel`); each loss of the selector keeps
its own panels, drawn in full the first time it is selected: benchmarks/bench_widgets.py and
benchmarks/bench_browser_sliders.py measure it.
The training lab's 3-D sphere is plotly, shown in an ``Output`` widget through JupyterLab's plotly
mimetype renderer (offline).
"""
from __future__ import annotations

import html
import io
import json
import math
import threading
import time
from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from . import explorer, heads
from .blit import PANEL_DPI, BlitPanel
from ._validation import check_degrees, check_fraction, check_int, check_loss, check_real, message
from .i18n import check_lang, lang_from_query, text
from .losses import DEFAULT_S, EXPLORER_SLIDERS, INTERACTIVE_LOSSES, LOSSES, MARGIN_NAMES
from .plots import plot_circle_embeddings, plot_decision_boundaries, plot_probability_vs_angle, plot_target_logits
from .plots import plot_sphere_embeddings
from .plots.margins import update_decision_boundaries, update_probability_vs_angle, update_target_logits

#: The explorer's scale slider (min, max, step) and the lab's (both cover the lessons' 16 and the paper's 64).
_S_SLIDER = (1.0, 64.0, 0.5)
_LAB_S_SLIDER = (1.0, 64.0, 1.0)


def _slider_value(name: str, value, low: float, high: float, integral: bool = False) -> float:
    """An initial slider value, checked: a slider would clamp a value outside its range silently."""
    fix = f"the slider covers [{low:g}, {high:g}]; pick a value in that range"
    if integral:
        return check_int(name, value, minimum=int(low), maximum=int(high), fix=fix)
    return check_real(name, value, low=low, high=high, fix=fix)


# ----------------------------------------------------------------------------- the widgets' text
#: The y label of the margin explorer's logits panel, whose ticks are multiples of s (:func:`multiple_of_s`).
LOGITS_YLABEL = "target logit  s·(cos(m1·θ + m2) − m3)"


def multiple_of_s(value: float, s: float) -> str:
    """A tick label of the margin explorer's logits axis: ``value`` as a multiple of the scale s.

    Parameters
    ----------
    value : float
        A logit (unitless), e.g. a tick at ``s * k``.
    s : float
        The scale, > 0.

    Returns
    -------
    str
        ``"0"``, ``"s"``, ``"−s"`` or ``"<k>s"`` with k = value / s rounded to 3 decimals and a
        minus sign (U+2212), as matplotlib writes negative ticks.

    Raises
    ------
    ValueError
        ``s`` not a positive finite number.

    Examples
    --------
    >>> [multiple_of_s(v, 16.0) for v in (-24.0, -16.0, -8.0, 0.0, 8.0, 16.0)]
    ['−1.5s', '−s', '−0.5s', '0', '0.5s', 's']
    """
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"s={s!r}: the scale must be a positive finite number")
    k = round(value / s, 3)  # a tick at 0 may come out as 1e-17·s
    if k == 0:
        return "0"
    sign = "−" if k < 0 else ""
    return f"{sign}s" if abs(k) == 1 else f"{sign}{abs(k):g}s"


def _loss_options(lang: str, custom: bool) -> list[tuple[str, str]]:
    """The loss selector's (caption, value) pairs: the registry's names; "custom" in ``lang``."""
    options = [(explorer.label(k), k) for k in INTERACTIVE_LOSSES]
    return options + [(text("explorer.custom", lang), "custom")] if custom else options


def explorer_readout(loss: str, s: float, m1: float, m2: float, m3: float, theta_deg: float,
                     n_classes: int, *, lang: str = "en") -> str:
    """The margin explorer's text line: target logit and probability at the probe angle.

    Parameters
    ----------
    loss : str
        Loss name for the label (a loss of :data:`arcface_viz.losses.INTERACTIVE_LOSSES` or ``"custom"``).
    s, m1, m2, m3 : float
        Scale and margins (m2 in radians), within the registry's ranges.
    theta_deg : float
        Probe angle in degrees, [0, 180].
    n_classes : int
        Number of classes C >= 2 (the other C−1 centres are taken at 90°).
    lang : {"en", "zh"}, default "en"
        Language of the line (:mod:`arcface_viz.i18n`); the numbers are the same in both.

    Returns
    -------
    str
        The line, e.g. ``"θ = 60.0°: target logit 0.38, probability 0.172 | without margin: logit 8.00,
        probability 0.998 | ArcFace (s=16, m=0.5), C = 8, other classes at 90°"``; in Chinese
        ``"θ = 60.0°：目标 logit 0.38，目标类概率 0.172 | 不加间隔：logit 8.00，概率 0.998 | ..."``. In both
        languages the part before the first ``|`` holds exactly three numbers, θ, the target logit and
        its probability, in this order: lesson 4 (both editions, the same code) checks them.

    Raises
    ------
    TypeError, ValueError
        A value of the wrong type or outside its range (messages from :mod:`arcface_viz._validation`),
        or ``lang`` not "en"/"zh".
    """
    lang = check_lang(lang)
    name = check_loss("loss", loss, custom=True, interactive=True)
    m1, m2, m3 = explorer.margins_for("custom", m1=m1, m2=m2, m3=m3)
    theta_deg = check_degrees("theta_deg", theta_deg)
    theta = math.radians(theta_deg)
    prob = float(explorer.target_probability(theta, s=s, m1=m1, m2=m2, m3=m3, n_classes=n_classes))
    logit = float(heads.target_logit(theta, s=s, m1=m1, m2=m2, m3=m3))
    plain = float(heads.target_logit(theta, s=s))
    plain_prob = float(explorer.target_probability(theta, s=s, n_classes=n_classes))
    described = explorer.describe(name, s, m1, m2, m3)
    if name == "custom":  # the one word of the title that is not a name or a symbol
        described = text("explorer.custom", lang) + described[len(explorer.label("custom")):]
    return text("explorer.readout", lang, theta=theta_deg, logit=logit, prob=prob, plain=plain,
                plain_prob=plain_prob, described=described, n_classes=int(n_classes))


def training_summary(description: str, accuracy: float, stats, satisfaction=None, *, lang: str = "en") -> str:
    """The training lab's final line: accuracy, margin satisfaction, angle to centre, angle between centres.

    E.g. ``"ArcFace (s=16, m=0.5): accuracy 97.5% (eval mode, training faces), margin m2=0.5
    satisfied by 93.0%, mean angle to centre 12.3°, min angle between centres 41.0°"``.

    Parameters
    ----------
    description : str
        The head's ``describe()``.
    accuracy : float
        Eval-mode accuracy on the training faces (``history["eval_accuracy_train"][-1]``), a
        fraction in [0, 1].
    stats : AngleStats or Mapping
        :class:`arcface_viz.metrics.AngleStats` (radians) or a mapping with ``target_angles`` and
        ``min_center_angle`` in radians.
    satisfaction : MarginSatisfaction, optional
        :func:`arcface_viz.metrics.margin_satisfaction` at the head's margins. Left out of the line
        when None or when no margin is set (then it would only repeat the accuracy).
    lang : {"en", "zh"}, default "en"
        Language of the line (:mod:`arcface_viz.i18n`); the numbers are the same in both.

    Returns
    -------
    str
        The line; angles in degrees, ``"n/a (one class)"`` for the centres of a single class.

    Raises
    ------
    TypeError, ValueError
        ``accuracy`` not a fraction in [0, 1], or ``lang`` not "en"/"zh".

    Examples
    --------
    >>> import math
    >>> stats = {"target_angles": [0.1, 0.3], "min_center_angle": math.pi / 4}
    >>> training_summary("ArcFace (s=16, m=0.5)", 0.975, stats)
    'ArcFace (s=16, m=0.5): accuracy 97.5% (eval mode, training faces), mean angle to centre 11.5°, min angle between centres 45.0°'
    >>> training_summary("ArcFace (s=16, m=0.5)", 0.975, stats, lang="zh")
    'ArcFace (s=16, m=0.5)：准确率 97.5%（评估模式，训练集人脸），样本到类中心的平均夹角 11.5°，类中心之间的最小夹角 45.0°'
    """
    lang = check_lang(lang)
    accuracy = check_fraction("accuracy", accuracy)
    get = stats.get if isinstance(stats, Mapping) else lambda key: getattr(stats, key)
    mean_angle = math.degrees(float(np.mean(get("target_angles"))))
    min_center = float(get("min_center_angle"))
    centre_text = text("lab.one_class", lang) if math.isnan(min_center) else f"{math.degrees(min_center):.1f}°"
    margin_text = ""
    if satisfaction is not None:
        m1, m2, m3 = satisfaction.margins
        named = [f"{name}={value:g}" for name, value, none in (("m1", m1, 1.0), ("m2", m2, 0.0), ("m3", m3, 0.0))
                 if value != none]
        if named:
            margin_text = text("lab.summary_margin", lang, named=", ".join(named), percent=100 * satisfaction.overall)
    return text("lab.summary", lang, description=description, accuracy=100 * accuracy, margin_text=margin_text,
                mean_angle=mean_angle, centre_text=centre_text)


def warmup_note(head, warmup_epochs: int, epochs_done: int, *, lang: str = "en") -> str:
    """What the training lab adds when the margin warm-up outlasted the run, else ``""``.

    Parameters
    ----------
    head : nn.Module
        A head from :func:`arcface_viz.heads.make_head`, after training: its ``margin_factor``
        (in [0, 1]) and nominal margins ``m1, m2, m3``.
    warmup_epochs : int
        The warm-up length asked for, in epochs.
    epochs_done : int
        The epochs actually trained.
    lang : {"en", "zh"}, default "en"
        Language of the note (:mod:`arcface_viz.i18n`).

    Returns
    -------
    str
        ``""`` when the full margin was reached or the head has none (softmax, NormFace); else e.g.
        ``" The margin reached only 50% of its value: the warm-up (4 epochs) is longer than the run
        (2 epochs)."``.

    Raises
    ------
    TypeError, ValueError
        ``lang`` not "en"/"zh".
    """
    lang = check_lang(lang)
    if (head.m1, head.m2, head.m3) == (1.0, 0.0, 0.0) or head.margin_factor == 1.0:
        return ""
    return text("lab.warmup_note", lang, percent=100 * head.margin_factor, warmup=warmup_epochs,
                epochs_done=epochs_done)


def render_png(fig: Figure) -> bytes:
    """PNG bytes of a matplotlib figure (fast zlib level: these images live in a widget, not on disk).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, drawn at the panels' dpi.

    Returns
    -------
    bytes
        The PNG file's content.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PANEL_DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class MarginExplorer(widgets.VBox):
    """The widget returned by :func:`margin_explorer`.

    Parameters
    ----------
    loss : str, default "arcface"
        Initial preset, as in :func:`margin_explorer`.
    s : float, default 16.0
        Initial scale, in [1, 64].
    theta_deg : float, default 60.0
        Initial probe angle in degrees, [0, 180].
    n_classes : int, default 8
        Initial number of classes C, [2, 100].
    lang : {"en", "zh"}, default "en"
        Language of the control labels and the readout (figures keep English labels).

    Attributes
    ----------
    controls : dict[str, ipywidgets.Widget]
        ``"loss"`` (Dropdown: softmax ... combined, custom), ``"s"``, ``"m1"``, ``"m2"`` (radians),
        ``"m3"``, ``"theta"`` (probe, degrees), ``"n_classes"`` (IntSlider).
    readout : ipywidgets.HTML
        Plain text from :func:`explorer_readout`, or ``"Invalid settings: ..."`` (in ``lang``).
    error : str or None
        The message shown when the settings could not be drawn.
    figures : dict[str, matplotlib.figure.Figure]
        ``"logits"``, ``"boundary"``, ``"probability"`` -- the figures behind the images (those of the
        selected loss: each loss keeps its own panels, see :meth:`update`); their artists carry the
        gids documented in :mod:`arcface_viz.plots.margins`.
    images : dict[str, ipywidgets.Image]
        The JPEG of each figure, same keys.

    Raises
    ------
    ValueError, TypeError
        An unknown loss, an initial value outside its slider's range, or ``lang`` not "en"/"zh".
    """

    def __init__(self, loss: str = "arcface", s: float = DEFAULT_S, theta_deg: float = 60.0, n_classes: int = 8,
                 *, lang: str = "en"):
        self.lang = lang = check_lang(lang)
        loss = check_loss("loss", loss, custom=True, interactive=True)
        m1, m2, m3 = explorer.margins_for(loss)
        s = _slider_value("s", s, *_S_SLIDER[:2])
        theta_deg = _slider_value("theta_deg", theta_deg, 0.0, 180.0)
        n_classes = _slider_value("n_classes", n_classes, 2, 100, integral=True)
        margin_sliders = {name: dict(zip(("min", "max", "step"), EXPLORER_SLIDERS[name])) for name in MARGIN_NAMES}
        slider = {"continuous_update": True, "style": {"description_width": "90px"},
                  "layout": widgets.Layout(width="330px")}
        self.controls = {
            "loss": widgets.Dropdown(options=_loss_options(lang, custom=True), value=loss,
                                     description=text("explorer.loss", lang),
                                     style={"description_width": "90px"}, layout=widgets.Layout(width="330px")),
            # Ranges keep m2 and m3 non-negative (a negative margin would reward the target); m1 reaches
            # 0.8 for the paper's second combined margin (0.9, 0.4, 0.15).
            "s": widgets.FloatSlider(value=s, min=_S_SLIDER[0], max=_S_SLIDER[1], step=_S_SLIDER[2],
                                     description=text("explorer.s", lang), **slider),
            "m1": widgets.FloatSlider(value=m1, **margin_sliders["m1"], description=text("explorer.m1", lang), **slider),
            "m2": widgets.FloatSlider(value=m2, **margin_sliders["m2"], description=text("explorer.m2", lang), **slider),
            "m3": widgets.FloatSlider(value=m3, **margin_sliders["m3"], description=text("explorer.m3", lang), **slider),
            "theta": widgets.FloatSlider(value=theta_deg, min=0.0, max=180.0, step=1.0,
                                         description=text("explorer.theta", lang), readout_format=".0f", **slider),
            "n_classes": widgets.IntSlider(value=n_classes, min=2, max=100, description=text("explorer.n_classes", lang),
                                           **slider),
        }
        self.readout = widgets.HTML(layout=widgets.Layout(margin="4px 0 4px 8px"))
        self.readout.add_class("arcface-readout")
        self.error: str | None = None
        # One set of panels per loss, made the first time the loss is selected: a loss's look (colours,
        # legend) is the panels' cached background, so coming back to a loss only moves its curves.
        self._panel_sets: dict[str, dict[str, BlitPanel]] = {}
        self._built: set[tuple[str, str]] = set()  # (loss, panel) drawn at least once
        self._panels = self._panels_of(loss)
        self.figures = {name: panel.figure for name, panel in self._panels.items()}
        # An explicit pixel width: the browser never stretches a panel beyond its own pixels (blurry),
        # and max-width lets it shrink on a narrow screen.
        self.images = {name: widgets.Image(format="jpeg", width=str(round(panel.figure.get_figwidth() * PANEL_DPI)),
                                           layout=widgets.Layout(max_width="100%", height="auto"))
                       for name, panel in self._panels.items()}
        for image in self.images.values():
            image.add_class("arcface-plot")
        self._syncing = False
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        left = widgets.VBox([self.controls[k] for k in ("loss", "s", "m1", "m2", "m3")])
        right = widgets.VBox([self.controls[k] for k in ("theta", "n_classes")])
        panels = widgets.HBox(list(self.images.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([widgets.HBox([left, right]), self.readout, panels])
        self.add_class("arcface-margin-explorer")
        self.update("all")

    def _panels_of(self, loss: str) -> dict[str, BlitPanel]:
        """The panels of ``loss``, made (not drawn) on first use; every set has the first set's axes positions."""
        if loss in self._panel_sets:
            return self._panel_sets[loss]
        panels = {"logits": BlitPanel((5.6, 4.2)), "boundary": BlitPanel((4.3, 4.2)),
                  "probability": BlitPanel((5.6, 4.2))}
        first = next(iter(self._panel_sets.values()), None)
        if first is None:
            # laid out for the widest tick labels s can give; the other two at their first draw
            panels["logits"].lay_out_with(lambda ax: self._label_logits_in_s(
                plot_target_logits(None, self.controls["s"].value, theta_probe_deg=0.0, highlight="arcface", ax=ax,
                                   mark_fallback=False).axes[0]))
            panels["logits"].ax.clear()
        else:  # the axes stay where they were when the loss changes
            for name, panel in panels.items():
                position = first[name].ax.get_position()
                panel.lay_out_with(lambda ax, position=position: (ax.figure.set_layout_engine("none"),
                                                                  ax.set_position(position)))
        self._panel_sets[loss] = panels
        return panels

    @property
    def settings(self) -> dict:
        """Current control values: loss, s, m1, m2, m3, theta_deg, n_classes."""
        c = self.controls
        return {"loss": c["loss"].value, "s": c["s"].value, "m1": c["m1"].value, "m2": c["m2"].value,
                "m3": c["m3"].value, "theta_deg": c["theta"].value, "n_classes": c["n_classes"].value}

    def _on_change(self, change) -> None:
        if self._syncing:
            return
        name = next(k for k, w in self.controls.items() if w is change["owner"])
        if name == "loss" and change["new"] != "custom":
            # A preset moves the three margin sliders; draw once, after all of them moved.
            self._syncing = True
            try:
                for key, value in zip(("m1", "m2", "m3"), explorer.margins_for(change["new"])):
                    self.controls[key].value = value
            finally:
                self._syncing = False
        elif name in ("m1", "m2", "m3") and self._mark_custom_if_changed():
            name = "loss"  # the curves change colour to "custom": redraw in full once
        self.update(name)

    def _mark_custom_if_changed(self) -> bool:
        """Switch the selector to "custom" when the margins left the preset; True if it switched."""
        loss = self.controls["loss"].value
        current = tuple(self.controls[k].value for k in ("m1", "m2", "m3"))
        if loss == "custom" or np.allclose(current, explorer.margins_for(loss)):
            return False
        self._syncing = True
        try:
            self.controls["loss"].value = "custom"
        finally:
            self._syncing = False
        return True

    def update(self, changed: str = "all") -> None:
        """Recompute the readout and redraw the panels that ``changed`` (a control name) affects.

        Each loss has its own panels (the loss's colours and legend are their cached background). The
        first time a loss is selected its panels are drawn in full; when it is selected again, only
        their curves, markers and texts move to the current settings, as for a slider.
        An invalid setting shows ``"Invalid settings: ..."`` (in the widget's ``lang``) in the readout
        instead of raising.

        Parameters
        ----------
        changed : str, default "all"
            Name of the control that moved (a key of ``controls``; ``"loss"``: the selected loss's
            panels are shown and brought up to date), or ``"all"``: draw the selected loss's panels
            from scratch.
        """
        p = self.settings
        try:
            line = explorer_readout(p["loss"], p["s"], p["m1"], p["m2"], p["m3"], p["theta_deg"],
                                    p["n_classes"], lang=self.lang)
            panels = self._panels_of(p["loss"])
            if panels is not self._panels:  # a new loss (or one the readout refused last time): all three panels
                self._panels = panels
                self.figures.update({name: panel.figure for name, panel in panels.items()})
                changed = "all" if changed == "all" else "loss"
            for name in self._panels_for(changed):
                self._draw(name, p, rebuild=self._needs_rebuild(name, changed), changed=changed)
                self.images[name].value = self._panels[name].render()
        except Exception as error:  # noqa: BLE001 -- a student sees a message in the widget, never a traceback
            self.error = str(error)
            self.readout.value = html.escape(text("explorer.invalid", self.lang, error=error))
            self.readout.add_class("arcface-error")
            return
        self.error = None
        self.readout.remove_class("arcface-error")
        self.readout.value = html.escape(line)

    @staticmethod
    def _panels_for(changed: str) -> tuple[str, ...]:
        if changed == "theta":
            return ("logits", "probability")
        if changed == "n_classes":
            return ("probability",)
        return ("logits", "boundary", "probability")

    def _needs_rebuild(self, name: str, changed: str) -> bool:
        return changed == "all" or (self.controls["loss"].value, name) not in self._built

    def _label_logits_in_s(self, ax) -> None:
        # The logits panel's y-limits and ticks are fixed fractions of s, so its curves look the same for
        # every s: the ticks are labelled in multiples of s (the title gives s, the readout the logit),
        # and a new s redraws only the title, not the y axis.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: multiple_of_s(value, self.controls["s"].value)))
        ax.set_ylabel(LOGITS_YLABEL)

    @staticmethod
    def _boundary_title(p: dict) -> str:
        described = explorer.describe(p["loss"], p["s"], p["m1"], p["m2"], p["m3"])
        return f"{described}\nboundaries (grey: margin, dotted: no margin)"

    def _draw(self, name: str, p: dict, rebuild: bool, changed: str) -> None:
        panel = self._panels[name]
        m = {"m1": p["m1"], "m2": p["m2"], "m3": p["m3"]}
        probe = p["theta_deg"]
        if name == "logits":
            highlight = {"loss": p["loss"], **m}
            if rebuild:
                panel.rebuild(lambda ax: self._label_logits_in_s(plot_target_logits(
                                  None, p["s"], theta_probe_deg=probe, highlight=highlight, ax=ax,
                                  mark_fallback=False).axes[0]),
                              dynamic=("target-logit:highlight", "probe:line", "probe:marker"),
                              overlay=("title", "yaxis"))
            else:  # back to a loss drawn before: s may have changed meanwhile
                rescale = changed in ("s", "loss")
                update_target_logits(panel.ax, None, p["s"], theta_probe_deg=probe, highlight=highlight,
                                     rescale=rescale)
                if rescale:
                    self._label_logits_in_s(panel.ax)
        elif name == "boundary":
            if rebuild:
                panel.rebuild(lambda ax: plot_decision_boundaries(p["loss"], s=p["s"], ax=ax, legend=False,
                                                                  title=self._boundary_title(p), **m),
                              dynamic=("decision-regions", "boundary:class1", "boundary:class2", "boundary:none"),
                              overlay=("title", "label:class1", "label:class2"))
            else:
                update_decision_boundaries(panel.ax, p["loss"], s=p["s"], title=self._boundary_title(p), **m)
        else:
            n = p["n_classes"]
            if rebuild:
                # The NormFace note changes with s and C only: an overlay, blended over the probe line.
                panel.rebuild(lambda ax: plot_probability_vs_angle(p["s"], None, n, loss=p["loss"], theta_probe_deg=probe,
                                                                   ax=ax, **m),
                              dynamic=("probability:margin", "probability:no-margin", "chance", "probe:line",
                                       "probe:marker"), overlay=("title", "bound-note"))
            else:
                update_probability_vs_angle(panel.ax, p["s"], None, n, loss=p["loss"], theta_probe_deg=probe, **m)
        self._built.add((p["loss"], name))


def margin_explorer(loss: str = "arcface", s: float = DEFAULT_S, theta_deg: float = 60.0,
                    n_classes: int = 8, *, lang: str = "en") -> MarginExplorer:
    """Sliders for the margin family with live target-logit, decision-boundary and probability plots.

    Parameters
    ----------
    loss : str
        Initial preset (a loss of :data:`arcface_viz.losses.INTERACTIVE_LOSSES` or ``"custom"``); choosing a preset later sets
        the m1/m2/m3 sliders; moving a margin slider switches the selector to "custom".
    s : float
        Initial scale, in [1, 64].
    theta_deg : float
        Initial probe angle in degrees, [0, 180].
    n_classes : int
        Initial number of classes C, [2, 100].
    lang : {"en", "zh"}, default "en"
        Language of the labels and the readout: ``"zh"`` for Simplified Chinese (the Chinese lessons
        pass it). The figures keep English labels; the numbers are the same in both languages.

    Returns
    -------
    MarginExplorer
        An ``ipywidgets.VBox``; see :class:`MarginExplorer` for the attributes tests use.

    Raises
    ------
    ValueError, TypeError
        An unknown loss, an initial value outside its slider's range (it would be clamped), or
        ``lang`` not "en"/"zh".
    """
    return MarginExplorer(loss, s, theta_deg, n_classes, lang=lang)


def in_page_language(build, query_string: str | None, *args, **kwargs) -> widgets.Widget:
    """``build(*args, lang=..., **kwargs)`` in the language the page address asks for (the Voilà apps).

    Parameters
    ----------
    build : callable
        :func:`margin_explorer` or :func:`training_lab` (any function taking ``lang=``).
    query_string : str or None
        The page's query string, e.g. ``os.environ.get("QUERY_STRING")`` in a Voilà app: ``lang=zh`` gives the
        Chinese labels (:func:`arcface_viz.i18n.lang_from_query`).
    *args, **kwargs
        Passed on to ``build``.

    Returns
    -------
    ipywidgets.Widget
        What ``build`` returns; when the address asks for an unknown language, that app in English below a note
        (CSS class ``arcface-error``) that names the value and the address to open, since Voilà hides
        tracebacks from the page.
    """
    try:
        lang = lang_from_query(query_string)
    except ValueError as error:
        note = widgets.HTML(html.escape(f"{error}. Showing English."))
        note.add_class("arcface-error")
        return widgets.VBox([note, build(*args, lang="en", **kwargs)])
    return build(*args, lang=lang, **kwargs)


# ----------------------------------------------------------------------------- training lab
def _plotly_output(fig: go.Figure) -> dict:
    """An Output-widget display_data entry for a plotly figure (JupyterLab's plotly mimetype, offline)."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.plotly.v1+json": json.loads(fig.to_json()), "text/plain": "<plotly figure>"}}


class TrainingLab(widgets.VBox):
    """The widget returned by :func:`training_lab`.

    Parameters
    ----------
    dataset : FaceDataset
        The faces to train on, as in :func:`training_lab`.
    max_points_per_identity : int, default 60
        Embeddings drawn per identity in the live plot.
    seed : int, default 0
        Seeds the model, the head, the training and the choice of plotted embeddings.
    lang : {"en", "zh"}, default "en"
        Language of the labels, buttons and text lines (figures keep English labels).

    Attributes
    ----------
    controls : dict[str, ipywidgets.Widget]
        ``"loss"``, ``"m"`` (the loss's margin; disabled for softmax, NormFace, combined), ``"s"``,
        ``"dim"`` (2 or 3), ``"epochs"``, ``"warmup"`` (margin warm-up epochs), ``"train"`` (Button),
        ``"stop"`` (Button).
    progress : ipywidgets.IntProgress
        Epochs done out of the requested number.
    status : ipywidgets.HTML
        Plain text: "epoch 3/15: loss 1.234, accuracy 80.1% (eval mode, training faces)",
        "Training failed: ...".
    metrics : ipywidgets.HTML
        Plain text from :func:`training_summary` after a run: eval-mode accuracy, margin
        satisfaction at the head's margins, angle statistics (all on the training faces).
    plot : ipywidgets.Image (2-D) and plot3d : ipywidgets.Output (3-D)
        The live embedding plot (circle PNG, or the plotly sphere with one frame per epoch at the end).
    result : TrainResult or None
        The last finished run.
    runs_started : int
        How many runs have started (a click while training does not start one).

    Raises
    ------
    TypeError, ValueError
        As :func:`training_lab`.
    """

    def __init__(self, dataset, *, max_points_per_identity: int = 60, seed: int = 0, lang: str = "en"):
        self.lang = lang = check_lang(lang)
        if not hasattr(dataset, "images") or not hasattr(dataset, "labels"):
            raise TypeError(message("dataset", type(dataset).__name__, "expected a FaceDataset",
                                    "load faces with arcface_viz.faces (e.g. make_toy_faces)"))
        counts = np.bincount(np.asarray(dataset.labels, dtype=np.int64), minlength=dataset.n_identities)
        if np.count_nonzero(counts) < 2:
            # one class: the softmax is 1 whatever the embedding, the loss 0 and the accuracy 100 %
            raise ValueError(f"the training lab needs at least 2 identities with images; this dataset has "
                             f"{np.count_nonzero(counts)} ({len(dataset)} images)")
        if np.any(counts == 0):
            empty = np.flatnonzero(counts == 0).tolist()
            names = ", ".join(str(dataset.identities[k]) for k in empty)
            raise ValueError(f"identities {empty} ({names}) have no images (a subset?): call dataset.relabel() "
                             "so that labels run over the identities present")
        max_points_per_identity = check_int("max_points_per_identity", max_points_per_identity, minimum=1,
                                            fix="pass how many images of each identity to draw, e.g. 60")
        self.dataset = dataset
        self.seed = seed
        self._plot_index = self._subset(dataset.labels, max_points_per_identity, seed)
        style = {"description_width": "110px"}
        layout = widgets.Layout(width="340px")
        arcface = LOSSES["arcface"]
        self.controls = {
            "loss": widgets.Dropdown(options=_loss_options(lang, custom=False), value="arcface",
                                     description=text("lab.loss", lang), style=style, layout=layout),
            "m": widgets.FloatSlider(value=arcface.default_m, min=arcface.m_slider[0], max=arcface.m_slider[1],
                                     step=arcface.m_slider[2], description=text("lab.m", lang), style=style,
                                     layout=layout),
            "s": widgets.FloatSlider(value=arcface.default_s, min=_LAB_S_SLIDER[0], max=_LAB_S_SLIDER[1],
                                     step=_LAB_S_SLIDER[2], description=text("lab.s", lang), style=style,
                                     layout=layout),
            "dim": widgets.ToggleButtons(options=[(text("lab.dim2", lang), 2), (text("lab.dim3", lang), 3)], value=2,
                                         description=text("lab.dim", lang), style=style),
            "epochs": widgets.IntSlider(value=10, min=1, max=60, description=text("lab.epochs", lang), style=style,
                                        layout=layout),
            "warmup": widgets.IntSlider(value=0, min=0, max=20, description=text("lab.warmup", lang), style=style,
                                        layout=layout),
            "train": widgets.Button(description=text("lab.train", lang), button_style="primary", icon="play"),
            "stop": widgets.Button(description=text("lab.stop", lang), icon="stop", disabled=True),
        }
        self.controls["train"].add_class("arcface-train-button")
        self.controls["stop"].add_class("arcface-stop-button")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description=text("lab.progress", lang))
        self.progress.add_class("arcface-progress")
        self.status = widgets.HTML(html.escape(text("lab.ready", lang)))
        self.status.add_class("arcface-status")
        self.metrics = widgets.HTML("")
        self.metrics.add_class("arcface-metrics")
        # Hidden until the first epoch gives it a picture: an empty Image shows a broken-image icon.
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto",
                                                                      display="none"))
        self.plot.add_class("arcface-embedding-plot")
        self.plot3d = widgets.Output(layout=widgets.Layout(display="none"))
        self.plot3d.add_class("arcface-embedding-plot")
        self.result = None
        self.runs_started = 0
        self.error: str | None = None
        self._lock = threading.Lock()
        self._running = False
        self._stop_requested = False
        self._thread: threading.Thread | None = None
        self.controls["loss"].observe(self._on_loss, names="value")
        self.controls["train"].on_click(lambda _button: self.start())
        self.controls["stop"].on_click(lambda _button: self.stop())
        settings = widgets.VBox([self.controls[k] for k in ("loss", "m", "s", "dim", "epochs", "warmup")])
        buttons = widgets.HBox([self.controls["train"], self.controls["stop"], self.progress])
        super().__init__([settings, buttons, self.status, self.metrics, self.plot, self.plot3d])
        self.add_class("arcface-training-lab")

    @staticmethod
    def _subset(labels, per_identity: int, seed: int) -> np.ndarray:
        """Indices of at most ``per_identity`` images of each identity, for the live plot."""
        y = np.asarray(labels)
        rng = np.random.default_rng(seed)
        keep = [rng.permutation(np.flatnonzero(y == k))[:per_identity] for k in np.unique(y)]
        return np.sort(np.concatenate(keep))

    def _on_loss(self, change) -> None:
        loss = LOSSES[change["new"]]
        slider = self.controls["m"]
        if loss.main_margin is None:
            slider.disabled = True
            return
        (low, high, step), default = loss.m_slider, loss.default_m
        # Widen first so that min <= value <= max holds at every intermediate step.
        slider.min, slider.max = min(low, slider.min), max(high, slider.max)
        slider.value, slider.step = default, step
        slider.min, slider.max = low, high
        slider.disabled = False

    @property
    def running(self) -> bool:
        """True while a training run is in progress."""
        return self._running

    def start(self, block: bool = False) -> bool:
        """Start a training run with the current settings (what the Train button does).

        Parameters
        ----------
        block : bool
            Wait for the run to finish (tests, scripts); the button uses a background thread so the
            notebook stays responsive and a second click can be refused.

        Returns
        -------
        bool
            False when a run is already in progress (nothing started), True otherwise.
        """
        with self._lock:
            if self._running:
                self.status.value = html.escape(text("lab.busy", self.lang))
                return False
            self._running = True
            self._stop_requested = False
            self.runs_started += 1
        self.controls["train"].disabled = True
        self.controls["stop"].disabled = False
        self._thread = threading.Thread(target=self._run, name="arcface-training-lab", daemon=True)
        self._thread.start()
        if block:
            self._thread.join()
        return True

    def stop(self) -> None:
        """Ask the run to stop after the current epoch."""
        self._stop_requested = True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most; None waits for the end of the run.

        Returns
        -------
        bool
            True when no run is in progress afterwards.
        """
        if self._thread is not None:
            self._thread.join(timeout)
        return not self._running

    def _run(self) -> None:
        # Imported here: widgets stay importable (and the explorer usable) without loading training code.
        from . import experiment
        from .metrics import angle_stats, margin_satisfaction
        from .training import embed

        started = time.perf_counter()  # the status reports the time from the click to the final plot
        c = {k: w.value for k, w in self.controls.items() if k not in ("train", "stop")}
        epochs = int(c["epochs"])
        self.progress.max, self.progress.value = epochs, 0
        self.metrics.value = ""
        self.error = None
        frames = []
        try:
            images = self.dataset.images[torch.as_tensor(self._plot_index)]
            labels = np.asarray(self.dataset.labels)[self._plot_index]
            def on_epoch(epoch, result) -> bool:
                emb = embed(result.model, images).numpy()
                centres = result.head.centers.numpy() if hasattr(result.head, "centers") else None
                frames.append((emb, centres))
                self.progress.value = epoch
                self.status.value = html.escape(text(
                    "lab.epoch", self.lang, epoch=epoch, epochs=epochs, loss=result.history["loss"][-1],
                    accuracy=100 * result.history["eval_accuracy_train"][-1]))
                self._show_embeddings(emb, labels, centres, result.head, frames=None)
                return self._stop_requested

            kwargs = experiment.head_kwargs(c["loss"], float(c["s"]), float(c["m"]))
            planned = heads.make_head(c["loss"], int(c["dim"]), self.dataset.n_identities, **kwargs).describe()
            self.status.value = html.escape(text("lab.starting", self.lang, planned=planned, epochs=epochs))
            result = experiment.train(c["loss"], self.dataset, epochs=epochs, dim=int(c["dim"]), head_options=kwargs,
                                      seed=self.seed, margin_warmup_epochs=int(c["warmup"]),
                                      callback=on_epoch, progress=False)
            embeddings = embed(result.model, self.dataset)
            stats = angle_stats(embeddings, self.dataset.labels, result.head.centers)
            satisfied = margin_satisfaction(embeddings, self.dataset.labels, result.head.centers,
                                            m1=result.head.m1, m2=result.head.m2, m3=result.head.m3)
            self.result = result
            self.metrics.value = html.escape(training_summary(
                result.head.describe(), result.history["eval_accuracy_train"][-1], stats, satisfied, lang=self.lang))
            if frames:
                # a run stopped early gets its BatchNorm re-estimated on every image after the callback drew
                # its last frame: draw the returned model, whose numbers the metrics line gives
                frames[-1] = (embed(result.model, images).numpy(), frames[-1][1])
                self._show_embeddings(frames[-1][0], labels, frames[-1][1], result.head, frames=frames)
            # Wall time from the click to the final plot (the 3-D animation takes seconds to build),
            # next to the time spent in fit itself.
            self.status.value = html.escape(
                text("lab.done", self.lang, epochs_done=result.epochs_done, wall=time.perf_counter() - started,
                     fit=result.seconds)
                + (text("lab.stopped", self.lang) if result.epochs_done < epochs else "")
                + warmup_note(result.head, int(c["warmup"]), result.epochs_done, lang=self.lang))
        except Exception as error:  # noqa: BLE001 -- any failure is reported in the widget, not as a traceback
            self.error = f"{type(error).__name__}: {error}"
            self.status.value = html.escape(text("lab.failed", self.lang, error=self.error))
        finally:
            self.controls["train"].disabled = False
            self.controls["stop"].disabled = True
            self._running = False

    def _show_embeddings(self, emb, labels, centres, head, frames) -> None:
        names = list(self.dataset.identities)
        title = head.describe()
        if emb.shape[1] == 2:
            # The additive angular margin in force now (scaled down during a margin warm-up).
            margin = float(getattr(head, "m2", 0.0) or 0.0) * float(getattr(head, "margin_factor", 1.0))
            fig = plot_circle_embeddings(emb, labels, centres, margin=margin or None, identities=names, title=title)
            self.plot.width = str(round(fig.get_figwidth() * PANEL_DPI))
            self.plot.value = render_png(fig)
            self.plot.layout.display = None
            self.plot3d.layout.display = "none"
        else:
            fig = plot_sphere_embeddings(emb, labels, centres, frames=frames, identities=names, title=title)
            self.plot3d.outputs = (_plotly_output(fig),)
            self.plot3d.layout.display = None
            self.plot.layout.display = "none"


def training_lab(dataset, *, max_points_per_identity: int = 60, seed: int = 0, lang: str = "en") -> TrainingLab:
    """Train a small CNN with a chosen loss and watch its embeddings move on the circle or sphere.

    Parameters
    ----------
    dataset : FaceDataset
        Training images, e.g. ``faces.make_toy_faces(n_identities=8)``; 32×32 toy faces train an
        epoch in about half a second here. At least 2 identities, each with images (after
        ``subset`` call ``relabel()``); otherwise ValueError.
    max_points_per_identity : int
        Images per identity in the live plot, >= 1 (all images are used for training and the metrics).
    seed : int
        Seeds the model initialisation and ``fit``: the same settings give the same run.
    lang : {"en", "zh"}, default "en"
        Language of the labels, buttons, status and metrics lines: ``"zh"`` for Simplified Chinese
        (the Chinese lessons pass it). Figures keep English labels; the run is the same in both.

    Returns
    -------
    TrainingLab
        An ``ipywidgets.VBox``; see :class:`TrainingLab` for the attributes tests use. The Train
        button is disabled while training and a click during a run never starts a second one.
    """
    return TrainingLab(dataset, max_points_per_identity=max_points_per_identity, seed=seed, lang=lang)
