"""Classification heads from softmax to ArcFace, and the pure function behind them.

All margin heads share one formula (InsightFace's combined margin, angles in radians). With unit
embedding x, unit class centres W_j and cos θ_j = W_j·x, for target class y:

    target logit  = s·(cos(m1·θ_y + m2) − m3)
    other logits  = s·cos θ_j

===========  ======  =====  =====  ==============================================
head          m1      m2     m3     source
===========  ======  =====  =====  ==============================================
normface      1       0      0      Wang et al., "NormFace", ACM MM 2017
sphereface    >1      0      0      Liu et al., "SphereFace", CVPR 2017 (combined form)
cosface       1       0      >0     Wang et al., "CosFace", CVPR 2018, eq. 4
arcface       1       >0     0      Deng et al., "ArcFace", CVPR 2019, eq. 3
combined      any     any    any    Deng et al. 2019, eq. 4 (InsightFace combined margin)
subcenter     1       >0     0      Deng et al., "Sub-center ArcFace", ECCV 2020
adaface       1       −m·ẑ   m·ẑ+m  Kim et al., "AdaFace", CVPR 2022, eqs. 16-19
===========  ======  =====  =====  ==============================================

AdaFace's margins differ per sample: ẑ in [−1, 1] is the sample's feature norm ‖z‖ standardised by
running batch statistics (low norm, low quality: ẑ → −1, ArcFace's cos(θ + m); average: ẑ = 0,
CosFace's cos θ − m; high: ẑ → 1, cos(θ − m) − 2m). The heads receive the raw, unnormalised
embeddings of the backbone, so AdaFace reads ‖z‖ from its own input.

Numerics (each point is a unit test):

- The margin is computed on the target column only: B target cosines read back from the
  (B, C) product, their B margin values written in place at (row, label); never trigonometry
  over the whole (B, C) matrix, and no (B, C) copy in the backward pass. The heads with one centre
  per class normalise, multiply and add the margin in a single autograd node whose backward is
  written out: the linear layer's two matrix products, an O(B·D) correction for the target
  entries and the two normalisations' projections.
- cos(θ + m2) = cos θ·cos m2 − sin θ·sin m2 with sin θ = sqrt((1 − cos θ)(1 + cos θ)), no acos;
  the factor that is small near |cos θ| = 1 is exact (Sterbenz), so float32 keeps full precision.
  The derivative sin(θ + m2)/sin θ is computed analytically (no autograd through sqrt) with sin θ
  floored at SIN_FLOOR, so the gradient stays finite when an embedding lies on (or opposite) its
  class centre, where the true derivative of sqrt or acos is infinite. For m1 ≠ 1 the angle is
  atan2(sin θ, cos θ) and the derivative m1·sin(m1·θ + m2)/sin θ shares that floor.
- Logits and margin are float32 (float64 when the inputs are float64); float16/bfloat16 inputs
  are upcast, as their spacing near 1 (~1e-3) would swallow any clamp near |cos θ| = 1. Their
  gradient goes back in their own dtype, so for half-precision cosines sin θ is floored at their
  closest cosine below 1 (2^-5 for float16) and float16 takes s·(32·m1 + 1) <= 65504.
- Monotone fallback: cos(m1·θ + m2) rises again once m1·θ + m2 > π. Past that angle
  θ_t = (π − m2)/m1 the target becomes cos θ − m3 − δ with δ = max(u·sin θ_t, 1 + cos θ_t) and
  u = π − θ_t the total angular margin there. For ArcFace u = m2 and θ_t = π − m2, so
  δ = m2·sin m2: the fallback of InsightFace's older code and of pytorch-metric-learning's
  ``ArcFaceLoss`` (since v1.7.0, October 2022, "keep cost function monotonically decreasing"). The max
  guarantees the fallback starts at or below the value −1 − m3 reached at θ_t, so the target logit
  is non-increasing over the whole of [0, π] for every allowed margin. It is monotone but not
  continuous: δ = m2·sin m2, the first-order size of the angular margin at θ_t, exceeds the exact
  drop 1 − cos m2 there, so the target jumps down at θ_t (m2 = 0.5: from −1 to −1.117, times s).
"""
from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from ._validation import (check_angles, check_bool, check_choice, check_head_parameters, check_int, check_labels,
                          check_cosines, check_logit_range, check_margin, check_margins, check_real, check_scale,
                          message)
from .losses import LOSS_NAMES, LOSSES, S_RANGE

__all__ = [
    "HEAD_NAMES",
    "SIN_FLOOR",
    "S_RANGE",
    "margin_logits",
    "target_logit",
    "SoftmaxHead",
    "NormFaceHead",
    "SphereFaceHead",
    "CosFaceHead",
    "ArcFaceHead",
    "CombinedMarginHead",
    "SubCenterArcFaceHead",
    "AdaFaceHead",
    "head_class",
    "make_head",
]

#: Floor on sin θ where the derivative divides by it: the slope of the target logit with respect
#: to cos θ is at most ~1/SIN_FLOOR, and differs from the true one only for θ < 1e-4 rad, which
#: float32 cannot resolve anyway (its closest cosine below 1 is cos 3.5e-4).
SIN_FLOOR = 1e-4


# --------------------------------------------------------------------------- registry
#: The heads' names: the registry's, in its order (arcface_viz.losses).
HEAD_NAMES = LOSS_NAMES


def _sin_floor(dtype: torch.dtype) -> float:
    """The floor on sin θ for cosines given in ``dtype``.

    SIN_FLOOR for float32/float64. For float16 and bfloat16, the sin θ of their closest cosine below 1
    (2^-5 and ~0.088): every cosine they can hold other than ±1 has a larger sin θ, so the floor
    changes the slope only at cos θ = ±1 exactly, and there keeps it small enough for float16.
    """
    if dtype in (torch.float16, torch.bfloat16):
        below_one = 1.0 - torch.finfo(dtype).eps / 2
        return math.sqrt((1.0 - below_one) * (1.0 + below_one))
    return SIN_FLOOR


def _float16_scale_limit(m1: float) -> float:
    """Largest s for which float16 cosines get a finite gradient (upstream gradient of size <= 1).

    The slope of the target logit in cos θ is at most s·(m1/sin θ + 1) (the + 1: cos θ·sin m2/sin θ +
    cos m2 can exceed 1/sin θ by up to 1), with sin θ >= 2^-5 in float16, and must stay <= 65504.
    """
    return float(torch.finfo(torch.float16).max) / (m1 / _sin_floor(torch.float16) + 1.0)


#: F.normalize's default: the heads' own normalisation clamps norms at the same value.
_NORM_EPS = 1e-12

_NORMFACE, _SPHEREFACE, _COSFACE, _ARCFACE, _COMBINED, _SUBCENTER = (
    LOSSES[name] for name in ("normface", "sphereface", "cosface", "arcface", "combined", "subcenter"))


# --------------------------------------------------------------------------- the formula
def _threshold(m1: float, m2: float) -> float:
    """θ_t = (π − m2)/m1, the angle past which cos(m1·θ + m2) would rise again."""
    return (math.pi - m2) / m1


def _target_and_slope(
    cos_r: Tensor, r: float, m1: float, m2: float | Tensor, m3: float | Tensor, easy_margin: bool,
    sin_floor: float = SIN_FLOOR,
) -> tuple[Tensor, Tensor]:
    """From r·cos θ: r·(cos(m1·θ + m2) − m3) with the monotone fallback, and r·(d target/d cos θ − 1).

    ``r`` is the scale the caller's numbers already have: s for the heads' scaled product, 1 for
    plain cosines. Working in that scale keeps (r − r·cos θ) exact where it is small (Sterbenz), so
    sin θ·r = sqrt((r − r·cos θ)(r + r·cos θ)) has full precision up to |cos θ| = 1 in float32;
    rescaling first would round. ``cos_r`` is float32 or float64 of any shape; both results have its
    dtype. Only in the derivative m1·sin(m1·θ + m2)/sin θ is sin θ floored at ``sin_floor``, so the slope
    stays finite at |cos θ| = 1 where the true one is infinite. The slope comes back minus 1 because
    the plain logit r·cos θ already carries r of it. Written with few tensor operations: on B target
    cosines each costs more in dispatch than in arithmetic. The value may be ``cos_r`` itself.

    Per-sample margins (AdaFace): with m1 = 1, ``m2`` and ``m3`` may be tensors of ``cos_r``'s shape and
    dtype, and m2 may then be negative. The same formula, slope and fallback apply element by element;
    where θ + m2 < 0 the angle is held at 0 (target r·(1 − m3), slope 0), as Kim et al. clip θ + g_angle,
    so the target stays non-increasing in θ.
    """
    if isinstance(m2, Tensor):
        return _per_sample_target_and_slope(cos_r, r, m1, m2, m3, easy_margin, sin_floor)
    if m1 == 1.0 and m2 == 0.0:  # CosFace/NormFace: no trigonometry, no kink
        value = cos_r - r * m3 if m3 else cos_r
        extra_slope = torch.zeros_like(cos_r)
    else:
        sin_r = ((r - cos_r) * (r + cos_r)).clamp_(min=0.0).sqrt_()  # r·sin θ
        floored_sin_r = sin_r.clamp(min=r * sin_floor)
        if m1 == 1.0:  # cos(θ + m2) = cos θ·cos m2 − sin θ·sin m2: no acos
            value = torch.add(cos_r * math.cos(m2), sin_r, alpha=-math.sin(m2))
            extra_slope = _angular_extra_slope(cos_r, floored_sin_r, r, math.cos(m2), math.sin(m2))
        else:
            angle = torch.atan2(sin_r, cos_r).mul_(m1).add_(m2)  # atan2: an acos that tolerates |cos| > 1
            value = torch.cos(angle).mul_(r)
            extra_slope = torch.sin(angle).mul_(m1 * r).div_(floored_sin_r).mul_(r).sub_(r)
        if m3:
            value = value - r * m3
        theta_t = _threshold(m1, m2)
        if theta_t < math.pi:
            delta = _fallback_delta(math.pi - theta_t, math.sin(theta_t), math.cos(theta_t), max)
            past = cos_r < r * math.cos(theta_t)
            value = torch.where(past, cos_r - r * (m3 + delta), value)
            extra_slope.masked_fill_(past, 0.0)
    if easy_margin:
        negative = cos_r <= 0
        value = torch.where(negative, cos_r, value)
        extra_slope.masked_fill_(negative, 0.0)
    return value, extra_slope


def _angular_extra_slope(cos_r: Tensor, floored_sin_r: Tensor, r: float, cos_m2, sin_m2) -> Tensor:
    """r·(d cos(θ + m2)/d cos θ − 1) = r·(cos θ·sin m2/sin θ + cos m2 − 1), sin θ floored (floats or tensors)."""
    return torch.div(cos_r, floored_sin_r).mul_(r * sin_m2).add_(r * (cos_m2 - 1.0))


def _fallback_delta(u, sin_theta_t, cos_theta_t, maximum):
    """δ = max(u·sin θ_t, 1 + cos θ_t) of the monotone fallback past θ_t (floats, or tensors with torch.maximum)."""
    return maximum(u * sin_theta_t, 1.0 + cos_theta_t)


def _per_sample_target_and_slope(
    cos_r: Tensor, r: float, m1: float, m2: Tensor, m3: Tensor | float, easy_margin: bool, sin_floor: float,
) -> tuple[Tensor, Tensor]:
    """:func:`_target_and_slope` with one (m2, m3) per element: m1 = 1, m2 in (−π, π), no easy margin."""
    if m1 != 1.0 or easy_margin:
        raise ValueError(f"m1={m1!r}, easy_margin={easy_margin!r}: per-sample margins take m1 = 1 and no easy "
                         "margin; pass m1=1.0, easy_margin=False")
    sin_r = ((r - cos_r) * (r + cos_r)).clamp_(min=0.0).sqrt_()  # r·sin θ
    cos_m2, sin_m2 = torch.cos(m2), torch.sin(m2)
    value = cos_r * cos_m2 - sin_r * sin_m2
    extra_slope = _angular_extra_slope(cos_r, sin_r.clamp(min=r * sin_floor), r, cos_m2, sin_m2)
    # θ + m2 < 0 (m2 < 0 and θ < −m2, i.e. cos θ > cos m2): angle held at 0, target r, slope 0
    held = (m2 < 0) & (cos_r > r * cos_m2)
    value = torch.where(held, torch.full_like(value, r), value)
    extra_slope.masked_fill_(held, -r)
    value = value - r * m3
    # past θ_t = π − m2 (m2 > 0 only): the fallback cos θ − m3 − δ with u = m2, sin θ_t = sin m2, cos θ_t = −cos m2
    delta = _fallback_delta(m2, sin_m2, -cos_m2, torch.maximum)
    past = (m2 > 0) & (cos_r < -r * cos_m2)
    value = torch.where(past, cos_r - r * (m3 + delta), value)
    extra_slope.masked_fill_(past, 0.0)
    return value, extra_slope


class _MarginDelta(torch.autograd.Function):
    """s·(target(cos θ_y) − cos θ_y): what the margin adds to the target logit s·cos θ_y.

    With the analytic slope s·(d target/d cos θ_y − 1), as a single autograd node, for
    :func:`margin_logits` (cosines given) and the sub-centre head; ``gradcheck`` in the tests checks
    the slope against finite differences.
    """

    @staticmethod
    def forward(ctx, cos_y: Tensor, s: float, m1: float, m2: float, m3: float, easy_margin: bool,
                sin_floor: float) -> Tensor:
        # plain cosines: the margin in their own scale (r = 1), then times s
        value, extra_slope = _target_and_slope(cos_y, 1.0, m1, m2, m3, easy_margin, sin_floor)
        ctx.save_for_backward(extra_slope.mul_(s))
        return (value - cos_y).mul_(s)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        (extra_slope,) = ctx.saved_tensors
        return grad * extra_slope, None, None, None, None, None, None


class _NormalizedMarginLinear(torch.autograd.Function):
    """Margin logits from raw embeddings and raw class weights, as one autograd node.

    Forward: x̂ = x/‖x‖ and Ŵ = W/‖W‖ (norms clamped at F.normalize's eps), s·x̂·Ŵᵀ by one matrix
    product, then the B target entries replaced by s·target(cos θ_y), with cos θ_y read back from
    that product. Backward, by hand: the linear layer's two matrix products, an O(B·D) correction
    for the target entries (slope s·d target/d cos θ_y instead of s), and the normalisations'
    projections (g − x̂(x̂·g))/‖x‖. As separate autograd nodes (normalize, scale, linear, target
    lookup, margin) the same step cost ~25 % more at B=512, C=1000 (``benchmarks/bench_heads.py``);
    ``gradcheck`` in the tests checks this backward against finite differences.
    """

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, labels: Tensor, s: float, m1: float, m2: float, m3: float,
                easy_margin: bool) -> Tensor:
        norm_x = torch.linalg.vector_norm(x, dim=1, keepdim=True)
        norm_w = torch.linalg.vector_norm(w, dim=1, keepdim=True)
        # below eps F.normalize divides by eps: that row is then linear in x, with no projection
        short_x, short_w = norm_x < _NORM_EPS, norm_w < _NORM_EPS
        norm_x, norm_w = norm_x.clamp_(min=_NORM_EPS), norm_w.clamp_(min=_NORM_EPS)
        xs = x * (s / norm_x)  # s·x̂: scaling the (B, D) side instead of the (B, C) product
        w_unit = w / norm_w
        product = torch.mm(xs, w_unit.t())
        logits = product.to(x.dtype)
        index = labels.unsqueeze(1)
        if product.dtype == x.dtype:
            cos_y = logits.gather(1, index)
        else:  # torch.autocast: ~3 digits, too coarse for the margin's slope near θ = 0; redo B of them
            with torch.autocast(x.device.type, enabled=False):
                cos_y = torch.linalg.vecdot(xs, w_unit.index_select(0, labels)).unsqueeze(1)
        value, extra_slope = _target_and_slope(cos_y, s, m1, m2, m3, easy_margin)
        logits.scatter_(1, index, value)
        ctx.save_for_backward(xs, w_unit, norm_x, norm_w, short_x, short_w, index, extra_slope)
        ctx.s = s
        return logits

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        xs, w_unit, norm_x, norm_w, short_x, short_w, index, extra_slope = ctx.saved_tensors
        s, labels = ctx.s, index.squeeze(1)
        # a backward() called inside torch.autocast would run these products in half precision
        with torch.autocast(grad.device.type, enabled=False):
            # (B, 1) gradient of each target cosine beyond the s·grad the matrix products below carry
            extra = grad.gather(1, index).mul_(extra_slope)
            grad_x = grad_w = None
            if ctx.needs_input_grad[0]:
                grad_unit = torch.addmm(w_unit.index_select(0, labels).mul_(extra), grad, w_unit, alpha=s)
                along = torch.linalg.vecdot(xs, grad_unit).unsqueeze(1).masked_fill_(short_x, 0.0)
                grad_x = torch.addcmul(grad_unit, xs, along, value=-1.0 / (s * s)).div_(norm_x)
            if ctx.needs_input_grad[1]:
                grad_unit = torch.mm(grad.t(), xs).index_add_(0, labels, xs * extra, alpha=1.0 / s)
                along = torch.linalg.vecdot(w_unit, grad_unit).unsqueeze(1).masked_fill_(short_w, 0.0)
                grad_w = torch.addcmul(grad_unit, w_unit, along, value=-1.0).div_(norm_w)
        return grad_x, grad_w, None, None, None, None, None, None


def target_logit(
    theta: Tensor | float, *, s: float = 1.0, m1: float = 1.0, m2: float = 0.0, m3: float = 0.0,
    easy_margin: bool = False,
) -> Tensor:
    """Target logit as a function of the target angle, for plots of the margin family.

    Parameters
    ----------
    theta : torch.Tensor, array_like or float
        Target angle(s) θ_y in radians, any shape, in [0, π] (differentiable when a tensor).
    s : float, default 1.0
        Scale, in [1e-3, 1e4].
    m1 : float, default 1.0
        Multiplicative angular margin (see :func:`margin_logits` for its legal range).
    m2 : float, default 0.0
        Additive angular margin in radians, in [0, π).
    m3 : float, default 0.0
        Additive cosine margin, >= 0.
    easy_margin : bool, default False
        As in :func:`margin_logits`.

    Returns
    -------
    torch.Tensor
        The target logit s·(cos(m1·θ + m2) − m3) with the monotone fallback, same shape as ``theta``,
        float64. Its derivative with respect to a tensor ``theta`` is the analytic
        −s·m1·sin(m1·θ + m2) (−s·sin θ past the fallback angle), finite on all of [0, π].

    Raises
    ------
    ValueError, TypeError
        For the parameter errors listed in :func:`margin_logits`; ``theta`` not numeric, NaN, or
        outside [0, π] (degrees, e.g. 90, are caught here: cos would silently wrap them).

    Notes
    -----
    Source: ArcFace (Deng et al., CVPR 2019), eq. 4 and Fig. 4 (target logit curves).

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, eq. 3 and eq. 4.

    Examples
    --------
    ArcFace's m2 = 0.5 rad at θ = 0 and θ = π/2, with s = 2: the values are 2·cos(0.5) = 1.7552 and
    2·cos(π/2 + 0.5) = −0.9589, the slopes −2·sin(0.5) = −0.9589 and −2·sin(π/2 + 0.5) = −1.7552:

    >>> import math, torch
    >>> theta = torch.tensor([0.0, math.pi / 2], dtype=torch.float64, requires_grad=True)
    >>> logit = target_logit(theta, s=2.0, m2=0.5)
    >>> [round(v, 4) for v in logit.tolist()]
    [1.7552, -0.9589]
    >>> logit.sum().backward()
    >>> [round(v, 4) for v in theta.grad.tolist()]
    [-0.9589, -1.7552]
    >>> target_logit(90.0)
    Traceback (most recent call last):
    ...
    ValueError: theta=90.0: outside [0, π] radians; convert degrees with np.radians
    """
    s = check_scale(s)
    m1, m2, m3 = check_margins(m1, m2, m3)
    easy_margin = check_bool("easy_margin", easy_margin)
    if isinstance(theta, (str, bytes)):
        raise TypeError(f"theta={theta!r}: expected angles as a number, array or tensor; pass radians in [0, π]")
    check_angles("theta", theta)
    theta = torch.as_tensor(theta, dtype=torch.float64)
    plain = theta.detach()
    with torch.no_grad():
        # without grad: with no margin the value is the cosine itself, which must not carry a slope too
        value, extra_slope = _target_and_slope(torch.cos(plain), 1.0, m1, m2, m3, easy_margin)
        # d target/d θ = −(d target/d cos θ)·sin θ, analytic instead of autograd through sqrt (infinite
        # at θ = 0 and π). Below θ = SIN_FLOOR that slope divided by a floored sin θ, so the product
        # would fall to 0 at θ = 0: there use the exact −m1·sin(m1·θ + m2) (−sin θ past θ_t).
        slope = (extra_slope + 1.0).mul_(torch.sin(plain)).neg_()
        near_zero = plain < SIN_FLOOR
        if bool(near_zero.any()):
            exact = torch.where(plain <= _threshold(m1, m2), -m1 * torch.sin(m1 * plain + m2), -torch.sin(plain))
            slope = torch.where(near_zero, exact, slope)
    return s * (value + slope * (theta - plain))


def _apply_margin(
    logits: Tensor, cos_y: Tensor, labels: Tensor, s: float, m1: float, m2: float, m3: float, easy_margin: bool,
    sin_floor: float = SIN_FLOOR,
) -> Tensor:
    """Turn the target entries of ``logits`` (= s·cos θ) into margin logits, in place.

    ``cos_y`` (B,) must be computed independently of ``logits`` (not gathered from it). Adding
    s·(target − cos θ_y) with ``index_put_(accumulate=True)`` costs O(B) forward and passes the
    (B, C) gradient through untouched, where a scatter would copy it; the gradient of the target
    entry is still exact: s + s·(d target/d cos θ_y − 1). ``sin_floor``: see :func:`_sin_floor`.
    """
    delta = _MarginDelta.apply(cos_y, s, m1, m2, m3, easy_margin, sin_floor)
    rows = torch.arange(logits.shape[0], device=logits.device)
    return logits.index_put_((rows, labels), delta, accumulate=True)


def margin_logits(
    cos: Tensor,
    labels: Tensor | None,
    *,
    s: float,
    m1: float = 1.0,
    m2: float = 0.0,
    m3: float = 0.0,
    easy_margin: bool = False,
) -> Tensor:
    """Logits of the combined-margin softmax from cosines: the margin on the target class only.

    Parameters
    ----------
    cos : torch.Tensor, shape (B, C), floating
        The cosine cos θ between each unit embedding and each unit class centre (dimensionless, in [-1, 1];
        values beyond it by more than rounding are refused).
        float16/bfloat16 are upcast to float32; their gradient comes back in their dtype.
    labels : torch.Tensor, shape (B,), int dtype, or None
        Target class of each row, in [0, C-1]; any integer dtype (int32 and int64 give identical
        results). ``None`` applies no margin (inference).
    s : float
        Scale in [1e-3, 1e4] (``S_RANGE``), the radius of the hypersphere the logits live on.
    m1 : float, default 1.0
        Multiplicative angular margin (SphereFace; 1 means none). Values below 1 only with
        m2 >= (1 − m1)·π (the paper's combined margin m1 = 0.9, m2 = 0.4).
    m2 : float, default 0.0
        Additive angular margin in radians (ArcFace, in [0, π)).
    m3 : float, default 0.0
        Additive cosine margin (CosFace, >= 0).
    easy_margin : bool, default False
        Apply the margin only where cos θ_y > 0 and use plain cos θ_y elsewhere (InsightFace's
        option). The target logit then jumps up at θ_y = 90° and is *not* monotone.

    Returns
    -------
    torch.Tensor, shape (B, C)
        Logits, float32 (float64 when ``cos`` is float64). Target entries s·(cos(m1·θ_y + m2) − m3), with the
        monotone fallback cos θ_y − m3 − δ past θ_y > (π − m2)/m1 (see the module docstring);
        all other entries s·cos θ_j. The gradient with respect to ``cos`` is finite in every dtype
        for an upstream gradient of size <= 1 (as cross-entropy's): the slope s·m1·sin(m1·θ + m2)/sin θ
        floors sin θ at 1e-4 (``SIN_FLOOR``) for float32/float64 and, for float16/bfloat16, at the
        sin θ of their closest cosine below 1 (2^-5 for float16), which changes it only at cos θ = ±1
        exactly. float16 holds at most 65504: there s·(32·m1 + 1) <= 65504 (s <= 1984 for m1 = 1).

    Raises
    ------
    TypeError
        ``cos`` not a floating tensor; labels not an integer tensor; s or margins not real numbers
        (numpy scalars are fine); ``easy_margin`` not a bool.
    ValueError
        ``cos`` not 2-D, not finite, or beyond [-1, 1] by more than rounding (1e-3; 8 ulp for
        float16/bfloat16: see :func:`arcface_viz._validation.check_cosines`); labels not (B,), outside [0, C-1] (−1 included) or on another
        device; s outside [1e-3, 1e4]; m1 <= 0, or m1 < 1 with m2 < (1 − m1)·π; m2 outside [0, π); m3 < 0; s·(1 + m3 + π) beyond float32 (inf logits);
        float16 cosines that require a gradient with s·(32·m1 + 1) > 65504 (an angular margin only).

    Notes
    -----
    Sources: ArcFace eq. 3 (m2) and eq. 4 (combined form), Deng et al., CVPR 2019 (arXiv 1801.07698);
    CosFace (Wang et al., CVPR 2018); SphereFace (Liu et al., CVPR 2017); NormFace (Wang et al., 2017).

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, eq. 3 (additive angular margin) and eq. 4
       (combined margin).
    .. [2] H. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018,
       arXiv:1801.09414, eq. 4.
    .. [3] W. Liu et al., "SphereFace: Deep Hypersphere Embedding for Face Recognition", CVPR 2017,
       arXiv:1704.08063.
    .. [4] F. Wang, X. Xiang, J. Cheng, A. L. Yuille, "NormFace: L2 Hypersphere Embedding for Face
       Verification", ACM MM 2017, arXiv:1704.06369.

    Examples
    --------
    One embedding, target class 0 at cos θ_0 = 0.8 (θ_0 = 0.6435 rad), the other class at 0.6, s = 10.
    ArcFace: 10·cos(0.6435 + 0.5) = 10·(0.8·cos 0.5 − 0.6·sin 0.5) = 4.1441; CosFace: 10·(0.8 − 0.35)
    = 4.5; the non-target logit stays 10·0.6 = 6:

    >>> import torch
    >>> cos = torch.tensor([[0.8, 0.6]])
    >>> margin_logits(cos, torch.tensor([0]), s=10.0, m2=0.5)
    tensor([[4.1441, 6.0000]])
    >>> margin_logits(cos, torch.tensor([0]), s=10.0, m3=0.35)
    tensor([[4.5000, 6.0000]])
    >>> margin_logits(cos, None, s=10.0, m2=0.5)  # no labels: no margin
    tensor([[8., 6.]])
    """
    s, m1, m2, m3, easy_margin = check_head_parameters(s, m1, m2, m3, easy_margin)
    if not isinstance(cos, Tensor) or not cos.is_floating_point():
        kind = f"a {cos.dtype} tensor" if isinstance(cos, Tensor) else f"a {type(cos).__module__}.{type(cos).__name__}"
        raise TypeError(message("cos", cos, f"expected a floating torch tensor (B, C), got {kind}",
                                "pass torch.as_tensor(cos, dtype=torch.float32)"))
    if cos.dim() != 2:
        raise ValueError(message("cos.shape", tuple(cos.shape), "expected (B, C) cosines", "one row per sample"))
    if not bool(torch.isfinite(cos).all()):
        raise ValueError(message("cos", "NaN/inf", "contains NaN or inf",
                                 "check the embeddings and class centres upstream"))
    check_cosines("cos", cos)
    check_labels(labels, cos.shape[0], cos.shape[1], cos.device)
    sin_floor = _sin_floor(cos.dtype)
    if (labels is not None and cos.dtype == torch.float16 and cos.requires_grad and (m1, m2) != (1.0, 0.0)
            and s > _float16_scale_limit(m1)):
        raise ValueError(
            f"s={s:g}, m1={m1:g}: with float16 cosines the gradient would overflow float16 (max 65504) near "
            f"cos θ = ±1; use s <= {_float16_scale_limit(m1):.0f}, or pass cos.float() (float32 cosines)"
        )
    cos = cos.float() if cos.dtype in (torch.float16, torch.bfloat16) else cos
    logits = s * cos
    if labels is None:
        return logits
    labels = labels.long()
    cos_y = cos.gather(1, labels.unsqueeze(1)).squeeze(1)
    return _apply_margin(logits, cos_y, labels, s, m1, m2, m3, easy_margin, sin_floor)


# --------------------------------------------------------------------------- heads
#: Each registered loss's head class, by its ``name``: a class registers itself by setting ``name``
#: (adding a loss is a registry entry plus its head class, nothing else).
_HEADS: dict[str, type[_Head]] = {}


class _Head(nn.Module):
    """Shared validation and helpers of every head; not public."""

    name = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name:
            if name not in LOSSES:
                raise TypeError(f"{cls.__name__}.name={name!r}: not a registered loss; add its entry to "
                                "arcface_viz.losses first")
            if name in _HEADS:
                raise TypeError(f"{cls.__name__}.name={name!r}: {_HEADS[name].__name__} already has that name")
            _HEADS[name] = cls

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1, fix="pass the embedding dimension D")
        self.out_features = check_int("out_features", out_features, minimum=1, fix="pass the number of classes C")
        self._margin_factor = 1.0

    @property
    def label(self) -> str:
        """The loss's display name from the registry (:mod:`arcface_viz.losses`), e.g. "ArcFace"."""
        return LOSSES[self.name].label

    # margin warm-up ---------------------------------------------------------
    @property
    def margin_factor(self) -> float:
        """Fraction in [0, 1] of the margins (m1 − 1, m2, m3) applied; 1.0 by default (warm-up)."""
        return self._margin_factor

    @margin_factor.setter
    def margin_factor(self, value: float) -> None:
        self._margin_factor = check_real("margin_factor", value, low=0.0, high=1.0,
                                         fix="pass the fraction of the margins to apply (1 = all)")

    def effective_margins(self) -> tuple[float, float, float]:
        """(m1, m2, m3) after warm-up scaling: (1 + f·(m1 − 1), f·m2, f·m3) with f = margin_factor."""
        f = self._margin_factor
        return 1.0 + f * (self.m1 - 1.0), f * self.m2, f * self.m3

    # input checks -------------------------------------------------------------
    def _check_inputs(self, embeddings: Tensor, labels: Tensor | None) -> None:
        if not isinstance(embeddings, Tensor) or not embeddings.is_floating_point():
            kind = (f"a {embeddings.dtype} tensor" if isinstance(embeddings, Tensor)
                    else f"a {type(embeddings).__module__}.{type(embeddings).__name__}")
            raise TypeError(message("embeddings", embeddings, f"expected a floating torch tensor, got {kind}",
                                    f"pass torch.as_tensor(embeddings, dtype=torch.float32) of shape (B, {self.in_features})"))
        if embeddings.dim() != 2 or embeddings.shape[1] != self.in_features:
            raise ValueError(message("embeddings.shape", tuple(embeddings.shape), f"expected (B, {self.in_features})",
                                     "flatten the backbone output or build the head with the right in_features"))
        weight = self.weight
        if embeddings.device != weight.device:
            raise ValueError(
                f"embeddings on {embeddings.device} but head weights on {weight.device}: "
                f"call head.to({str(embeddings.device)!r}) or move the embeddings"
            )
        if embeddings.numel():
            # one reduction (NaN propagates to min and max) is ~10x cheaper than isfinite().all()
            low, high = (float(v) for v in torch.aminmax(embeddings.detach()))
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError("embeddings contain NaN or inf: check the backbone (learning rate, input scaling)")
            dtype = self._compute_dtype(embeddings)
            if LOSSES[self.name].normalized and max(-low, high) > math.sqrt(torch.finfo(dtype).max / self.in_features):
                # ‖z‖² would be inf and F.normalize a zero vector: cos θ = 0 for every class, without a word
                raise ValueError(message("embeddings.max", float(f"{max(-low, high):.6g}"), f"the squared norm overflows {dtype}",
                                         "check the backbone (learning rate, input scaling)"))
        check_labels(labels, embeddings.shape[0], self.out_features, embeddings.device)

    def _compute_dtype(self, embeddings: Tensor) -> torch.dtype:
        return torch.promote_types(torch.promote_types(embeddings.dtype, self.weight.dtype), torch.float32)

    def loss(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy of ``self(embeddings, labels)``; accepts int32 labels (cast to int64).

        Parameters
        ----------
        embeddings : Tensor, shape (B, in_features), floating
        labels : Tensor, shape (B,), integer

        Returns
        -------
        Tensor, scalar, dtype of the logits.

        Raises
        ------
        TypeError
            ``labels`` is None (a loss needs the target classes).
        ValueError
            An empty batch (the mean over no samples would be NaN), and as ``forward``.
        """
        if labels is None:
            raise TypeError("labels=None: the loss needs the class of each embedding; call head(embeddings) "
                            "for inference logits")
        logits = self(embeddings, labels)
        if logits.shape[0] == 0:
            raise ValueError("empty batch: the mean cross-entropy of no samples is NaN; skip empty batches")
        return F.cross_entropy(logits, labels.long())

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, {self.describe()}"


class SoftmaxHead(_Head):
    """Plain linear classifier with bias: the softmax baseline (no normalisation, no margin).

    Parameters
    ----------
    in_features : int
        Embedding dimension D, >= 1.
    out_features : int
        Number of classes C, >= 1.
    bias : bool, default True
        Give the linear layer a bias b (the baseline of Deng et al. 2019 has one).

    Raises
    ------
    TypeError, ValueError
        At construction for sizes that are not ints >= 1; in ``forward``/``cosine`` as
        :class:`CombinedMarginHead`.

    Notes
    -----
    ``forward(embeddings (B, D), labels=None) -> (B, C)`` float32 logits W·x + b; labels are only
    validated. ``cosine`` and ``centers`` ignore the bias. Attributes s=None, m1=1, m2=0, m3=0.
    """

    name = "softmax"

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features)
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.s = None
        self.m1, self.m2, self.m3 = 1.0, 0.0, 0.0
        self.easy_margin = False

    @property
    def weight(self) -> Tensor:
        """The (C, D) class weight matrix W of the linear layer (a trainable Parameter, not normalised).
        """
        return self.linear.weight

    @property
    def centers(self) -> Tensor:
        """(C, D) unit class directions W_j/|W_j| (bias ignored), detached."""
        return F.normalize(self.weight.detach(), dim=1)

    def cosine(self, embeddings: Tensor) -> Tensor:
        """The cosine of the angle between each embedding and each class direction (bias ignored).

        Parameters
        ----------
        embeddings : torch.Tensor, shape (B, in_features), floating
            Raw embeddings (need not be unit length).

        Returns
        -------
        torch.Tensor, shape (B, C)
            The cosines cos θ in [-1, 1], float32 (float64 for float64 inputs or weights).
        """
        self._check_inputs(embeddings, None)
        dtype = self._compute_dtype(embeddings)
        return F.linear(F.normalize(embeddings.to(dtype), dim=1), F.normalize(self.weight.to(dtype), dim=1))

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        """Logits W·x + b; the labels are only validated (softmax has no margin).

        Parameters
        ----------
        embeddings : torch.Tensor, shape (B, in_features), floating
            Raw embeddings (need not be unit length).
        labels : torch.Tensor, shape (B,), int dtype, optional
            Target class of each embedding, in [0, C-1]; None (default) gives inference logits.

        Returns
        -------
        torch.Tensor, shape (B, C)
            Logits, float32 (float64 for float64 inputs or weights).
        """
        self._check_inputs(embeddings, labels)
        dtype = self._compute_dtype(embeddings)
        bias = None if self.linear.bias is None else self.linear.bias.to(dtype)
        return F.linear(embeddings.to(dtype), self.weight.to(dtype), bias)

    def describe(self) -> str:
        """Short label for plot titles and legends.

        Returns
        -------
        str
            ``"Softmax"``, or ``"Softmax (no bias)"`` when built with ``bias=False``.
        """
        return self.label if self.linear.bias is not None else f"{self.label} (no bias)"


class CombinedMarginHead(_Head):
    """Normalised head with the combined margin s·(cos(m1·θ_y + m2) − m3) on the target class.

    Parameters
    ----------
    in_features : int
        Embedding dimension D.
    out_features : int
        Number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4]. The paper's 64 trains 512-D features on 10^4–10^5 identities
        (CASIA-WebFace ~10k, MS1MV2 ~85k); use ~16 for few classes.
    m1 : float, default 1.0
        Multiplicative angular margin (below 1 only with m2 >= (1 − m1)·π, see :func:`margin_logits`).
    m2 : float, default 0.3
        Additive angular margin, radians, in [0, π).
    m3 : float, default 0.2
        Additive cosine margin, >= 0.
    easy_margin : bool, default False
        See :func:`margin_logits`.

    Attributes
    ----------
    weight : Parameter, shape (C, D)
        Class centres before normalisation (initialised N(0, 0.01²): random directions).
    s, m1, m2, m3 : float
        Nominal values; the margins used are ``effective_margins()`` (scaled by ``margin_factor``).

    Raises
    ------
    TypeError
        At construction for s or margins that are not real numbers; in ``forward``/``cosine`` for
        embeddings that are not a floating tensor, and for labels that are not an integer tensor.
    ValueError
        At construction for s, margins or sizes out of range; in ``forward``/``cosine`` for embeddings
        that are not (B, in_features), not finite or on another device than the head, and for labels
        that are not (B,) or outside [0, C-1] (see :func:`margin_logits`).

    Notes
    -----
    ``forward(embeddings (B, D), labels (B,) or None) -> logits (B, C)``, float32 (float64 for
    float64 inputs). In ``eval()`` mode or with ``labels=None`` the logits are s·cos θ.
    Source: ArcFace (Deng et al., CVPR 2019), eq. 4; InsightFace's combined margin loss.

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, eq. 4 and Table 1 (combined margins).

    Examples
    --------
    Centres at 0°, 90°, 180°; the embedding (3, 4) of class 1 has cos θ = (0.6, 0.8, −0.6), so
    its target logit is 10·(cos(acos 0.8 + 0.3) − 0.2) = 3.8696 (by hand with ``math``):

    >>> import torch
    >>> x, y = torch.tensor([[3.0, 4.0]]), torch.tensor([1])  # unit x = (0.6, 0.8), class 1
    >>> head = CombinedMarginHead(2, 3, s=10.0, m1=1.0, m2=0.3, m3=0.2)
    >>> with torch.no_grad():
    ...     _ = head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    >>> head(x, y)
    tensor([[ 6.0000,  3.8696, -6.0000]], grad_fn=<_NormalizedMarginLinearBackward>)
    """

    name = "combined"
    _n_sub = 1

    def __init__(
        self,
        in_features: int,
        out_features: int,
        s: float = _COMBINED.default_s,
        m1: float = _COMBINED.margins[0],
        m2: float = _COMBINED.margins[1],
        m3: float = _COMBINED.margins[2],
        easy_margin: bool = False,
    ) -> None:
        super().__init__(in_features, out_features)
        self.s, self.m1, self.m2, self.m3, self.easy_margin = check_head_parameters(s, m1, m2, m3, easy_margin)
        self.weight = nn.Parameter(torch.empty(out_features * self._n_sub, in_features))
        nn.init.normal_(self.weight, std=0.01)

    @property
    def centers(self) -> Tensor:
        """(C, D) unit class centres W_j/|W_j|, detached."""
        return F.normalize(self.weight.detach(), dim=1)

    def _unit(self, embeddings: Tensor) -> tuple[Tensor, Tensor]:
        """Unit embeddings (B, D) and unit centres (C·k, D) in the compute dtype."""
        dtype = self._compute_dtype(embeddings)
        return F.normalize(embeddings.to(dtype), dim=1), F.normalize(self.weight.to(dtype), dim=1)

    def _cosine(self, x: Tensor, w: Tensor, scale: float = 1.0) -> Tensor:
        """scale·cos θ (B, C) from unit embeddings and unit centres, in their dtype."""
        # scaling the (B, D) embeddings instead of the (B, C) product saves a pass over the logits;
        # under torch.autocast the product comes back in half precision: the margin needs float32
        return F.linear(x * scale if scale != 1.0 else x, w).to(x.dtype)

    def _margin_logits(self, x: Tensor, w: Tensor, labels: Tensor, m1: float, m2: float, m3: float) -> Tensor:
        """(B, C) logits with the margin on the target column, from raw embeddings and weights."""
        return _NormalizedMarginLinear.apply(x, w, labels, self.s, m1, m2, m3, self.easy_margin)

    def cosine(self, embeddings: Tensor) -> Tensor:
        """The cosine of the angle between each embedding and each class centre.

        Parameters
        ----------
        embeddings : torch.Tensor, shape (B, in_features), floating
            Raw embeddings (need not be unit length).

        Returns
        -------
        torch.Tensor, shape (B, C)
            The cosines cos θ in [-1, 1], float32 (float64 for float64 inputs or weights).
        """
        self._check_inputs(embeddings, None)
        return self._cosine(*self._unit(embeddings))

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        """Logits: s·cos θ everywhere, the margin on the target column in training mode.

        Parameters
        ----------
        embeddings : torch.Tensor, shape (B, in_features), floating
            Raw embeddings (need not be unit length).
        labels : torch.Tensor, shape (B,), int dtype, optional
            Target class of each embedding, in [0, C-1]; None (default) gives inference logits.

        Returns
        -------
        torch.Tensor, shape (B, C)
            Logits, float32 (float64 for float64 inputs or weights); s·cos θ in ``eval()`` mode or
            without labels, else the margin logits of :func:`margin_logits` with ``effective_margins()``.
        """
        self._check_inputs(embeddings, labels)
        if labels is None or not self.training:
            return self._cosine(*self._unit(embeddings), self.s)
        dtype = self._compute_dtype(embeddings)
        margins = self.effective_margins()
        return self._margin_logits(embeddings.to(dtype), self.weight.to(dtype), labels.long(), *margins)

    def describe(self) -> str:
        """Short label for plot titles and legends, e.g. ``"Combined (s=16, m1=1, m2=0.3, m3=0.2)"``.

        Returns
        -------
        str
            The head's name and its nominal s and margins (`` xF`` appended while a margin warm-up
            applies the fraction F of them).
        """
        return f"{self.label} (s={self.s:g}, m1={self.m1:g}, m2={self.m2:g}, m3={self.m3:g}){self._warmup_note()}"

    def _warmup_note(self) -> str:
        return "" if self._margin_factor == 1.0 else f" x{self._margin_factor:.2f}"


class NormFaceHead(CombinedMarginHead):
    """Normalised softmax: logits s·cos θ, no margin (Wang et al., "NormFace", ACM MM 2017).

    Parameters
    ----------
    in_features, out_features : int
        Embedding dimension D and number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4]. NormFace's bound s >= (C−1)/C·ln((C−1)·P/(1−P)) reaches probability P.

    Raises
    ------
    TypeError
        At construction for s or margins that are not real numbers; in ``forward``/``cosine`` for
        embeddings that are not a floating tensor, and for labels that are not an integer tensor.
    ValueError
        At construction for s, margins or sizes out of range; in ``forward``/``cosine`` for embeddings
        that are not (B, in_features), not finite or on another device than the head, and for labels
        that are not (B,) or outside [0, C-1] (see :func:`margin_logits`).

    Notes
    -----
    m1=1, m2=0, m3=0; everything else as :class:`CombinedMarginHead`.

    References
    ----------
    .. [1] F. Wang, X. Xiang, J. Cheng, A. L. Yuille, "NormFace: L2 Hypersphere Embedding for Face
       Verification", ACM MM 2017, arXiv:1704.06369 (the lower bound on s: Proposition 2).
    """

    name = "normface"

    def __init__(self, in_features: int, out_features: int, s: float = _NORMFACE.default_s) -> None:
        super().__init__(in_features, out_features, s=s, m1=1.0, m2=0.0, m3=0.0)

    def describe(self) -> str:
        """Short label for plot titles and legends, e.g. ``"NormFace (s=16)"``.

        Returns
        -------
        str
            The head's name and its nominal s and margins (`` xF`` appended while a margin warm-up
            applies the fraction F of them).
        """
        return f"{self.label} (s={self.s:g})"


class SphereFaceHead(CombinedMarginHead):
    """Multiplicative angular margin s·cos(m1·θ_y) on the target (Liu et al., "SphereFace", CVPR 2017).

    Parameters
    ----------
    in_features, out_features : int
        Embedding dimension D and number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4].
    m1 : float, default 1.35
        Multiplicative margin, must be >= 1. This is the *combined-form* SphereFace of ArcFace eq. 4
        on normalised features (the ArcFace paper's setting is 1.35), not the original integer m=4
        with the piecewise ψ(θ) = (−1)^k cos(mθ) − 2k and annealing. Past θ_y > π/m1 the monotone
        fallback of :func:`margin_logits` replaces the piecewise extension.

    Raises
    ------
    TypeError
        At construction for s or margins that are not real numbers; in ``forward``/``cosine`` for
        embeddings that are not a floating tensor, and for labels that are not an integer tensor.
    ValueError
        At construction for s, margins or sizes out of range; in ``forward``/``cosine`` for embeddings
        that are not (B, in_features), not finite or on another device than the head, and for labels
        that are not (B,) or outside [0, C-1] (see :func:`margin_logits`).

    References
    ----------
    .. [1] W. Liu et al., "SphereFace: Deep Hypersphere Embedding for Face Recognition", CVPR 2017,
       arXiv:1704.08063.
    .. [2] J. Deng et al., "ArcFace", CVPR 2019, arXiv:1801.07698, eq. 4 (the combined form used here).

    Examples
    --------
    Same setup as :class:`ArcFaceHead`'s example: the target logit is 10·cos(1.35·acos 0.8) = 6.4580:

    >>> import torch
    >>> x, y = torch.tensor([[3.0, 4.0]]), torch.tensor([1])  # unit x = (0.6, 0.8), class 1
    >>> head = SphereFaceHead(2, 3, s=10.0, m1=1.35)
    >>> with torch.no_grad():
    ...     _ = head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    >>> head(x, y)
    tensor([[ 6.0000,  6.4580, -6.0000]], grad_fn=<_NormalizedMarginLinearBackward>)
    """

    name = "sphereface"

    def __init__(self, in_features: int, out_features: int, s: float = _SPHEREFACE.default_s,
                 m1: float = _SPHEREFACE.default_m) -> None:
        super().__init__(in_features, out_features, s=s, m1=m1, m2=0.0, m3=0.0)

    def describe(self) -> str:
        """Short label for plot titles and legends, e.g. ``"SphereFace (s=16, m=1.35)"``.

        Returns
        -------
        str
            The head's name and its nominal s and margins (`` xF`` appended while a margin warm-up
            applies the fraction F of them).
        """
        return f"{self.label} (s={self.s:g}, m={self.m1:g}){self._warmup_note()}"


class CosFaceHead(CombinedMarginHead):
    """Additive cosine margin s·(cos θ_y − m) on the target (Wang et al., "CosFace", CVPR 2018, eq. 4).

    Parameters
    ----------
    in_features, out_features : int
        Embedding dimension D and number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4].
    m : float, default 0.35
        Cosine margin (dimensionless), >= 0; stored as ``m3``.

    Raises
    ------
    TypeError
        At construction for s or margins that are not real numbers; in ``forward``/``cosine`` for
        embeddings that are not a floating tensor, and for labels that are not an integer tensor.
    ValueError
        At construction for s, margins or sizes out of range; in ``forward``/``cosine`` for embeddings
        that are not (B, in_features), not finite or on another device than the head, and for labels
        that are not (B,) or outside [0, C-1] (see :func:`margin_logits`).

    References
    ----------
    .. [1] H. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018,
       arXiv:1801.09414, eq. 4.

    Examples
    --------
    Same setup as :class:`ArcFaceHead`'s example: the target logit is 10·(0.8 − 0.35) = 4.5:

    >>> import torch
    >>> x, y = torch.tensor([[3.0, 4.0]]), torch.tensor([1])  # unit x = (0.6, 0.8), class 1
    >>> head = CosFaceHead(2, 3, s=10.0, m=0.35)
    >>> with torch.no_grad():
    ...     _ = head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    >>> head(x, y)
    tensor([[ 6.0000,  4.5000, -6.0000]], grad_fn=<_NormalizedMarginLinearBackward>)
    >>> head.m, head.describe()
    (0.35, 'CosFace (s=10, m=0.35)')
    """

    name = "cosface"

    def __init__(self, in_features: int, out_features: int, s: float = _COSFACE.default_s,
                 m: float = _COSFACE.default_m) -> None:
        super().__init__(in_features, out_features, s=s, m1=1.0, m2=0.0, m3=m)

    @property
    def m(self) -> float:
        """The cosine margin (= m3)."""
        return self.m3

    def describe(self) -> str:
        """Short label for plot titles and legends, e.g. ``"CosFace (s=16, m=0.35)"``.

        Returns
        -------
        str
            The head's name and its nominal s and margins (`` xF`` appended while a margin warm-up
            applies the fraction F of them).
        """
        return f"{self.label} (s={self.s:g}, m={self.m3:g}){self._warmup_note()}"


class ArcFaceHead(CombinedMarginHead):
    """Additive angular margin s·cos(θ_y + m) on the target (Deng et al., "ArcFace", CVPR 2019, eq. 3).

    Parameters
    ----------
    in_features, out_features : int
        Embedding dimension D and number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4].
    m : float, default 0.5
        Angular margin in radians (0.5 rad = 28.6°), in [0, π); stored as ``m2``.
    easy_margin : bool, default False
        If True the margin is applied only where cos θ_y > 0 (plain cos θ_y elsewhere), as
        InsightFace's option; the target logit then jumps up at 90° and is not monotone. If False,
        the fallback cos θ_y − m·sin m past θ_y > π − m (as in pytorch-metric-learning's
        ``ArcFaceLoss``) keeps it non-increasing on [0, π]; it jumps down at π − m.

    Raises
    ------
    TypeError
        At construction for s or margins that are not real numbers; in ``forward``/``cosine`` for
        embeddings that are not a floating tensor, and for labels that are not an integer tensor.
    ValueError
        At construction for s, margins or sizes out of range; in ``forward``/``cosine`` for embeddings
        that are not (B, in_features), not finite or on another device than the head, and for labels
        that are not (B,) or outside [0, C-1] (see :func:`margin_logits`).

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, eq. 3.

    Examples
    --------
    Three class centres on the unit circle (0°, 90°, 180°) and one embedding (3, 4) of class 1:
    cos θ = (0.6, 0.8, −0.6); in training the target logit is 10·cos(acos 0.8 + 0.5) = 4.1441 and
    the loss −log softmax = 2.0011 (both computed by hand with ``math``):

    >>> import torch
    >>> head = ArcFaceHead(2, 3, s=10.0, m=0.5)
    >>> with torch.no_grad():
    ...     _ = head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    >>> x, y = torch.tensor([[3.0, 4.0]]), torch.tensor([1])
    >>> head.cosine(x)
    tensor([[ 0.6000,  0.8000, -0.6000]], grad_fn=<MmBackward0>)
    >>> head(x, y)
    tensor([[ 6.0000,  4.1441, -6.0000]], grad_fn=<_NormalizedMarginLinearBackward>)
    >>> round(float(head.loss(x, y).detach()), 4)
    2.0011
    >>> head.eval()(x, y)  # eval mode: s·cos θ, no margin
    tensor([[ 6.,  8., -6.]], grad_fn=<MmBackward0>)
    >>> head.describe()
    'ArcFace (s=10, m=0.5)'
    """

    name = "arcface"

    def __init__(
        self, in_features: int, out_features: int, s: float = _ARCFACE.default_s, m: float = _ARCFACE.default_m,
        easy_margin: bool = False,
    ) -> None:
        super().__init__(in_features, out_features, s=s, m1=1.0, m2=m, m3=0.0, easy_margin=easy_margin)

    @property
    def m(self) -> float:
        """The angular margin in radians (= m2)."""
        return self.m2

    def describe(self) -> str:
        """Short label for plot titles and legends, e.g. ``"ArcFace (s=16, m=0.5)"``.

        Returns
        -------
        str
            The head's name and its nominal s and margins (`` xF`` appended while a margin warm-up
            applies the fraction F of them).
        """
        easy = ", easy margin" if self.easy_margin else ""
        return f"{self.label} (s={self.s:g}, m={self.m2:g}{easy}){self._warmup_note()}"


class SubCenterArcFaceHead(ArcFaceHead):
    """ArcFace with k sub-centres per class, cos θ_j = max over the class's sub-centres.

    (Deng et al., "Sub-center ArcFace", ECCV 2020.) Noisy or multi-modal identities can settle on a
    non-dominant sub-centre instead of pulling the dominant one.

    Parameters
    ----------
    in_features, out_features : int
        Embedding dimension D and number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4].
    m : float, default 0.5
        Angular margin in radians, as :class:`ArcFaceHead`.
    k : int, default 3
        Sub-centres per class, >= 1 (k=1 is ArcFace).

    Attributes
    ----------
    weight : Parameter, shape (C·k, D)
        Row c·k + j is sub-centre j of class c.
    sub_centers : Tensor, shape (C, k, D)
        All unit sub-centres, detached.
    centers : Tensor, shape (C, D)
        Sub-centre 0 of each class. Our choice: the paper's "dominant" sub-centre depends on the
        data (the one most samples are closest to); use :meth:`dominant_centers` for that.

    Raises
    ------
    TypeError
        At construction for s or margins that are not real numbers; in ``forward``/``cosine`` for
        embeddings that are not a floating tensor, and for labels that are not an integer tensor.
    ValueError
        At construction for s, margins or sizes out of range; in ``forward``/``cosine`` for embeddings
        that are not (B, in_features), not finite or on another device than the head, and for labels
        that are not (B,) or outside [0, C-1] (see :func:`margin_logits`).

    References
    ----------
    .. [1] J. Deng, J. Guo, T. Liu, M. Gong, S. Zafeiriou, "Sub-center ArcFace: Boosting Face
       Recognition by Large-Scale Noisy Web Faces", ECCV 2020.

    Examples
    --------
    Two sub-centres per class; class 1's second sub-centre lies on the embedding (cos θ = 1), so
    its cosine is max(0.8, 1.0) = 1 and the target logit 10·cos(0 + 0.5) = 8.7758:

    >>> import torch
    >>> x, y = torch.tensor([[3.0, 4.0]]), torch.tensor([1])  # unit x = (0.6, 0.8), class 1
    >>> head = SubCenterArcFaceHead(2, 3, s=10.0, m=0.5, k=2)
    >>> with torch.no_grad():  # rows c·k + j: sub-centre j of class c
    ...     _ = head.weight.copy_(torch.tensor([[1.0, 0.0], [0.6, -0.8], [0.0, 1.0], [0.6, 0.8],
    ...                                         [-1.0, 0.0], [-1.0, 0.0]]))
    >>> head(x, y)
    tensor([[ 6.0000,  8.7758, -6.0000]], grad_fn=<IndexPutBackward0>)
    """

    name = "subcenter"

    def __init__(self, in_features: int, out_features: int, s: float = _SUBCENTER.default_s,
                 m: float = _SUBCENTER.default_m, k: int = _SUBCENTER.extra["k"]) -> None:
        k = check_int("k", k, minimum=1, fix="pass the number of sub-centres per class (paper: 3)")
        self._n_sub = k
        super().__init__(in_features, out_features, s=s, m=m)
        self.k = k

    @property
    def sub_centers(self) -> Tensor:
        """All unit sub-centres, shape (C, k, D), detached; ``[c, j]`` is sub-centre j of class c.
        """
        return F.normalize(self.weight.detach(), dim=1).view(self.out_features, self.k, self.in_features)

    @property
    def centers(self) -> Tensor:
        """(C, D) unit sub-centre 0 of every class, detached."""
        return self.sub_centers[:, 0]

    def dominant_centers(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """Per class, the sub-centre closest to most of its embeddings (sub-centre 0 if none).

        Parameters
        ----------
        embeddings : torch.Tensor, shape (N, D), floating
            Raw embeddings (need not be unit length).
        labels : torch.Tensor, shape (N,), int dtype
            Class of each embedding, in [0, C-1].

        Returns
        -------
        torch.Tensor, shape (C, D)
            Unit sub-centres, detached, in the weights' dtype.

        Raises
        ------
        TypeError
            ``labels`` is None, or the inputs have the wrong kind (as ``forward``).
        ValueError
            As ``forward``.
        """
        if labels is None:
            raise TypeError("labels of type NoneType: dominant_centers needs the class of each embedding")
        self._check_inputs(embeddings, labels)
        with torch.no_grad():
            dtype = self._compute_dtype(embeddings)
            cos = F.linear(F.normalize(embeddings.to(dtype), dim=1), F.normalize(self.weight.to(dtype), dim=1))
            cos = cos.view(-1, self.out_features, self.k)
            rows = torch.arange(len(labels), device=labels.device)
            nearest = cos[rows, labels.long()].argmax(dim=1)
            counts = torch.zeros(self.out_features, self.k, device=labels.device)
            counts.index_put_((labels.long(), nearest), torch.ones_like(nearest, dtype=counts.dtype), accumulate=True)
            choice = counts.argmax(dim=1)
        return self.sub_centers[torch.arange(self.out_features), choice]

    def _cosine(self, x: Tensor, w: Tensor, scale: float = 1.0) -> Tensor:
        cos = super()._cosine(x, w, scale)
        if self.k == 1:
            return cos
        return cos.view(cos.shape[0], self.out_features, self.k).amax(dim=2)

    def _margin_logits(self, x: Tensor, w: Tensor, labels: Tensor, m1: float, m2: float, m3: float) -> Tensor:
        if self.k == 1:
            return super()._margin_logits(x, w, labels, m1, m2, m3)
        cos = self._cosine(F.normalize(x, dim=1), F.normalize(w, dim=1))
        cos_y = cos.gather(1, labels.unsqueeze(1)).squeeze(1)
        return _apply_margin(self.s * cos, cos_y, labels, self.s, m1, m2, m3, self.easy_margin)

    def describe(self) -> str:
        """Short label for plot titles and legends, e.g. ``"Sub-center ArcFace (s=16, m=0.5, k=3)"``.

        Returns
        -------
        str
            The head's name and its nominal s and margins (`` xF`` appended while a margin warm-up
            applies the fraction F of them).
        """
        return f"{self.label} (s={self.s:g}, m={self.m2:g}, k={self.k}){self._warmup_note()}"


class AdaFaceHead(CombinedMarginHead):
    """Quality-adaptive margin: ArcFace for low feature norms, CosFace at average, stronger above.

    (Kim, Jain and Liu, "AdaFace: Quality Adaptive Margin for Face Recognition", CVPR 2022, arXiv
    2204.00964.) The norm ‖z‖ of each raw embedding -- the backbone's output before normalisation,
    which is what every head receives -- stands in for image quality. Detached, it is standardised
    by running statistics of the batches (eqs. 16-17)::

        ẑ = clip(h·(‖z‖ − μ)/(σ + ε), −1, 1),   μ ← (1 − α)·μ + α·mean_B ‖z‖,   σ ← (1 − α)·σ + α·std_B ‖z‖

    and sets the sample's margins (eqs. 18-19): target logit s·(cos(θ_y + g_angle) − g_add) with
    g_angle = −m·ẑ and g_add = m·ẑ + m, i.e. per-sample m2 = −m·ẑ and m3 = m·ẑ + m of the combined
    margin, computed by the same function as every other head's (same safe trigonometry, analytic slope
    and monotone fallback; where θ_y < m·ẑ the angle is held at 0, as the paper's code clips it).
    ẑ = −1 gives ArcFace's cos(θ + m), ẑ = 0 CosFace's cos θ − m, ẑ = 1 cos(θ − m) − 2m.

    Parameters
    ----------
    in_features, out_features : int
        Embedding dimension D and number of classes C.
    s : float, default 16.0
        Scale in [1e-3, 1e4].
    m : float, default 0.4
        The paper's margin, in [0, 1]: an angle in radians in g_angle and a cosine in g_add; stored as
        ``m3`` (the margin of a sample of average norm).
    h : float, default 0.333
        Concentration, >= 0: ẑ = ±1 at ‖z‖ = μ ± σ/h (h = 0.333: about 1 in 300 samples of a normal
        distribution of norms reaches the clip). h = 0 gives CosFace for every sample.
    momentum : float, default 0.01
        Weight α of a batch in the running averages, in [0, 1] (the paper's 0.01; 1 uses each batch's own statistics,
        0 freezes them after the first batch).

    Attributes
    ----------
    running_mean, running_std : Tensor (buffers, scalar)
        μ and σ of the feature norm, saved with the head's state. The first training batch sets them
        (the paper's code starts from 20 and 100, values for its ResNets; ours have other norms).
    num_batches_tracked : Tensor (buffer, scalar int64)
        Training batches seen.

    Raises
    ------
    TypeError
        At construction for s, m, h or momentum that are not real numbers; in ``forward``/``cosine``
        for embeddings that are not a floating tensor and labels that are not an integer tensor.
    ValueError
        At construction for values out of range; in ``forward``/``cosine`` as :class:`ArcFaceHead`.

    Notes
    -----
    ``forward(embeddings (B, D), labels (B,) or None) -> logits (B, C)``; only training-mode calls with
    labels update the statistics (a batch of one updates μ only: one sample has no spread). std_B is the
    unbiased (Bessel) standard deviation, ε = 1e-3, both as in the paper's code. The margin warm-up
    scales m. The paper writes g_add outside the scale (s·cos(θ + g_angle) − g_add, eq. 18); its code,
    and this head, subtract it before scaling. The norms' clip to [0.001, 100] of the paper's code is
    left out: our norms need no guard and ẑ is clipped anyway. With α = 0.01 the statistics remember
    about 1/α = 100 batches: a training of fewer steps standardises by norms it saw long ago, and as
    the norms drift ẑ tells when a sample was seen more than how long its norm is (lesson 8 measures it).

    References
    ----------
    .. [1] M. Kim, A. K. Jain, X. Liu, "AdaFace: Quality Adaptive Margin for Face Recognition",
       CVPR 2022, arXiv:2204.00964, eqs. 16-19.
    """

    name = "adaface"
    #: ε added to σ (the paper's code's value).
    EPS = 1e-3

    def __init__(self, in_features: int, out_features: int, s: float = LOSSES["adaface"].default_s,
                 m: float = LOSSES["adaface"].default_m, h: float = LOSSES["adaface"].extra["h"],
                 momentum: float = LOSSES["adaface"].extra["momentum"]) -> None:
        m = check_margin("adaface", m)
        self.h = check_real("h", h, low=0.0, fix="pass the concentration h >= 0 (paper: 0.333)")
        self.momentum = check_real("momentum", momentum, low=0.0, high=1.0,
                                   fix="pass the running-average weight of a batch in [0, 1] (paper: 0.01)")
        super().__init__(in_features, out_features, s=s, m1=1.0, m2=0.0, m3=m)
        check_logit_range(self.s, 2.0 * m)  # the largest cosine margin, at ẑ = 1
        self.register_buffer("running_mean", torch.tensor(0.0))
        self.register_buffer("running_std", torch.tensor(1.0))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    @property
    def m(self) -> float:
        """The margin m (= m3, the cosine margin of a sample of average norm)."""
        return self.m3

    def normalized_norm(self, norms: Tensor) -> Tensor:
        """The standardised norm ẑ = clip(h·(‖z‖ − μ)/(σ + ε), −1, 1) under the current statistics (no update).

        Parameters
        ----------
        norms : Tensor, any shape, floating
            Feature norms ‖z‖ >= 0 of raw embeddings.

        Returns
        -------
        Tensor
            The standardised norm ẑ in [−1, 1], detached, with the shape and dtype of ``norms``.

        Raises
        ------
        TypeError
            If ``norms`` is not a floating tensor.
        ValueError
            If a norm is NaN, infinite or negative.
        """
        if not isinstance(norms, Tensor) or not norms.is_floating_point():
            raise TypeError(f"norms of type {getattr(norms, 'dtype', type(norms).__name__)}: pass a floating tensor "
                            "of feature norms, e.g. embeddings.norm(dim=1)")
        norms = _check_norms(norms.detach())
        mean, std = self.running_mean.to(norms), self.running_std.to(norms)
        return ((norms - mean) * self.h / (std + self.EPS)).clamp_(-1.0, 1.0)

    def target_logit(self, theta: Tensor | float, z_hat: Tensor | float) -> Tensor:
        """The target logit s·(cos(θ + g_angle) − g_add) at angle θ for a sample of standardised norm ẑ.

        Parameters
        ----------
        theta : Tensor, array_like or float
            Target angles θ_y in radians, in [0, π].
        z_hat : Tensor, array_like or float
            The standardised norm ẑ in [−1, 1], broadcastable with ``theta`` (−1: ArcFace, 0: CosFace,
            1: hard-sample emphasis).

        Returns
        -------
        Tensor
            The target logit as training uses it (warm-up scaled m, the monotone handling of the
            other heads), float64 of the broadcast shape.

        Raises
        ------
        ValueError
            ``theta`` outside [0, π] or ``z_hat`` outside [−1, 1] (or not finite).
        """
        theta = torch.as_tensor(check_angles("theta", theta), dtype=torch.float64)
        z_hat = torch.as_tensor(z_hat, dtype=torch.float64)
        if not bool(torch.isfinite(z_hat).all()) or float(z_hat.abs().max()) > 1.0:
            raise ValueError(f"z_hat={z_hat.tolist()!r}: the standardised norm lies in [−1, 1]; pass values there")
        theta, z_hat = torch.broadcast_tensors(theta, z_hat)
        m = self.effective_margins()[2]
        value, _ = _target_and_slope(torch.cos(theta), 1.0, 1.0, -m * z_hat, m * z_hat + m, False)
        return self.s * value

    @torch.no_grad()
    def _update_statistics(self, norms: Tensor) -> None:
        """The running averages of eq. 17 (the first batch sets them); nothing for an empty batch."""
        if norms.numel() == 0:
            return
        first = int(self.num_batches_tracked) == 0
        weight = 1.0 if first else self.momentum
        self.running_mean.lerp_(norms.mean().to(self.running_mean), weight)
        if norms.numel() > 1:
            self.running_std.lerp_(norms.std().to(self.running_std), weight)
        self.num_batches_tracked += 1

    def _margin_logits(self, x: Tensor, w: Tensor, labels: Tensor, m1: float, m2: float, m3: float) -> Tensor:
        norms = torch.linalg.vector_norm(x.detach(), dim=1, keepdim=True)  # ‖z‖ before normalisation, (B, 1)
        self._update_statistics(norms)  # finite: _check_inputs refused entries whose squared norm overflows
        z_hat = self.normalized_norm(norms)
        m = m3  # the warm-up-scaled m (m3 is the margin of a sample of average norm)
        return _NormalizedMarginLinear.apply(x, w, labels, self.s, 1.0, -m * z_hat, m * z_hat + m, False)

    def describe(self) -> str:
        """Short label for plot titles, e.g. "AdaFace (s=16, m=0.4, h=0.333)".

        Returns
        -------
        str
            The registry label, s, m and h, and the warm-up factor while it is below 1.
        """
        return f"{self.label} (s={self.s:g}, m={self.m3:g}, h={self.h:g}){self._warmup_note()}"


assert set(_HEADS) == set(LOSS_NAMES), "every registered loss needs its head class, and no head its own name"


def _check_norms(norms: Tensor) -> Tensor:
    """Feature norms that are finite and >= 0."""
    if norms.numel():
        low, high = (float(v) for v in torch.aminmax(norms))
        fix = "pass embeddings.norm(dim=1) of finite embeddings"
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(message("norms", "NaN/inf", "feature norms must be finite", fix))
        if low < 0:
            raise ValueError(message("norms.min", low, "a feature norm ‖z‖ is >= 0", fix))
    return norms


def head_class(name: str) -> type[_Head]:
    """The head class of a registered loss, by case-insensitive name.

    Parameters
    ----------
    name : str
        One of ``HEAD_NAMES``, e.g. ``"arcface"``.

    Returns
    -------
    type
        The class, e.g. :class:`ArcFaceHead` for ``"ArcFace"``.

    Raises
    ------
    TypeError
        ``name`` not a str.
    ValueError
        Unknown name (the message lists the valid ones).
    """
    return _HEADS[check_choice("name", name, HEAD_NAMES)]


def make_head(name: str, in_features: int, out_features: int, **kwargs: object) -> _Head:
    """Build a head by name.

    Parameters
    ----------
    name : str
        One of ``HEAD_NAMES`` (case-insensitive).
    in_features : int
        Embedding dimension D.
    out_features : int
        Number of classes C.
    **kwargs
        The head's own parameters, e.g. ``s=16, m=0.5`` for "arcface", ``m1, m2, m3`` for "combined".

    Returns
    -------
    nn.Module
        The head (see the class docstrings).

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones) or bad parameter values.
    TypeError
        ``name`` not a str; a keyword the head does not take (the message lists those it does).

    Examples
    --------
    >>> head = make_head("CosFace", 2, 10, s=30.0, m=0.2)
    >>> type(head).__name__, head.describe(), tuple(head.weight.shape)
    ('CosFaceHead', 'CosFace (s=30, m=0.2)', (10, 2))
    >>> make_head("arcface", 2, 10, m3=0.1)
    Traceback (most recent call last):
    ...
    TypeError: m3=0.1: the 'arcface' head does not take m3; it accepts: s, m, easy_margin
    """
    cls = head_class(name)
    key = cls.name
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "in_features", "out_features")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"{unknown[0]}={kwargs[unknown[0]]!r}: the {key!r} head does not take "
                        f"{', '.join(unknown)}; it accepts: {', '.join(accepted)}")
    return cls(in_features, out_features, **kwargs)
