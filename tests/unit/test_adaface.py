"""AdaFace (Kim, Jain, Liu, CVPR 2022) against independent references: a float64 formula written out
with Python floats, its three defining limits, the running statistics of eq. 17, gradcheck, edge
angles and bad arguments."""
from __future__ import annotations

import math
import statistics

import pytest
import torch
import torch.nn.functional as F

from arcface_viz import experiment, heads, training
from arcface_viz.heads import AdaFaceHead, ArcFaceHead, CosFaceHead, make_head
from arcface_viz.losses import LOSSES

D, C = 6, 5
LABELS = torch.tensor([0, 1, 2, 3, 4, 0, 2, 1])


def ref_target(cos: float, m: float, z_hat: float) -> float:
    """cos(θ + g_angle) − g_add with g_angle = −m·ẑ, g_add = m·ẑ + m (eqs. 18-19); the angle held at 0
    below 0 and, past θ_t = π − g_angle, the monotone fallback cos θ − g_add − δ of the other heads."""
    theta = math.acos(max(-1.0, min(1.0, cos)))
    g_angle, g_add = -m * z_hat, m * z_hat + m
    if g_angle > 0 and theta > math.pi - g_angle:
        return cos - g_add - max(g_angle * math.sin(g_angle), 1 - math.cos(g_angle))
    return math.cos(max(theta + g_angle, 0.0)) - g_add


def ref_logits(x: torch.Tensor, w: torch.Tensor, labels, s: float, m: float, z_hats) -> torch.Tensor:
    rows = []
    for i, (row, label) in enumerate(zip(x.double().tolist(), labels)):
        cosines = []
        for centre in w.double().tolist():
            dot = sum(p * q for p, q in zip(row, centre))
            cosines.append(dot / (math.hypot(*row) * math.hypot(*centre)))
        rows.append([s * (ref_target(c, m, z_hats[i]) if j == label else c) for j, c in enumerate(cosines)])
    return torch.tensor(rows, dtype=torch.float64)


def batch(seed: int = 0, n: int = len(LABELS)) -> torch.Tensor:
    """Embeddings of norms spread from 0.5 to 8 (so ẑ covers both clips) and random directions."""
    g = torch.Generator().manual_seed(seed)
    directions = F.normalize(torch.randn(n, D, generator=g, dtype=torch.float64), dim=1)
    return directions * torch.linspace(0.5, 8.0, n, dtype=torch.float64)[:, None]


def frozen_head(mean: float, std: float, **kwargs) -> AdaFaceHead:
    """A float64 head whose running statistics are fixed at (mean, std): momentum 0, already initialised."""
    torch.manual_seed(3)
    head = AdaFaceHead(D, C, momentum=0.0, **kwargs).double()
    head.running_mean.fill_(mean)
    head.running_std.fill_(std)
    head.num_batches_tracked.fill_(1)
    return head


def test_logits_match_the_float64_reference_with_the_first_batch_statistics():
    torch.manual_seed(1)
    head = AdaFaceHead(D, C, s=16.0, m=0.4, h=0.333).double()
    x = batch()
    logits = head(x, LABELS)
    norms = [math.hypot(*row) for row in x.tolist()]
    mean, std = statistics.fmean(norms), statistics.stdev(norms)  # unbiased, as the paper's code
    assert head.running_mean.item() == pytest.approx(mean) and head.running_std.item() == pytest.approx(std)
    z_hats = [max(-1.0, min(1.0, 0.333 * (n - mean) / (std + 1e-3))) for n in norms]
    assert min(z_hats) < -0.3 and max(z_hats) > 0.3  # the batch reaches well into both sides
    torch.testing.assert_close(logits, ref_logits(x, head.weight.detach(), LABELS.tolist(), 16.0, 0.4, z_hats),
                               rtol=1e-10, atol=1e-10)
    # float32 agrees to float32 precision
    head32 = AdaFaceHead(D, C, s=16.0, m=0.4, h=0.333)
    head32.weight.data.copy_(head.weight.detach())
    torch.testing.assert_close(head32(x.float(), LABELS).double(), logits, rtol=1e-5, atol=1e-4)


def test_running_statistics_follow_the_paper_s_moving_average():
    head = AdaFaceHead(D, C)
    assert head.momentum == 0.01 == LOSSES["adaface"].extra["momentum"]
    first, second = batch(0).float(), batch(1).float() * 3
    head(first, LABELS)
    mean1, std1 = first.norm(dim=1).mean().item(), first.norm(dim=1).std().item()
    head(second, LABELS)
    mean2, std2 = second.norm(dim=1).mean().item(), second.norm(dim=1).std().item()
    assert head.running_mean.item() == pytest.approx(0.99 * mean1 + 0.01 * mean2, rel=1e-6)
    assert head.running_std.item() == pytest.approx(0.99 * std1 + 0.01 * std2, rel=1e-6)
    assert head.num_batches_tracked.item() == 2
    # inference and label-free calls neither use the margin nor move the statistics
    before = (head.running_mean.item(), head.running_std.item())
    head.eval()
    torch.testing.assert_close(head(second, LABELS), head.s * head.cosine(second))
    head.train()
    torch.testing.assert_close(head(second), head.s * head.cosine(second))
    assert (head.running_mean.item(), head.running_std.item()) == before
    # a batch of one has no spread: it moves the mean only; an empty batch moves nothing
    head(second[:1], LABELS[:1])
    assert head.running_std.item() == before[1] and head.running_mean.item() != before[0]
    assert head(second[:0], LABELS[:0]).shape == (0, C) and head.num_batches_tracked.item() == 3


def norm_pair(mean: float, half_gap: float) -> torch.Tensor:
    """Two float64 embeddings of norms mean ± half_gap (Bessel std half_gap·√2), along the first two axes."""
    x = torch.zeros(2, D, dtype=torch.float64)
    x[0, 0], x[1, 1] = mean - half_gap, mean + half_gap
    return x


def test_running_mean_lags_a_shift_of_the_norms_over_a_short_training():
    # Lesson 8's finding: with the paper's α = 0.01 the statistics remember about 1/α = 100 batches, so
    # after a shift of the norms a short training's ẑ still measures the old norms. One batch of norms
    # 3 ± 0.1, then 40 batches of 1 ± 0.1 (lesson 8's "Try it" run: 5 batches x 8 epochs).
    torch.manual_seed(0)
    head = AdaFaceHead(D, 2, h=0.333).double()
    labels = torch.tensor([0, 1])
    head(norm_pair(3.0, 0.1), labels)
    for _ in range(40):
        head(norm_pair(1.0, 0.1), labels)
    # μ = 1 + 2·0.99^40 = 2.33794 (the first batch still weighs 0.99^40 = 0.669); σ stays 0.1·√2
    assert head.running_mean.item() == pytest.approx(1.0 + 2.0 * 0.99 ** 40, rel=1e-12)
    assert head.running_mean.item() == pytest.approx(2.33794, abs=1e-5)
    assert head.running_std.item() == pytest.approx(0.1 * math.sqrt(2), rel=1e-12)
    # both faces of the current batch, its shorter and its longer, sit at ẑ = -1 (ArcFace's margin):
    # 0.333·(1.1 − 2.33794)/(0.141421 + 0.001) = −2.894 before the clip
    assert head.normalized_norm(torch.tensor([0.9, 1.1], dtype=torch.float64)).tolist() == [-1.0, -1.0]
    # the batch's own statistics (α = 1) centre it: ẑ = ±0.333·0.1/(0.141421 + 0.001) = ±0.23381
    own = AdaFaceHead(D, 2, h=0.333, momentum=1.0).double()
    for mean in (3.0,) + (1.0,) * 40:
        own(norm_pair(mean, 0.1), labels)
    torch.testing.assert_close(own.normalized_norm(torch.tensor([0.9, 1.1], dtype=torch.float64)),
                               torch.tensor([-0.23381, 0.23381], dtype=torch.float64), rtol=0, atol=1e-5)


@pytest.mark.parametrize("norm, z_hat", [(1.0, -1.0), (5.0, 0.0), (9.0, 1.0)])
def test_the_three_limits_arcface_cosface_and_hard_sample_emphasis(norm, z_hat):
    # μ = 5, σ + ε = 3, h = 1: ẑ = (‖z‖ − 5)/3, clipped to −1 at ‖z‖ = 1 and to +1 at ‖z‖ = 9
    head = frozen_head(5.0, 3.0 - AdaFaceHead.EPS, h=1.0, m=0.4)
    x = batch(2) / batch(2).norm(dim=1, keepdim=True) * norm
    assert head.normalized_norm(x.norm(dim=1)).tolist() == pytest.approx([max(-1.0, min(1.0, (norm - 5) / 3))] * 8)
    logits = head(x, LABELS)
    if z_hat == -1.0:  # low norm: ArcFace, s·cos(θ + m)
        other = ArcFaceHead(D, C, s=16.0, m=0.4).double()
    elif z_hat == 0.0:  # average norm: CosFace, s·(cos θ − m)
        other = CosFaceHead(D, C, s=16.0, m=0.4).double()
    if z_hat != 1.0:
        other.weight.data.copy_(head.weight.detach())
        torch.testing.assert_close(logits, other(x, LABELS), rtol=1e-12, atol=1e-12)
    else:  # high norm: s·(cos(θ − m) − 2m), with θ − m held at 0 below θ = m
        cos = head.cosine(x)
        theta = torch.arccos(cos.gather(1, LABELS[:, None]).squeeze(1))
        expected = 16.0 * (torch.cos((theta - 0.4).clamp(min=0.0)) - 0.8)
        torch.testing.assert_close(logits.gather(1, LABELS[:, None]).squeeze(1), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("z_hat", [-1.0, -0.5, 0.0, 0.5, 1.0])
@pytest.mark.parametrize("m", [0.2, 0.4, 1.0])
def test_target_is_non_increasing_in_theta_for_every_quality(z_hat, m):
    theta = torch.linspace(0, math.pi, 4001, dtype=torch.float64)
    cos = torch.cos(theta)
    g = torch.full_like(cos, z_hat)
    value, _ = heads._target_and_slope(cos, 1.0, 1.0, -m * g, m * g + m, False)
    assert (value.diff() <= 1e-12).all()
    expected = torch.tensor([ref_target(c, m, z_hat) for c in cos.tolist()], dtype=torch.float64)
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("margins", [(0.5, 0.0), (0.5, 0.35), (2.9, 0.1), (0.0, 0.3)])
def test_per_sample_margins_equal_the_single_margin_function(margins):
    # one source of truth: constant per-sample (m2, m3) give exactly the float path, fallback included
    m2, m3 = margins
    cos = torch.cos(torch.linspace(0, math.pi, 1001, dtype=torch.float64))
    value, slope = heads._target_and_slope(cos, 16.0 * 1.0, 1.0, m2, m3, False)
    per_value, per_slope = heads._target_and_slope(cos, 16.0, 1.0, torch.full_like(cos, m2), torch.full_like(cos, m3),
                                                   False)
    torch.testing.assert_close(per_value, value, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(per_slope, slope, rtol=1e-12, atol=1e-12)


def test_gradcheck_float64_through_the_head_and_the_per_sample_margin():
    # The margin reads the detached norm (as the paper): its gradient treats ẑ as a constant, so the
    # check uses norms where ẑ is clipped at ±1 (locally constant), alternating low and high.
    head = frozen_head(4.0, 2.0 - AdaFaceHead.EPS, h=1.0)
    x = batch(4)
    norms = torch.tensor([0.6, 7.0, 1.2, 8.0, 1.5, 9.0, 0.8, 7.5], dtype=torch.float64)
    x = (x / x.norm(dim=1, keepdim=True) * norms[:, None]).requires_grad_()
    # every branch: the angle held at 0 (high norm, θ < m·ẑ), inside, and past θ_t (low norm, θ near π)
    centres = head.centers.double()[LABELS]
    x.data[-1] = 7.5 * centres[-1] + 0.01 * x.data[-1]  # ẑ > 0, θ ~ 0: held
    x.data[0] = -0.6 * centres[0] + 0.02 * x.data[0]  # ẑ = −1, θ near π: fallback
    cos_y = F.cosine_similarity(x.detach(), centres)
    z_hat = head.normalized_norm(x.detach().norm(dim=1))
    assert z_hat.abs().tolist() == [1.0] * 8
    assert cos_y[-1] > math.cos(0.4 * z_hat[-1]) and cos_y[0] < -math.cos(0.4)
    weight = head.weight.detach().clone().requires_grad_()

    def logits(emb, w):
        return torch.func.functional_call(head, {"weight": w}, (emb, LABELS))

    assert torch.autograd.gradcheck(logits, (x, weight), eps=1e-6, atol=1e-6)
    margins = (torch.tensor([[-0.3], [0.4], [2.5]], dtype=torch.float64), torch.tensor([[0.7], [0.4], [0.1]],
                                                                                         dtype=torch.float64))
    cos = torch.tensor([[0.999], [0.2], [-0.95]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: heads._MarginDelta.apply(c, 16.0, 1.0, *margins, False, heads.SIN_FLOOR),
                                    (cos,), eps=1e-7, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_finite_loss_and_gradients_at_cos_plus_and_minus_one_at_both_clips(dtype):
    head = frozen_head(2.0, 1.0)
    if dtype != torch.float64:
        head = head.float()
    labels = torch.tensor([0, 1, 2, 3])
    centres = head.centers[labels]
    # ẑ = +1 on the centre (held branch at θ = 0), ẑ = −1 opposite it (fallback at θ = π), and the reverse
    x = torch.cat([5.0 * centres[:1], -0.1 * centres[1:2], 0.1 * centres[2:3], -5.0 * centres[3:]])
    x = x.to(dtype).requires_grad_()
    loss = head.loss(x, labels)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all() and torch.isfinite(head.weight.grad).all()


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"m": -0.1}, ValueError, r"m=-0.1: must lie in \[0, 1\]"),
    ({"m": 1.5}, ValueError, r"m=1.5: must lie in \[0, 1\]"),
    ({"m": "0.4"}, TypeError, r"m='0.4': expected a real number"),
    ({"h": -1.0}, ValueError, r"h=-1.0: must lie in \[0, inf\).*concentration"),
    ({"h": float("nan")}, ValueError, r"h=nan: must be a finite number"),
    ({"momentum": 1.5}, ValueError, r"momentum=1.5: must lie in \[0, 1\]"),
    ({"momentum": True}, TypeError, r"momentum=True: expected a real number"),
    ({"s": 0.0}, ValueError, r"s=0.0: must lie in"),
    ({"k": 3}, TypeError, r"k=3: the 'adaface' head does not take k; it accepts: s, m, h, momentum"),
])
def test_bad_parameters_raise_naming_the_value(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        make_head("adaface", D, C, **kwargs)


def test_bad_norms_raise():
    with pytest.raises(TypeError, match="norms of type list"):
        AdaFaceHead(D, C).normalized_norm([1.0, 2.0])


@pytest.mark.parametrize("norms, pattern", [
    (torch.tensor([1.0, float("nan")]), r"^norms='NaN/inf': feature norms must be finite"),  # before: ẑ = NaN
    (torch.tensor([1.0, -2.0]), r"^norms\.min=-2\.0: a feature norm ‖z‖ is >= 0"),  # before: ẑ = -0.33 (or -1)
])
def test_normalized_norm_refuses_nan_and_negative_norms(norms, pattern):
    with pytest.raises(ValueError, match=pattern + r".*pass embeddings\.norm\(dim=1\)"):
        AdaFaceHead(D, C).normalized_norm(norms)


def test_embeddings_whose_norm_overflows_are_refused_before_the_statistics_change():
    # before: ‖z‖ of 1e30-sized float32 embeddings is inf; NaN logits, and inf running statistics made every
    # later batch NaN too
    head = AdaFaceHead(D, C)
    head(torch.ones(4, D), torch.arange(4) % C)
    before = (head.running_mean.clone(), head.running_std.clone(), int(head.num_batches_tracked))
    with pytest.raises(ValueError, match=r"^embeddings\.max=1e\+30: the squared norm overflows torch\.float32; "
                                         r"check the backbone"):
        head(torch.full((4, D), 1e30), torch.arange(4) % C)
    assert (head.running_mean, head.running_std, int(head.num_batches_tracked)) == before
    assert torch.isfinite(head.loss(torch.ones(4, D), torch.arange(4) % C))


def test_adding_adaface_took_only_its_entry_and_its_class():
    # the class registered itself by its name; the recipe, checkpoints and describe read the registry
    assert heads.head_class("adaface") is AdaFaceHead
    kwargs = experiment.head_kwargs("adaface", s=32.0, m=0.3)
    assert kwargs == {"s": 32.0, "m": 0.3, "h": 0.333, "momentum": 0.01}
    head = make_head("adaface", D, C, **kwargs)
    head(batch(0).float(), LABELS)
    config = training.head_config(head)
    assert config["kwargs"] == kwargs
    rebuilt = make_head("adaface", D, C, **config["kwargs"])
    rebuilt.load_state_dict(head.state_dict())  # the running statistics are part of the saved state
    assert rebuilt.running_mean.item() == head.running_mean.item() and head.describe() == "AdaFace (s=32, m=0.3, h=0.333)"
    with pytest.raises(TypeError, match="name='hinge': not a registered loss"):
        type("HingeHead", (heads.CombinedMarginHead,), {"name": "hinge"})
    with pytest.raises(TypeError, match="name='adaface': AdaFaceHead already has that name"):
        type("Other", (heads.CombinedMarginHead,), {"name": "adaface"})


def test_target_logit_curves_are_the_three_limits():
    head = AdaFaceHead(D, C, s=2.0, m=0.4)
    theta = torch.linspace(0, math.pi, 181, dtype=torch.float64)
    torch.testing.assert_close(head.target_logit(theta, -1.0), heads.target_logit(theta, s=2.0, m2=0.4))
    torch.testing.assert_close(head.target_logit(theta, 0.0), heads.target_logit(theta, s=2.0, m3=0.4))
    torch.testing.assert_close(head.target_logit(theta, 1.0), 2.0 * (torch.cos((theta - 0.4).clamp(min=0)) - 0.8))
    with pytest.raises(ValueError, match=r"z_hat=\[1.5\]: the standardised norm lies in \[−1, 1\]"):
        head.target_logit(theta, [1.5])
