"""Real-face loaders against faults from replayed public reports (issue 14) and the first run of a
new user (issue 19): every bit depth and colour mode, missing subject folders, a refused download,
and the Olivetti cache under data/. Images are written in tmp_path; no network."""
from __future__ import annotations

import struct
import urllib.error
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import arcface_viz.faces.real as real
from arcface_viz.faces import load_att_faces, load_image_folder, load_olivetti

H, W = 16, 32  # 512 pixels: every level of a depth <= 9 bits appears equally often


def _ramp(levels: int) -> np.ndarray:
    """(H, W) integers from 0 to levels-1 whose mean is exactly (levels-1)/2.

    Each level equally often when there are at most H·W of them; otherwise a ramp over the first half
    of the pixels and its mirror image (v -> levels-1-v) over the second.
    """
    if levels <= H * W:
        return (np.arange(H * W) * levels // (H * W)).reshape(H, W)
    half = np.arange(H * W // 2) * levels // (H * W // 2)
    return np.concatenate([half, levels - 1 - half[::-1]]).reshape(H, W)


def _png(path: Path, values: np.ndarray, bit_depth: int, colour_type: int = 0) -> Path:
    """A PNG written byte by byte (not by Pillow): grey (type 0) or grey + alpha (type 4) at any depth."""
    rows = []
    for row in values:
        if bit_depth == 16:
            raw = row.astype(">u2").tobytes()
        elif bit_depth == 8:
            raw = row.astype(np.uint8).tobytes()
        else:  # pack 1, 2 or 4-bit samples, most significant first
            bits = np.unpackbits(row.astype(np.uint8)[:, None], axis=1)[:, 8 - bit_depth:]
            raw = np.packbits(bits.ravel()).tobytes()
        rows.append(b"\0" + raw)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width = values.shape[:2]
    header = struct.pack(">IIBBBBB", width if colour_type == 0 else width // 2, height, bit_depth, colour_type, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
                     + chunk(b"IEND", b""))
    return path


def _pgm(path: Path, values: np.ndarray, maxval: int, ascii_: bool = False) -> Path:
    """A PGM written byte by byte: binary P5 (1 or 2 bytes per sample) or ASCII P2."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = f"{'P2' if ascii_ else 'P5'}\n{values.shape[1]} {values.shape[0]}\n{maxval}\n".encode()
    if ascii_:
        body = " ".join(map(str, values.ravel())).encode() + b"\n"
    else:
        body = values.astype(">u2" if maxval > 255 else np.uint8).tobytes()
    path.write_bytes(head + body)
    return path


def _mean_of_one(loader, root: Path, **kwargs) -> float:
    return float(loader(root, **kwargs).images.double().mean())


# --------------------------------------------------------------------------- fault 1: bit depths and modes
@pytest.mark.parametrize("depth", [1, 2, 4, 8, 16])
def test_grey_png_of_any_bit_depth_loads_a_ramp_with_mean_one_half(tmp_path, depth):
    _png(tmp_path / "faces" / "id1" / "ramp.png", _ramp(2**depth), depth)
    assert _mean_of_one(load_image_folder, tmp_path / "faces") == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("maxval, ascii_", [(65535, False), (65535, True), (1023, False), (4095, False),
                                             (255, False), (15, False)])
def test_pgm_of_any_maxval_loads_a_ramp_with_mean_one_half(tmp_path, maxval, ascii_):
    _pgm(tmp_path / "att" / "s1" / "1.pgm", _ramp(maxval + 1), maxval, ascii_)
    assert _mean_of_one(load_att_faces, tmp_path / "att") == pytest.approx(0.5, abs=1e-6)
    assert _mean_of_one(load_image_folder, tmp_path / "att") == pytest.approx(0.5, abs=1e-6)


def test_16_bit_faces_keep_their_precision_and_resize_in_float(tmp_path):
    # the reported fault: Pillow's 16 -> 8-bit conversion clips, so this ramp loaded with mean ~0.998
    ramp = _ramp(65536).astype(np.uint16)
    (tmp_path / "png" / "id1").mkdir(parents=True)
    Image.fromarray(ramp).save(tmp_path / "png" / "id1" / "a.png")  # Pillow writes mode I;16 as a 16-bit PNG
    _pgm(tmp_path / "att" / "s1" / "1.pgm", ramp, 65535)
    for loader, root in ((load_image_folder, tmp_path / "png"), (load_att_faces, tmp_path / "att")):
        data = loader(root)
        assert float(data.images.double().mean()) == pytest.approx(0.5, abs=1e-6)
        np.testing.assert_array_equal(data.images[0, 0].numpy(), ramp.astype(np.float32) / np.float32(65535))
        small = loader(root, size=(8, 16)).images
        assert small.shape == (1, 1, 8, 16) and 0.0 <= float(small.min()) and float(small.max()) <= 1.0
        assert float(small.double().mean()) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I;16N"])
def test_every_16_bit_grey_mode_is_divided_by_65535(tmp_path, mode):
    ramp = _ramp(H * W).astype(np.uint16) * 128
    image = Image.frombytes(mode, (W, H), ramp.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
    np.testing.assert_array_equal(real._to_grey(image, tmp_path / "x.png", None), ramp / np.float32(65535))


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "CMYK", "LA", "YCbCr"])
def test_8_bit_modes_load_like_pillows_grey_conversion(tmp_path, mode):
    rng = np.random.default_rng(3)
    rgb = Image.fromarray(rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8))
    image = rgb.convert(mode)
    suffix = ".jpg" if mode in ("CMYK", "YCbCr") else ".png"
    path = tmp_path / "faces" / "id1" / f"face{suffix}"
    path.parent.mkdir(parents=True)
    image.save(path)
    with Image.open(path) as reopened:
        expected = np.asarray(reopened.convert("L"), dtype=np.float32) / np.float32(255)
    np.testing.assert_array_equal(load_image_folder(tmp_path / "faces").images[0, 0].numpy(), expected)


def test_transparent_pixels_are_refused_and_opaque_alpha_is_fine(tmp_path):
    grey_alpha = np.stack([_ramp(256), np.full((H, W), 255)], axis=-1).reshape(H, 2 * W)
    _png(tmp_path / "ok" / "id1" / "a.png", grey_alpha, 8, colour_type=4)
    assert _mean_of_one(load_image_folder, tmp_path / "ok") == pytest.approx(0.5, abs=1e-6)
    grey_alpha[0, 1] = 0  # one transparent pixel
    _png(tmp_path / "bad" / "id1" / "a.png", grey_alpha, 8, colour_type=4)
    with pytest.raises(ValueError, match=r"a\.png has transparent pixels.*flatten"):
        load_image_folder(tmp_path / "bad")
    palette = Image.fromarray(_ramp(16).astype(np.uint8) * 17).convert("P")
    (tmp_path / "pal" / "id1").mkdir(parents=True)
    palette.save(tmp_path / "pal" / "id1" / "p.png", transparency=0)
    with pytest.raises(ValueError, match="transparent pixels"):
        load_image_folder(tmp_path / "pal")


def test_modes_pillow_cannot_make_grey_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"x\.png: Pillow cannot convert image mode LAB to grey"):
        real._to_grey(Image.new("LAB", (4, 4)), tmp_path / "x.png", None)
    with pytest.raises(ValueError, match=r"mode I pixels span -5..70000, outside"):
        real._to_grey(Image.fromarray(np.array([[-5, 70000]], dtype=np.int32)), tmp_path / "x.png", None)


# --------------------------------------------------------------------------- fault 5: missing subject folders
def test_att_labels_with_missing_folders_follow_the_folders_present(tmp_path):
    # s2, s4..s9 missing: labels are the rank among the folders present (0, 1, 2), not X-1 (0, 2, 9),
    # and identities[label] names the folder
    for k, grey in ((10, 200), (1, 20), (3, 90)):
        _pgm(tmp_path / "att" / f"s{k}" / "1.pgm", np.full((H, W), grey), 255)
        _pgm(tmp_path / "att" / f"s{k}" / "2.pgm", np.full((H, W), grey), 255)
    data = load_att_faces(tmp_path / "att")
    assert data.identities == ["s1", "s3", "s10"]
    assert data.labels.tolist() == [0, 0, 1, 1, 2, 2]
    for image, label in zip(data.images, data.labels.tolist()):
        grey = {"s1": 20, "s3": 90, "s10": 200}[data.identities[label]]
        assert float(image.mean()) == pytest.approx(grey / 255)


def test_att_docstring_says_what_the_labels_are():
    doc = " ".join(load_att_faces.__doc__.split())
    assert "label X-1 for folder" not in doc  # false as soon as a folder is missing
    assert "rank of its folder" in doc and "identities[label]" in doc


# --------------------------------------------------------------------------- fault 3: a refused download
def _refuse(code: int, reason: str):
    def fetch(data_home=None, download_if_missing=True, **kwargs):
        raise urllib.error.HTTPError("https://ndownloader.figshare.com/files/5976027", code, reason, {}, None)
    return fetch


def test_refused_olivetti_download_says_the_server_refused_and_what_else_to_do(tmp_path, monkeypatch):
    import sklearn.datasets

    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", _refuse(403, "Forbidden"))
    with pytest.raises(FileNotFoundError) as caught:
        load_olivetti(tmp_path / "sk", download_if_missing=True)
    message = str(caught.value)
    assert "refused" in message and "HTTP 403: Forbidden" in message
    assert "download_if_missing=True" not in message  # the caller already asked for the download
    assert "olivetti_py3.pkz" in message and "att_faces" in message and "data/README.md" in message


def test_unreachable_olivetti_server_says_so(tmp_path, monkeypatch):
    import sklearn.datasets

    def offline(data_home=None, download_if_missing=True, **kwargs):
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", offline)
    with pytest.raises(FileNotFoundError, match=r"could not reach the download server.*Network is unreachable"):
        load_olivetti(tmp_path / "sk", download_if_missing=True)


# --------------------------------------------------------------------------- issue 19: real faces for a new user
def _data_layout(tmp_path: Path, monkeypatch) -> Path:
    """A project at tmp_path/project with nothing in data/, no ../shared/data, ARCFACE_VIZ_DATA unset."""
    monkeypatch.delenv("ARCFACE_VIZ_DATA", raising=False)
    monkeypatch.setattr(real, "PROJECT_ROOT", tmp_path / "project")
    (tmp_path / "project" / "data").mkdir(parents=True)
    return tmp_path / "project" / "data"


def _fake_olivetti_cache(home: Path) -> None:
    """scikit-learn's cache file as fetch_olivetti_faces writes it: joblib of (400, 4096) uint8."""
    import joblib

    home.mkdir(parents=True, exist_ok=True)
    faces = np.random.default_rng(0).integers(0, 256, size=(400, 4096), dtype=np.uint8)
    joblib.dump(faces, home / "olivetti_py3.pkz", compress=6)


def test_find_real_faces_finds_the_olivetti_cache_without_att_faces(tmp_path, monkeypatch):
    data = _data_layout(tmp_path, monkeypatch)
    _fake_olivetti_cache(data / "olivetti" / "sklearn_data_home")
    assert real.find_real_faces("olivetti") == data
    with pytest.warns(UserWarning) as caught:
        assert real.find_real_faces("att") is None
    message = str(caught[0].message)
    assert "Looked for att_faces/ in:" in message and "data/README.md" in message
    assert "toy faces" not in message  # the finder does not know what the caller does next
    with pytest.raises(ValueError, match="kind='lfw'"):
        real.find_real_faces("lfw")


def test_compare_olivetti_reads_the_documented_cache_under_data(tmp_path, monkeypatch, capsys):
    from arcface_viz import compare

    data = _data_layout(tmp_path, monkeypatch)
    _fake_olivetti_cache(data / "olivetti" / "sklearn_data_home")  # where data/README.md's command puts it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset, description = compare._load_real("olivetti", (32, 32))
    assert dataset.images.shape == (400, 1, 32, 32) and dataset.n_identities == 40
    assert str(data / "olivetti" / "sklearn_data_home") in description
    assert "download" not in capsys.readouterr().out


def _fake_download(calls: list):
    """Stands for scikit-learn's fetch on a machine with internet: writes the cache, then reads it."""
    import sklearn.datasets

    original = sklearn.datasets.fetch_olivetti_faces

    def fetch(data_home=None, download_if_missing=True, **kwargs):
        calls.append((Path(data_home), download_if_missing))
        if download_if_missing and not (Path(data_home) / "olivetti_py3.pkz").exists():
            _fake_olivetti_cache(Path(data_home))
        return original(data_home=data_home, download_if_missing=False)
    return fetch


def test_compare_olivetti_downloads_into_data_when_missing_and_says_so(tmp_path, monkeypatch, capsys):
    import sklearn.datasets

    from arcface_viz import compare

    data = _data_layout(tmp_path, monkeypatch)
    calls = []
    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", _fake_download(calls))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset, _ = compare._load_real("olivetti", (16, 16))
    home = data / "olivetti" / "sklearn_data_home"
    assert calls == [(home, True)] and (home / "olivetti_py3.pkz").is_file() and len(dataset) == 400
    out = capsys.readouterr().out
    assert f"downloading it through scikit-learn into {home}" in out and f"saved in {home}" in out
    compare._load_real("olivetti", (16, 16))  # the second run reads the cache offline
    assert calls[-1] == (home, False) and "downloading" not in capsys.readouterr().out


def test_compare_olivetti_download_goes_to_arcface_viz_data_when_set(tmp_path, monkeypatch, capsys):
    import sklearn.datasets

    from arcface_viz import compare

    _data_layout(tmp_path, monkeypatch)
    monkeypatch.setenv("ARCFACE_VIZ_DATA", str(tmp_path / "mine"))
    calls = []
    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", _fake_download(calls))
    compare._load_real("olivetti", (16, 16))
    assert calls == [(tmp_path / "mine" / "olivetti" / "sklearn_data_home", True)]


def test_compare_refused_download_and_missing_att_fail_without_a_contradicting_warning(tmp_path, monkeypatch, capsys):
    import sklearn.datasets

    from arcface_viz import compare
    from arcface_viz.cli import UsageError

    _data_layout(tmp_path, monkeypatch)
    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", _refuse(403, "Forbidden"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning (e.g. "using toy faces instead") would fail here
        with pytest.raises(UsageError, match=r"--data olivetti: .*refused.*HTTP 403"):
            compare._load_real("olivetti", (16, 16))
        assert "downloading it through scikit-learn" in capsys.readouterr().out
        with pytest.raises(UsageError, match=r"--data att: AT&T faces not found.*ARCFACE_VIZ_DATA.*--data olivetti"):
            compare._load_real("att", (16, 16))


def test_data_readme_documents_the_paths_the_code_searches_and_the_source_and_terms():
    readme = (Path(__file__).resolve().parents[2] / "data" / "README.md").read_text()
    text = " ".join(readme.split())
    assert f'data_home="data/{real.OLIVETTI_HOME.as_posix()}"' in text
    assert "--data olivetti" in text
    for fact in ("AT&T Laboratories Cambridge", "Samaria", "Harter", "1994", "cam-orl.co.uk", "No formal licence"):
        assert fact in text, fact
