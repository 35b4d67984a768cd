"""Toy faces, real-face loaders, splits, pairs and the face grid."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

import arcface_viz.faces.generate as generate
import arcface_viz.faces.real as real
from arcface_viz.faces import (
    ATT_CREDIT,
    EXPRESSIONS,
    OCCLUDERS,
    FaceDataset,
    cache_dir,
    find_real_faces,
    load_att_faces,
    load_image_folder,
    load_olivetti,
    make_pairs,
    make_toy_faces,
    split_identities,
    split_images,
)
from arcface_viz.faces.sdf import ellipse
from arcface_viz.faces.toy import sample_nuisances, sample_traits
from arcface_viz.plots.colors import identity_colors
from arcface_viz.plots.faces import plot_face_grid


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    """Every test writes its toy-face cache to its own temporary folder."""
    monkeypatch.setenv("ARCFACE_VIZ_CACHE", str(tmp_path / "cache"))


def _within_spread(dataset: FaceDataset) -> float:
    """Mean RMS pixel distance of an image to its identity's mean image."""
    x = dataset.images.numpy().reshape(len(dataset), -1)
    y = dataset.labels.numpy()
    means = np.stack([x[y == k].mean(0) for k in range(dataset.n_identities)])
    return float(np.sqrt(((x - means[y]) ** 2).mean(1)).mean())


# --------------------------------------------------------------------------- toy faces
def test_toy_faces_shapes_labels_and_meta():
    data = make_toy_faces(n_identities=5, images_per_identity=6, size=24, nuisance=1.0, seed=3)
    assert data.images.shape == (30, 1, 24, 24) and data.images.dtype == torch.float32
    assert data.labels.dtype == torch.int64
    assert torch.equal(torch.bincount(data.labels), torch.full((5,), 6))
    assert 0.0 <= float(data.images.min()) and float(data.images.max()) <= 1.0
    assert len(set(data.identities)) == 5 and data.n_identities == 5 and data.image_size == (24, 24)
    assert "no real person" in data.credit
    assert len(data.meta) == 30
    for row in data.meta:
        assert row["expression"] in EXPRESSIONS and row["occluder"] in OCCLUDERS
        assert abs(row["yaw"]) <= 0.6 and abs(row["roll"]) <= 0.3
        assert abs(np.linalg.norm(row["light"]) - 1.0) < 1e-5
    image, label = data[7]
    assert image.shape == (1, 24, 24) and label == 1 and isinstance(label, int)


def test_toy_faces_rectangular_size():
    data = make_toy_faces(2, 2, size=(40, 32), cache=False)
    assert data.images.shape == (4, 1, 40, 32)


def test_toy_faces_are_deterministic_and_seeded():
    a = make_toy_faces(3, 4, 20, 0.7, seed=1, cache=False)
    b = make_toy_faces(3, 4, 20, 0.7, seed=1, cache=False)
    c = make_toy_faces(3, 4, 20, 0.7, seed=2, cache=False)
    assert torch.equal(a.images, b.images) and a.meta == b.meta
    assert not torch.equal(a.images, c.images)


def test_more_images_keep_the_first_ones():
    small = make_toy_faces(3, 4, 20, 0.8, seed=5, cache=False)
    large = make_toy_faces(3, 7, 20, 0.8, seed=5, cache=False)
    first = torch.cat([torch.arange(4) + 7 * k for k in range(3)])
    assert torch.equal(small.images, large.images[first])


def test_nuisance_increases_within_identity_spread():
    spreads = [_within_spread(make_toy_faces(4, 12, 24, t, seed=0, cache=False)) for t in (0.0, 0.25, 0.5, 1.0)]
    assert spreads[0] < 0.01  # nuisance 0: near-identical images (sensor noise only)
    assert all(lo * 1.3 < hi for lo, hi in zip(spreads, spreads[1:])), spreads


def test_nuisance_zero_has_no_occluders_and_one_has_all_kinds():
    calm = make_toy_faces(2, 20, 16, 0.0, cache=False)
    assert {m["occluder"] for m in calm.meta} == {"none"} and {m["expression"] for m in calm.meta} == {"neutral"}
    wild = make_toy_faces(2, 150, 16, 1.0, cache=False)
    assert {m["occluder"] for m in wild.meta} == set(OCCLUDERS)
    assert {m["expression"] for m in wild.meta} == set(EXPRESSIONS)


def test_a_jaw_squashed_to_zero_width_draws_no_nan_pixel():
    # Identity 364 of 508 (seed 0), image 32: the jaw narrows the face outline to a half-axis of exactly 0
    # at one pixel, which used to divide by zero in sdf.ellipse and cast a NaN pixel to uint8 silently.
    traits = sample_traits(508, np.random.default_rng([0, 0]))
    nuisances = sample_nuisances(200, 0.5, np.random.default_rng([0, 1, 364]))
    noise = np.random.default_rng([0, 2, 364]).standard_normal((200, 32, 32), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero on the way either
        drawn = generate.render(traits, 364, {k: v[32:33] for k, v in nuisances.items()}, (32, 32), noise[32:33])
    assert np.all(np.isfinite(drawn)) and 0.0 <= drawn.min() and drawn.max() <= 1.0


def test_ellipse_treats_a_zero_half_axis_as_a_tiny_one():
    x, y = np.meshgrid(np.linspace(-1, 1, 5, dtype=np.float32), np.linspace(-1, 1, 5, dtype=np.float32))
    flat = ellipse(x[None], y[None], 0.0, 0.0, np.zeros((1, 1, 1), np.float32), 0.5)
    assert flat.dtype == np.float32 and np.all(np.isfinite(flat))
    # a negative half-axis is its size, as before (only a² enters the distance)
    np.testing.assert_array_equal(ellipse(x, y, 0.1, 0.0, -0.3, 0.5), ellipse(x, y, 0.1, 0.0, 0.3, 0.5))


def test_identities_differ_more_than_images_at_default_nuisance():
    data = make_toy_faces(8, 30, 32, 0.0, seed=0, cache=False)
    means = torch.stack([data.images[data.labels == k].mean(0) for k in range(8)]).reshape(8, -1)
    gaps = torch.cdist(means, means)[torch.triu(torch.ones(8, 8, dtype=torch.bool), 1)]
    assert float(gaps.min()) > 1.0  # every pair of identities is clearly distinct without nuisances


def test_cache_round_trip_is_bit_identical(tmp_path):
    fresh = make_toy_faces(2, 3, 16, 0.5, seed=4, cache=False)
    first = make_toy_faces(2, 3, 16, 0.5, seed=4)
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz" and cache_dir() == tmp_path / "cache"
    second = make_toy_faces(2, 3, 16, 0.5, seed=4)
    assert torch.equal(fresh.images, first.images) and torch.equal(first.images, second.images)
    assert second.meta == fresh.meta and second.identities == fresh.identities
    make_toy_faces(2, 3, 16, 0.25, seed=4)  # another argument, another file
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_corrupt_cache_is_rebuilt(tmp_path):
    reference = make_toy_faces(2, 3, 16, 0.5, cache=False)
    make_toy_faces(2, 3, 16, 0.5)
    (path,) = (tmp_path / "cache").iterdir()
    path.write_bytes(b"not a cache")
    with pytest.warns(UserWarning, match="unusable"):
        rebuilt = make_toy_faces(2, 3, 16, 0.5)
    assert torch.equal(rebuilt.images, reference.images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten file is trusted again
        assert torch.equal(make_toy_faces(2, 3, 16, 0.5).images, reference.images)


def cached_arrays(tmp_path):
    """A small toy set built without the cache, and the one cache file the same call writes, loaded."""
    reference = make_toy_faces(2, 3, 16, 0.5, cache=False)
    make_toy_faces(2, 3, 16, 0.5)
    (path,) = (tmp_path / "cache").iterdir()
    with np.load(path) as stored:
        return reference, path, dict(stored)


def test_tampered_cache_fails_its_checksum(tmp_path):
    reference, path, arrays = cached_arrays(tmp_path)
    arrays["images"] = arrays["images"].copy()
    arrays["images"][0, 0, 0] ^= 1  # one flipped bit in one pixel
    np.savez(path, **arrays)
    with pytest.warns(UserWarning, match="checksum"):
        rebuilt = make_toy_faces(2, 3, 16, 0.5)
    assert torch.equal(rebuilt.images, reference.images)


def test_cache_for_other_arguments_is_not_trusted(tmp_path):
    reference, path, arrays = cached_arrays(tmp_path)
    # Same file name, intact content, but written for other arguments (say, by another version).
    arrays["images"] = np.zeros_like(arrays["images"])
    header = json.loads(str(arrays["header"]))
    header["key"] = header["key"].replace('"version": ', '"version": 1000')
    arrays["header"] = np.array(json.dumps(header))
    arrays["checksum"] = np.array(generate._checksum(arrays["images"], arrays["labels"], str(arrays["header"])))
    np.savez(path, **arrays)
    with pytest.warns(UserWarning, match="key"):
        assert torch.equal(make_toy_faces(2, 3, 16, 0.5).images, reference.images)


def test_unwritable_cache_still_returns_faces(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ARCFACE_VIZ_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="could not write"):
        data = make_toy_faces(2, 2, 16)
    assert len(data) == 4 and blocker.read_text().startswith("a file")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": 0}, ValueError, "size"),
        ({"size": -3}, ValueError, "size"),
        ({"size": (32, 0)}, ValueError, "size"),
        ({"size": 32.0}, TypeError, "size"),
        ({"nuisance": 1.5}, ValueError, "nuisance"),
        ({"nuisance": float("nan")}, ValueError, "nuisance"),
        ({"n_identities": 0}, ValueError, "n_identities"),
        ({"images_per_identity": 2.5}, TypeError, "images_per_identity"),
        ({"seed": -1}, ValueError, "seed"),
        ({"cache": "no"}, TypeError, "cache='no': expected True or False"),
        ({"cache": None}, TypeError, "cache=None"),
        # 2 x 10**6 images of 1000 x 1000 pixels: refused at once, before any drawing
        ({"images_per_identity": 10**6, "size": 1000}, ValueError, r"2 x 1000000 images of 1000x1000 would take 7450.6 GiB.*limit 8 GiB"),
    ],
)
def test_toy_faces_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_toy_faces(**{"n_identities": 2, "images_per_identity": 2, **kwargs})


# --------------------------------------------------------------------------- FaceDataset
def _tiny(labels, n_ids=None):
    labels = np.asarray(labels)
    images = np.linspace(0, 1, len(labels) * 4, dtype=np.float32).reshape(len(labels), 1, 2, 2)
    return FaceDataset(images, labels, [f"p{k}" for k in range(n_ids or labels.max() + 1)], None, "test")


def test_subset_keeps_labels_and_relabel_compacts():
    data = _tiny([0, 1, 2, 3, 2, 3])
    part = data.subset([2, 3, 5])
    assert part.labels.tolist() == [2, 3, 3] and part.identities == data.identities
    compact = part.relabel()
    assert compact.labels.tolist() == [0, 1, 1] and compact.identities == ["p2", "p3"]
    assert torch.equal(compact.images, data.images[[2, 3, 5]])
    masked = data.subset(data.labels.numpy() == 3)
    assert masked.labels.tolist() == [3, 3]


@pytest.mark.parametrize(
    ("images", "labels", "error", "match"),
    [
        (np.zeros((2, 1, 2, 2), np.float32), [0, 5], ValueError, "labels must lie"),
        (np.zeros((2, 1, 2, 2), np.float32), [0.0, 1.0], TypeError, "integers"),
        (np.full((2, 1, 2, 2), 1.5, np.float32), [0, 1], ValueError, r"\[0, 1\]"),
        (np.full((2, 1, 2, 2), np.nan, np.float32), [0, 1], ValueError, "NaN"),
        (np.zeros((2, 2, 2), np.float32), [0, 1], ValueError, "shape"),
        (np.zeros((2, 1, 2, 2), np.float32), [0], ValueError, "labels must have shape"),
    ],
)
def test_face_dataset_rejects_bad_input(images, labels, error, match):
    with pytest.raises(error, match=match):
        FaceDataset(images, np.asarray(labels), ["a", "b"])


# --------------------------------------------------------------------------- splits and pairs
def test_split_identities_is_open_set_and_compact():
    data = make_toy_faces(6, 5, 16, cache=False)
    train, test = split_identities(data, 2, seed=1)
    assert len(train) == 20 and len(test) == 10
    assert not set(train.identities) & set(test.identities)
    assert sorted(train.identities + test.identities) == sorted(data.identities)
    assert train.labels.unique().tolist() == [0, 1, 2, 3] and test.labels.unique().tolist() == [0, 1]
    # the relabelled names still point at the same pictures
    k = data.identities.index(test.identities[1])
    assert torch.equal(test.images[test.labels == 1], data.images[data.labels == k])
    again = split_identities(data, 2, seed=1)
    assert again[1].identities == test.identities


@pytest.mark.parametrize("n_test", [0, 6, 7])
def test_split_identities_needs_identities_on_both_sides(n_test):
    data = make_toy_faces(6, 2, 16, cache=False)
    with pytest.raises(ValueError, match="n_test_identities"):
        split_identities(data, n_test)


def test_split_images_is_stratified_with_labels_unchanged():
    data = make_toy_faces(4, 10, 16, cache=False)
    train, test = split_images(data, 0.2, seed=0)
    assert torch.bincount(test.labels).tolist() == [2, 2, 2, 2]
    assert torch.bincount(train.labels).tolist() == [8, 8, 8, 8]
    assert train.identities == data.identities
    with pytest.raises(ValueError, match="test_fraction"):
        split_images(data, 1.0)


def test_make_pairs_balanced_distinct_and_seeded():
    data = make_toy_faces(4, 6, 16, cache=False)
    pairs = make_pairs(data, 40, seed=2)
    assert pairs.shape == (40, 2) and pairs.dtype == np.int64
    same = data.labels.numpy()[pairs[:, 0]] == data.labels.numpy()[pairs[:, 1]]
    assert same.sum() == 20
    assert (pairs[:, 0] < pairs[:, 1]).all() and len({tuple(p) for p in pairs.tolist()}) == 40
    assert 0 < same[:20].sum() < 20  # shuffled: contiguous folds mix both kinds
    assert np.array_equal(pairs, make_pairs(data, 40, seed=2))
    everything = make_pairs(data, 120, seed=0)  # all 60 genuine pairs of 4 x C(6, 2)
    assert (data.labels.numpy()[everything[:, 0]] == data.labels.numpy()[everything[:, 1]]).sum() == 60


def test_make_pairs_errors():
    data = _tiny([0, 0, 1, 1, 2])
    with pytest.raises(ValueError, match="'p2' has only 1"):
        make_pairs(data, 4)
    with pytest.raises(ValueError, match="only 2 genuine"):
        make_pairs(_tiny([0, 0, 1, 1]), 10)
    with pytest.raises(ValueError, match="at least 2 identities"):
        make_pairs(_tiny([0, 0, 0]), 2)


# --------------------------------------------------------------------------- folder loaders (synthetic files)
def _write_faces(root: Path, layout: dict[str, list[str]], size=(12, 10)) -> None:
    rng = np.random.default_rng(0)
    for folder, names in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(root / folder / name)


def test_load_image_folder_reads_png_jpeg_pgm_in_natural_order(tmp_path):
    _write_faces(tmp_path, {"id10": ["a.png"], "id2": ["1.pgm", "2.jpg", "10.jpeg"], ".hidden": ["x.png"]})
    data = load_image_folder(tmp_path, size=8)
    assert data.identities == ["id2", "id10"] and data.labels.tolist() == [0, 0, 0, 1]
    assert data.images.shape == (4, 1, 8, 8)
    expected = np.asarray(Image.open(tmp_path / "id2" / "2.jpg").convert("L").resize((8, 8), Image.Resampling.LANCZOS))
    assert np.allclose(data.images[1, 0].numpy() * 255, expected, atol=1e-3)


def test_att_layout_orders_subjects_numerically(tmp_path):
    _write_faces(tmp_path, {f"s{k}": ["1.pgm", "2.pgm", "10.pgm"] for k in (1, 2, 10)})
    (tmp_path / "README").write_text("ignored beside the subject folders")
    data = load_att_faces(tmp_path)
    assert data.identities == ["s1", "s2", "s10"] and data.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert data.image_size == (12, 10) and data.credit == ATT_CREDIT
    second = np.asarray(Image.open(tmp_path / "s1" / "2.pgm"), dtype=np.float32) / 255
    assert np.array_equal(data.images[1, 0].numpy(), second)  # 2.pgm before 10.pgm


def test_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_att_faces(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no subject folders"):
        load_att_faces(tmp_path / "empty")
    with pytest.raises(ValueError, match="no identity sub-folders"):
        load_image_folder(tmp_path / "empty")
    _write_faces(tmp_path / "att", {"s1": ["1.pgm"], "s2": []})
    with pytest.raises(ValueError, match=r"s2 holds no images"):
        load_att_faces(tmp_path / "att")
    _write_faces(tmp_path / "att", {"s2": ["1.pgm"]})
    (tmp_path / "att" / "s2" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt is not an image"):
        load_att_faces(tmp_path / "att")
    (tmp_path / "att" / "s2" / "notes.txt").unlink()
    (tmp_path / "att" / "s2" / "fake.png").write_text("not a png")
    with pytest.raises(ValueError, match=r"fake\.png is not an image"):
        load_att_faces(tmp_path / "att")
    (tmp_path / "att" / "s2" / "fake.png").unlink()
    whole = (tmp_path / "att" / "s2" / "1.pgm").read_bytes()
    (tmp_path / "att" / "s2" / "1.pgm").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"1\.pgm is damaged or truncated"):
        load_att_faces(tmp_path / "att")
    _write_faces(tmp_path / "att", {"s2": ["1.pgm"]}, size=(14, 10))
    with pytest.raises(ValueError, match="pass size"):
        load_att_faces(tmp_path / "att")
    assert load_att_faces(tmp_path / "att", size=(7, 5)).image_size == (7, 5)
    for bad in (0, -1, (8, 0)):
        with pytest.raises(ValueError, match="size"):
            load_att_faces(tmp_path / "att", size=bad)


def test_find_real_faces_order_and_message(tmp_path, monkeypatch):
    (tmp_path / "mine" / "att_faces").mkdir(parents=True)
    monkeypatch.setenv("ARCFACE_VIZ_DATA", str(tmp_path / "mine"))
    assert find_real_faces() == tmp_path / "mine"
    monkeypatch.setenv("ARCFACE_VIZ_DATA", str(tmp_path / "nothing-here"))
    monkeypatch.setattr(real, "PROJECT_ROOT", tmp_path / "project")
    with pytest.warns(UserWarning, match="ARCFACE_VIZ_DATA.*Looked for att_faces/ in: .*nothing-here"):
        assert find_real_faces() is None
    (tmp_path / "shared" / "data" / "att_faces").mkdir(parents=True)
    assert find_real_faces() == tmp_path / "shared" / "data"
    (tmp_path / "project" / "data" / "att_faces").mkdir(parents=True)
    assert find_real_faces() == tmp_path / "project" / "data"


def test_olivetti_missing_without_download_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="download_if_missing"):
        load_olivetti(tmp_path / "sk", download_if_missing=False)
    assert not (tmp_path / "sk").exists()  # nothing created on the way
    (tmp_path / "sk").mkdir()
    with pytest.raises(FileNotFoundError, match="download_if_missing"):
        load_olivetti(tmp_path / "sk", download_if_missing=False)


# --------------------------------------------------------------------------- real faces (../shared/data)
def test_att_faces_real(att_dir):
    data = load_att_faces(att_dir)
    assert len(data) == 400 and data.n_identities == 40 and data.image_size == (112, 92)
    assert torch.bincount(data.labels).tolist() == [10] * 40
    assert data.identities[9] == "s10" and data.identities[39] == "s40"
    raw = np.asarray(Image.open(att_dir / "s10" / "3.pgm"), dtype=np.float32) / 255
    assert np.array_equal(data.images[92, 0].numpy(), raw)  # label 9, third image
    assert 0.0 <= float(data.images.min()) and float(data.images.max()) <= 1.0
    assert load_att_faces(att_dir, size=32).images.shape == (400, 1, 32, 32)


def test_olivetti_offline_matches_orl_subjects(olivetti_home, att_dir):
    data = load_olivetti(olivetti_home, download_if_missing=False)
    assert data.images.shape == (400, 1, 64, 64)
    assert float(data.images.min()) == 0.0 and float(data.images.max()) == 1.0
    assert data.labels.tolist() == [k // 10 for k in range(400)] and data.identities[0] == "s1"
    assert "AT&T" in data.credit and "Samaria" in data.credit
    # Olivetti crops are tighter and placed per image, so match each query at 16x16 against every
    # ORL image over a few crop scales and all positions (normalised correlation).
    queries = [0, 67, 134, 201, 268, 335, 399]
    small = load_olivetti(olivetti_home, download_if_missing=False, size=16).images.numpy()[queries, 0]
    orl = load_att_faces(att_dir).images.numpy()[:, 0]
    best = np.full((len(queries), 400), -np.inf)
    for side in (60, 66, 72, 78, 84):  # ORL pixels that one Olivetti image spans
        shape = (round(92 * 16 / side), round(112 * 16 / side))
        scaled = np.stack([np.asarray(Image.fromarray(im).resize(shape, Image.Resampling.BOX)) for im in orl])
        windows = _unit(sliding_window_view(scaled, (16, 16), axis=(1, 2)).reshape(400, -1, 256))
        best = np.maximum(best, np.einsum("qd,jwd->qjw", _unit(small.reshape(-1, 256)), windows).max(-1))
    nearest_subject = best.argmax(1) // 10
    assert nearest_subject.tolist() == [q // 10 for q in queries]


def _unit(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(-1, keepdims=True)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_olivetti_read_only_home_falls_back_to_a_copy(olivetti_home, monkeypatch):
    import sklearn.datasets

    original = sklearn.datasets.fetch_olivetti_faces
    homes = []

    def read_only(data_home=None, **kwargs):
        homes.append(str(data_home))
        if str(data_home) == str(olivetti_home):
            raise PermissionError(f"[Errno 30] Read-only file system: {data_home!r}")
        return original(data_home=data_home, **kwargs)

    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", read_only)
    data = load_olivetti(olivetti_home, download_if_missing=False, size=(20, 16))
    assert data.images.shape == (400, 1, 20, 16) and len(homes) == 2 and homes[1] != str(olivetti_home)
    assert not Path(homes[1]).exists()  # the temporary copy is gone


# --------------------------------------------------------------------------- face grid
def test_plot_face_grid_layout_names_and_credit():
    data = make_toy_faces(3, 5, 16, cache=False)
    fig = plot_face_grid(data, per_identity=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 12 and all(len(ax.images) == 1 for ax in fig.axes)
    texts = [t.get_text() for t in fig.texts]
    assert all(name in texts for name in data.identities)
    assert any("no real person" in t for t in texts)
    swatches = [t.get_color() for t in fig.texts if t.get_text() == "\u25a0"]
    assert swatches == identity_colors(3)
    shown = fig.axes[4].images[0].get_array()  # second row, first column: identity 1's first image
    assert np.array_equal(np.asarray(shown), data.images[5, 0].numpy())
    few = plot_face_grid(data, per_identity=7, max_identities=2)  # 5 images each: 2 empty cells per row
    assert sum(len(ax.images) for ax in few.axes) == 10
    with pytest.raises(ValueError, match="per_identity"):
        plot_face_grid(data, per_identity=0)


@pytest.mark.parametrize("warn", [True, False])
def test_find_real_faces_says_when_it_passes_over_arcface_viz_data(tmp_path, monkeypatch, warn):
    # before: ARCFACE_VIZ_DATA naming att_faces/ itself (or a folder without the faces) was passed over silently
    # and the faces came from another folder
    monkeypatch.setattr(real, "PROJECT_ROOT", tmp_path / "project")
    (tmp_path / "shared" / "data" / "att_faces").mkdir(parents=True)
    (tmp_path / "mine" / "att_faces" / "s1").mkdir(parents=True)
    monkeypatch.setenv("ARCFACE_VIZ_DATA", str(tmp_path / "mine" / "att_faces"))
    with pytest.warns(UserWarning, match=r"^ARCFACE_VIZ_DATA='.*mine/att_faces': holds no att_faces/; using "
                                         r".*shared/data instead\. Set it to the folder that holds att_faces/, "
                                         r"not att_faces/ itself"):
        assert find_real_faces(warn=warn) == tmp_path / "shared" / "data"
    monkeypatch.setenv("ARCFACE_VIZ_DATA", str(tmp_path / "mine"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_real_faces(warn=warn) == tmp_path / "mine"


@pytest.mark.parametrize("data", [torch.zeros(2, 1, 8, 8), np.zeros((2, 1, 8, 8)), "faces/"])
def test_plot_face_grid_names_what_it_needs_instead_of_an_attribute_error(data):
    # before: AttributeError: 'Tensor' object has no attribute 'labels' (the images alone have no identities)
    with pytest.raises(TypeError, match=r"^dataset='\w+': expected a FaceDataset \(images with their identities\); "
                                        r"pass the dataset itself, e.g. make_toy_faces\(\.\.\.\) or load_att_faces"):
        plot_face_grid(data)


def test_a_face_in_another_image_format_is_named_with_a_conversion_not_just_moved_out(tmp_path):
    # before: "... is not an image file (expected .png, .jpg, .jpeg, .pgm); move it out of ..." for a real BMP face
    _write_faces(tmp_path, {"ada": ["1.png", "2.bmp"], "ben": ["1.png"]})
    with pytest.raises(ValueError, match=r"^.*ada/2\.bmp is a BMP image, a format these loaders do not read "
                                         r"\(\.png, \.jpg, \.jpeg, \.pgm\); convert it, e.g. Image\.open\(path\)"
                                         r"\.save\(path\.with_suffix\('\.png'\)\), and move the \.bmp out of .*ada$"):
        load_image_folder(tmp_path)
    (tmp_path / "ada" / "notes.txt").write_text("x")
    (tmp_path / "ada" / "2.bmp").unlink()
    with pytest.raises(ValueError, match=r"notes\.txt is not an image file \(expected \.png, \.jpg, \.jpeg, \.pgm\); "
                                         r"move it out of .*ada$"):
        load_image_folder(tmp_path)
