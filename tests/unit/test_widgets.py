"""Widgets headless: set control values in Python, check the readout text and the figure data."""
from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from arcface_viz import experiment, explorer, training, widgets
from arcface_viz.experiment import head_kwargs
from arcface_viz.heads import target_logit
from arcface_viz.losses import EXPLORER_SLIDERS
from arcface_viz.faces import make_toy_faces
from arcface_viz.heads import make_head
from arcface_viz.widgets import margin_explorer, training_lab

METRICS_LINE = re.compile(
    r"^ArcFace \(s=16, m=0\.5\): accuracy (\d+\.\d)% \(eval mode, training faces\), margin m2=0\.5 satisfied by "
    r"\d+\.\d%, mean angle to centre \d+\.\d°, min angle between centres \d+\.\d°$")


def _line(widget, panel: str, gid: str):
    for artist in widget.figures[panel].axes[0].get_children():
        if artist.get_gid() == gid:
            return artist
    raise AssertionError(f"no {gid!r} in panel {panel!r}")


# ----------------------------------------------------------------------------- margin explorer
@pytest.fixture
def explorer_widget():
    return margin_explorer()


def test_explorer_starts_with_the_arcface_readout_and_images(explorer_widget):
    w = explorer_widget
    assert w.readout.value == (
        "θ = 60.0°: target logit 0.38, probability 0.172 | without margin: logit 8.00, probability 0.998 | "
        "ArcFace (s=16, m=0.5), C = 8, other classes at 90°")
    assert w.error is None
    for image in w.images.values():
        assert image.value[:2] == b"\xff\xd8"  # JPEG
    assert "arcface-readout" in w.readout._dom_classes
    assert "arcface-margin-explorer" in w._dom_classes
    assert all("arcface-plot" in image._dom_classes for image in w.images.values())
    assert set(w.controls) == {"loss", "s", "m1", "m2", "m3", "theta", "n_classes"}


def test_probe_slider_updates_readout_marker_and_only_its_panels(explorer_widget):
    w = explorer_widget
    before = {name: image.value for name, image in w.images.items()}
    w.controls["theta"].value = 70
    assert w.readout.value == widgets.explorer_readout("arcface", 16, 1.0, 0.5, 0.0, 70, 8)
    assert w.readout.value.startswith("θ = 70.0°: target logit -2.41,")  # 16*cos(98.65°) = 16*(-0.1504)
    marker = _line(w, "logits", "probe:marker")
    assert marker.get_xdata()[0] == 70
    assert marker.get_ydata()[0] == pytest.approx(16 * math.cos(math.radians(70) + 0.5), abs=1e-4)
    assert w.images["logits"].value != before["logits"]
    assert w.images["probability"].value != before["probability"]
    assert w.images["boundary"].value == before["boundary"]  # θ does not move the boundaries


def test_margin_slider_redraws_curves_and_switches_to_custom(explorer_widget):
    w = explorer_widget
    w.controls["m2"].value = 0.3
    assert w.controls["loss"].value == "custom"
    theta = np.radians(np.linspace(0, 180, 361))
    np.testing.assert_allclose(_line(w, "logits", "target-logit:highlight").get_ydata(),
                               target_logit(theta, s=16, m2=0.3).numpy(), atol=1e-6)
    np.testing.assert_allclose(_line(w, "probability", "probability:margin").get_ydata(),
                               explorer.target_probability(theta, s=16, m2=0.3, n_classes=8), atol=1e-9)
    regions = _line(w, "boundary", "decision-regions").get_array()
    np.testing.assert_array_equal(regions, explorer.decision_regions(np.radians(np.linspace(0, 180, 181)), m2=0.3))
    assert "Custom (s=16, m1=1, m2=0.3, m3=0)" in w.readout.value
    assert w.figures["boundary"].axes[0].get_title().startswith("Custom (s=16, m1=1, m2=0.3, m3=0)")


def test_loss_preset_sets_the_sliders(explorer_widget):
    w = explorer_widget
    w.controls["loss"].value = "cosface"
    assert (w.controls["m1"].value, w.controls["m2"].value, w.controls["m3"].value) == (1.0, 0.0, 0.35)
    assert w.controls["loss"].value == "cosface"  # setting the preset's own sliders is not "custom"
    assert "CosFace (s=16, m=0.35)" in w.readout.value
    w.controls["loss"].value = "softmax"
    assert w.readout.value.startswith("θ = 60.0°: target logit 8.00, probability 0.998")


def test_scale_and_classes_change_the_numbers(explorer_widget):
    w = explorer_widget
    w.controls["s"].value = 32
    assert w.readout.value.startswith("θ = 60.0°: target logit 0.76,")  # twice the s=16 logit
    ax = w.figures["logits"].axes[0]
    assert ax.get_ylim() == pytest.approx((-1.75 * 32, 1.1 * 32))
    assert _line(w, "logits", "target-logit:softmax").get_ydata()[0] == pytest.approx(32)
    w.controls["n_classes"].value = 2
    # two classes, s=32, logit 0.755: e^0.755 / (e^0.755 + 1) = 0.680
    assert "probability 0.680" in w.readout.value and "C = 2" in w.readout.value
    assert _line(w, "probability", "chance").get_ydata()[0] == pytest.approx(0.5)


def test_slider_ranges_keep_m2_and_m3_non_negative_and_m1_checked(explorer_widget):
    c = explorer_widget.controls
    assert (c["m1"].min, c["m2"].min, c["m3"].min) == (EXPLORER_SLIDERS["m1"][0], 0.0, 0.0)
    assert c["s"].min > 0 and c["n_classes"].min == 2 and (c["theta"].min, c["theta"].max) == (0, 180)
    c["m1"].value = 0.5  # ipywidgets clamps to the range
    assert c["m1"].value == EXPLORER_SLIDERS["m1"][0] == 0.8
    # m1 < 1 needs m2 >= (1 − m1)·π = 0.63: with ArcFace's m2 = 0.5 the explorer says why instead of drawing
    assert explorer_widget.error.startswith("m1=0.8: below 1 with m2=0.5")
    c["m2"].value = 0.7
    assert explorer_widget.error is None


def test_anything_still_invalid_shows_a_message_not_a_traceback(explorer_widget):
    w = explorer_widget
    w.controls["m1"].min = 0.1  # a notebook author widening a range by hand
    w.controls["m1"].value = 0.5
    assert w.readout.value.startswith("Invalid settings: m1=0.5: below 1 with m2=0.5")
    assert w.error.startswith("m1=0.5: below 1 with m2=0.5")
    assert "arcface-error" in w.readout._dom_classes
    w.controls["m1"].value = 1.2
    assert w.error is None and w.readout.value.startswith("θ = 60.0°")
    assert "arcface-error" not in w.readout._dom_classes


# ----------------------------------------------------------------------------- training lab
def test_training_summary_hand_values():
    stats = {"target_angles": np.radians([10.0, 20.0]), "min_center_angle": math.radians(41.0)}
    assert widgets.training_summary("NormFace (s=16)", 0.975, stats) == (
        "NormFace (s=16): accuracy 97.5% (eval mode, training faces), mean angle to centre 15.0°, "
        "min angle between centres 41.0°")
    satisfied = SimpleNamespace(overall=0.93, margins=(1.0, 0.5, 0.0))
    assert widgets.training_summary("ArcFace (s=16, m=0.5)", 0.975, stats, satisfied) == (
        "ArcFace (s=16, m=0.5): accuracy 97.5% (eval mode, training faces), margin m2=0.5 satisfied by 93.0%, "
        "mean angle to centre 15.0°, min angle between centres 41.0°")
    combined = SimpleNamespace(overall=0.5, margins=(1.35, 0.0, 0.2))
    assert "margin m1=1.35, m3=0.2 satisfied by 50.0%, " in widgets.training_summary("x", 0.9, stats, combined)
    no_margin = SimpleNamespace(overall=0.97, margins=(1.0, 0.0, 0.0))  # would only repeat the accuracy
    assert "margin" not in widgets.training_summary("x", 0.9, stats, no_margin)
    with pytest.raises(ValueError, match="fraction"):
        widgets.training_summary("x", 97.5, stats)


def test_head_kwargs_per_loss():
    assert head_kwargs("softmax", 16, 0.5) == {}
    assert head_kwargs("normface", 16, 0.5) == {"s": 16}
    assert head_kwargs("arcface", 16, 0.5) == {"s": 16, "m": 0.5}
    assert head_kwargs("sphereface", 16, 1.35) == {"s": 16, "m1": 1.35}
    assert head_kwargs("combined", 8, 0.5) == {"s": 8, "m1": 1.0, "m2": 0.3, "m3": 0.2}  # m: combined has none
    with pytest.raises(ValueError, match="unknown"):
        head_kwargs("hinge", 16, 0.5)


@pytest.fixture(scope="module")
def tiny_faces():
    return make_toy_faces(n_identities=3, images_per_identity=24, size=32, cache=False)


def test_training_lab_trains_once_per_click_and_reports_metrics(tiny_faces):
    lab = training_lab(tiny_faces, max_points_per_identity=10)
    lab.controls["epochs"].value = 2
    assert "arcface-train-button" in lab.controls["train"]._dom_classes
    assert "arcface-metrics" in lab.metrics._dom_classes
    lab.controls["train"].click()
    assert lab.running and lab.controls["train"].disabled
    lab.controls["train"].click()  # a second click during the run starts nothing
    assert lab.start() is False
    assert lab.wait(timeout=300)
    assert lab.runs_started == 1 and lab.error is None, lab.status.value
    assert not lab.controls["train"].disabled and lab.controls["stop"].disabled
    line = METRICS_LINE.match(lab.metrics.value)
    assert line, lab.metrics.value
    # the printed accuracy is the eval-mode accuracy of the model the lab drew
    eval_accuracy = training.accuracy(lab.result.model, lab.result.head, tiny_faces)
    assert line.group(1) == f"{100 * eval_accuracy:.1f}"
    assert lab.progress.value == lab.progress.max == 2
    assert lab.result.epochs_done == 2
    assert lab.plot.value[:4] == b"\x89PNG"


def test_training_lab_3d_sphere_with_one_frame_per_epoch_and_stop(tiny_faces):
    lab = training_lab(tiny_faces, max_points_per_identity=5)
    lab.controls["dim"].value = 3
    lab.controls["loss"].value = "cosface"
    assert lab.controls["m"].value == 0.35 and not lab.controls["m"].disabled
    lab.controls["epochs"].value = 2
    assert lab.start(block=True)
    figure = lab.plot3d.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert len(figure["frames"]) == 2
    assert lab.metrics.value.startswith("CosFace (s=16, m=0.35): accuracy ")
    assert "margin m3=0.35 satisfied by " in lab.metrics.value
    lab.controls["loss"].value = "softmax"
    assert lab.controls["m"].disabled
    lab.controls["epochs"].value = 5
    lab.stop()  # a stop requested before the start is forgotten by the next run
    lab.start()
    lab.stop()
    assert lab.wait(timeout=300)
    assert lab.result.epochs_done < 5 and "stopped early" in lab.status.value


def test_training_lab_stopped_early_draws_the_model_it_returns():
    """Stopped on > BN_IMAGES faces, fit re-estimates BatchNorm on every image after the callback drew its
    last frame: the final figure must show the returned model's embeddings, not that frame's."""
    faces = make_toy_faces(n_identities=3, images_per_identity=180, size=32, cache=False)
    assert len(faces) > training.BN_IMAGES
    lab = training_lab(faces, max_points_per_identity=20)
    lab.controls["epochs"].value = 3
    drawn = []
    show = lab._show_embeddings

    def record(emb, labels, centres, head, frames):
        drawn.append((emb.copy(), frames))
        if frames is None:  # the per-epoch frame: ask to stop after the first epoch
            lab.stop()
        show(emb, labels, centres, head, frames)

    lab._show_embeddings = record
    assert lab.start(block=True) and lab.error is None, lab.status.value
    assert lab.result.epochs_done == 1 and "stopped early" in lab.status.value
    (seen, _), (final, frames) = drawn
    returned = training.embed(lab.result.model, faces.images[torch.as_tensor(lab._plot_index)]).numpy()
    np.testing.assert_allclose(final, returned, atol=1e-6)
    assert len(frames) == 1
    assert np.abs(seen - returned).max() > 1e-4  # the callback's frame had the 512-image sample's statistics


def test_warmup_note_only_when_a_margin_was_cut_short():
    head = make_head("arcface", 2, 3, s=16.0, m=0.5)
    assert widgets.warmup_note(head, 0, 10) == ""
    head.margin_factor = 0.5
    assert widgets.warmup_note(head, 4, 2) == (
        " The margin reached only 50% of its value: the warm-up (4 epochs) is longer than the run (2 epochs).")
    for name in ("softmax", "normface"):  # no margin to cut short
        plain = make_head(name, 2, 3)
        plain.margin_factor = 0.5
        assert widgets.warmup_note(plain, 4, 2) == ""


def test_training_lab_says_when_the_warmup_outlasts_the_run(tiny_faces):
    lab = training_lab(tiny_faces, max_points_per_identity=5)
    lab.controls["epochs"].value = 2
    lab.controls["warmup"].value = 4
    assert lab.start(block=True) and lab.error is None, lab.status.value
    factor = lab.result.head.margin_factor
    assert 0.4 < factor < 0.6  # two of four warm-up epochs
    assert f"reached only {100 * factor:.0f}% of its value" in lab.status.value
    assert "warm-up (4 epochs) is longer than the run (2 epochs)" in lab.status.value


def test_training_lab_shows_failures_in_the_widget(tiny_faces, monkeypatch):
    def broken_fit(*args, **kwargs):
        raise ValueError("the loss became nan in epoch 1")

    monkeypatch.setattr(experiment, "fit", broken_fit)  # the recipe's call of training.fit
    lab = training_lab(tiny_faces)
    assert lab.start(block=True)
    assert lab.status.value == "Training failed: ValueError: the loss became nan in epoch 1"
    assert lab.error.startswith("ValueError") and not lab.controls["train"].disabled and not lab.running


# ----------------------------------------------------------------------------- adversarial inputs
@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"s": 100}, ValueError, r"s=100.*\[1(\.0)?, 64(\.0)?\]"),  # the slider would clamp it to 64 silently
    ({"s": 0}, ValueError, "s=0"),
    ({"s": float("nan")}, ValueError, "s=nan"),
    ({"theta_deg": 200}, ValueError, r"theta_deg=200.*\[0(\.0)?, 180(\.0)?\]"),
    ({"n_classes": 1}, ValueError, r"n_classes=1.*\[2, 100\]"),
    ({"n_classes": 8.5}, TypeError, "n_classes=8.5"),
    ({"s": "16"}, TypeError, "s='16'"),
    ({"loss": None}, TypeError, "loss=None: expected a str"),
    # registered, but not in the explorer's dropdown: used to be a traitlets TraitError from ipywidgets
    ({"loss": "subcenter"}, ValueError, "loss='subcenter': Sub-center ArcFace is not offered in the margin explorer"),
])
def test_explorer_rejects_initial_values_outside_the_sliders(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        margin_explorer(**kwargs)


def test_explorer_readout_offers_the_same_losses_as_the_explorer():
    with pytest.raises(ValueError, match=r"loss='subcenter': .*; use one of softmax, .*, combined, custom$"):
        widgets.explorer_readout("subcenter", 16.0, 1.0, 0.5, 0.0, 60.0, 8)
    with pytest.raises(TypeError, match=r"loss=None: .*use one of softmax, .*, combined, custom"):
        widgets.explorer_readout(None, 16.0, 1.0, 0.5, 0.0, 60.0, 8)
    assert widgets.explorer_readout("ArcFace", 16.0, 1.0, 0.5, 0.0, 60.0, 8).startswith("θ = 60.0°")


def test_training_lab_needs_at_least_one_point_per_identity(tiny_faces):
    with pytest.raises(ValueError, match=r"^max_points_per_identity=0: must be >= 1"):
        training_lab(tiny_faces, max_points_per_identity=0)  # nothing would be drawn
    with pytest.raises(TypeError, match=r"^max_points_per_identity=2.5: expected an int"):
        training_lab(tiny_faces, max_points_per_identity=2.5)


def test_training_lab_needs_two_identities_with_images():
    faces = make_toy_faces(n_identities=3, images_per_identity=2, size=8, cache=False)
    with pytest.raises(ValueError, match="at least 2 identities"):
        training_lab(faces.subset(faces.labels == 0))  # one identity: the loss is 0, accuracy always 100 %
    with pytest.raises(ValueError, match="at least 2 identities"):
        training_lab(faces.subset([]))
    with pytest.raises(ValueError, match=r"identities \[1\] \(Ben\) have no images.*relabel\(\)"):
        training_lab(faces.subset(faces.labels != 1))  # failed only after training, in angle_stats
    assert training_lab(faces.subset(faces.labels != 1).relabel()).dataset.n_identities == 2


def test_margin_explorer_accepts_the_papers_second_combined_margin():
    # ArcFace (Deng et al. 2019), Table 1, CM2 = (0.9, 0.4, 0.15): m1 below 1 must be reachable
    app = margin_explorer(loss="combined")
    for name, value in (("m1", 0.9), ("m2", 0.4), ("m3", 0.15)):
        app.controls[name].value = value
        assert app.controls[name].value == pytest.approx(value)
    assert app.error is None, app.error


# ----------------------------------------------------------------------------- the logits axis in multiples of s
@pytest.mark.parametrize("value, s, label", [
    (-24.0, 16.0, "−1.5s"), (-16.0, 16.0, "−s"), (0.0, 16.0, "0"), (8.0, 16.0, "0.5s"), (16.0, 16.0, "s"),
    (-47.625, 31.75, "−1.5s"), (1e-15, 16.0, "0"), (3.0, 1.0, "3s"), (-1.0, 3.0, "−0.333s"),
])
def test_multiple_of_s(value, s, label):
    assert widgets.multiple_of_s(value, s) == label


@pytest.mark.parametrize("s", [0.0, -1.0, float("nan"), float("inf")])
def test_multiple_of_s_rejects_a_bad_scale(s):
    with pytest.raises(ValueError, match="the scale must be a positive finite number"):
        widgets.multiple_of_s(1.0, s)


def test_logits_axis_reads_in_multiples_of_s_for_every_s(explorer_widget):
    ax = explorer_widget.figures["logits"].axes[0]
    for s in (16.0, 40.5, 1.0):
        explorer_widget.controls["s"].value = s
        # the data stay logits (limits -1.75 s .. 1.1 s); the labels name the multiples of s
        assert ax.get_ylim() == pytest.approx((-1.75 * s, 1.1 * s))
        assert [t.get_text() for t in ax.get_yticklabels()] == ["−1.5s", "−s", "−0.5s", "0", "0.5s", "s"]
        assert ax.get_ylabel() == widgets.LOGITS_YLABEL and ax.get_title() == f"Target logit vs θ (s = {s:g})"
