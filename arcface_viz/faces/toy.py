"""Procedural toy faces: identities are fixed trait vectors, images add nuisances on top.

Why procedural faces: they train in seconds on a laptop CPU, their nuisances (pose, lighting,
expression, occluders, blur, noise) are known per image, and nobody's likeness is involved.

Drawing is vectorised over a batch of images with signed-distance shapes (:mod:`.sdf`) rendered
directly at the requested size, so edges are anti-aliased and there are no per-pixel Python loops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sdf import arc, box, coverage, ellipse, paint, segment

#: Bump whenever the drawing changes: the cache key includes it, so old caches are not reused.
GENERATOR_VERSION = 1

TOY_CREDIT = "Toy faces: drawn procedurally by arcface_viz.faces.make_toy_faces (no real person)."

EXPRESSIONS = ("neutral", "smile", "frown", "surprise", "blink")
OCCLUDERS = ("none", "glasses", "sunglasses", "mask", "hand", "box")
HAIR_STYLES = ("buzz", "short", "side part", "long", "bob", "curly", "bun")

_NAMES = (
    "Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lea", "Max",
    "Nia", "Omar", "Pia", "Quin", "Rosa", "Sam", "Tara", "Uma", "Vic", "Wes", "Xia", "Yuri", "Zoe",
)

# Continuous identity traits: name -> (low, high). Units are face units: the image spans [-1, 1]
# along its shorter side, y points down.
_TRAIT_RANGES = {
    "face_w": (0.40, 0.56),  # half width of the face
    "face_h": (0.54, 0.68),  # half height
    "jaw": (0.0, 0.35),  # how much the face narrows towards the chin
    "eye_dx": (0.15, 0.25),  # half the distance between the eyes
    "eye_y": (-0.14, -0.02),
    "eye_w": (0.055, 0.095),  # half width of an eye
    "eye_open": (0.45, 0.75),  # eye height / eye width
    "brow_gap": (0.06, 0.13),  # brow height above the eye
    "brow_thick": (0.018, 0.045),
    "brow_tilt": (-0.06, 0.06),  # outer end up (negative) or down (positive)
    "nose_len": (0.12, 0.26),
    "nose_w": (0.035, 0.085),
    "mouth_y": (0.27, 0.40),
    "mouth_w": (0.11, 0.22),
    "mouth_bend": (-0.02, 0.035),  # resting mouth shape: frown .. smile
    "lip": (0.014, 0.032),
    "skin": (0.52, 0.86),  # grey level of the skin
    "hair": (0.04, 0.42),  # grey level of the hair
    "hairline": (-0.58, -0.36),
    "part": (-0.35, 0.35),  # slope of the fringe
}

# Depth of each feature in front of the head's vertical axis (face units): yaw moves a feature
# sideways by depth * sin(yaw), so the nose moves more than the eyes and the outline barely moves.
_DEPTH = {"outline": 0.05, "hair": 0.0, "eyes": 0.38, "brows": 0.40, "nose": 0.55, "mouth": 0.42}


@dataclass(frozen=True)
class _Traits:
    """Identity traits, one entry per identity (arrays of length C)."""

    values: dict[str, np.ndarray]
    hair_style: np.ndarray
    beard: np.ndarray


def identity_names(n: int) -> list[str]:
    """Friendly names for ``n`` toy identities: Ada, Ben, ..., Zoe, Ada2, ..."""
    return [_NAMES[k % len(_NAMES)] + (str(k // len(_NAMES) + 1) if k >= len(_NAMES) else "") for k in range(n)]


def sample_traits(n_identities: int, rng: np.random.Generator) -> _Traits:
    """Draw identity traits spread over their ranges.

    Each continuous trait is stratified (Latin-hypercube style: one identity per 1/C of the range,
    in a random order per trait), so two identities rarely coincide on many traits at once, but
    neighbouring strata still look alike: identities differ without being trivially separable.
    """
    c = n_identities
    values = {}
    for name, (low, high) in _TRAIT_RANGES.items():
        strata = (rng.permutation(c) + rng.random(c)) / c
        values[name] = (low + (high - low) * strata).astype(np.float32)
    styles = rng.permutation(len(HAIR_STYLES))[np.arange(c) % len(HAIR_STYLES)]
    hair_style = rng.permutation(styles)
    beard = rng.random(c) < 0.25
    return _Traits(values, hair_style, beard)


def sample_nuisances(n: int, nuisance: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-image nuisance parameters for ``n`` images, scaled by ``nuisance`` in [0, 1].

    All draws come from one (n, 21) uniform matrix, row by row, so the first images of an identity
    do not change when more images are requested.
    """
    u = rng.random((n, 21))
    t = np.float32(nuisance)

    def sym(col: int, amplitude: float) -> np.ndarray:  # uniform in [-amplitude, amplitude] * t
        return (t * amplitude * (2.0 * u[:, col] - 1.0)).astype(np.float32)

    azimuth = sym(5, 1.3)
    elevation = sym(6, 0.6) - np.float32(0.15)
    light = np.stack(
        [np.sin(azimuth) * np.cos(elevation), -np.sin(elevation), np.cos(azimuth) * np.cos(elevation)], axis=1
    ).astype(np.float32)
    expressive = u[:, 8] < 0.8 * t
    expression = np.where(expressive, 1 + np.minimum((u[:, 9] * 4).astype(int), 3), 0)
    occluded = u[:, 11] < 0.5 * t
    occluder = np.where(occluded, 1 + np.minimum((u[:, 12] * 5).astype(int), 4), 0)
    return {
        "yaw": sym(0, 0.6),  # radians: +-34 degrees at nuisance 1
        "roll": sym(1, 0.3),
        "scale": 1.0 + sym(2, 0.14),
        "shift_x": sym(3, 0.12),
        "shift_y": sym(4, 0.12),
        "light": light,
        "light_strength": (0.55 + t * 0.25 * u[:, 7]).astype(np.float32),
        "expression": expression,
        "expression_strength": (0.6 + 0.4 * u[:, 10]).astype(np.float32),
        "occluder": occluder,
        "occluder_u": u[:, 13].astype(np.float32),
        "occluder_v": u[:, 14].astype(np.float32),
        "gaze": sym(15, 0.5),
        "background": 0.32 + sym(16, 0.22),
        "background_tilt": sym(20, 0.08),  # left-right gradient of the background
        "exposure": 1.0 + sym(17, 0.2),
        "blur": (t * 1.6 * u[:, 18]).astype(np.float32),  # extra edge width in pixels
        "noise": (0.004 + t * 0.05 * u[:, 19]).astype(np.float32),  # grey-level standard deviation
    }


def render(
    traits: _Traits,
    labels: np.ndarray,
    nz: dict[str, np.ndarray],
    size: tuple[int, int],
    noise: np.ndarray,
) -> np.ndarray:
    """Draw one batch of faces.

    Parameters
    ----------
    traits : identity traits; ``labels`` (n,) picks the identity of each image.
    nz : per-image nuisances from :func:`sample_nuisances` (arrays of length n).
    size : (H, W) in pixels.
    noise : (n, H, W) standard normal draws for the sensor noise.

    Returns
    -------
    numpy.ndarray, shape (n, H, W), float32 in [0, 1].
    """
    h_px, w_px = size
    n = len(labels)

    def per(values: np.ndarray) -> np.ndarray:  # (n,) -> (n, 1, 1) to broadcast over pixels
        return np.asarray(values, dtype=np.float32).reshape(n, 1, 1)

    tr = {name: per(v[labels]) for name, v in traits.values.items()}
    style = traits.hair_style[labels].reshape(n, 1, 1)
    beard = per(traits.beard[labels])

    # Pixel centres in image units: [-1, 1] along the shorter side.
    half = min(h_px, w_px) / 2.0
    gy, gx = np.mgrid[0:h_px, 0:w_px].astype(np.float32)
    ix = (gx + 0.5 - w_px / 2.0) / half
    iy = (gy + 0.5 - h_px / 2.0) / half
    # Image -> face coordinates: undo shift, scale and roll (rotating the whole picture).
    scale = per(nz["scale"])
    cr, sr = per(np.cos(nz["roll"])), per(np.sin(nz["roll"]))
    dx, dy = ix[None] - per(nz["shift_x"]), iy[None] - per(nz["shift_y"])
    x = (cr * dx + sr * dy) / scale
    y = (-sr * dx + cr * dy) / scale
    edge = (1.0 + per(nz["blur"])) / (half * scale)  # one (blurred) pixel in face units

    yaw = per(nz["yaw"])
    cos_yaw, sin_yaw = np.cos(yaw), np.sin(yaw)

    def at(fx, depth: str):  # projected x of a feature at face x ``fx`` (yaw turns the head)
        return fx * cos_yaw + _DEPTH[depth] * sin_yaw

    def cover(d):
        return coverage(d, edge)

    face_cy = np.float32(-0.04)
    fw, fh = tr["face_w"], tr["face_h"]
    skin = tr["skin"]
    hair = tr["hair"]

    # Directional light on a sphere around the head: shade = ambient + strength * max(0, n . l).
    light = nz["light"]
    lx, ly, lz = (per(light[:, i]) for i in range(3))
    nx = (x - at(0.0, "outline")) / (fw * 1.25)
    ny = (y - face_cy) / (fh * 1.2)
    nn = nx * nx + ny * ny
    inv = 1.0 / np.sqrt(np.maximum(nn, 1.0))  # beyond the sphere: keep the outline's normal
    nx, ny = nx * inv, ny * inv
    nzc = np.sqrt(np.maximum(1.0 - nx * nx - ny * ny, 0.0))
    strength = per(nz["light_strength"])
    shade = (1.0 - strength) + strength * np.maximum(nx * lx + ny * ly + nzc * lz, 0.0) * 1.15

    # Background with a gentle gradient, then shoulders and neck.
    img = np.array(np.broadcast_to(per(nz["background"]) + per(nz["background_tilt"]) * ix, x.shape))
    paint(img, cover(ellipse(x, y, 0.0, 1.32, 0.95, 0.52)), 0.22 + 0.5 * hair * 0.3)
    neck_x = at(0.0, "hair")
    paint(img, cover(box(x, y, neck_x, face_cy + fh * 0.9, fw * 0.45, 0.35, 0.05)), skin * 0.8 * shade)

    # Hair behind the head. Each style is a union of simple shapes; masks pick per image.
    hx = at(0.0, "hair")
    cap_a, cap_b = fw + 0.07, fh + 0.05
    cap_cy = face_cy - 0.03
    curly = style == HAIR_STYLES.index("curly")
    volume = np.where(curly, np.float32(0.13), np.float32(0.0))
    angle = np.arctan2(y - cap_cy, x - hx)
    wobble = np.where(curly, 0.025 * np.sin(9.0 * angle), 0.0).astype(np.float32)
    d_cap = ellipse(x, y, hx, cap_cy, cap_a + volume, cap_b + volume) + wobble
    top_only = np.maximum(d_cap, y - (face_cy - 0.05))
    long_d = np.minimum(d_cap, box(x, y, hx, cap_cy + 0.55, cap_a, 0.62, 0.08))
    bob_d = np.minimum(d_cap, box(x, y, hx, cap_cy + 0.25, cap_a, 0.4, 0.12))
    bun_d = np.minimum(top_only, ellipse(x, y, hx, cap_cy - cap_b - 0.05, 0.17, 0.14))
    d_back = np.select(
        [style == HAIR_STYLES.index(s) for s in ("long", "bob", "bun", "curly")],
        [long_d, bob_d, bun_d, np.maximum(d_cap, y - face_cy - 0.2)],
        default=top_only,
    )
    no_back = style == HAIR_STYLES.index("buzz")
    hair_value = np.where(no_back, 0.5 * (hair + skin), hair) * shade
    paint(img, cover(d_back) * np.where(no_back, 0.0, 1.0), hair_value)

    # Ears, then the face: an ellipse whose width shrinks towards the chin by ``jaw``.
    ear_y = tr["eye_y"] + 0.1
    for side in (-1.0, 1.0):
        ear_x = at(side * (fw * 0.97), "outline")
        paint(img, cover(ellipse(x, y, ear_x, ear_y, 0.07, 0.12)), skin * 0.92 * shade)
    fx = at(0.0, "outline")
    below = np.maximum(y - face_cy, 0.0) / fh
    width = fw * (1.0 - tr["jaw"] * below * below)
    d_face = ellipse(x, y, fx, face_cy, width, fh)
    paint(img, cover(d_face), skin * shade)

    # Beard (some identities): hair-coloured lower face, drawn before the mouth.
    mouth_x = at(0.0, "mouth")
    d_beard = np.maximum(d_face + 0.01, tr["mouth_y"] - 0.09 - y)
    paint(img, cover(d_beard) * beard * 0.85, hair * shade)

    # Fringe: the hair cap above a (possibly slanted) hairline.
    part = np.where(style == HAIR_STYLES.index("side part"), tr["part"] * 2.0, tr["part"] * 0.3)
    hairline = tr["hairline"] + np.where(style == HAIR_STYLES.index("bob"), 0.12, 0.0) + part * (x - hx)
    hairline = hairline - np.where(style == HAIR_STYLES.index("buzz"), 0.08, 0.0)
    d_front = np.maximum(ellipse(x, y, hx, cap_cy, cap_a + volume, cap_b + volume) + wobble, y - face_cy - hairline)
    paint(img, cover(d_front), hair_value)

    # Expressions change brows, eyes and mouth.
    expr = nz["expression"].reshape(n, 1, 1)
    amount = per(nz["expression_strength"])
    smile = np.where(expr == EXPRESSIONS.index("smile"), amount, 0.0)
    frown = np.where(expr == EXPRESSIONS.index("frown"), amount, 0.0)
    surprise = np.where(expr == EXPRESSIONS.index("surprise"), amount, 0.0)
    blink = np.where(expr == EXPRESSIONS.index("blink"), amount, 0.0)

    eye_y = face_cy + tr["eye_y"]
    eye_w = tr["eye_w"] * (0.75 + 0.25 * cos_yaw)
    eye_h = tr["eye_w"] * tr["eye_open"] * (1.0 + 0.35 * surprise - 0.85 * blink - 0.2 * smile)
    brow_y = eye_y - tr["eye_w"] * tr["eye_open"] - tr["brow_gap"] - 0.06 * surprise
    feature_dark = np.minimum(hair, skin * 0.45)
    for side in (-1.0, 1.0):
        ex = at(side * tr["eye_dx"], "eyes")
        bx = at(side * tr["eye_dx"], "brows")
        inner_drop = 0.04 * frown
        d_brow = segment(
            x, y,
            bx - side * eye_w * 1.2, brow_y + inner_drop,
            bx + side * eye_w * 1.3, brow_y + tr["brow_tilt"],
            tr["brow_thick"],
        )
        paint(img, cover(d_brow), feature_dark * shade)
        d_white = ellipse(x, y, ex, eye_y, eye_w, eye_h)
        paint(img, cover(d_white), np.minimum(skin + 0.2, 0.95) * shade)
        iris_x = ex + per(nz["gaze"]) * eye_w * 0.5
        d_iris = np.maximum(ellipse(x, y, iris_x, eye_y, eye_w * 0.55, eye_w * 0.55), d_white)
        paint(img, cover(d_iris), 0.08 * shade)
        d_lid = segment(x, y, ex - eye_w, eye_y, ex + eye_w, eye_y, 0.012 + 0.01 * blink)
        paint(img, cover(d_lid) * blink, feature_dark * shade)

    # Nose: a shadowed ridge on the side away from the light, and the nostrils at its tip.
    nose_top = eye_y + 0.03
    nose_tip = nose_top + tr["nose_len"]
    nose_x = at(0.0, "nose")
    ridge_side = np.where(lx > 0, -1.0, 1.0).astype(np.float32)
    d_ridge = segment(x, y, nose_x * 0.7 + ridge_side * 0.02, nose_top, nose_x + ridge_side * tr["nose_w"] * 0.6,
                      nose_tip - 0.02, 0.014)
    paint(img, cover(d_ridge) * 0.6, skin * 0.55 * shade)
    d_nostrils = arc(x, y, nose_x, nose_tip, tr["nose_w"], -0.02, 0.016)
    paint(img, cover(d_nostrils), skin * 0.45 * shade)

    # Mouth: a bent stroke (smile/frown), or an open oval when surprised.
    mouth_y = face_cy + tr["mouth_y"]
    mouth_w = tr["mouth_w"] * (1.0 + 0.2 * smile - 0.25 * surprise) * (0.8 + 0.2 * cos_yaw)
    bend = tr["mouth_bend"] + 0.06 * smile - 0.05 * frown
    d_mouth = arc(x, y, mouth_x, mouth_y - bend * 0.5, mouth_w, bend, tr["lip"])
    d_open = ellipse(x, y, mouth_x, mouth_y, mouth_w * 0.55, 0.03 + 0.06 * surprise)
    d_mouth = np.where(surprise > 0, np.minimum(d_mouth, d_open), d_mouth)
    paint(img, cover(d_mouth), skin * 0.35 * shade)

    _draw_occluders(img, x, y, nz, tr, at, cover, face_cy, eye_y, eye_w, mouth_y, n)

    img *= per(nz["exposure"])
    img += per(nz["noise"]) * noise
    return np.clip(img, 0.0, 1.0)


def _draw_occluders(img, x, y, nz, tr, at, cover, face_cy, eye_y, eye_w, mouth_y, n) -> None:
    """Glasses, sunglasses, a mask, a hand or a box, over the already lit face (in place)."""
    kind = nz["occluder"].reshape(n, 1, 1)
    u = nz["occluder_u"].reshape(n, 1, 1)
    v = nz["occluder_v"].reshape(n, 1, 1)
    is_ = {name: (kind == OCCLUDERS.index(name)).astype(np.float32) for name in OCCLUDERS[1:]}

    # Glasses and sunglasses share the frame geometry.
    lens_a, lens_b = eye_w * 1.8, eye_w * 1.45
    centres = [at(side * tr["eye_dx"], "eyes") for side in (-1.0, 1.0)]
    d_lenses = np.minimum(*(ellipse(x, y, cx, eye_y, lens_a, lens_b) for cx in centres))
    d_bridge = segment(x, y, centres[0] + lens_a, eye_y - 0.02, centres[1] - lens_a, eye_y - 0.02, 0.012)
    d_frame = np.minimum(np.abs(d_lenses) - 0.014, d_bridge)
    paint(img, cover(d_frame) * (is_["glasses"] + is_["sunglasses"]), 0.1)
    paint(img, cover(d_lenses) * is_["sunglasses"], 0.06)

    # Mask: the lower face below the middle of the nose, light cloth with ear loops.
    d_lower = np.maximum(
        ellipse(x, y, at(0.0, "outline"), face_cy + 0.12, tr["face_w"] * 0.92, tr["face_h"] * 0.78),
        (eye_y + 0.12 + 0.05 * v) - y,
    )
    paint(img, cover(d_lower) * is_["mask"], 0.86 + 0.08 * u)

    # Hand: a palm and four fingers coming from below at a random place.
    hand_x = -0.5 + 1.0 * u
    hand_y = mouth_y - 0.05 + 0.25 * v
    tone = 0.5 + 0.35 * v
    d_hand = ellipse(x, y, hand_x, hand_y + 0.2, 0.2, 0.24)
    for k in range(4):
        fx = hand_x - 0.15 + 0.1 * k
        d_hand = np.minimum(d_hand, segment(x, y, fx, hand_y + 0.1, fx + 0.02, hand_y - 0.22 + 0.03 * abs(k - 1.5), 0.045))
    paint(img, cover(d_hand) * is_["hand"], tone)

    # Box: a rounded rectangle covering some part of the face.
    d_box = box(x, y, -0.45 + 0.9 * u, -0.35 + 0.7 * v, 0.18 + 0.1 * v, 0.2 + 0.08 * u, 0.04)
    paint(img, cover(d_box) * is_["box"], 0.15 + 0.7 * u)
