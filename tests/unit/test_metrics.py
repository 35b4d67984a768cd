"""Metrics against values computed by hand on tiny, fully known score sets."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_curve

from arcface_viz import metrics
from arcface_viz.metrics import angle_stats, rank1, verification


def unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def embeddings_with_scores(genuine, impostor):
    """Two 2-D embeddings per pair whose cosine is the wanted score; labels make the pair genuine or not."""
    emb, labels, pairs = [], [], []
    for i, score in enumerate(list(genuine) + list(impostor)):
        same = i < len(genuine)
        emb += [unit(0.0), unit(math.degrees(math.acos(score)))]
        labels += [2 * i, 2 * i if same else 2 * i + 1]
        pairs.append([2 * i, 2 * i + 1])
    return np.array(emb), np.array(labels), np.array(pairs)


# --- angle statistics ---------------------------------------------------------------------------

def test_angle_stats_hand_computed_and_scale_free():
    centers = np.array([unit(0), unit(90), unit(180)])
    emb = np.array([unit(10), unit(-10), unit(120), unit(180)]) * np.array([[5.0], [0.5], [2.0], [1.0]])
    stats = angle_stats(torch.tensor(emb), torch.tensor([0, 0, 1, 2]), torch.tensor(centers) * 3)
    np.testing.assert_allclose(np.degrees(stats.target_angles), [10, 10, 30, 0], atol=1e-6)
    np.testing.assert_allclose(np.degrees(stats.mean_angle_to_center), [10, 30, 0], atol=1e-6)
    assert math.degrees(stats.min_center_angle) == pytest.approx(90)
    assert math.degrees(stats.mean_center_angle) == pytest.approx(120)  # (90 + 180 + 90) / 3
    d = stats.to_dict()
    assert d["mean_target_angle_deg"] == pytest.approx(12.5)
    assert d["min_center_angle_deg"] == pytest.approx(90)
    assert "90.00°" in stats.table()


def test_angle_stats_exactly_on_centre_gives_zero_not_nan():
    # float rounding makes x·w slightly above 1 here; the angle must be 0, not NaN
    v = np.array([[0.1, 0.2, 0.3]])
    stats = angle_stats(v, [0], v * 7)
    assert stats.target_angles[0] == pytest.approx(0, abs=1e-6)
    assert math.isnan(stats.min_center_angle)  # one class: no pair of centres


@pytest.mark.parametrize(
    "labels, error, match",
    [([0, 3], ValueError, r"\[0, 2\)"), ([0, 0], ValueError, r"classes \[1\]"), ([0.0, 1.0], TypeError, "integers")],
)
def test_angle_stats_rejects_bad_labels(labels, error, match):
    with pytest.raises(error, match=match):
        angle_stats(np.array([unit(0), unit(90)]), np.array(labels), np.array([unit(0), unit(90)]))


def test_angle_stats_rejects_nan_and_dimension_mismatch():
    with pytest.raises(ValueError, match="NaN"):
        angle_stats(np.array([[np.nan, 1.0]]), [0], np.array([unit(0)]))
    with pytest.raises(ValueError, match="dimension"):
        angle_stats(np.ones((2, 3)), [0, 0], np.ones((1, 2)))


# --- ROC, EER, TAR@FAR --------------------------------------------------------------------------

def test_eer_hand_computed():
    # descending: .9G .8G .7I .4G .3I .2I .1I -> FAR = FRR = 1/4 between thresholds .7 and .4
    is_same = np.array([1, 1, 0, 1, 0, 0, 0], bool)
    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1])
    fpr, tpr, _ = roc_curve(is_same, scores, drop_intermediate=False)
    eer, _ = metrics.equal_error_rate(fpr, tpr)
    assert eer == pytest.approx(0.25)


def test_eer_on_roc_point():
    # .9G .8I .7G .3I: at threshold .8 FAR = 1/2 and FRR = 1/2 exactly
    fpr, tpr, _ = roc_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.3], drop_intermediate=False)
    assert metrics.equal_error_rate(fpr, tpr)[0] == pytest.approx(0.5)


_FPR, _TPR = np.array([0.0, 0.0, 0.5, 1.0]), np.array([0.0, 0.5, 1.0, 1.0])


@pytest.mark.parametrize("fpr, tpr, error, match", [
    # before: IndexError / numpy broadcast error
    (_FPR, _TPR[:3], ValueError, r"tpr\.shape=\(3,\): fpr has 4 points.*same roc_curve"),
    # before: "zero-size array to reduction" / "argmax of an empty sequence"
    (np.array([]), np.array([]), ValueError, r"fpr\.shape=\(0,\): .*at least 2 points.*roc_curve"),
    # before: a NaN EER, or NaN ignored by TAR@FAR
    (np.array([0.0, np.nan, 1.0]), np.array([0.0, 0.5, 1.0]), ValueError, r"fpr='NaN/inf'"),
    # before: EER 0.0, a silent wrong answer for rates in percent
    (_FPR * 100, _TPR * 100, ValueError, r"fpr\.max=100\.0: .*\[0, 1\].*divide percentages by 100"),
    # before: TAR@FAR "zero-size array": no operating point at FPR 0
    (np.array([0.6, 1.0]), np.array([0.5, 1.0]), ValueError, r"fpr\[0\]=0\.6: .*start at \(0, 0\).*drop_intermediate=False"),
    (np.array([0.0, 0.5, 0.4, 1.0]), _TPR, ValueError, r"fpr\[2\]=0\.4: below fpr\[1\]=0\.5.*non-decreasing.*roc_curve"),
    ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0], None, None),  # lists are fine (before: TypeError list - float)
])
def test_eer_and_tar_refuse_a_malformed_roc(fpr, tpr, error, match):
    if error is None:
        assert metrics.equal_error_rate(fpr, tpr) == (0.25, 2)
        assert metrics.tar_at_far(fpr, tpr, 0.5, 2) == 1.0
        return
    with pytest.raises(error, match=match):
        metrics.equal_error_rate(fpr, tpr)
    with pytest.raises(error, match=match):
        metrics.tar_at_far(fpr, tpr, 0.5, 1000)


@pytest.mark.parametrize("n_impostors, error", [(-1, ValueError), (0, ValueError), (2.5, TypeError)])
def test_tar_at_far_refuses_an_impossible_impostor_count(n_impostors, error):
    # before: -1 gave NaN with a warning "have -1"; 2.5 was used as a count
    with pytest.raises(error, match=r"n_impostors=.*impostor pairs behind fpr"):
        metrics.tar_at_far(_FPR, _TPR, 0.5, n_impostors)


GENUINE = [0.99, 0.9, 0.8, 0.45]
IMPOSTOR = [0.95, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3]


def test_verification_hand_computed_roc_eer_tar():
    emb, labels, pairs = embeddings_with_scores(GENUINE, IMPOSTOR)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = verification(emb, labels, pairs, n_folds=4)
    messages = sorted(str(w.message) for w in caught if w.category is RuntimeWarning)
    assert len(messages) == 2
    assert "at least 1000 impostor pairs, have 10" in messages[0]
    assert "at least 100 impostor pairs, have 10" in messages[1]
    np.testing.assert_allclose(result.scores, GENUINE + IMPOSTOR, atol=1e-9)
    assert result.is_same.tolist() == [True] * 4 + [False] * 10
    # AUC = P(genuine > impostor): .99 beats 10, .9 and .8 beat 9, .45 beats 8 -> 36/40
    assert result.auc == pytest.approx(36 / 40)
    # one impostor (0.95) accepted -> FAR 0.1 leaves 3 of 4 genuine accepted
    assert result.tar_at_far[0.1] == pytest.approx(0.75)
    assert math.isnan(result.tar_at_far[0.01]) and math.isnan(result.tar_at_far[0.001])
    # EER: at threshold .8 FAR = 1/10, FRR = 1/4; at .5 FAR = 2/10, FRR = 1/4; at .45 FAR = 2/10, FRR = 0
    # FAR - FRR goes -0.05 -> +0.2 on that vertical step: EER = 0.2
    assert result.eer == pytest.approx(0.2)
    d = result.to_dict()
    assert d["tar_at_far"]["0.01"] is None and d["n_impostor"] == 10


@pytest.mark.filterwarnings("ignore:TAR@FAR")
def test_ten_fold_accuracy_hand_computed():
    # 20 genuine at 0.9 except one at 0.05, 20 impostors at 0.1. Whatever fold holds the outlier
    # still picks a threshold in (0.1, 0.9): that fold (2 genuine + 2 impostor) scores 3/4, the rest 1.
    genuine = [0.9] * 19 + [0.05]
    emb, labels, pairs = embeddings_with_scores(genuine, [0.1] * 20)
    result = verification(emb, labels, pairs)
    assert sorted(result.fold_accuracy.tolist()) == [0.75] + [1.0] * 9
    assert result.accuracy_mean == pytest.approx(0.975)
    assert result.accuracy_std == pytest.approx(np.std([0.75] + [1.0] * 9))
    assert np.all((result.fold_thresholds > 0.1) & (result.fold_thresholds < 0.9))


def test_best_threshold_prefers_lowest_of_tied_optima():
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    is_same = np.array([0, 0, 1, 0, 1, 1], bool)
    assert metrics._best_threshold(scores, is_same) == pytest.approx(0.25)


def test_tar_available_with_enough_impostors():
    emb, labels, pairs = embeddings_with_scores([0.9] * 10, list(np.linspace(-0.9, 0.8, 100)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.warns(RuntimeWarning, match="1000"):
            result = verification(emb, labels, pairs)
    assert result.tar_at_far[0.01] == 1.0 and result.eer == 0.0 and result.auc == 1.0


def test_verification_rejects_too_few_pairs_and_bad_indices():
    emb, labels, pairs = embeddings_with_scores([0.9] * 3, [0.1] * 20)
    with pytest.raises(ValueError, match="3 genuine"):
        verification(emb, labels, pairs)
    with pytest.raises(ValueError, match="pair indices"):
        verification(emb, labels, pairs + 100)
    with pytest.raises(ValueError, match=r"\(P, 2\)"):
        verification(emb, labels, pairs[:, :1])


# --- rank-1 -------------------------------------------------------------------------------------

def test_rank1_hand_computed():
    gallery = np.array([unit(0), unit(90)])
    probes = torch.tensor([unit(5), unit(80), unit(30)])
    assert rank1(gallery, np.array([0, 1]), probes, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_rank1_rejects_dimension_mismatch():
    with pytest.raises(ValueError, match="dimension"):
        rank1(np.ones((2, 2)), [0, 1], np.ones((1, 3)), [0])


# --- adversarial inputs ---------------------------------------------------------------------------

def test_verification_rejects_an_image_paired_with_itself():
    emb, labels, pairs = embeddings_with_scores([0.9] * 10, [0.1] * 10)
    # itertools.product(range(N), repeat=2) includes (i, i): a "genuine" score of exactly 1 that inflates AUC
    with pytest.raises(ValueError, match=r"pair 20 \(3, 3\) compares an image with itself"):
        verification(emb, labels, np.vstack([pairs, [[3, 3]]]))


def test_verification_takes_a_numpy_int_fold_count():
    emb, labels, pairs = embeddings_with_scores([0.9] * 10, [0.1] * 10)
    assert verification(emb, labels, pairs, n_folds=np.int64(5)).fold_accuracy.shape == (5,)


def test_rank1_rejects_probe_identities_missing_from_the_gallery():
    gallery = np.array([unit(0), unit(90)])
    # closed-set identification: a probe whose identity is not enrolled is always "wrong" -- silently 0
    with pytest.raises(ValueError, match=r"probe identities \[7\] are not in the gallery"):
        rank1(gallery, np.array([0, 1]), np.array([unit(5), unit(80)]), np.array([0, 7]))


# --- margin satisfaction --------------------------------------------------------------------------
# Two centres, A at 0° and B at 90°. Class 0 (A) at 10°, 30°, 40°, 100°: θ_y = 10, 30, 40, 100°, angle to
# B = 80, 60, 50, 10°. Class 1 (B) at 90°, 60°, 270°: θ_y = 0, 30, 180°, angle to A = 90, 60, 90°.
MS_EMB = np.array([unit(a) for a in (10, 30, 40, 100, 90, 60, 270)]) * 3.0  # any length: normalised
MS_LABELS = np.array([0, 0, 0, 0, 1, 1, 1])
MS_CENTERS = np.array([unit(0), unit(90)])


@pytest.mark.parametrize(
    "margins, expected",
    [
        # no margin: right when θ_y < θ_other: 10<80, 30<60, 40<50 yes, 100<10 no; 0<90, 30<60 yes, 180<90 no
        ({}, [1, 1, 1, 0, 1, 1, 0]),
        # ArcFace m2 = 0.5 rad = 28.65°: θ_y + 28.65° < θ_other: 38.6<80, 58.6<60 yes, 68.6<50 no; θ_y = 180° is
        # past π − m: the fallback −1 − 0.5·sin 0.5 = −1.24 < cos 90° = 0, not satisfied
        ({"m2": 0.5}, [1, 1, 0, 0, 1, 1, 0]),
        # CosFace m3 = 0.1: cos θ_y − 0.1 > cos θ_other: 0.885>0.174, 0.766>0.5, 0.666>0.643 yes, −0.274>0.985 no;
        # 0.9>0, 0.766>0.5 yes, −1.1>0 no
        ({"m3": 0.1}, [1, 1, 1, 0, 1, 1, 0]),
        # CosFace m3 = 0.35: 0.635>0.174, 0.516>0.5 yes, 0.416>0.643 no; 0.65>0, 0.516>0.5 yes
        ({"m3": 0.35}, [1, 1, 0, 0, 1, 1, 0]),
        # SphereFace m1 = 1.35: 1.35·θ_y < θ_other: 13.5<80, 40.5<60 yes, 54<50 no, 135<10 no; 0<90, 40.5<60 yes,
        # 180° is past π/1.35 = 133°: the fallback cos θ − δ < 0, no
        ({"m1": 1.35}, [1, 1, 0, 0, 1, 1, 0]),
        # ArcFace m2 = 0.6 rad = 34.38°: 44.4<80 yes, 64.4<60 no; 34.4<90 yes, 64.4<60 no
        ({"m2": 0.6}, [1, 0, 0, 0, 1, 0, 0]),
    ],
)
def test_margin_satisfaction_hand_computed(margins, expected):
    got = metrics.margin_satisfaction(torch.tensor(MS_EMB), torch.tensor(MS_LABELS), MS_CENTERS * 0.2, **margins)
    np.testing.assert_array_equal(got.satisfied, np.array(expected, dtype=bool))
    assert got.overall == pytest.approx(sum(expected) / 7)
    np.testing.assert_allclose(got.per_identity, [sum(expected[:4]) / 4, sum(expected[4:]) / 3])
    np.testing.assert_array_equal(got.counts, [4, 3])
    d = got.to_dict()
    assert d["overall"] == pytest.approx(sum(expected) / 7) and d["counts"] == [4, 3]


def test_margin_satisfaction_a_class_without_samples_and_one_class():
    got = metrics.margin_satisfaction(MS_EMB[:4], MS_LABELS[:4], np.array([unit(0), unit(90), unit(200)]), m2=0.5)
    # the third centre (200°) is a rival too: 100° is 100° from it, farther than B: same answer as above
    np.testing.assert_array_equal(got.satisfied, [True, True, False, False])
    assert got.per_identity[0] == 0.5 and math.isnan(got.per_identity[1]) and math.isnan(got.per_identity[2])
    assert got.to_dict()["per_identity"] == [0.5, None, None]
    # one class: no rival logit, every sample satisfies the condition
    assert metrics.margin_satisfaction(MS_EMB[:2], [0, 0], [unit(0)], m2=0.5).overall == 1.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"m2": math.pi}, ValueError, r"m2=3.14"),
        ({"m1": 0.5}, ValueError, r"m1=0.5"),
        ({"m3": -0.1}, ValueError, r"m3=-0.1"),
        ({"labels": [0, 0, 0, 0, 1, 1, 2]}, ValueError, r"\[0, 2\)"),
        ({"centers": np.ones((2, 3))}, ValueError, "dimension 3"),
    ],
)
def test_margin_satisfaction_rejects_bad_input(kwargs, error, match):
    args = {"labels": MS_LABELS, "centers": MS_CENTERS}
    args.update({k: kwargs.pop(k) for k in ("labels", "centers") if k in kwargs})
    with pytest.raises(error, match=match):
        metrics.margin_satisfaction(MS_EMB, args["labels"], args["centers"], **kwargs)
