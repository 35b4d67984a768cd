"""The loss registry is the one source of every loss's vocabulary: heads, explorer, figures, widgets,
the experiment recipe and the command line all read it."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from arcface_viz import compare, experiment, explorer, heads, losses, plots, training, widgets
from arcface_viz.losses import CUSTOM_COLOR, INTERACTIVE_LOSSES, LOSS_NAMES, LOSSES, get_loss

D, C = 4, 5


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_builds_a_head_whose_margins_and_scale_are_the_entry_s(name):
    entry = LOSSES[name]
    head = heads.make_head(name, D, C)  # the class defaults
    assert type(head).name == name
    assert (head.m1, head.m2, head.m3) == pytest.approx(entry.margins)
    assert head.s == entry.default_s
    for key, value in entry.extra.items():
        assert getattr(head, key) == value
    built = heads.make_head(name, D, C, **experiment.head_kwargs(name))  # the recipe's arguments
    assert (built.m1, built.m2, built.m3) == pytest.approx(entry.margins) and built.s == entry.default_s


@pytest.mark.parametrize("name", [n for n in LOSS_NAMES if LOSSES[n].main_margin])
def test_the_single_margin_m_sets_the_entry_s_main_margin_everywhere(name):
    entry = LOSSES[name]
    m = entry.m_slider[0] + 0.5 * (entry.m_slider[1] - entry.m_slider[0])
    index = losses.MARGIN_NAMES.index(entry.main_margin)
    head = heads.make_head(name, D, C, **experiment.head_kwargs(name, m=m))
    assert (head.m1, head.m2, head.m3)[index] == pytest.approx(m)
    assert explorer.margins_for(name, m=m)[index] == pytest.approx(m)
    # a checkpoint's config names the same margin, and rebuilds the same head
    kwargs = training.head_config(head)["kwargs"]
    rebuilt = heads.make_head(name, D, C, **kwargs)
    assert (rebuilt.m1, rebuilt.m2, rebuilt.m3) == pytest.approx((head.m1, head.m2, head.m3))


def test_registry_names_labels_and_colours_are_distinct_and_well_formed():
    assert heads.HEAD_NAMES == LOSS_NAMES
    labels = [loss.label for loss in LOSSES.values()]
    colours = [loss.color for loss in LOSSES.values()] + [CUSTOM_COLOR]
    assert len(set(labels)) == len(labels)
    assert len(set(colours)) == len(colours)
    for colour in colours:
        assert len(colour) == 7 and colour.startswith("#") and all(0 <= v <= 1 for v in to_rgb(colour))
    # every pair of colours is visibly different (RGB distance), not just different strings
    rgb = np.array([to_rgb(c) for c in colours])
    distance = np.linalg.norm(rgb[:, None] - rgb[None, :], axis=2) + np.eye(len(rgb))
    assert distance.min() > 0.15
    assert LOSSES["normface"].color == "#8c564b"  # no longer grey: grey is the figures' neutral colour


def test_entries_are_consistent():
    for loss in LOSSES.values():
        assert loss.main_margin in (None, *losses.MARGIN_NAMES)
        assert (loss.m_range is None) == (loss.main_margin is None) == (loss.m_slider is None)
        if loss.main_margin:
            low, high = loss.m_range
            assert low <= loss.default_m <= high
            assert low <= loss.m_slider[0] < loss.m_slider[1] <= high
        assert (loss.default_s is None) == (not loss.normalized)
        assert loss.reference
    assert LOSS_NAMES[0] == "softmax" and "subcenter" not in INTERACTIVE_LOSSES
    assert get_loss("ArcFace") is LOSSES["arcface"]


def test_every_consumer_reads_the_registry():
    assert plots.LOSS_COLORS == {**{n: loss.color for n, loss in LOSSES.items()}, "custom": CUSTOM_COLOR}
    for name in LOSS_NAMES:
        assert plots.loss_color(name) == LOSSES[name].color
        assert explorer.label(name) == LOSSES[name].label
        assert explorer.margins_for(name) == LOSSES[name].margins
    for lang in ("en", "zh"):  # the explorer's loss menu, in either language
        explorer_menu = widgets.margin_explorer(lang=lang).controls["loss"].options
        assert [value for _, value in explorer_menu] == [*INTERACTIVE_LOSSES, "custom"]
    from arcface_viz.faces import make_toy_faces
    lab = widgets.training_lab(make_toy_faces(n_identities=2, images_per_identity=2, size=8, cache=False))
    assert [value for _, value in lab.controls["loss"].options] == list(INTERACTIVE_LOSSES)
    assert [label for label, _ in lab.controls["loss"].options] == [LOSSES[n].label for n in INTERACTIVE_LOSSES]
    for name in INTERACTIVE_LOSSES:  # the margin slider follows the loss's teaching range and default
        lab.controls["loss"].value = name
        slider, entry = lab.controls["m"], LOSSES[name]
        assert slider.disabled == (entry.main_margin is None)
        if entry.main_margin:
            assert (slider.min, slider.max, slider.step, slider.value) == (*entry.m_slider, entry.default_m)
    assert "HEAD_DEFAULTS" not in vars(compare)  # the command line takes the registry's defaults
    assert "head_kwargs" not in vars(widgets) and "head_kwargs" not in vars(compare)  # one meaning, in experiment


def test_head_defaults_in_signatures_come_from_the_registry():
    for name in LOSS_NAMES:
        entry = LOSSES[name]
        params = inspect.signature(heads.head_class(name).__init__).parameters
        if "s" in params:
            assert params["s"].default == entry.default_s
        if "m" in params:
            assert params["m"].default == entry.default_m


def test_figures_colour_series_by_loss_name_not_by_parsing_labels():
    fpr = np.array([0.0, 0.5, 1.0])
    tpr = np.array([0.0, 0.8, 1.0])
    runs = {"ArcFace (s=16, m=0.5)": (fpr, tpr), "Softmax": (fpr, tpr)}
    fig = plots.plot_roc(runs, log_far=False, losses=["arcface", "softmax"])
    colours = [line.get_color() for line in fig.axes[0].get_lines() if str(line.get_gid()).startswith("roc:")]
    assert colours == [LOSSES["arcface"].color, LOSSES["softmax"].color]
    # without loss names, a series named exactly as a loss takes its colour; display strings are not parsed
    fig = plots.plot_roc({"arcface": (fpr, tpr), "ArcFace s=16": (fpr, tpr), "ArcFace s=64": (fpr, tpr)},
                         log_far=False)
    colours = [line.get_color() for line in fig.axes[0].get_lines() if str(line.get_gid()).startswith("roc:")]
    assert colours[0] == LOSSES["arcface"].color and len(set(colours[1:])) == 2
    with pytest.raises(ValueError, match="losses=.*one loss name per series"):
        plots.plot_roc(runs, log_far=False, losses=["arcface"])
    with pytest.raises(ValueError, match=r"losses\[0\]='hinge': unknown"):
        plots.plot_roc({"x": (fpr, tpr)}, log_far=False, losses=["hinge"])


def test_margin_figures_take_the_registry_colours():
    fig = plots.plot_target_logits(["cosface", "normface"], s=4.0)
    for name in ("cosface", "normface"):
        line = next(l for l in fig.axes[0].get_lines() if l.get_gid() == f"target-logit:{name}")
        assert line.get_color() == LOSSES[name].color
        assert line.get_label().startswith(LOSSES[name].label)
    fig = plots.plot_probability_vs_angle(16.0, loss="sphereface")
    line = next(l for l in fig.axes[0].get_lines() if l.get_gid() == "probability:margin")
    assert line.get_color() == LOSSES["sphereface"].color
    assert fig.axes[0].get_title().startswith("SphereFace (s=16, m=1.35)")


def test_training_history_colours_by_loss_names():
    history = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.9]}
    fig = plots.plot_training_history({"first run": history, "second run": history}, losses=["cosface", "arcface"])
    colours = [line.get_color() for line in fig.axes[0].get_lines()]
    assert colours == [LOSSES["cosface"].color, LOSSES["arcface"].color]


def test_one_target_logit():
    assert getattr(explorer, "target_logit", heads.target_logit) is heads.target_logit  # no second one
    theta = np.radians([10.0, 60.0, 170.0])
    expected = 16 * np.cos(theta[:2] + 0.5)
    np.testing.assert_allclose(heads.target_logit(theta, s=16, m2=0.5).numpy()[:2], expected, atol=1e-12)
    # the explorer's probabilities are built on it
    p = explorer.target_probability(theta, s=16, m2=0.5, n_classes=8)
    t = heads.target_logit(theta, s=16, m2=0.5).numpy()
    np.testing.assert_allclose(p, np.exp(t) / (np.exp(t) + 7), rtol=1e-12)
    assert math.isclose(float(explorer.decision_boundary(np.radians(30.0), m2=0.5)), math.radians(30) + 0.5,
                        abs_tol=1e-9)
