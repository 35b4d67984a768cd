"""FaceCNN: shapes, any input size, gradients, clear errors."""
from __future__ import annotations

import pytest
import torch

from arcface_viz.models import FaceCNN


@pytest.mark.parametrize("dim, size", [(2, (32, 32)), (3, (48, 40)), (128, (64, 64))])
def test_output_shape_and_dtype(dim, size):
    model = FaceCNN(dim)
    out = model(torch.rand(5, 1, *size))
    assert out.shape == (5, dim) and out.dtype == torch.float32


def test_width_sets_channels_and_config_rebuilds_same_shapes():
    model = FaceCNN(3, in_channels=3, width=8)
    assert [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)] == [8, 16, 32]
    clone = FaceCNN(**model.config())
    clone.load_state_dict(model.state_dict())
    model.eval(), clone.eval()
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(model(x), clone(x))


def test_default_is_small_and_gradients_are_finite():
    model = FaceCNN(2)
    assert sum(p.numel() for p in model.parameters()) < 30_000
    out = model(torch.rand(8, 1, 32, 32))
    out.pow(2).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_not_normalised():
    torch.manual_seed(0)
    norms = FaceCNN(4)(torch.rand(16, 1, 32, 32)).norm(dim=1)
    assert not torch.allclose(norms, torch.ones_like(norms))


@pytest.mark.parametrize(
    "images, error, match",
    [
        (torch.rand(2, 32, 32), ValueError, "unsqueeze"),
        (torch.rand(2, 3, 32, 32), ValueError, r"\(B, 1, H, W\)"),
        (torch.rand(2, 1, 4, 32), ValueError, "8×8"),
        (torch.zeros(2, 1, 32, 32, dtype=torch.uint8), TypeError, "float"),
    ],
)
def test_bad_input_is_named(images, error, match):
    with pytest.raises(error, match=match):
        FaceCNN(2)(images)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"embedding_dim": 0}, ValueError, "embedding_dim=0: must be >= 1"),
    ({"embedding_dim": 2.0}, TypeError, "embedding_dim=2.0: expected an int"),
    ({"embedding_dim": 2, "width": -1}, ValueError, "width=-1: must be >= 1"),
])
def test_bad_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        FaceCNN(**kwargs)
