"""``make_toy_faces``: seeded generation of the toy face set, cached on disk."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real, check_size
from .dataset import FaceDataset
from .toy import (
    EXPRESSIONS,
    GENERATOR_VERSION,
    HAIR_STYLES,
    NUISANCE_FACTORS,
    OCCLUDERS,
    TOY_CREDIT,
    identity_names,
    render,
    sample_nuisances,
    sample_traits,
)

_CHUNK = 64  # images drawn at once: keeps the (chunk, H, W) temporaries in the CPU cache

#: Largest toy set make_toy_faces builds, in bytes of float32 images (~500,000 at 64x64): a typo
#: such as 10**6 images per identity gets a clear error instead of hours of drawing and MemoryError.
MAX_BYTES = 8 * 2**30


def cache_dir() -> Path:
    """Folder of the toy-face cache: ``$ARCFACE_VIZ_CACHE`` or ``<repository>/data/cache``.

    Returns
    -------
    pathlib.Path
        The folder (``~`` expanded); it may not exist yet, :func:`make_toy_faces` creates it.
    """
    override = os.environ.get("ARCFACE_VIZ_CACHE")
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "data" / "cache"


def _generate(n_identities: int, per_identity: int, size: tuple[int, int], nuisance: float, seed: int,
              levels: dict[str, float] | None = None):
    """Draw the images as uint8 (N, H, W), labels (N,), names and per-image meta."""
    traits = sample_traits(n_identities, np.random.default_rng([seed, 0]))
    images = np.empty((n_identities * per_identity, *size), dtype=np.uint8)
    labels = np.repeat(np.arange(n_identities, dtype=np.int64), per_identity)
    meta: list[dict[str, Any]] = []
    for k in range(n_identities):
        # One stream per identity and purpose: identity k's images do not depend on how many
        # identities are drawn, and the first images do not depend on how many per identity.
        nuisances = sample_nuisances(per_identity, nuisance, np.random.default_rng([seed, 1, k]), levels)
        noise = np.random.default_rng([seed, 2, k]).standard_normal((per_identity, *size), dtype=np.float32)
        for start in range(0, per_identity, _CHUNK):
            part = slice(start, min(start + _CHUNK, per_identity))
            chunk = {name: values[part] for name, values in nuisances.items()}
            drawn = render(traits, k, chunk, size, noise[part])
            images[k * per_identity + part.start : k * per_identity + part.stop] = np.rint(drawn * 255.0)
        meta.extend(_meta_rows(nuisances, per_identity, traits, k))
    return images, labels, identity_names(n_identities), meta


def _meta_rows(nz: dict[str, np.ndarray], n: int, traits, k: int) -> list[dict[str, Any]]:
    """One JSON-friendly dict per image (angles in radians, shifts in half image widths).

    Values are rounded to 6 decimals: enough to describe an image, and it keeps the cache small.
    """
    style = HAIR_STYLES[int(traits.hair_style[k])]
    rows = []
    for i in range(n):
        rows.append(
            {
                "yaw": _round(nz["yaw"][i]),
                "roll": _round(nz["roll"][i]),
                "scale": _round(nz["scale"][i]),
                "shift": [_round(nz["shift_x"][i]), _round(nz["shift_y"][i])],
                "light": [_round(c) for c in nz["light"][i]],
                "expression": EXPRESSIONS[int(nz["expression"][i])],
                "occluder": OCCLUDERS[int(nz["occluder"][i])],
                "gaze": _round(nz["gaze"][i]),
                "exposure": _round(nz["exposure"][i]),
                "background": _round(nz["background"][i]),
                "blur": _round(nz["blur"][i]),
                "noise": _round(nz["noise"][i]),
                "hair_style": style,
            }
        )
    return rows


def _round(value) -> float:
    return round(float(value), 6)


def _checksum(images: np.ndarray, labels: np.ndarray, header: str) -> str:
    digest = hashlib.sha256(header.encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def _read_cache(path: Path, key: str):
    """Return the cached arrays, or None when the file is missing, corrupt or for other arguments."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            header = str(stored["header"])
            images, labels = stored["images"], stored["labels"]
            checksum = str(stored["checksum"])
        info = json.loads(header)
        if info["key"] != key or checksum != _checksum(images, labels, header):
            raise ValueError("key or checksum mismatch")
        return images, labels, info["identities"], info["meta"]
    except Exception as error:  # noqa: BLE001 -- any unreadable cache is rebuilt, never trusted
        warnings.warn(f"toy-face cache {path} is unusable ({error}); rebuilding it", stacklevel=3)
        return None


def _write_cache(path: Path, key: str, images, labels, identities, meta) -> None:
    """Write atomically (temporary file + os.replace) so a crash never leaves half a cache."""
    header = json.dumps({"key": key, "identities": identities, "meta": meta})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, images=images, labels=labels, header=np.array(header),
                         checksum=np.array(_checksum(images, labels, header)))
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is as readable as any data file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        warnings.warn(f"could not write the toy-face cache in {path.parent} ({error}); "
                      "set ARCFACE_VIZ_CACHE to a writable folder", stacklevel=3)


def make_toy_faces(
    n_identities: int = 8,
    images_per_identity: int = 200,
    size: int | tuple[int, int] = 32,
    nuisance: float = 0.5,
    seed: int = 0,
    cache: bool = True,
    levels: dict[str, float] | None = None,
) -> FaceDataset:
    """Procedural grey toy faces: ``n_identities`` fixed trait sets, each seen under nuisances.

    An identity is a fixed set of traits (face width, height and jaw, eye spacing, size and
    openness, brows, nose, mouth, hair style and darkness, skin tone, beard). Every image adds
    nuisances whose range grows with ``nuisance``: yaw (up to +-34 deg at 1) and roll (+-17 deg),
    scale and shift, directional lighting, exposure, background, expression (smile, frown,
    surprise, blink), occluders (glasses, sunglasses, mask, hand, box), blur and sensor noise.
    ``nuisance=0`` gives near-identical images of an identity; ``nuisance=1`` hard ones. Pose and
    expression grow linearly with ``nuisance``, light, exposure, background, blur and noise as
    ``nuisance**2``, and the share of occluded images as ``0.45 * nuisance**2`` (11 % at the
    default 0.5), so that the default trains to >= 95 % held-out accuracy with 2-D embeddings.

    Parameters
    ----------
    n_identities : int, >= 1
        Number of identities C.
    images_per_identity : int, >= 1
        Images drawn of each identity.
    size : int or (H, W), pixels, >= 8
        Faces are drawn at this size directly (anti-aliased), not resized.
    nuisance : float in [0, 1]
        Strength of pose, light, expression and occlusion (0: none, 1: hard).
    seed : int, >= 0
        Same arguments and seed give bit-identical images.
    cache : bool
        Read/write ``<cache_dir()>/toyfaces-v<version>-<hash>.npz``, keyed by every argument and the
        generator version, with a checksum; a corrupt or stale file is rebuilt (with a warning).
    levels : dict, optional
        Factors of :data:`~arcface_viz.faces.toy.NUISANCE_FACTORS` ("lighting", "pose", "expression",
        "occlusion", "blur", "noise") mapped to their own level in [0, 1] instead of ``nuisance``.
        The other draws do not change: the same seed with another level of one factor gives the same
        people in the same poses, light, expressions, ... except that factor (a controlled sweep).

    Returns
    -------
    FaceDataset
        Images float32 (N, 1, H, W) in [0, 1] (multiples of 1/255), labels int64 (N,) grouped by
        identity (N = n_identities * images_per_identity), identities (names), meta per image:
        yaw, roll (radians), scale, shift, light (unit vector, x right, y down, z to the viewer),
        expression, occluder, gaze (fraction of half an eye), exposure (gain), background (grey),
        blur (extra edge width in pixels), noise (grey-level std), hair_style (of the identity).

    Raises
    ------
    TypeError, ValueError
        On non-integer counts or sizes, counts < 1, size < 8, nuisance outside [0, 1], seed < 0,
        ``cache`` not a bool, or images that would take more than ``MAX_BYTES`` as float32.

    Examples
    --------
    >>> toy = make_toy_faces(n_identities=2, images_per_identity=3, size=16, seed=0, cache=False)
    >>> toy
    FaceDataset(6 images of 16x16, 2 identities, credit='Toy faces: ...')
    >>> toy.labels.tolist(), toy.identities
    ([0, 0, 0, 1, 1, 1], ['Ada', 'Ben'])
    """
    n_identities = check_int("n_identities", n_identities, minimum=1, fix="pass how many people to draw")
    images_per_identity = check_int("images_per_identity", images_per_identity, minimum=1,
                                    fix="pass how many images of each person")
    size_hw = check_size("size", size, minimum=8)
    seed = check_int("seed", seed, minimum=0, fix="pass a seed >= 0")
    nuisance = check_real("nuisance", nuisance, low=0.0, high=1.0,
                          fix="pass the strength of pose, light and occlusion, 0 (none) to 1")
    check_bool("cache", cache)  # bool("no") is True: a string would silently cache
    levels = _check_levels(levels)
    n_bytes = 4 * n_identities * images_per_identity * size_hw[0] * size_hw[1]  # the float32 images
    if n_bytes > MAX_BYTES:
        raise ValueError(
            f"{n_identities} x {images_per_identity} images of {size_hw[0]}x{size_hw[1]} would take "
            f"{n_bytes / 2**30:.1f} GiB as float32 (limit {MAX_BYTES / 2**30:.0f} GiB): use fewer identities or "
            "images per identity, or a smaller size"
        )

    key = json.dumps(
        {"version": GENERATOR_VERSION, "n_identities": n_identities, "images_per_identity": images_per_identity,
         "size": list(size_hw), "nuisance": repr(nuisance), "seed": seed,
         **({"levels": {k: repr(v) for k, v in levels.items()}} if levels else {})},
        sort_keys=True,
    )
    path = cache_dir() / f"toyfaces-v{GENERATOR_VERSION}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    stored = _read_cache(path, key) if cache else None
    if stored is None:
        stored = _generate(n_identities, images_per_identity, size_hw, nuisance, seed, levels)
        if cache:
            _write_cache(path, key, *stored)
    images, labels, identities, meta = stored
    pixels = images.astype(np.float32)[:, None] / np.float32(255.0)
    return FaceDataset(pixels, labels.astype(np.int64), list(identities), list(meta), TOY_CREDIT)


def _check_levels(levels) -> dict[str, float]:
    """``levels`` as {factor: level in [0, 1]} with known factor names (None: no factor of its own)."""
    if levels is None:
        return {}
    if not isinstance(levels, dict):
        raise TypeError(f"levels={levels!r}: expected a dict such as {{'blur': 1.0}}; pass factor names and levels")
    checked = {}
    for factor, level in levels.items():
        factor = check_choice("levels key", factor, NUISANCE_FACTORS)
        checked[factor] = check_real(f"levels[{factor!r}]", level, low=0.0, high=1.0,
                                     fix="pass the factor's strength, 0 (none) to 1")
    return checked
