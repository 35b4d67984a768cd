"""Derivatives of the margin at the ends of its range: θ → 0 and half-precision cosines.

Both faults were found in replayed public reports (issue 14): target_logit's slope was 0 at θ = 0,
and margin_logits returned a −inf gradient to float16 cosines at cos θ = 1.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from arcface_viz import heads
from arcface_viz.heads import margin_logits, target_logit


# --------------------------------------------------------------------------- target_logit near θ = 0
@pytest.mark.parametrize("margins", [{"m2": 0.5}, {"m1": 1.35}, {"m1": 1.2, "m2": 0.3, "m3": 0.2}, {"m3": 0.35}, {}])
def test_target_logit_slope_near_zero_is_minus_s_m1_sin(margins):
    # d/dθ s·(cos(m1·θ + m2) − m3) = −s·m1·sin(m1·θ + m2), also below the sin θ floor (1e-4 rad)
    s, m1, m2 = 3.0, margins.get("m1", 1.0), margins.get("m2", 0.0)
    theta = torch.tensor([0.0, 1e-7, 1e-5, 5e-5, 0.99e-4, 2e-4, 1e-2, 0.7], dtype=torch.float64, requires_grad=True)
    target_logit(theta, s=s, **margins).sum().backward()
    expected = -s * m1 * torch.sin(m1 * theta.detach() + m2)
    torch.testing.assert_close(theta.grad, expected, rtol=1e-7, atol=1e-12)


def test_target_logit_slope_at_zero_is_not_zero_for_arcface():
    theta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    target_logit(theta, s=16.0, m2=0.5).backward()
    assert theta.grad.item() == pytest.approx(-16.0 * math.sin(0.5), rel=1e-12)


def test_target_logit_slope_matches_finite_differences_over_the_whole_range():
    # central differences of the value (no autograd) against the autograd slope, away from the kinks
    for margins in ({"m2": 0.5}, {"m1": 1.35}, {"m1": 1.2, "m2": 0.3, "m3": 0.2}):
        m1, m2 = margins.get("m1", 1.0), margins.get("m2", 0.0)
        theta_t = (math.pi - m2) / m1
        grid = torch.linspace(2e-3, math.pi - 2e-3, 301, dtype=torch.float64)
        grid = grid[(grid - theta_t).abs() > 1e-3]
        theta = grid.clone().requires_grad_()
        target_logit(theta, s=2.0, **margins).sum().backward()
        h = 1e-6
        numeric = (target_logit(grid + h, s=2.0, **margins) - target_logit(grid - h, s=2.0, **margins)) / (2 * h)
        torch.testing.assert_close(theta.grad, numeric, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- half-precision gradients
def test_float16_gradient_at_cos_one_is_finite_for_the_reported_case():
    # the public report: s = 16, m2 = 1.0, float16 cosine exactly 1 gave an infinite gradient
    cos = torch.tensor([[1.0, 0.2], [0.3, 1.0]], dtype=torch.float16, requires_grad=True)
    margin_logits(cos, torch.tensor([0, 1]), s=16.0, m2=1.0).sum().backward()
    assert torch.isfinite(cos.grad).all()
    # at cos θ = 1 the slope uses float16's smallest sin θ, 2^-5 (cos θ = 1 − 2^-11): s·(sin m/2^-5 + cos m)
    expected = 16.0 * (math.sin(1.0) / 2.0**-5 + math.cos(1.0))
    assert float(cos.grad[0, 0]) == pytest.approx(expected, rel=1e-3)
    assert float(cos.grad[0, 1]) == 16.0


def _random_cosines(rng: np.random.Generator, shape: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """Uniform cosines in [-1, 1] with a third of them on ±1 or on the dtype's neighbours of ±1."""
    cos = rng.uniform(-1.0, 1.0, size=shape)
    step = torch.finfo(dtype).eps / 2  # spacing just below 1 (and just above −1)
    edges = np.array([1.0, -1.0, 1.0 - step, -1.0 + step, 1.0 - 4 * step])
    snap = rng.random(shape) < 1 / 3
    cos[snap] = rng.choice(edges, size=int(snap.sum()))
    return torch.tensor(cos, dtype=torch.float64).to(dtype)


def _random_margins(rng: np.random.Generator) -> dict:
    kind = rng.integers(5)  # ArcFace, CosFace, SphereFace, combined, none
    m1 = float(rng.uniform(1.0, 3.0)) if kind in (2, 3) else 1.0
    m2 = float(rng.uniform(0.0, math.pi - 1e-3)) if kind in (0, 3) else 0.0
    m3 = float(rng.uniform(0.0, 1.0)) if kind in (1, 3) else 0.0
    return {"m1": m1, "m2": m2, "m3": m3, "easy_margin": bool(rng.random() < 0.2)}


def test_property_gradients_are_finite_in_every_dtype_where_the_docstring_promises():
    """Seeded random sweep over cosines (many on or next to ±1), labels, s, margins and dtypes.

    The promise (margin_logits' docstring): with an upstream gradient of size <= 1, the gradient is
    finite in every dtype; float16 cosines that need a gradient take s·(32·m1 + 1) <= 65504
    (heads._float16_scale_limit) and beyond that raise a clear ValueError.
    """
    rng = np.random.default_rng(20261130)
    dtypes = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
    for trial in range(400):
        dtype = dtypes[trial % 4]
        margins = _random_margins(rng)
        limit = heads._float16_scale_limit(margins["m1"]) if dtype == torch.float16 else 1e4
        s = float(np.exp(rng.uniform(math.log(1e-3), math.log(min(limit, 1e4)))))
        if rng.random() < 0.1:
            s = min(limit, 1e4)  # the edge of the promise
        b, c = int(rng.integers(1, 9)), int(rng.integers(1, 7))
        cos = _random_cosines(rng, (b, c), dtype).requires_grad_()
        labels = torch.tensor(rng.integers(0, c, size=b))
        logits = margin_logits(cos, labels, s=s, **margins)
        upstream = torch.tensor(rng.uniform(-1.0, 1.0, size=(b, c)), dtype=logits.dtype)
        (logits * upstream).sum().backward()
        context = f"trial {trial}: dtype={dtype}, s={s:g}, margins={margins}, cos={cos.tolist()}"
        assert torch.isfinite(logits).all(), context
        assert cos.grad.dtype == dtype and torch.isfinite(cos.grad).all(), context
        cos.grad = None
        F.cross_entropy(margin_logits(cos, labels, s=s, **margins), labels).backward()
        assert torch.isfinite(cos.grad).all(), context


@pytest.mark.parametrize("m1", [1.0, 1.35, 2.0])
def test_float16_scale_beyond_the_limit_is_a_clear_error(m1):
    limit = heads._float16_scale_limit(m1)
    assert limit * (32 * m1 + 1) == pytest.approx(65504.0, rel=1e-3)  # sin θ floor ≈ 2^-5
    cos = torch.tensor([[1.0, 0.2]], dtype=torch.float16, requires_grad=True)
    with pytest.raises(ValueError, match=r"s=.*float16.*cos\.float\(\)"):
        margin_logits(cos, torch.tensor([0]), s=limit * 1.01, m1=m1, m2=0.5)
    # without a gradient (inference, plots) or in float32 nothing can overflow: no error
    margin_logits(cos.detach(), torch.tensor([0]), s=limit * 1.01, m1=m1, m2=0.5)
    margin_logits(cos.float(), torch.tensor([0]), s=limit * 1.01, m1=m1, m2=0.5)
