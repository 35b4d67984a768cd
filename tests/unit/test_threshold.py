"""arcface_viz.threshold: TAR/FAR at a threshold, checked by hand and against scikit-learn's ROC."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from arcface_viz import threshold


def test_operating_point_by_hand():
    p = threshold.operating_point([0.9, 0.8, 0.3], [0.1, 0.5, 0.85, 0.2], 0.5)
    # genuine accepted: 0.9, 0.8 (2/3); impostors accepted: 0.5 (ties accept), 0.85 (2/4)
    assert (p.genuine_accepted, p.n_genuine, p.impostor_accepted, p.n_impostor) == (2, 3, 2, 4)
    assert p.tar == pytest.approx(2 / 3) and p.far == pytest.approx(0.5)


def test_every_roc_point_of_scikit_learn_is_an_operating_point():
    rng = np.random.default_rng(0)
    genuine, impostor = rng.normal(0.6, 0.15, 300), rng.normal(0.1, 0.2, 2000)
    is_same = np.r_[np.ones(300), np.zeros(2000)]
    fpr, tpr, thresholds = roc_curve(is_same, np.r_[genuine, impostor], drop_intermediate=False)
    for f, t, th in zip(fpr[1:], tpr[1:], thresholds[1:]):  # [0] is sklearn's +inf sentinel
        p = threshold.operating_point(genuine, impostor, th)
        assert (p.far, p.tar) == pytest.approx((f, t))


def test_extreme_thresholds_accept_all_or_nothing():
    genuine, impostor = [0.2, 0.4], [-0.1, 0.3]
    lo, hi = threshold.operating_point(genuine, impostor, -1.0), threshold.operating_point(genuine, impostor, 1.0)
    assert (lo.tar, lo.far, hi.tar, hi.far) == (1.0, 1.0, 0.0, 0.0)


@pytest.mark.parametrize("genuine, impostor, thr, match", [
    ([], [0.1], 0.0, "genuine: shape"),
    ([[0.1, 0.2]], [0.1], 0.0, "genuine: shape"),
    ([0.1], [np.nan], 0.0, "impostor: 1 non-finite"),
    ([0.1], [0.2], float("nan"), "threshold=nan"),
])
def test_bad_input_is_rejected_naming_it(genuine, impostor, thr, match):
    with pytest.raises(ValueError, match=match):
        threshold.operating_point(genuine, impostor, thr)


@pytest.mark.parametrize("thr", ["0.5", True, np.array([0.5])])
def test_a_threshold_that_is_not_a_number_is_a_type_error(thr):
    with pytest.raises(TypeError, match=r"^threshold=.*pass a finite number on the scores' scale"):
        threshold.operating_point([0.1], [0.2], thr)


def test_readout_names_the_counts():
    p = threshold.operating_point([0.9, 0.8, 0.3], [0.1, 0.5, 0.85, 0.2], 0.5)
    assert threshold.threshold_readout(p) == ("threshold 0.50: TAR 66.7 % (2/3 genuine pairs accepted), "
                                              "FAR 50.00 % (2/4 impostor pairs accepted)")


def test_widget_follows_its_slider():
    rng = np.random.default_rng(1)
    genuine, impostor = rng.normal(0.6, 0.15, 200), rng.normal(0.1, 0.2, 1000)
    w = threshold.threshold_explorer(genuine, impostor, label="ArcFace")
    first_images = {k: v.value for k, v in w.images.items()}
    assert w.point == threshold.operating_point(genuine, impostor, w.controls["threshold"].value)
    w.controls["threshold"].value = 0.3
    assert w.point == threshold.operating_point(genuine, impostor, 0.3)
    assert w.readout.value == threshold.threshold_readout(w.point).replace("&", "&amp;")
    assert all(w.images[k].value != first_images[k] for k in w.images), "both panels redraw"
    assert all(w.images[k].value[:2] == b"\xff\xd8" for k in w.images), "panels are JPEG"
