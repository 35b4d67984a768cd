"""Figures and the pure margin maths behind them: values checked against hand-computed numbers."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import plotly.io as pio
import pytest
import torch
from matplotlib.colors import to_hex

from arcface_viz import explorer, plots, widgets
from arcface_viz.heads import margin_logits, target_logit


# ----------------------------------------------------------------------------- colours
def test_identity_colors_are_distinct_hex_and_stable():
    for n in (1, 8, 10, 25):
        colors = plots.identity_colors(n)
        assert len(colors) == n == len(set(colors))
        assert all(c.startswith("#") and len(c) == 7 for c in colors)
        assert colors == plots.identity_colors(n)
    assert plots.identity_colors(0) == []
    assert plots.identity_colors(3) == ["#1f77b4", "#ff7f0e", "#2ca02c"]  # tab10: the matplotlib default cycle


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (2.5, TypeError), ("8", TypeError), (True, TypeError)])
def test_identity_colors_rejects_bad_counts(bad, error):
    with pytest.raises(error, match=f"n={bad!r}: (must|expected an int)"):
        plots.identity_colors(bad)


def test_no_identity_has_the_margin_colour_and_losses_come_from_the_registry():
    from arcface_viz.losses import LOSSES

    for n in range(1, 11):
        assert plots.MARGIN_COLOR not in plots.identity_colors(n)
    assert "#7f7f7f" not in plots.identity_colors(10)  # tab10's grey looked like the margin wedges
    for name, loss in LOSSES.items():
        assert plots.loss_color(name) == plots.loss_color(loss.label) == loss.color
    assert plots.MARGIN_COLOR not in plots.LOSS_COLORS.values()


def test_two_series_of_one_loss_differ_and_keep_the_loss_colour():
    styles = plots.series_styles(["ArcFace s=16", "ArcFace s=64", "softmax", "Sub-center ArcFace k=3"],
                                 ["arcface", "arcface", "softmax", "subcenter"])
    (c16, ls16), (c64, ls64), (soft, _), (sub, _) = styles
    # without loss names, display strings are not parsed: only a series named exactly as a loss is that loss
    (x, _), (y, _), (arc, _) = plots.series_styles(["ArcFace s=16", "y", "ArcFace"])
    assert c16 == c64 == plots.loss_color("arcface") and ls16 != ls64
    assert soft == plots.loss_color("softmax") and sub == plots.loss_color("subcenter")
    assert x != y and not {x, y} & set(plots.LOSS_COLORS.values())  # other series never look like a loss
    assert arc == plots.loss_color("arcface")


def _line_style(line):
    return to_hex(line.get_color()), line.get_linestyle()


def test_same_loss_series_are_told_apart_in_history_and_roc():
    history = {"loss": [2.0, 1.0], "eval_accuracy_train": [0.5, 0.9]}
    fig = plots.plot_training_history({"ArcFace s=16": history, "ArcFace s=64": history}, losses=["arcface"] * 2)
    for ax in fig.axes:
        first, second = ax.get_lines()
        assert _line_style(first) != _line_style(second)
        assert to_hex(first.get_color()) == to_hex(second.get_color()) == plots.loss_color("arcface")
        handles = ax.get_legend().legend_handles
        assert [h.get_label() for h in handles] == ["ArcFace s=16", "ArcFace s=64"]
        assert handles[0].get_linestyle() != handles[1].get_linestyle()
    fpr, tpr = np.array([0.01, 0.1, 1.0]), np.array([0.5, 0.9, 1.0])
    roc = plots.plot_roc({"ArcFace full margin": (fpr, tpr), "ArcFace warm-up": (fpr, tpr)})  # no losses: 2 colours
    assert _line_style(_by_gid(roc, "roc:ArcFace full margin")) != _line_style(_by_gid(roc, "roc:ArcFace warm-up"))


def test_one_colour_per_loss_across_the_plotting_functions():
    history = {"loss": [2.0, 1.0], "eval_accuracy_train": [0.5, 0.9]}
    fpr, tpr = np.array([0.01, 0.1, 1.0]), np.array([0.5, 0.9, 1.0])
    for name in ("softmax", "cosface", "arcface"):
        label = {"softmax": "softmax", "cosface": "CosFace", "arcface": "ArcFace"}[name]
        expected = plots.loss_color(name)
        seen = {
            "target logits": to_hex(_by_gid(plots.plot_target_logits([name]), f"target-logit:{name}").get_color()),
            "history": to_hex(plots.plot_training_history({label: history, "other": history}).axes[0]
                              .get_lines()[0].get_color()),
            "roc": to_hex(_by_gid(plots.plot_roc({label: (fpr, tpr)}), f"roc:{label}").get_color()),
        }
        if name != "softmax":
            seen["probability"] = to_hex(_by_gid(plots.plot_probability_vs_angle(loss=name),
                                                 "probability:margin").get_color())
        assert set(seen.values()) == {expected}, (name, seen)


def test_fallback_jump_hand_values_and_mark():
    # ArcFace m = 0.5: θ_t = π − 0.5 = 151.35°; before: cos π = −1; after: cos(π − 0.5) − 0.5·sin 0.5
    theta_deg, before, after = plots.fallback_jump(s=1.0, m2=0.5)
    assert theta_deg == pytest.approx(math.degrees(math.pi - 0.5))
    assert before == pytest.approx(-1.0, abs=1e-6)
    assert after == pytest.approx(-math.cos(0.5) - 0.5 * math.sin(0.5), abs=1e-6)  # −1.1173
    assert plots.fallback_jump(s=16.0, m2=0.5)[2] == pytest.approx(16 * after, rel=1e-6)
    assert plots.fallback_jump(m3=0.35) is None and plots.fallback_jump() is None  # no margin in angle
    fig = plots.plot_target_logits(["cosface", "arcface"], s=2.0)
    jump = _by_gid(fig, "fallback-jump")
    np.testing.assert_allclose(jump.get_xdata(), [theta_deg] * 2)
    np.testing.assert_allclose(jump.get_ydata(), [2 * before, 2 * after], atol=1e-5)
    assert "fallback jump" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()][-1]
    assert not any(a.get_gid() == "fallback-jump" for a in plots.plot_target_logits(mark_fallback=False)
                   .axes[0].get_children())


# ----------------------------------------------------------------------------- pure maths
@pytest.mark.parametrize(
    "n_classes, p, expected",
    [
        (8, 0.9, 0.875 * 4.143134726391533),  # 7/8 * ln(63)
        (2, 0.5, 0.0),  # ln(1)
        (10, 0.99, 0.9 * 6.792344427470809),  # 9/10 * ln(891)
        (1000, 0.9, 0.999 * 9.103979),  # 999/1000 * ln(8991) = 0.999 * (ln 9000 - 0.001)
    ],
)
def test_scale_lower_bound_hand_values(n_classes, p, expected):
    assert explorer.scale_lower_bound(n_classes, p) == pytest.approx(expected, rel=1e-4)


def test_scale_lower_bound_is_negative_below_chance_and_grows_with_classes():
    assert explorer.scale_lower_bound(4, 0.2) < 0  # p < 1/C: any s reaches it
    bounds = [explorer.scale_lower_bound(c, 0.9) for c in (2, 8, 64, 512)]
    assert bounds == sorted(bounds)


@pytest.mark.parametrize("n_classes, p, error", [(8, 1.0, ValueError), (8, 0.0, ValueError), (1, 0.9, ValueError),
                                                 (8.0, 0.9, TypeError), (8, float("nan"), ValueError)])
def test_scale_lower_bound_rejects_bad_input(n_classes, p, error):
    with pytest.raises(error):
        explorer.scale_lower_bound(n_classes, p)


def test_target_logit_matches_hand_values_and_margin_logits():
    theta = math.radians(60)
    # ArcFace s=16, m=0.5: 16*cos(60° + 0.5 rad) = 16*cos(1.5471976) = 0.37754
    assert float(target_logit(theta, s=16, m2=0.5)) == pytest.approx(0.377545, abs=1e-4)
    # CosFace s=30, m3=0.35 at 70°: 30*(0.3420201 - 0.35) = -0.239396
    assert float(target_logit(math.radians(70), s=30, m3=0.35)) == pytest.approx(-0.239396, abs=1e-4)
    grid = np.radians(np.linspace(0, 180, 13))
    direct = margin_logits(torch.tensor(np.cos(grid), dtype=torch.float64).reshape(-1, 1),
                           torch.zeros(13, dtype=torch.int64), s=16, m1=1.35, m2=0.0, m3=0.0)[:, 0].numpy()
    np.testing.assert_allclose(target_logit(grid, s=16, m1=1.35).numpy(), direct, rtol=0, atol=1e-6)


def test_target_probability_hand_values():
    # logit 0 for the target (90°) and for the other 7 classes: probability 1/8
    assert explorer.target_probability(math.pi / 2, s=16, n_classes=8) == pytest.approx(1 / 8)
    # ArcFace s=16, m=0.5, 60°: e^0.377545 / (e^0.377545 + 7) = 1.458684 / 8.458684
    assert explorer.target_probability(math.radians(60), s=16, m2=0.5, n_classes=8) == pytest.approx(0.172448, abs=1e-5)
    # large logits do not overflow
    assert explorer.target_probability(0.0, s=1e4, n_classes=8) == pytest.approx(1.0)


def test_explorer_readout_hand_computed():
    assert widgets.explorer_readout("arcface", 16, 1.0, 0.5, 0.0, 60, 8) == (
        "θ = 60.0°: target logit 0.38, probability 0.172 | without margin: logit 8.00, probability 0.998 | "
        "ArcFace (s=16, m=0.5), C = 8, other classes at 90°")
    # CosFace s=30, m=0.35, θ=70°, C=10: logit 30*(cos 70° - 0.35) = -0.24; e^-0.2394/(e^-0.2394 + 9) = 0.080;
    # without margin 30*cos 70° = 10.26, probability 1 - 9/(e^10.26 + 9) = 0.9997
    assert widgets.explorer_readout("cosface", 30, 1.0, 0.0, 0.35, 70, 10) == (
        "θ = 70.0°: target logit -0.24, probability 0.080 | without margin: logit 10.26, probability 1.000 | "
        "CosFace (s=30, m=0.35), C = 10, other classes at 90°")


@pytest.mark.parametrize("args, message", [
    (("arcface", 16, 0.5, 0.0, 0.0, 60, 8), r"m1=0.5: below 1 with m2=0"),
    (("arcface", 16, 0.0, 0.5, 0.0, 60, 8), r"m1=0.0: must lie in \(0, 10\]"),
    (("arcface", 0, 1.0, 0.5, 0.0, 60, 8), r"s=0: must lie in \[0.001, 10000\]"),
    (("arcface", 16, 1.0, -0.1, 0.0, 60, 8), r"m2=-0.1: must lie in \[0, π\)"),
    (("arcface", 16, 1.0, 0.5, 0.0, 200, 8), r"theta_deg=200: must lie in \[0, 180\]"),
    (("arcface", 16, 1.0, 0.5, 0.0, 60, 1), "n_classes=1: must be >= 2"),
    (("hinge", 16, 1.0, 0.5, 0.0, 60, 8), "loss='hinge': unknown"),
])
def test_explorer_readout_rejects_invalid_settings(args, message):
    with pytest.raises(ValueError, match=message):
        widgets.explorer_readout(*args)


def test_margins_for_and_describe():
    assert explorer.margins_for("arcface") == (1.0, 0.5, 0.0)
    assert explorer.margins_for("cosface", m=0.2) == (1.0, 0.0, 0.2)
    assert explorer.margins_for("sphereface", m=1.5) == (1.5, 0.0, 0.0)
    assert explorer.margins_for("combined", m3=0.1) == (1.0, 0.3, 0.1)
    with pytest.raises(ValueError, match="no single margin"):
        explorer.margins_for("combined", m=0.3)
    assert explorer.describe("arcface", 16, 1.0, 0.5, 0.0) == "ArcFace (s=16, m=0.5)"
    assert explorer.describe("arcface", 16, 1.0, 0.5, 0.1) == "ArcFace (s=16, m1=1, m2=0.5, m3=0.1)"
    assert explorer.describe("normface", 8, 1.0, 0.0, 0.0) == "NormFace (s=8)"


def test_decision_regions_arcface_hand_points_and_symmetry():
    grid = np.radians(np.arange(0, 181, 10))
    regions = explorer.decision_regions(grid, m2=0.5)
    # (row θ2, column θ1). θ1=30°, θ2=90°: cos(30° + 28.6°) = 0.52 > cos 90° = 0 -> class 1
    assert regions[9, 3] == 1
    # θ1=60°, θ2=80°: cos(88.6°) = 0.024 < cos 80° = 0.17 and cos(108.6°) < cos 60° -> margin
    assert regions[8, 6] == 0
    assert regions[3, 9] == 2
    # swapping the classes mirrors the picture
    swapped = np.where(regions == 1, 2, np.where(regions == 2, 1, 0))
    np.testing.assert_array_equal(regions.T, swapped)
    assert np.all(np.diag(regions) == 0)
    # no margin: only the diagonal (ties) is undecided
    plain = explorer.decision_regions(grid)
    assert np.count_nonzero(plain == 0) == len(grid)


def test_decision_boundary_is_theta_plus_m_for_arcface():
    theta = np.radians([0.0, 30.0, 90.0])
    np.testing.assert_allclose(explorer.decision_boundary(theta, m2=0.5), theta + 0.5, atol=1e-5)
    assert explorer.decision_boundary(np.radians(170.0), m2=0.5) == pytest.approx(math.pi)  # class 1 cannot win


# ----------------------------------------------------------------------------- margin figures
def _by_gid(fig, gid):
    for ax in fig.axes:
        for artist in ax.get_children():
            if artist.get_gid() == gid:
                return artist
    raise AssertionError(f"no artist {gid!r}")


def test_plot_target_logits_draws_margin_logits_values():
    fig = plots.plot_target_logits(s=16, theta_probe_deg=60)
    cos = torch.tensor(np.cos(np.radians(np.linspace(0, 180, 361))), dtype=torch.float32).reshape(-1, 1)
    labels = torch.zeros(361, dtype=torch.int64)
    for key in ("softmax", "sphereface", "cosface", "arcface", "combined"):
        line = _by_gid(fig, f"target-logit:{key}")
        m1, m2, m3 = explorer.margins_for(key)
        expected = margin_logits(cos, labels, s=16, m1=m1, m2=m2, m3=m3)[:, 0].numpy()
        np.testing.assert_allclose(line.get_xdata(), np.linspace(0, 180, 361))
        np.testing.assert_allclose(line.get_ydata(), expected, atol=1e-5)
    softmax = _by_gid(fig, "target-logit:softmax").get_ydata()
    assert softmax[0] == pytest.approx(16) and softmax[180] == pytest.approx(0, abs=1e-5)  # s*cos θ
    ax = fig.axes[0]
    assert "degrees" in ax.get_xlabel() and "s = 16" in ax.get_title()
    assert _by_gid(fig, "probe:line").get_xdata()[0] == 60


def test_plot_target_logits_custom_config_and_highlight():
    fig = plots.plot_target_logits([{"loss": "arcface", "m2": 0.3, "label": "weak ArcFace"}], s=8,
                                   highlight="cosface", theta_probe_deg=45)
    line = _by_gid(fig, "target-logit:arcface")
    assert line.get_label() == "weak ArcFace (m2=0.3)"
    assert line.get_ydata()[0] == pytest.approx(8 * math.cos(0.3), abs=1e-4)
    assert _by_gid(fig, "target-logit:highlight").get_ydata()[0] == pytest.approx(8 * 0.65, abs=1e-4)
    marker = _by_gid(fig, "probe:marker")
    assert marker.get_ydata()[0] == pytest.approx(8 * (math.cos(math.radians(45)) - 0.35), abs=1e-4)
    with pytest.raises(ValueError, match="loss='hinge': unknown"):
        plots.plot_target_logits(["hinge"])


def test_plot_decision_boundaries_regions_and_title():
    fig = plots.plot_decision_boundaries("arcface", s=16, resolution=19)
    image = _by_gid(fig, "decision-regions")
    np.testing.assert_array_equal(image.get_array(), explorer.decision_regions(np.radians(np.linspace(0, 180, 19)),
                                                                               m2=0.5))
    boundary = _by_gid(fig, "boundary:class1")
    assert boundary.get_ydata()[60] == pytest.approx(30 + math.degrees(0.5), abs=1e-3)  # θ1 = 30°
    assert fig.axes[0].get_title().startswith("ArcFace (s=16, m=0.5)")
    assert "θ1" in fig.axes[0].get_xlabel() and "degrees" in fig.axes[0].get_ylabel()
    sphere = plots.plot_decision_boundaries("sphereface", m=1.5)
    assert "SphereFace (s=16, m=1.5)" in sphere.axes[0].get_title()


def test_plot_probability_vs_angle_curves_and_bound():
    fig = plots.plot_probability_vs_angle(16, 0.5, 8, loss="arcface", theta_probe_deg=60)
    margin = _by_gid(fig, "probability:margin").get_ydata()
    plain = _by_gid(fig, "probability:no-margin").get_ydata()
    assert margin[120] == pytest.approx(0.172448, abs=1e-5)  # θ = 60° (hand value above)
    assert plain[180] == pytest.approx(1 / 8, abs=1e-6)  # θ = 90° without margin: chance
    assert np.all(margin <= plain + 1e-9)  # the margin only lowers the target probability
    assert "s ≥ 3.63" in _by_gid(fig, "bound-note").get_text()
    assert "ArcFace (s=16, m=0.5)" in fig.axes[0].get_title() and "C = 8" in fig.axes[0].get_title()


def test_figures_are_not_registered_with_pyplot():
    before = plt.get_fignums()
    plots.plot_target_logits()
    plots.plot_probability_vs_angle()
    assert plt.get_fignums() == before  # a notebook shows a returned figure once, nothing leaks


# ----------------------------------------------------------------------------- embeddings
def _toy_circle(n_per=20, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    centre_angles = np.linspace(0, 2 * np.pi, n_classes, endpoint=False)
    labels = np.repeat(np.arange(n_classes), n_per)
    angles = centre_angles[labels] + rng.normal(0, 0.1, len(labels))
    radius = rng.uniform(0.5, 5.0, (len(labels), 1))
    emb = np.stack([np.cos(angles), np.sin(angles)], 1) * radius
    centres = np.stack([np.cos(centre_angles), np.sin(centre_angles)], 1) * 3.0
    return emb, labels, centres


def test_circle_points_lie_on_the_unit_circle_in_identity_colors():
    emb, labels, centres = _toy_circle()
    fig = plots.plot_circle_embeddings(torch.tensor(emb), torch.tensor(labels), centres, margin=0.5,
                                       identities=["a", "b", "c", "d"], title="ArcFace (s=16, m=0.5)")
    colors = plots.identity_colors(4)
    for k in range(4):
        points = _by_gid(fig, f"points:{k}")
        offsets = np.asarray(points.get_offsets())
        assert len(offsets) == 20
        np.testing.assert_allclose(np.linalg.norm(offsets, axis=1), 1.0, atol=1e-9)
        assert to_hex(points.get_facecolor()[0]) == colors[k]
        ray = _by_gid(fig, f"center:{k}")
        direction = np.array([ray.get_xdata()[1], ray.get_ydata()[1]])
        np.testing.assert_allclose(direction / np.linalg.norm(direction), centres[k] / 3.0, atol=1e-9)
    title = fig.axes[0].get_title()
    assert "ArcFace (s=16, m=0.5)" in title and "28.6°" in title
    # the identities, then every shaded band: the class sectors and the margin wedges
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "a", "b", "c", "d", "light sector: its class wins", "margin wedge, m = 28.6°"]


def test_circle_rejects_bad_input():
    emb, labels, centres = _toy_circle()
    with pytest.raises(ValueError, match="2 columns"):
        plots.plot_circle_embeddings(np.ones((5, 3)), np.zeros(5, dtype=int))
    zero = emb.copy()
    zero[0] = 0
    with pytest.raises(ValueError, match="all-zero row"):
        plots.plot_circle_embeddings(zero, labels)
    with pytest.raises(TypeError, match="integer"):
        plots.plot_circle_embeddings(emb, labels.astype(float))
    with pytest.raises(ValueError, match="only 2 centres"):
        plots.plot_circle_embeddings(emb, labels, centres[:2])


def test_sphere_points_hover_angles_and_animation():
    centres = np.eye(3)
    emb = np.array([[2.0, 0, 0], [0, 0, 5.0], [0, 3.0, 0], [1.0, 1.0, 0]])
    labels = np.array([0, 0, 1, 1])
    fig = plots.plot_sphere_embeddings(emb, labels, centres[:2], identities=["Ada", "Ben"], title="ArcFace (s=16, m=0.5)")
    assert fig.data[0].type == "surface" and fig.data[0].opacity < 0.5
    ada, ben = fig.data[1], fig.data[2]
    np.testing.assert_allclose(np.linalg.norm(np.stack([ada.x, ada.y, ada.z], 1), axis=1), 1.0)
    np.testing.assert_allclose(ada.customdata, [0.0, 90.0], atol=1e-6)  # angle to Ada's centre, degrees
    np.testing.assert_allclose(ben.customdata, [0.0, 45.0], atol=1e-6)
    assert "angle to centre" in ada.hovertemplate and "Ada" in ada.hovertemplate
    assert [ada.marker.color, ben.marker.color] == plots.identity_colors(2)
    assert "ArcFace (s=16, m=0.5)" in fig.layout.title.text
    assert not fig.frames

    frames = [emb * 0.5 + 1.0, (emb, centres[:2]), {"embeddings": emb, "centers": centres[:2]}]
    animated = plots.plot_sphere_embeddings(emb, labels, centres[:2], frames=frames)
    assert [f.name for f in animated.frames] == ["epoch 1", "epoch 2", "epoch 3"]
    assert len(animated.layout.sliders[0].steps) == 3 and animated.layout.sliders[0].active == 2
    assert animated.layout.updatemenus[0].buttons[0].method == "animate"
    first = animated.frames[0].data[0]
    np.testing.assert_allclose(np.linalg.norm(np.stack([first.x, first.y, first.z], 1), axis=1), 1.0)
    with pytest.raises(ValueError, match="each frame must hold 4"):
        plots.plot_sphere_embeddings(emb, labels, frames=[emb[:3]])


# ----------------------------------------------------------------------------- evaluation figures
def test_angle_histograms_counts_and_stages():
    rng = np.random.default_rng(0)
    stages = {"epoch 1": rng.uniform(1.2, 1.7, 300), "epoch 20": rng.uniform(0.1, 0.4, 300)}
    fig = plots.plot_angle_histograms(stages, title="ArcFace (s=16, m=0.5)")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    mean_first = np.degrees(stages["epoch 1"]).mean()
    assert labels[0] == f"epoch 1: mean {mean_first:.1f}°" and labels[1].startswith("epoch 20")
    assert ax.get_xlim() == (0.0, 180.0) and "degrees" in ax.get_xlabel()

    angles = rng.uniform(0, 1, 100)
    y = np.repeat(np.arange(4), 25)
    stacked = plots.plot_angle_histograms(angles, y)
    heights = sum(p.get_height() for p in stacked.axes[0].patches)
    assert heights >= 100  # stacked bars: the top layer's bars count all 100 angles
    with pytest.raises(ValueError, match="radians"):
        plots.plot_angle_histograms(np.array([10.0, 95.0]))


def test_roc_from_arrays_and_results_log_axis():
    fpr = np.array([0.0, 0.001, 0.01, 0.1, 1.0])
    tpr = np.array([0.2, 0.5, 0.8, 0.95, 1.0])
    fig = plots.plot_roc(fpr, tpr)
    line = _by_gid(fig, "roc:ROC")
    np.testing.assert_allclose(line.get_xdata(), fpr[1:])  # FAR = 0 cannot sit on a log axis
    assert fig.axes[0].get_xscale() == "log"

    class Result:  # the VerificationResult fields plot_roc reads
        def __init__(self, f, t):
            self.fpr, self.tpr, self.auc, self.eer = f, t, 0.9, 0.125

    both = plots.plot_roc({"softmax": (fpr, tpr * 0.9), "ArcFace": Result(fpr, tpr)}, log_far=False)
    labels = [t.get_text() for t in both.axes[0].get_legend().get_texts()]
    assert "ArcFace: AUC 0.900, EER 12.5%" in labels
    np.testing.assert_allclose(_by_gid(both, "roc:ArcFace").get_xdata(), fpr)
    with pytest.raises(TypeError, match="VerificationResult"):
        plots.plot_roc({"x": 3})


def test_training_history_plots_accuracy_in_percent():
    history = {"loss": [2.0, 1.0, 0.5], "eval_accuracy_train": [0.3, 0.6, 0.9]}
    fig = plots.plot_training_history(history, title="ArcFace (s=16, m=0.5)")
    loss_ax, acc_ax = fig.axes
    np.testing.assert_allclose(acc_ax.get_lines()[0].get_ydata(), [30, 60, 90])
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert "%" in acc_ax.get_ylabel()
    several = plots.plot_training_history({"softmax": history, "arcface": history})
    assert len(several.axes[1].get_lines()) == 2
    with_heldout = plots.plot_training_history(dict(history, eval_accuracy_heldout=[0.2, 0.5, 0.7]))
    train_line, heldout_line = with_heldout.axes[1].get_lines()
    np.testing.assert_allclose(heldout_line.get_ydata(), [20, 50, 70])
    assert heldout_line.get_marker() == "s" and heldout_line.get_label() == "held-out images"  # open squares
    with pytest.raises(TypeError, match="history"):
        plots.plot_training_history([1, 2])


@pytest.mark.parametrize("loss, labels", [
    ([4.2, 2.5, 0.8], ["1", "2", "3"]),  # inside one decade: 1, 2, 3, 5 x 10^k (matplotlib wrote 4x10^0)
    ([6.0, 0.5, 0.013], ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5"]),  # 1, 2, 5 x 10^k
    ([50.0, 1e-4], ["0.0001", "0.001", "0.01", "0.1", "1", "10"]),  # beyond 3 decades: powers of ten
])
def test_training_history_log_axis_has_plain_number_ticks(loss, labels):
    fig = plots.plot_training_history({"loss": loss, "eval_accuracy_train": [0.5] * len(loss)})
    fig.draw_without_rendering()
    loss_ax = fig.axes[0]
    low, high = loss_ax.get_ylim()
    shown = [t.get_text() for t, v in zip(loss_ax.get_yticklabels(), loss_ax.get_yticks()) if low <= v <= high]
    assert loss_ax.get_yscale() == "log" and shown == labels
    assert not any(t.get_text() for t in loss_ax.get_yticklabels(minor=True))  # no 10^k or 4x10^0 minor labels
    assert "log scale" in loss_ax.get_ylabel() and "training images" in fig.axes[1].get_ylabel()


def test_angle_histograms_of_losses_take_the_registry_colours():
    angles = {"Softmax": np.radians([40.0, 50.0]), "ArcFace (s=16, m=0.5)": np.radians([10.0, 20.0])}
    fig = plots.plot_angle_histograms(angles, losses=["softmax", "arcface"])
    ax = fig.axes[0]
    assert [to_hex(line.get_color()) for line in ax.get_lines()] == [plots.loss_color("softmax"),
                                                                     plots.loss_color("arcface")]  # the mean lines
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Softmax: mean 45.0°", "ArcFace (s=16, m=0.5): mean 15.0°"]
    by_name = plots.plot_angle_histograms({"softmax": angles["Softmax"], "ArcFace": angles["ArcFace (s=16, m=0.5)"]})
    assert [to_hex(line.get_color()) for line in by_name.axes[0].get_lines()] == [plots.loss_color("softmax"),
                                                                                plots.loss_color("arcface")]
    stages = plots.plot_angle_histograms({"epoch 1": angles["Softmax"], "epoch 9": angles["Softmax"]})
    assert plots.loss_color("softmax") not in {to_hex(line.get_color()) for line in stages.axes[0].get_lines()}


def test_package_reexports_every_figure_and_offline_renderer():
    for name in ("plot_circle_embeddings", "plot_sphere_embeddings", "plot_target_logits", "plot_decision_boundaries",
                 "plot_probability_vs_angle", "plot_angle_histograms", "plot_roc", "plot_training_history",
                 "plot_face_grid", "identity_colors"):
        assert callable(getattr(plots, name)), name
    previous = plots.use_offline_html_renderer()
    try:
        assert pio.renderers.default == "plotly_mimetype+notebook"
        assert "connected" not in pio.renderers.default  # no CDN
    finally:
        pio.renderers.default = previous


@pytest.mark.filterwarnings("ignore:TAR@FAR")  # 120 impostor pairs: TAR@FAR=1e-3 is NaN, which is right here
def test_figures_accept_the_metrics_results():
    from arcface_viz.metrics import angle_stats, verification

    rng = np.random.default_rng(1)
    centres = np.eye(3)
    labels = np.repeat(np.arange(3), 20)
    emb = centres[labels] + rng.normal(0, 0.3, (60, 3))
    stats = angle_stats(emb, labels, centres)
    hist = plots.plot_angle_histograms({"trained": stats})
    assert hist.axes[0].get_legend().get_texts()[0].get_text() == (
        f"trained: mean {np.degrees(stats.target_angles).mean():.1f}°")
    pairs = np.array([(i, j) for i in range(0, 60, 3) for j in range(1, 60, 7) if i != j])
    result = verification(emb, labels, pairs)
    fig = plots.plot_roc({"ArcFace": result})
    label = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert label == f"ArcFace: AUC {result.auc:.3f}, EER {100 * result.eer:.1f}%"
    keep = np.asarray(result.fpr) > 0
    np.testing.assert_allclose(_by_gid(fig, "roc:ArcFace").get_ydata(), np.asarray(result.tpr)[keep])


# ----------------------------------------------------------------------------- adversarial inputs
@pytest.mark.parametrize("margin, error, pattern", [
    (28.6, ValueError, r"margin=28.6.*\[0, π\).*np.radians"),  # degrees given to a radians argument
    ("0.5", TypeError, "margin='0.5'.*number"),
    (-0.1, ValueError, "margin=-0.1"),
])
def test_circle_margin_must_be_radians(margin, error, pattern):
    emb, labels, _ = _toy_circle()
    with pytest.raises(error, match=pattern):
        plots.plot_circle_embeddings(emb, labels, margin=margin)


def test_circle_labels_not_starting_at_zero_name_the_missing_class():
    emb, labels, _ = _toy_circle()
    with pytest.raises(ValueError, match=r"class\(es\) \[0\] have no embeddings.*0\.\.C-1"):
        plots.plot_circle_embeddings(emb, labels + 1)  # 1..C instead of 0..C-1


def test_empty_embeddings_raise_instead_of_an_empty_figure():
    with pytest.raises(ValueError, match="no embeddings"):
        plots.plot_circle_embeddings(np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="no embeddings"):
        plots.plot_sphere_embeddings(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_sphere_frames_as_a_stacked_array_tensor_or_generator():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(6, 3))
    labels = np.array([0, 0, 1, 1, 2, 2])
    stacked = np.stack([emb, 2 * emb, -emb])  # (epochs, N, 3): how a student stores the epochs
    for frames in (stacked, torch.tensor(stacked), (f for f in stacked)):
        fig = plots.plot_sphere_embeddings(emb, labels, frames=frames)
        assert len(fig.frames) == 3
        np.testing.assert_allclose(fig.frames[2].data[0].x, -emb[:2, 0] / np.linalg.norm(emb[:2], axis=1))


@pytest.mark.parametrize("frames, pattern", [
    ([(np.ones((4, 3)), np.eye(3)[:2], None)], r"frame 0.*\(embeddings, centers\)"),
    ([{"emb": np.ones((4, 3))}], r"frame 0.*'embeddings'"),
    ([(np.ones((4, 3)), np.eye(3)[:1])], r"frame 0.*1 centres.*2"),
])
def test_sphere_bad_frames_name_the_frame(frames, pattern):
    emb = np.array([[1.0, 0, 0], [1.0, 0.1, 0], [0, 1.0, 0], [0, 1.0, 0.1]])
    with pytest.raises(ValueError, match=pattern):
        plots.plot_sphere_embeddings(emb, np.array([0, 0, 1, 1]), frames=frames)


def test_config_mapping_takes_m_and_rejects_unknown_keys():
    fig = plots.plot_target_logits([{"loss": "arcface", "m": 0.3}], s=1)
    assert _by_gid(fig, "target-logit:arcface").get_ydata()[0] == pytest.approx(math.cos(0.3), abs=1e-6)
    with pytest.raises(ValueError, match=r"'margin'.*loss, label, m, m1, m2, m3"):
        plots.plot_target_logits([{"loss": "arcface", "margin": 0.3}])  # was drawn silently as m = 0.5


@pytest.mark.parametrize("call", [
    lambda p: plots.plot_target_logits(theta_probe_deg=p),
    lambda p: plots.plot_target_logits(theta_probe_deg=p, highlight="arcface"),
    lambda p: plots.plot_probability_vs_angle(theta_probe_deg=p),
])
@pytest.mark.parametrize("probe, error", [(200, ValueError), (float("nan"), ValueError), ("30", TypeError)])
def test_probe_angle_is_checked_in_degrees(call, probe, error):
    with pytest.raises(error, match=r"theta_probe_deg.*\[0, 180\]|theta_probe_deg must be a number"):
        call(probe)


@pytest.mark.parametrize("resolution, error", [(0, ValueError), (1, ValueError), (-5, ValueError), (50.5, TypeError)])
def test_decision_boundary_resolution_is_an_int_of_at_least_two(resolution, error):
    with pytest.raises(error, match="resolution"):
        plots.plot_decision_boundaries(resolution=resolution)


def test_huge_scale_raises_instead_of_nan_probabilities():
    with pytest.raises(ValueError, match=r"s=1e\+39.*\[0.001, 10000\]"):
        plots.plot_probability_vs_angle(s=1e39)


def test_angle_histograms_reject_empty_short_names_and_bad_bins():
    angles = np.radians([10.0, 20.0, 30.0])
    with pytest.raises(ValueError, match="no angles"):
        plots.plot_angle_histograms(np.zeros(0))
    with pytest.raises(ValueError, match="no angles"):
        plots.plot_angle_histograms({"epoch 1": np.zeros(0)})
    with pytest.raises(ValueError, match="identities has 1 names"):
        plots.plot_angle_histograms(angles, np.array([0, 1, 1]), identities=["Ada"])
    with pytest.raises(TypeError, match="bin_width_deg"):
        plots.plot_angle_histograms(angles, bin_width_deg="3")
    with pytest.raises(ValueError, match="bin_width_deg"):
        plots.plot_angle_histograms(angles, bin_width_deg=float("inf"))


def test_roc_rejects_mismatched_percent_and_empty_inputs():
    fpr, tpr = np.array([0.0, 0.1, 1.0]), np.array([0.0, 0.8, 1.0])
    with pytest.raises(ValueError, match=r"same shape.*\(3,\) and \(2,\)"):
        plots.plot_roc(fpr, tpr[:2])  # was an IndexError from a boolean mask
    with pytest.raises(ValueError, match=r"fractions in \[0, 1\].*100.*percent"):
        plots.plot_roc(100 * fpr, 100 * tpr)  # was drawn off the axes
    with pytest.raises(ValueError, match="no ROC points"):
        plots.plot_roc(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="no ROC"):
        plots.plot_roc({})


def test_training_history_rejects_percent_accuracy_and_no_epochs():
    with pytest.raises(ValueError, match=r"accuracy.*fraction.*90.*percent"):
        plots.plot_training_history({"loss": [1.0, 0.5], "eval_accuracy_train": [50.0, 90.0]})  # drawn at 9000 %
    with pytest.raises(ValueError, match="no epochs"):
        plots.plot_training_history({"loss": [], "eval_accuracy_train": []})
