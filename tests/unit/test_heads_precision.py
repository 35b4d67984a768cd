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
