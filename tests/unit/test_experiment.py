"""The experiment recipe (build → fit → open-set evaluation) is the one the callers used to type out."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from arcface_viz import experiment, metrics
from arcface_viz.faces import make_toy_faces, split_identities
from arcface_viz.heads import ArcFaceHead, make_head
from arcface_viz.losses import LOSSES
from arcface_viz.models import FaceCNN
from arcface_viz.training import embed, fit


@pytest.fixture(scope="module")
def toy():
    return make_toy_faces(n_identities=6, images_per_identity=8, size=32, seed=0, cache=False)


def test_train_is_the_recipe_typed_out(toy):
    # what compare, the checks, the lab and the lessons used to write by hand
    torch.manual_seed(3)
    model, head = FaceCNN(2), ArcFaceHead(2, toy.n_identities, s=16.0, m=0.4)
    by_hand = fit(model, head, toy, epochs=2, batch_size=16, seed=3, progress=False)
    recipe = experiment.train("arcface", toy, dim=2, m=0.4, epochs=2, batch_size=16, seed=3, progress=False)
    assert recipe.history["loss"] == by_hand.history["loss"]
    torch.testing.assert_close(recipe.head.weight, by_hand.head.weight)
    assert recipe.head.describe() == "ArcFace (s=16, m=0.4)"


def test_build_seeds_model_and_head_and_takes_head_options():
    a = experiment.build("subcenter", 3, 4, seed=1, head_options={"k": 2})
    b = experiment.build("subcenter", 3, 4, seed=1, head_options={"k": 2})
    assert a[1].k == 2 and a[0].embedding_dim == 3
    torch.testing.assert_close(a[1].weight, b[1].weight)
    for p, q in zip(a[0].parameters(), b[0].parameters()):
        torch.testing.assert_close(p, q)
    combined = experiment.build("combined", 2, 3, s=8.0, head_options={"m2": 0.1})[1]
    assert (combined.s, combined.m1, combined.m2, combined.m3) == (8.0, 1.0, 0.1, 0.2)


def test_train_accepts_an_images_labels_tuple(toy):
    result = experiment.train("cosface", (toy.images, toy.labels), epochs=1, progress=False)
    assert result.head.out_features == toy.n_identities and result.head.m3 == LOSSES["cosface"].default_m
    with pytest.raises(TypeError, match="data='list': expected a FaceDataset"):
        experiment.train("cosface", [1, 2, 3], epochs=1)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: experiment.head_kwargs("arcfase"), ValueError, "loss='arcfase': unknown"),
    (lambda: experiment.head_kwargs(None), TypeError, "loss=None: expected a str"),
    (lambda: experiment.head_kwargs("arcface", m=3.5), ValueError, r"m=3.5: must lie in \[0, π\)"),
    (lambda: experiment.head_kwargs("sphereface", m=0.5), ValueError, r"m=0.5: must lie in \[1, 10\]; SphereFace's m"),
    (lambda: experiment.head_kwargs("cosface", s=0), ValueError, r"s=0: must lie in \[0.001, 10000\]"),
    # checked even where the loss ignores them (softmax has no s, NormFace no single m)
    (lambda: experiment.head_kwargs("softmax", s="x"), TypeError, "s='x': expected a real number"),
    (lambda: experiment.head_kwargs("softmax", s=1e5), ValueError, r"s=100000.0: must lie in"),
    (lambda: experiment.head_kwargs("normface", m="0.3"), TypeError, "m='0.3': expected a real number"),
    (lambda: experiment.head_kwargs("combined", m=float("nan")), ValueError, "m=nan: must be a finite number"),
    (lambda: experiment.build("arcface", 0, 3), ValueError, "dim=0: must be >= 1"),
    (lambda: experiment.build("arcface", 2, 3, seed=-1), ValueError, "seed=-1"),
])
def test_recipe_rejects_bad_settings_before_building(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_evaluate_open_set_equals_the_metrics_called_by_hand(toy):
    train, test = split_identities(toy, 3, seed=0)
    result = experiment.train("arcface", train, dim=4, epochs=1, progress=False)
    pairs = experiment.balanced_pairs(test, seed=0)
    every = experiment.all_pairs(test.labels.numpy(), seed=0)
    got = experiment.evaluate_open_set(result.model, test, seed=0)
    labels = test.labels.numpy()
    emb = embed(result.model, test)
    # 3 x 8 images: too few impostors for TAR@FAR = 1e-2 and 1e-3 -- NaN with a warning when called by hand
    with pytest.warns(RuntimeWarning, match="impostor pairs"):
        folds = metrics.verification(emb, labels, pairs)
    with pytest.warns(RuntimeWarning, match="impostor pairs"):
        roc = metrics.verification(emb, labels, every)
    np.testing.assert_array_equal(got.folds.scores, folds.scores)
    assert got.folds.accuracy_mean == folds.accuracy_mean
    assert got.roc.auc == roc.auc and got.roc.eer == roc.eer
    first = np.unique(labels, return_index=True)[1]
    probe = np.setdiff1d(np.arange(len(labels)), first)
    assert got.rank1 == metrics.rank1(emb[first], labels[first], emb[probe], labels[probe])
    values = got.metrics()
    assert set(values) >= {"verification_accuracy", "eer", "auc", "rank1_unseen", "tar_at_far_1e-2"}
    assert len(every) == len(labels) * (len(labels) - 1) // 2  # all pairs, none dropped below the cap


def test_pairs_helpers_are_seeded_and_capped():
    labels = np.arange(30)
    capped = experiment.all_pairs(labels, seed=4, limit=50)
    assert len(capped) == 50 and np.array_equal(capped, experiment.all_pairs(labels, seed=4, limit=50))
    assert np.all(capped[:, 0] < capped[:, 1]) and np.all(np.diff(capped[:, 0]) >= 0)  # row order kept
    with pytest.raises(ValueError, match="limit=0"):
        experiment.all_pairs(labels, limit=0)


def test_all_pairs_samples_the_row_by_row_list_without_building_it():
    for n, limit in ((2, 1), (7, 5), (30, 50), (300, 1000)):
        i, j = np.triu_indices(n, k=1)
        every = np.stack([i, j], axis=1)
        chosen = np.sort(np.random.default_rng(3).choice(len(every), limit, replace=False))
        np.testing.assert_array_equal(experiment.all_pairs(range(n), seed=3, limit=limit), every[chosen])
    # 101,600 toy faces (compare --test-identities 500) used to ask np.triu_indices for 37 GiB
    big = experiment.all_pairs(range(101_600), seed=0)
    assert big.shape == (experiment.MAX_PAIRS, 2) and big.dtype == np.int64
    assert np.all(big[:, 0] < big[:, 1]) and big.max() < 101_600 and len(np.unique(big, axis=0)) == len(big)
    order = big[:, 0] * 101_600 + big[:, 1]
    assert np.all(np.diff(order) > 0)  # row by row, as for the small cases


def test_every_registered_loss_trains_one_step(toy):
    for name in LOSSES:
        result = experiment.train(name, toy, epochs=1, batch_size=48, progress=False)
        assert np.isfinite(result.history["loss"][0]), name
        assert type(result.head) is type(make_head(name, 2, toy.n_identities))


@pytest.mark.parametrize("labels, error, match", [
    # before: RuntimeError from torch's max() of an empty tensor
    (torch.zeros(0, dtype=torch.long), ValueError, r"^images\.shape=\(0, 1, 8, 8\): the training data is empty; "
                                                   r"pass at least one image"),
    # before: ValueError "too many dimensions 'str'"
    (["ada", "ben", "ada", "ben"], TypeError, r"^labels=\[.*: expected integer class labels, got str; map names to "
                                              r"0\.\.C-1, e\.g\. np\.unique\(names, return_inverse=True\)\[1\]"),
    # before: a head of 7 classes, 5 of them without a single image, trained without a word
    ([5, 6, 5, 6], ValueError, r"^labels=\[5, 6\]: classes \[0, 1, 2, 3, 4\] have no images \(the head would get 7 "
                               r"classes\); relabel to 0\.\.C-1, e\.g\. np\.unique\(labels, return_inverse=True\)\[1\]"),
])
def test_train_refuses_tuple_labels_it_cannot_count_classes_from(labels, error, match):
    images = torch.rand(len(labels), 1, 8, 8)
    with pytest.raises(error, match=match):
        experiment.train("arcface", (images, labels), epochs=1, progress=False)
