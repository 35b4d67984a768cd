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
GENERATOR_VERSION = 5

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
    "skin": (0.50, 0.88),  # grey level of the skin
    "hair": (0.03, 0.40),  # grey level of the hair
    "hairline": (-0.58, -0.36),
    "part": (-0.35, 0.35),  # slope of the fringe
}

# Depth of each feature in front of the head's vertical axis (face units): yaw moves a feature
# sideways by depth * sin(yaw), so the nose moves more than the eyes and the outline barely moves.
_DEPTH = {"outline": 0.05, "hair": 0.0, "eyes": 0.38, "brows": 0.40, "nose": 0.55, "mouth": 0.42}

FACE_CY = np.float32(-0.04)  # height of the face centre (face units, y down: a little above the middle)


@dataclass(frozen=True)
class _Traits:
    """Identity traits, one entry per identity (arrays of length C)."""

    values: dict[str, np.ndarray]
    hair_style: np.ndarray
    beard: np.ndarray


def identity_names(n: int) -> list[str]:
    """Friendly names for ``n`` toy identities: Ada, Ben, ..., Zoe, Ada2, ...

    Parameters
    ----------
    n : int
        Number of identities.

    Returns
    -------
    list of str
        ``n`` distinct names; after the 26th the names repeat with a suffix 2, 3, ...

    Examples
    --------
    >>> identity_names(3)
    ['Ada', 'Ben', 'Cleo']
    >>> identity_names(28)[-3:]
    ['Zoe', 'Ada2', 'Ben2']
    """
    return [_NAMES[k % len(_NAMES)] + (str(k // len(_NAMES) + 1) if k >= len(_NAMES) else "") for k in range(n)]


def sample_traits(n_identities: int, rng: np.random.Generator) -> _Traits:
    """Draw identity traits spread over their ranges.

    Each continuous trait is stratified (Latin-hypercube style: one identity per 1/C of the range,
    in a random order per trait), so two identities rarely coincide on many traits at once, but
    neighbouring strata still look alike: identities differ without being trivially separable.

    Parameters
    ----------
    n_identities : int
        Number of identities C.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    _Traits
        ``values`` (trait name to float32 array (C,), in face units), ``hair_style`` (int array
        (C,) indexing ``HAIR_STYLES``) and ``beard`` (bool array (C,), about a quarter True).
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


#: The nuisance factors a study can set on their own, and the per-image parameters each one drives
#: (keys of :func:`sample_nuisances`). Framing (scale, shift) and gaze always follow ``nuisance``.
NUISANCE_FACTORS = {
    "lighting": ("light", "light_strength", "exposure", "background", "background_tilt"),
    "pose": ("yaw", "roll"),
    "expression": ("expression", "expression_strength"),
    "occlusion": ("occluder", "occluder_u", "occluder_v"),
    "blur": ("blur",),
    "noise": ("noise",),
}


def sample_nuisances(n: int, nuisance: float, rng: np.random.Generator,
                     levels: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Per-image nuisance parameters for ``n`` images, scaled by ``nuisance`` in [0, 1].

    All draws come from one (n, 21) uniform matrix, row by row, so the first images of an identity
    do not change when more images are requested. ``levels`` maps factors of :data:`NUISANCE_FACTORS`
    to their own level in [0, 1] instead of ``nuisance``: the same uniform draws, scaled by that level,
    so two calls that differ in one factor's level give images that differ in that factor only.

    Parameters
    ----------
    n : int
        Number of images.
    nuisance : float
        Strength in [0, 1]: pose and expression grow linearly with it, light, exposure,
        background, blur, noise and the share of occluded images with its square.
    rng : numpy.random.Generator
        Source of the draws.
    levels : dict of str to float, optional
        Factor name (a key of ``NUISANCE_FACTORS``) to its own level in [0, 1].

    Returns
    -------
    dict of str to numpy.ndarray
        Arrays of length n (``light``: (n, 3) unit vectors): ``yaw`` and ``roll`` in radians,
        ``scale``, ``shift_x``, ``shift_y`` (half image widths), ``light``, ``light_strength``,
        ``expression`` and ``occluder`` (int indices into ``EXPRESSIONS`` and ``OCCLUDERS``),
        ``expression_strength``, ``occluder_u``, ``occluder_v``, ``gaze``, ``background``,
        ``background_tilt``, ``exposure``, ``blur`` (pixels) and ``noise`` (grey-level std).
    """
    u = rng.random((n, 21))
    values = _nuisances_from_uniforms(u, nuisance)
    for factor, level in (levels or {}).items():
        own = _nuisances_from_uniforms(u, level)
        values.update({key: own[key] for key in NUISANCE_FACTORS[factor]})
    return values


def _nuisances_from_uniforms(u: np.ndarray, nuisance: float) -> dict[str, np.ndarray]:
    """The nuisance parameters of :func:`sample_nuisances` from its (n, 21) uniform draws at one level."""
    t = np.float32(nuisance)
    # Photometric nuisances and occluders grow faster than linearly: at the default 0.5 the set is
    # learnable by a small CNN with a 2-D embedding, at 1 it is hard.
    t_photo = t * t

    def sym(col: int, amplitude: float, level: np.float32 = t) -> np.ndarray:  # uniform, +-amplitude * level
        return (level * amplitude * (2.0 * u[:, col] - 1.0)).astype(np.float32)

    azimuth = sym(5, 1.3, t_photo)
    elevation = sym(6, 0.6, t_photo) - np.float32(0.15)
    light = np.stack(
        [np.sin(azimuth) * np.cos(elevation), -np.sin(elevation), np.cos(azimuth) * np.cos(elevation)], axis=1
    ).astype(np.float32)
    expressive = u[:, 8] < 0.6 * t
    expression = np.where(expressive, 1 + np.minimum((u[:, 9] * 4).astype(int), 3), 0)
    occluded = u[:, 11] < 0.45 * t * t  # 11 % of the images at nuisance 0.5, 45 % at 1
    occluder = np.where(occluded, 1 + np.minimum((u[:, 12] * 5).astype(int), 4), 0)
    return {
        "yaw": sym(0, 0.6),  # radians: +-34 degrees at nuisance 1
        "roll": sym(1, 0.3),
        "scale": 1.0 + sym(2, 0.14),
        "shift_x": sym(3, 0.12),
        "shift_y": sym(4, 0.12),
        "light": light,
        "light_strength": (0.55 + t_photo * 0.25 * u[:, 7]).astype(np.float32),
        "expression": expression,
        "expression_strength": (0.6 + 0.4 * u[:, 10]).astype(np.float32),
        "occluder": occluder,
        "occluder_u": u[:, 13].astype(np.float32),
        "occluder_v": u[:, 14].astype(np.float32),
        "gaze": sym(15, 0.5),
        "background": 0.32 + sym(16, 0.22, t_photo),
        "background_tilt": sym(20, 0.08, t_photo),  # left-right gradient of the background
        "exposure": 1.0 + sym(17, 0.2, t_photo),
        "blur": (t_photo * 1.6 * u[:, 18]).astype(np.float32),  # extra edge width in pixels
        "noise": (0.004 + t_photo * 0.05 * u[:, 19]).astype(np.float32),  # grey-level standard deviation
    }


def render(
    traits: _Traits,
    identity: int,
    nz: dict[str, np.ndarray],
    size: tuple[int, int],
    noise: np.ndarray,
) -> np.ndarray:
    """Draw a batch of faces of one identity.

    Parameters
    ----------
    traits : _Traits
        Identity traits from :func:`sample_traits`.
    identity : int
        Which identity of ``traits`` to draw.
    nz : dict of str to numpy.ndarray
        Per-image nuisances from :func:`sample_nuisances` (arrays of length n).
    size : tuple of int
        ``(H, W)`` in pixels.
    noise : numpy.ndarray, shape (n, H, W), float32
        Standard normal draws for the sensor noise.

    Returns
    -------
    numpy.ndarray, shape (n, H, W), float32
        Grey levels in [0, 1].
    """
    h_px, w_px = size
    n = len(nz["yaw"])
    tr = {name: np.float32(v[identity]) for name, v in traits.values.items()}
    style = HAIR_STYLES[int(traits.hair_style[identity])]

    def per(values: np.ndarray) -> np.ndarray:  # (n,) -> (n, 1, 1) to broadcast over pixels
        return np.asarray(values, dtype=np.float32).reshape(n, 1, 1)

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
    y = (cr * dy - sr * dx) / scale
    g = {  # per-image geometry: (n, 1, 1) arrays, or (n, H, W) maps
        "edge": (1.0 + per(nz["blur"])) / (half * scale),  # one (blurred) pixel in face units
        "cos_yaw": np.cos(per(nz["yaw"])),
        "sin_yaw": np.sin(per(nz["yaw"])),
        "gaze": per(nz["gaze"]),
        "amount": per(nz["expression_strength"]),
        "occ_u": per(nz["occluder_u"]),
        "occ_v": per(nz["occluder_v"]),
    }
    expr = nz["expression"]
    for name in EXPRESSIONS[1:]:
        g[name] = np.where(per(expr) == EXPRESSIONS.index(name), g["amount"], np.float32(0.0))
    # Yaw turns the head: a feature at depth z in front of the neck axis moves by z * sin(yaw).
    for part, depth in _DEPTH.items():
        g["x_" + part] = np.float32(depth) * g["sin_yaw"]
    g["eye_dx"] = tr["eye_dx"] * g["cos_yaw"]
    g["eye_w"] = tr["eye_w"] * (0.75 + 0.25 * g["cos_yaw"])
    g["eye_y"] = FACE_CY + tr["eye_y"]
    g["mouth_w"] = tr["mouth_w"] * (1.0 + 0.2 * g["smile"] - 0.25 * g["surprise"]) * (0.8 + 0.2 * g["cos_yaw"])
    g["ridge_side"] = np.where(per(nz["light"][:, 0]) > 0, np.float32(-1.0), np.float32(1.0))  # nose shadow side
    g["shade"] = _shading(x, y, g, tr, nz["light"], per(nz["light_strength"]))

    img = np.array(np.broadcast_to(per(nz["background"]) + per(nz["background_tilt"]) * ix, x.shape))
    _draw_head(img, x, y, g, tr, style, bool(traits.beard[identity]))
    # Expression- and occluder-specific shapes are drawn only on the images that have them.
    for name, draw in (("surprise", _draw_open_mouth), ("blink", _draw_closed_eyes)):
        _on_subset(img, x, y, g, tr, expr == EXPRESSIONS.index(name), draw)
    for name, draw in _OCCLUDER_DRAWERS.items():
        _on_subset(img, x, y, g, tr, nz["occluder"] == OCCLUDERS.index(name), draw)
    img *= per(nz["exposure"])
    img += per(nz["noise"]) * noise
    return np.clip(img, 0.0, 1.0)


def _on_subset(img, x, y, g, tr, mask: np.ndarray, draw) -> None:
    """Run ``draw`` on the images selected by ``mask`` only (in place)."""
    if not mask.any():
        return
    sel = np.flatnonzero(mask)
    sub = img[sel]
    draw(sub, x[sel], y[sel], {k: v[sel] if v.ndim == 3 else v for k, v in g.items()}, tr)
    img[sel] = sub


def _shading(x, y, g, tr, light: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Directional light on a sphere around the head: ambient + strength * max(0, normal . light)."""
    n = len(light)
    lx, ly, lz = (light[:, i].reshape(n, 1, 1) for i in range(3))
    nx = (x - g["x_outline"]) / (tr["face_w"] * 1.25)
    ny = (y - FACE_CY) / (tr["face_h"] * 1.2)
    inv = 1.0 / np.sqrt(np.maximum(nx * nx + ny * ny, 1.0))  # beyond the sphere keep the rim normal
    nx *= inv
    ny *= inv
    nz = np.sqrt(np.maximum(1.0 - nx * nx - ny * ny, 0.0))
    return (1.0 - strength) + strength * 1.15 * np.maximum(nx * lx + ny * ly + nz * lz, 0.0)


def _draw_head(img, x, y, g, tr, style: str, beard: bool) -> None:
    """Shoulders, neck, hair, ears, face, beard, fringe, brows, eyes, nose and mouth (in place)."""
    edge, shade = g["edge"], g["shade"]
    fw, fh, skin, hair = tr["face_w"], tr["face_h"], tr["skin"], tr["hair"]
    paint(img, coverage(ellipse(x, y, 0.0, 1.32, 0.95, 0.52), edge), 0.2 + 0.15 * hair)
    hx = g["x_hair"]
    paint(img, coverage(box(x, y, hx, FACE_CY + fh * 0.9, fw * 0.45, 0.35, 0.05), edge), skin * 0.8 * shade)

    # Hair behind the head: the cap, extended per style.
    volume = 0.13 if style == "curly" else 0.0
    cap_a, cap_b, cap_cy = fw + 0.07 + volume, fh + 0.05 + volume, FACE_CY - 0.03
    d_cap = ellipse(x, y, hx, cap_cy, cap_a, cap_b)
    if style == "curly":
        d_cap += 0.025 * np.sin(9.0 * np.arctan2(y - cap_cy, x - hx))
    hair_value = (0.5 * (hair + skin) if style == "buzz" else hair) * shade
    if style != "buzz":
        if style == "long":
            d_back = np.minimum(d_cap, box(x, y, hx, cap_cy + 0.55, cap_a, 0.62, 0.08))
        elif style == "bob":
            d_back = np.minimum(d_cap, box(x, y, hx, cap_cy + 0.25, cap_a, 0.4, 0.12))
        elif style == "curly":
            d_back = np.maximum(d_cap, y - FACE_CY - 0.2)
        else:
            d_back = np.maximum(d_cap, y - FACE_CY + 0.05)
            if style == "bun":
                d_back = np.minimum(d_back, ellipse(x, y, hx, cap_cy - cap_b - 0.05, 0.17, 0.14))
        paint(img, coverage(d_back, edge), hair_value)

    # Ears (mirrored about the face's centre line), then the face: an ellipse narrowing to the chin.
    mirrored = np.abs(x - g["x_outline"])
    paint(img, coverage(ellipse(mirrored, y, fw * 0.97 * g["cos_yaw"], g["eye_y"] + 0.1, 0.07, 0.12), edge),
          skin * 0.92 * shade)
    below = np.maximum(y - FACE_CY, 0.0) / fh
    d_face = ellipse(x, y, g["x_outline"], FACE_CY, fw * (1.0 - tr["jaw"] * below * below), fh)
    paint(img, coverage(d_face, edge), skin * shade)
    if beard:
        paint(img, 0.85 * coverage(np.maximum(d_face + 0.01, FACE_CY + tr["mouth_y"] - 0.09 - y), edge), hair * shade)

    # Fringe: the cap above a hairline, slanted for a side part, low for a bob, high for a buzz cut.
    slope = tr["part"] * (2.0 if style == "side part" else 0.3)
    hairline = tr["hairline"] + {"bob": 0.12, "buzz": -0.08}.get(style, 0.0) + slope * (x - hx)
    paint(img, coverage(np.maximum(d_cap, y - FACE_CY - hairline), edge), hair_value)

    # Eyes and brows, both sides at once in mirrored coordinates about the eyes' centre line.
    side = np.sign(x - g["x_eyes"])
    mirrored = np.abs(x - g["x_eyes"])
    eye_dx, eye_w, eye_y = g["eye_dx"], g["eye_w"], g["eye_y"]
    eye_h = tr["eye_w"] * tr["eye_open"] * (1.0 + 0.35 * g["surprise"] - 0.85 * g["blink"] - 0.2 * g["smile"])
    dark = min(hair, skin * 0.45)
    brow_y = eye_y - tr["eye_w"] * tr["eye_open"] - tr["brow_gap"] - 0.06 * g["surprise"]
    brow_x = eye_dx + g["x_brows"] - g["x_eyes"]
    d_brow = segment(mirrored, y, brow_x - eye_w * 1.2, brow_y + 0.04 * g["frown"],
                     brow_x + eye_w * 1.3, brow_y + tr["brow_tilt"], tr["brow_thick"])
    paint(img, coverage(d_brow, edge), dark * shade)
    d_white = ellipse(mirrored, y, eye_dx, eye_y, eye_w, eye_h)
    paint(img, coverage(d_white, edge), min(skin + 0.2, 0.95) * shade)
    iris_x = eye_dx + side * g["gaze"] * eye_w * 0.5  # both eyes look the same way
    d_iris = np.hypot(mirrored - iris_x, y - eye_y) - eye_w * 0.55
    paint(img, coverage(np.maximum(d_iris, d_white), edge), 0.08 * shade)

    # Nose: a shadowed ridge on the side away from the light, and the nostrils at its tip.
    nose_top = eye_y + 0.03
    nose_tip = nose_top + tr["nose_len"]
    nose_x = g["x_nose"]
    away = g["ridge_side"]
    d_ridge = segment(x, y, nose_x * 0.7 + away * 0.02, nose_top, nose_x + away * tr["nose_w"] * 0.6,
                      nose_tip - 0.02, 0.014)
    paint(img, 0.6 * coverage(d_ridge, edge), skin * 0.55 * shade)
    paint(img, coverage(arc(x, y, nose_x, nose_tip, tr["nose_w"], -0.02, 0.016), edge), skin * 0.45 * shade)

    # Mouth: a stroke bent by the resting shape, a smile or a frown.
    bend = tr["mouth_bend"] + 0.06 * g["smile"] - 0.05 * g["frown"]
    d_mouth = arc(x, y, g["x_mouth"], FACE_CY + tr["mouth_y"] - bend * 0.5, g["mouth_w"], bend, tr["lip"])
    paint(img, coverage(d_mouth, edge), skin * 0.35 * shade)


def _draw_open_mouth(img, x, y, g, tr) -> None:
    d_open = ellipse(x, y, g["x_mouth"], FACE_CY + tr["mouth_y"], g["mouth_w"] * 0.55, 0.03 + 0.06 * g["surprise"])
    paint(img, coverage(d_open, g["edge"]), tr["skin"] * 0.3 * g["shade"])


def _draw_closed_eyes(img, x, y, g, tr) -> None:
    mirrored = np.abs(x - g["x_eyes"])
    d_lid = segment(mirrored, y, g["eye_dx"] - g["eye_w"], g["eye_y"], g["eye_dx"] + g["eye_w"], g["eye_y"],
                    0.012 + 0.01 * g["blink"])
    paint(img, coverage(d_lid, g["edge"]), min(tr["hair"], tr["skin"] * 0.45) * g["shade"])


def _lenses(x, y, g):
    mirrored = np.abs(x - g["x_eyes"])
    a, b = g["eye_w"] * 1.8, g["eye_w"] * 1.45
    d_lens = ellipse(mirrored, y, g["eye_dx"], g["eye_y"], a, b)
    d_bridge = box(mirrored, y, 0.0, g["eye_y"] - 0.02, np.maximum(g["eye_dx"] - a, 0.0) + 0.01, 0.012)
    return d_lens, np.minimum(np.abs(d_lens) - 0.014, d_bridge)


def _draw_glasses(img, x, y, g, tr) -> None:
    paint(img, coverage(_lenses(x, y, g)[1], g["edge"]), 0.1)


def _draw_sunglasses(img, x, y, g, tr) -> None:
    d_lens, d_frame = _lenses(x, y, g)
    paint(img, coverage(np.minimum(d_lens, d_frame), g["edge"]), 0.06)


def _draw_mask(img, x, y, g, tr) -> None:
    """Cloth over the lower face, from the middle of the nose down."""
    d_lower = np.maximum(
        ellipse(x, y, g["x_outline"], FACE_CY + 0.12, tr["face_w"] * 0.92, tr["face_h"] * 0.78),
        g["eye_y"] + 0.12 + 0.05 * g["occ_v"] - y,
    )
    paint(img, coverage(d_lower, g["edge"]), 0.86 + 0.08 * g["occ_u"])


def _draw_hand(img, x, y, g, tr) -> None:
    """A palm and four fingers raised from below at a random place."""
    u, v = g["occ_u"], g["occ_v"]
    hand_x = -0.5 + u
    hand_y = FACE_CY + tr["mouth_y"] - 0.05 + 0.25 * v
    d_hand = ellipse(x, y, hand_x, hand_y + 0.2, 0.2, 0.24)
    for k in range(4):
        fx = hand_x - 0.15 + 0.1 * k
        tip_y = hand_y - 0.22 + 0.03 * abs(k - 1.5)
        d_hand = np.minimum(d_hand, segment(x, y, fx, hand_y + 0.1, fx + 0.02, tip_y, 0.045))
    paint(img, coverage(d_hand, g["edge"]), 0.5 + 0.35 * v)


def _draw_box(img, x, y, g, tr) -> None:
    """A rounded rectangle of random grey covering some part of the face."""
    u, v = g["occ_u"], g["occ_v"]
    d_box = box(x, y, -0.45 + 0.9 * u, -0.35 + 0.7 * v, 0.18 + 0.1 * v, 0.2 + 0.08 * u, 0.04)
    paint(img, coverage(d_box, g["edge"]), 0.15 + 0.7 * u)


_OCCLUDER_DRAWERS = {
    "glasses": _draw_glasses,
    "sunglasses": _draw_sunglasses,
    "mask": _draw_mask,
    "hand": _draw_hand,
    "box": _draw_box,
}
