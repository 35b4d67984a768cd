"""Margin heads against independent references: element-by-element float64 formulas, gradcheck,
the seed's acos formula, a straight-through counter-example, edge angles and bad inputs."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from arcface_viz import heads
from arcface_viz.heads import (
    HEAD_NAMES,
    ArcFaceHead,
    CombinedMarginHead,
    CosFaceHead,
    NormFaceHead,
    SoftmaxHead,
    SphereFaceHead,
    SubCenterArcFaceHead,
    make_head,
    margin_logits,
    target_logit,
)

D, C = 6, 5


# --------------------------------------------------------------------------- references
def ref_target(cos: float, m1: float, m2: float, m3: float) -> float:
    """The documented target: cos(m1·θ+m2) − m3, past θ_t = (π−m2)/m1 the fallback cos θ − m3 − δ."""
    theta = math.acos(max(-1.0, min(1.0, cos)))
    theta_t = (math.pi - m2) / m1
    if theta > theta_t:
        u = math.pi - theta_t
        return cos - m3 - max(u * math.sin(theta_t), 1 + math.cos(theta_t))
    return math.cos(m1 * theta + m2) - m3


def ref_cosines(x: torch.Tensor, w: torch.Tensor, k: int = 1) -> list[list[float]]:
    """cos θ_ij with python floats, max over the k sub-centres of each class."""
    rows = x.double().tolist()
    centres = w.double().tolist()

    def cos(a, b):
        dot = sum(p * q for p, q in zip(a, b))
        return dot / (math.sqrt(sum(p * p for p in a)) * math.sqrt(sum(q * q for q in b)))

    n_classes = len(centres) // k
    return [[max(cos(r, centres[j * k + i]) for i in range(k)) for j in range(n_classes)] for r in rows]


def ref_logits(x, w, labels, s, m1, m2, m3, k=1) -> torch.Tensor:
    out = []
    for i, row in enumerate(ref_cosines(x, w, k)):
        out.append([s * (ref_target(c, m1, m2, m3) if j == labels[i] else c) for j, c in enumerate(row)])
    return torch.tensor(out, dtype=torch.float64)


def embeddings_with_fallback(head, labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Non-unit embeddings; the last two sit almost opposite their class centre (θ_y past θ_t)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(labels), head.in_features, generator=g) * 3
    centres = head.centers[labels]
    x[-2:] = -2.5 * centres[-2:] + 0.05 * torch.randn(2, head.in_features, generator=g)
    return x


LABELS = torch.tensor([0, 1, 2, 3, 4, 0, 2, 1])

MARGIN_HEADS = [
    ("normface", {}, (1.0, 0.0, 0.0)),
    ("sphereface", {"m1": 1.35}, (1.35, 0.0, 0.0)),
    ("sphereface", {"m1": 2.0}, (2.0, 0.0, 0.0)),
    ("cosface", {"m": 0.35}, (1.0, 0.0, 0.35)),
    ("arcface", {"m": 0.5}, (1.0, 0.5, 0.0)),
    ("arcface", {"m": 1.0}, (1.0, 1.0, 0.0)),
    ("combined", {"m1": 1.0, "m2": 0.3, "m3": 0.2}, (1.0, 0.3, 0.2)),
    ("combined", {"m1": 1.2, "m2": 0.4, "m3": 0.1}, (1.2, 0.4, 0.1)),
    ("subcenter", {"m": 0.5, "k": 3}, (1.0, 0.5, 0.0)),
]


@pytest.mark.parametrize(("name", "kwargs", "margins"), MARGIN_HEADS)
def test_logits_match_float64_reference(name, kwargs, margins):
    torch.manual_seed(1)
    head = make_head(name, D, C, s=16.0, **kwargs)
    x = embeddings_with_fallback(head, LABELS)
    logits = head(x, LABELS)
    assert logits.dtype == torch.float32 and logits.shape == (len(LABELS), C)
    k = kwargs.get("k", 1)
    expected = ref_logits(x, head.weight.detach(), LABELS.tolist(), 16.0, *margins, k=k)
    torch.testing.assert_close(logits.double(), expected, rtol=1e-5, atol=1e-5)
    # the fallback rows really are past θ_t (with sub-centres the max cosine rarely is)
    cos_y = ref_cosines(x, head.weight.detach(), k)
    theta_t = (math.pi - margins[1]) / margins[0]
    if theta_t < math.pi and k == 1:
        assert all(math.acos(cos_y[i][LABELS[i]]) > theta_t for i in (-1, -2))


def test_softmax_head_is_affine():
    torch.manual_seed(0)
    head = SoftmaxHead(D, C)
    x = torch.randn(4, D)
    w, b = head.linear.weight.detach().double(), head.linear.bias.detach().double()
    expected = torch.tensor([[sum(x[i, d].item() * w[j, d].item() for d in range(D)) + b[j].item()
                              for j in range(C)] for i in range(4)], dtype=torch.float64)
    torch.testing.assert_close(head(x, LABELS[:4]).double(), expected, rtol=1e-5, atol=1e-6)
    assert head.s is None and (head.m1, head.m2, head.m3) == (1.0, 0.0, 0.0)
    torch.testing.assert_close(head.cosine(x).double(), torch.tensor(ref_cosines(x, w), dtype=torch.float64), rtol=1e-5, atol=1e-6)


def test_margin_logits_pure_function_matches_reference():
    torch.manual_seed(0)
    cos = torch.rand(6, 4, dtype=torch.float64) * 2 - 1
    cos[0, 1] = -0.999  # past θ_t for m2 = 0.5
    labels = torch.tensor([1, 0, 3, 2, 1, 0])
    out = margin_logits(cos.float(), labels, s=10.0, m2=0.5, m3=0.1)
    expected = torch.tensor([[10 * (ref_target(c, 1.0, 0.5, 0.1) if j == labels[i] else c)
                              for j, c in enumerate(row)] for i, row in enumerate(cos.float().double().tolist())],
                            dtype=torch.float64)
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(margin_logits(cos, None, s=10.0, m2=0.5), 10 * cos)


# --------------------------------------------------------------------------- gradients
#: One parameter set per branch of the target: additive angular, easy margin, multiplicative,
#: combined, additive cosine.
BRANCH_MARGINS = [
    {"m2": 0.5}, {"m2": 0.5, "easy_margin": True}, {"m1": 1.35}, {"m1": 1.2, "m2": 0.3, "m3": 0.2}, {"m3": 0.35},
]


def away_from_kinks(head, labels, seed=3):
    """float64 embeddings whose target angles avoid 0, π and the fallback threshold by a wide gap."""
    g = torch.Generator().manual_seed(seed)
    m1, m2, _ = head.effective_margins()
    theta_t = (math.pi - m2) / m1
    while True:
        x = torch.randn(len(labels), head.in_features, generator=g, dtype=torch.float64)
        cos = head.cosine(x)
        theta_y = torch.acos(cos.gather(1, labels[:, None]).clamp(-1, 1))
        if (theta_y - theta_t).abs().min() > 0.05 and cos.abs().max() < 0.99:
            return x


@pytest.mark.parametrize(("name", "kwargs", "margins"), MARGIN_HEADS)
def test_gradcheck_float64(name, kwargs, margins):
    torch.manual_seed(2)
    head = make_head(name, 4, 3, s=4.0, **kwargs).double()
    labels = torch.tensor([0, 1, 2, 1])
    x = away_from_kinks(head, labels).requires_grad_()
    w = head.weight.detach().clone().requires_grad_()

    def loss(x, w):
        logits = functional_call(head, {"weight": w}, (x, labels))
        return F.cross_entropy(logits, labels)

    assert torch.autograd.gradcheck(loss, (x, w))
    assert torch.autograd.gradcheck(lambda x, w: functional_call(head, {"weight": w}, (x, labels)), (x, w))


@pytest.mark.parametrize("margins", BRANCH_MARGINS)
def test_fused_head_equals_normalize_linear_then_margin_logits(margins):
    """The heads' single hand-written node against plain autograd through F.normalize, F.linear and
    margin_logits: same logits, same gradients, in every branch of the target and for embeddings
    shorter than F.normalize's eps (an all-zero row and a 1e-13 one, which it divides by eps)."""
    torch.manual_seed(7)
    head = CombinedMarginHead(4, 3, s=3.0, **{"m1": 1.0, "m2": 0.0, "m3": 0.0, **margins}).double()
    labels = torch.tensor([0, 1, 2, 1, 0, 2, 2])
    x = torch.randn(7, 4, dtype=torch.float64)
    x[3] = -2.0 * head.weight.detach()[1]  # θ_y = π: past every fallback threshold
    x[4] = 0.0
    x[5] = 1e-13 * x[0]
    w = head.weight.detach().clone()
    grads = torch.randn(7, 3, dtype=torch.float64)  # an arbitrary upstream gradient

    def reference(x, w):
        cos = F.linear(F.normalize(x, dim=1), F.normalize(w, dim=1))
        return margin_logits(cos, labels, s=3.0, **{"m1": 1.0, "m2": 0.0, "m3": 0.0, **margins})

    def fused(x, w):
        return functional_call(head, {"weight": w}, (x, labels))

    outputs = []
    for fn in (reference, fused):
        xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
        logits = fn(xg, wg)
        logits.backward(grads)
        outputs.append((logits.detach(), xg.grad, wg.grad))
    for expected, actual in zip(*outputs):
        torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("frozen", ["embeddings", "weight"])
def test_gradient_flows_when_only_one_side_requires_it(frozen):
    torch.manual_seed(8)
    head = ArcFaceHead(4, 3, s=4.0, m=0.5).double()
    labels = torch.tensor([0, 1, 2, 1])
    x = away_from_kinks(head, labels)
    if frozen == "weight":
        head.weight.requires_grad_(False)
        x.requires_grad_()
        assert torch.autograd.gradcheck(lambda x: F.cross_entropy(head(x, labels), labels), (x,))
    else:
        w = head.weight.detach().clone().requires_grad_()
        loss = lambda w: F.cross_entropy(functional_call(head, {"weight": w}, (x, labels)), labels)  # noqa: E731
        assert torch.autograd.gradcheck(loss, (w,))


@pytest.mark.parametrize("margins", BRANCH_MARGINS)
def test_gradcheck_target_logit_in_every_branch(margins):
    # θ in the margin branch, past the easy-margin switch at π/2 and past every fallback threshold
    theta = torch.tensor([0.3, 1.2, 1.9, 3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: target_logit(t, s=3.0, **margins), (theta,))


def test_easy_margin_with_a_cosine_margin_only_leaves_negative_cosines_alone():
    # m1 = 1, m2 = 0 takes the no-trigonometry branch: easy_margin must still apply there
    cos = torch.tensor([[-0.5, 0.2], [0.6, 0.1]])
    labels = torch.tensor([0, 0])
    out = margin_logits(cos, labels, s=2.0, m3=0.35, easy_margin=True)
    torch.testing.assert_close(out, torch.tensor([[-1.0, 0.4], [0.5, 0.2]]))
    theta = torch.tensor([math.radians(120.0), math.radians(60.0)], dtype=torch.float64)
    torch.testing.assert_close(target_logit(theta, m3=0.35, easy_margin=True),
                               torch.tensor([-0.5, 0.5 - 0.35], dtype=torch.float64))
    head = CombinedMarginHead(D, C, s=2.0, m1=1.0, m2=0.0, m3=0.35, easy_margin=True)
    x = torch.stack([-head.centers[0], head.centers[1]])
    torch.testing.assert_close(head(x, torch.tensor([0, 1])).gather(1, torch.tensor([[0], [1]])).squeeze(1),
                               torch.tensor([-2.0, 2.0 * (1 - 0.35)]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("s", [1e-3, 1.0, 10.0, 30.0, 64.0, 1e4])
def test_float32_margin_is_as_accurate_as_float64_from_the_same_cosines(s):
    """margin_logits and the heads compute the margin in float32; near cos θ = ±1 that must not lose
    more than a few float32 steps against float64 maths on the very same float32 inputs."""
    cos32 = torch.tensor([1.0, 0.99999994, 0.9999, 0.5, -0.3, -0.99999994, -1.0])
    labels = torch.zeros(len(cos32), dtype=torch.long)
    cos = torch.stack([cos32, torch.zeros_like(cos32)], dim=1)
    for margins in ({"m2": 0.5}, {"m1": 1.5, "m2": 0.2, "m3": 0.1}):
        got = margin_logits(cos, labels, s=s, **margins)[:, 0].double()
        expected = torch.tensor([s * ref_target(c, margins.get("m1", 1.0), margins["m2"], margins.get("m3", 0.0))
                                 for c in cos32.double().tolist()], dtype=torch.float64)
        torch.testing.assert_close(got, expected, rtol=0, atol=4e-7 * s)
    head = ArcFaceHead(D, C, s=s, m=0.5)
    x = torch.cat([head.centers[:2], -head.centers[2:4], torch.randn(4, D)])
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    logits = head(x, labels)
    assert torch.isfinite(logits).all()
    F.cross_entropy(logits, labels).backward()
    assert torch.isfinite(head.weight.grad).all()


def straight_through_arcface(cos, labels, s, m):
    """InsightFace's current style: the margin is added under no_grad, so the loss value is right but
    the target gradient is the plain softmax one. The counter-example the exact head must not be."""
    with torch.no_grad():
        cos_y = cos.gather(1, labels[:, None])
        delta = torch.cos(torch.acos(cos_y.clamp(-1, 1)) + m) - cos_y
        one_hot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
    return s * (cos + one_hot * delta)


def test_straight_through_margin_fails_gradcheck_and_ours_passes():
    torch.manual_seed(4)
    cos = (torch.rand(5, 3, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    labels = torch.tensor([0, 1, 2, 0, 1])
    ours = lambda c: margin_logits(c, labels, s=4.0, m2=0.5)  # noqa: E731
    theirs = lambda c: straight_through_arcface(c, labels, 4.0, 0.5)  # noqa: E731
    torch.testing.assert_close(ours(cos), theirs(cos))  # same values ...
    assert torch.autograd.gradcheck(ours, (cos,))
    assert not torch.autograd.gradcheck(theirs, (cos,), raise_exception=False)  # ... wrong gradient


@pytest.mark.parametrize("margins", BRANCH_MARGINS)
def test_gradcheck_margin_logits_in_every_branch(margins):
    # target cosines in the margin branch (0.95, 0.3), past the easy-margin switch (-0.3) and past
    # the fallback threshold of every parameter set here (-0.97 is θ = 166°)
    cos = torch.tensor([[0.95, 0.1], [0.3, -0.2], [-0.3, 0.5], [-0.97, 0.4]], dtype=torch.float64)
    labels = torch.zeros(4, dtype=torch.long)
    assert torch.autograd.gradcheck(lambda c: margin_logits(c, labels, s=3.0, **margins), (cos.requires_grad_(),))


def test_target_gradient_is_the_analytic_one():
    theta = torch.tensor([0.3, 1.0, 2.0], dtype=torch.float64)
    cos = torch.cos(theta)[:, None].repeat(1, 2).requires_grad_()
    labels = torch.zeros(3, dtype=torch.long)
    margin_logits(cos, labels, s=1.0, m2=0.5)[:, 0].sum().backward()
    # d cos(θ+m)/d cos θ = sin(θ+m)/sin θ
    torch.testing.assert_close(cos.grad[:, 0], torch.sin(theta + 0.5) / torch.sin(theta))
    torch.testing.assert_close(cos.grad[:, 1], torch.zeros(3, dtype=torch.float64))


# --------------------------------------------------------------------------- edge angles, dtypes
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", [n for n in HEAD_NAMES if n != "softmax"])
def test_finite_loss_and_gradients_at_cos_plus_and_minus_one(name, dtype):
    torch.manual_seed(5)
    head = make_head(name, D, C)
    if dtype == torch.float64:
        head = head.double()
    labels = torch.tensor([0, 1, 2, 3])
    centres = head.centers[labels]
    x = torch.cat([centres[:2], -centres[2:]]).to(dtype).requires_grad_()
    logits = head(x, labels)
    assert logits.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(x.grad).all() and torch.isfinite(head.weight.grad).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_margin_logits_finite_gradient_at_exactly_plus_minus_one(dtype):
    cos = torch.tensor([[1.0, 0.2], [-1.0, 0.1], [0.3, 1.0]], dtype=dtype, requires_grad=True)
    labels = torch.tensor([0, 0, 1])
    for margins in ({"m2": 0.5}, {"m1": 1.35}, {"m1": 1.2, "m2": 0.3, "m3": 0.2}):
        logits = margin_logits(cos, labels, s=64.0, **margins)
        assert logits.dtype in (torch.float32, torch.float64)
        F.cross_entropy(logits, labels).backward()
        assert torch.isfinite(cos.grad).all()
        cos.grad = None


@pytest.mark.parametrize("m", [0.1, 0.5, 1.0])
def test_arcface_target_logit_is_non_increasing(m):
    theta = torch.linspace(0, math.pi, 4001, dtype=torch.float64)
    values = target_logit(theta, s=1.0, m2=m)
    assert (values.diff() <= 1e-12).all()
    # and the head path agrees: the target column of margin_logits on cos θ
    cos = torch.cos(theta)[:, None].repeat(1, 2)
    via_logits = margin_logits(cos, torch.zeros(len(theta), dtype=torch.long), s=1.0, m2=m)[:, 0]
    torch.testing.assert_close(via_logits, values)
    # cos(θ+m) up to π − m, then InsightFace's cos θ − m·sin m
    before = theta <= math.pi - m - 1e-9
    torch.testing.assert_close(values[before], torch.cos(theta[before] + m))
    torch.testing.assert_close(values[~before], torch.cos(theta[~before]) - m * math.sin(m))


@pytest.mark.parametrize("margins", [(1.35, 0, 0), (2.0, 0, 0), (1, 0.3, 0.2), (1.2, 1.5, 0.1), (1, 3.0, 0), (3.0, 0.2, 0)])
def test_combined_target_logit_is_non_increasing(margins):
    theta = torch.linspace(0, math.pi, 4001, dtype=torch.float64)
    values = target_logit(theta, m1=margins[0], m2=margins[1], m3=margins[2])
    assert (values.diff() <= 1e-12).all()


def test_easy_margin_applies_margin_only_where_cos_positive():
    theta = torch.linspace(0, math.pi, 721, dtype=torch.float64)
    values = target_logit(theta, m2=0.5, easy_margin=True)
    positive = torch.cos(theta) > 0
    torch.testing.assert_close(values[positive], torch.cos(theta[positive] + 0.5))
    torch.testing.assert_close(values[~positive], torch.cos(theta[~positive]))
    assert (values.diff() > 0.3).any()  # the documented upward jump at 90°: not monotone
    head = ArcFaceHead(D, C, m=0.5, easy_margin=True)
    assert "easy margin" in head.describe()


# --------------------------------------------------------------------------- heads agree
def copy_weights(target, source):
    with torch.no_grad():
        target.weight.copy_(source.weight)
    return target


def test_arcface_with_zero_margin_is_normface():
    torch.manual_seed(6)
    norm = NormFaceHead(D, C, s=10.0)
    arc = copy_weights(ArcFaceHead(D, C, s=10.0, m=0.0), norm)
    x = torch.randn(8, D)
    torch.testing.assert_close(arc(x, LABELS), norm(x, LABELS))
    torch.testing.assert_close(norm(x, LABELS), 10.0 * norm.cosine(x))


def test_subcenter_with_one_centre_is_arcface():
    torch.manual_seed(7)
    arc = ArcFaceHead(D, C)
    sub = copy_weights(SubCenterArcFaceHead(D, C, k=1), arc)
    x = embeddings_with_fallback(arc, LABELS).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    F.cross_entropy(arc(x, LABELS), LABELS).backward()
    F.cross_entropy(sub(x2, LABELS), LABELS).backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(arc.weight.grad, sub.weight.grad)


@pytest.mark.parametrize(
    ("single", "margins"),
    [
        (lambda: CosFaceHead(D, C, s=12.0, m=0.35), (1.0, 0.0, 0.35)),
        (lambda: ArcFaceHead(D, C, s=12.0, m=0.5), (1.0, 0.5, 0.0)),
        (lambda: SphereFaceHead(D, C, s=12.0, m1=1.35), (1.35, 0.0, 0.0)),
    ],
)
def test_combined_head_reproduces_single_margin_heads(single, margins):
    torch.manual_seed(8)
    one = single()
    combined = copy_weights(CombinedMarginHead(D, C, 12.0, *margins), one)
    x = embeddings_with_fallback(one, LABELS)
    torch.testing.assert_close(combined(x, LABELS), one(x, LABELS))


def test_seed_acos_formula_gives_the_same_loss_where_defined():
    """The seed's sample: θ = acos(clamp(cos)), target cos(θ + m), put in with a one-hot mask."""
    torch.manual_seed(9)
    head = ArcFaceHead(D, C, s=16.0, m=0.5)
    x = torch.randn(8, D)
    cos = head.cosine(x)
    assert (torch.acos(cos.gather(1, LABELS[:, None])) + 0.5 <= math.pi).all()
    theta = torch.acos(torch.clamp(cos, -1 + 1e-7, 1 - 1e-7))
    one_hot = F.one_hot(LABELS, C).float()
    seed_logits = 16.0 * (one_hot * torch.cos(theta + 0.5) + (1 - one_hot) * cos)
    torch.testing.assert_close(head.loss(x, LABELS), F.cross_entropy(seed_logits, LABELS), rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- modes, labels, API
def test_eval_mode_and_no_labels_give_scaled_cosine():
    torch.manual_seed(10)
    head = ArcFaceHead(D, C, s=16.0)
    x = torch.randn(8, D)
    plain = 16.0 * head.cosine(x)
    torch.testing.assert_close(head(x), plain)
    head.eval()
    torch.testing.assert_close(head(x, LABELS), plain)
    head.train()
    assert not torch.allclose(head(x, LABELS), plain)


def test_int32_labels_give_the_int64_loss():
    torch.manual_seed(11)
    head = CombinedMarginHead(D, C)
    x = torch.randn(8, D)
    torch.testing.assert_close(head(x, LABELS.int()), head(x, LABELS))
    torch.testing.assert_close(head.loss(x, LABELS.int()), head.loss(x, LABELS))
    torch.testing.assert_close(margin_logits(head.cosine(x), LABELS.int(), s=8.0, m2=0.3),
                               margin_logits(head.cosine(x), LABELS, s=8.0, m2=0.3))


def test_half_precision_inputs_are_upcast():
    torch.manual_seed(12)
    head = ArcFaceHead(D, C)
    x = torch.randn(8, D)
    for dtype in (torch.float16, torch.bfloat16):
        logits = head(x.to(dtype), LABELS)
        assert logits.dtype == torch.float32
        torch.testing.assert_close(logits, head(x.to(dtype).float(), LABELS))


def test_margin_factor_scales_the_margins():
    torch.manual_seed(13)
    head = CombinedMarginHead(D, C, s=8.0, m1=1.4, m2=0.4, m3=0.2)
    x = torch.randn(8, D)
    head.margin_factor = 0.5
    assert head.effective_margins() == pytest.approx((1.2, 0.2, 0.1))
    half = copy_weights(CombinedMarginHead(D, C, s=8.0, m1=1.2, m2=0.2, m3=0.1), head)
    torch.testing.assert_close(head(x, LABELS), half(x, LABELS))
    head.margin_factor = 0
    torch.testing.assert_close(head(x, LABELS), 8.0 * head.cosine(x))
    assert (head.m1, head.m2, head.m3) == (1.4, 0.4, 0.2)  # nominal values stay
    with pytest.raises(ValueError, match="1.5"):
        head.margin_factor = 1.5


def test_describe_and_attributes():
    assert ArcFaceHead(D, C).describe() == "ArcFace (s=16, m=0.5)"
    assert CosFaceHead(D, C, s=30, m=0.35).describe() == "CosFace (s=30, m=0.35)"
    assert SphereFaceHead(D, C).describe() == "SphereFace (s=16, m=1.35)"
    assert NormFaceHead(D, C).describe() == "NormFace (s=16)"
    assert SoftmaxHead(D, C).describe() == "Softmax"
    assert "k=3" in SubCenterArcFaceHead(D, C).describe()
    head = ArcFaceHead(D, C, m=0.3)
    assert (head.s, head.m1, head.m2, head.m3, head.m) == (16.0, 1.0, 0.3, 0.0, 0.3)
    head.margin_factor = 0.5
    assert "0.50" in head.describe()


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_make_head_and_centers(name):
    head = make_head(name, D, C)
    assert type(head).name == name
    centres = head.centers
    assert centres.shape == (C, D) and not centres.requires_grad
    torch.testing.assert_close(centres.norm(dim=1), torch.ones(C))
    assert head.cosine(torch.randn(3, D)).shape == (3, C)


def test_subcenter_cosine_is_max_over_subcentres_and_centers_are_first():
    torch.manual_seed(14)
    head = SubCenterArcFaceHead(D, C, k=3)
    x = torch.randn(4, D)
    full = F.normalize(x, dim=1) @ head.sub_centers.reshape(C * 3, D).T
    torch.testing.assert_close(head.cosine(x), full.view(4, C, 3).amax(dim=2))
    torch.testing.assert_close(head.centers, head.sub_centers[:, 0])
    # sub-centre 2 of class 1 attracts all of class 1's samples: it is the dominant one
    samples = head.sub_centers[1, 2].repeat(5, 1) + 0.01 * torch.randn(5, D)
    dominant = head.dominant_centers(samples, torch.ones(5, dtype=torch.long))
    torch.testing.assert_close(dominant[1], head.sub_centers[1, 2])
    torch.testing.assert_close(dominant[0], head.sub_centers[0, 0])


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
        (lambda: ArcFaceHead(D, C, s=0), ValueError, "s=0"),
        (lambda: ArcFaceHead(D, C, s=-2.0), ValueError, "s=-2.0"),
        (lambda: ArcFaceHead(D, C, m=math.pi), ValueError, "m2=3.14"),
        (lambda: ArcFaceHead(D, C, m=-0.1), ValueError, r"m2=-0.1.*\[0, π\)"),
        (lambda: SphereFaceHead(D, C, m1=0.9), ValueError, "m1=0.9.*>= 1"),
        (lambda: CosFaceHead(D, C, m=-0.2), ValueError, "m3=-0.2"),
        (lambda: CombinedMarginHead(D, C, m2=float("nan")), ValueError, "m2=nan"),
        (lambda: SubCenterArcFaceHead(D, C, k=0), ValueError, "k=0"),
        (lambda: make_head("arcfase", D, C), ValueError, "'arcfase'.*arcface"),
        (lambda: make_head("cosface", D, C, m2=0.5), TypeError, "m2.*accepts: s, m"),
        (lambda: margin_logits(torch.zeros(2, 3), None, s=0.0), ValueError, "s=0.0"),
    ],
)
def test_bad_parameters_raise_naming_the_value(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build()


@pytest.mark.parametrize(
    ("embeddings", "labels", "error", "pattern"),
    [
        (torch.randn(4, D), torch.tensor([0, 1, 2, 5]), ValueError, r"label=5: outside \[0, 4\]"),
        (torch.randn(4, D), torch.tensor([0, -1, 2, 3]), ValueError, r"label=-1: outside \[0, 4\]"),
        (torch.randn(4, D), torch.tensor([0.0, 1.0, 2.0, 3.0]), TypeError, "torch.float32.*labels.long"),
        (torch.randn(4, D), torch.tensor([True, False, True, False]), TypeError, "torch.bool"),
        (torch.randn(4, D), torch.tensor([[0], [1], [2], [3]]), ValueError, r"\(4, 1\).*\(4,\)"),
        (torch.randn(4, D), torch.tensor([0, 1, 2]), ValueError, r"\(3,\).*\(4,\)"),
        (torch.randn(4, D), [0, 1, 2, 3], TypeError, "list"),
        (torch.randn(4, D + 1), torch.tensor([0, 1, 2, 3]), ValueError, rf"\(4, {D + 1}\).*\(B, {D}\)"),
        (torch.randn(D), None, ValueError, rf"\({D},\)"),
        (torch.zeros(4, D, dtype=torch.long), None, TypeError, "torch.int64"),
        (torch.tensor([[float("nan")] * D] * 4), None, ValueError, "NaN"),
        (torch.tensor([[float("inf")] * D] * 4), None, ValueError, "inf"),
        (torch.randn(4, D), torch.zeros(4, dtype=torch.long, device="meta"), ValueError, "meta.*cpu"),
        (torch.randn(4, D, device="meta"), None, ValueError, "meta.*cpu"),
    ],
)
def test_bad_inputs_raise_before_any_computation(monkeypatch, embeddings, labels, error, pattern):
    head = ArcFaceHead(D, C)

    def no_compute(*args, **kwargs):
        raise AssertionError("computation started before validation")

    monkeypatch.setattr(heads.F, "normalize", no_compute)
    monkeypatch.setattr(heads.F, "linear", no_compute)
    monkeypatch.setattr(heads.torch, "mm", no_compute)
    with pytest.raises(error, match=pattern):
        head(embeddings, labels)


@pytest.mark.parametrize(
    ("cos", "labels", "pattern"),
    [
        (torch.zeros(3, 4), torch.tensor([0, 4, 1]), r"label=4: outside \[0, 3\]"),
        (torch.zeros(3), torch.tensor([0, 1, 1]), r"\(3,\)"),
        (torch.tensor([[0.1, float("nan")]]), torch.tensor([0]), "NaN"),
    ],
)
def test_margin_logits_rejects_bad_input(cos, labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        margin_logits(cos, labels, s=1.0, m2=0.5)


def test_autocast_matmul_still_gives_float32_logits_and_the_float32_loss():
    torch.manual_seed(15)
    head = ArcFaceHead(D, C)
    centre = head.centers[0]
    side = torch.randn(D)
    side = F.normalize(side - (side @ centre) * centre, dim=0)
    x = torch.randn(8, D)
    x[0] = math.cos(0.03) * centre + math.sin(0.03) * side  # 0.03 rad from its centre: steep margin slope

    def run(autocast: bool):
        xg = x.clone().requires_grad_()
        head.weight.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = head(xg, LABELS)
            F.cross_entropy(logits, LABELS).backward()
        return logits.detach(), xg.grad, head.weight.grad

    (logits, grad_x, grad_w), (logits32, grad_x32, grad_w32) = run(True), run(False)
    assert logits.dtype == grad_x.dtype == grad_w.dtype == torch.float32
    # bfloat16 keeps ~3 significant digits in the other cosines; the B target cosines are redone in
    # float32, so the margin and its slope near θ = 0 keep full precision
    torch.testing.assert_close(logits, logits32, rtol=0, atol=16 * 1e-2)
    torch.testing.assert_close(logits.gather(1, LABELS[:, None]), logits32.gather(1, LABELS[:, None]))
    assert ((grad_x - grad_x32).norm(dim=1) <= 0.05 * grad_x32.norm(dim=1)).all()
    assert (grad_w - grad_w32).norm() <= 0.05 * grad_w32.norm()


# --------------------------------------------------------------------------- adversarial inputs
def test_numpy_scalars_are_accepted_like_python_numbers():
    # np.arange(8, 65, 8) gives np.int64 scales; np.float32 comes out of arrays: the values are valid
    np = pytest.importorskip("numpy")
    head = ArcFaceHead(np.int64(D), np.int64(C), s=np.int64(16), m=np.float32(0.5))
    assert (head.in_features, head.s, head.m2) == (D, 16.0, pytest.approx(0.5))
    assert type(head.s) is float and type(head.in_features) is int
    head.margin_factor = np.float32(0.5)
    assert head.margin_factor == 0.5
    assert SubCenterArcFaceHead(D, C, k=np.int64(2)).k == 2
    cos = torch.tensor([[0.5, 0.1]])
    torch.testing.assert_close(margin_logits(cos, torch.tensor([0]), s=np.float64(2), m3=np.float32(0.25)),
                               torch.tensor([[0.5, 0.2]]))


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
        (lambda: ArcFaceHead(D, C, s="16"), TypeError, "s='16'.*number"),
        (lambda: ArcFaceHead(D, C, s=torch.tensor(16.0)), TypeError, "s=tensor.*float"),
        (lambda: ArcFaceHead(D, C, easy_margin="False"), TypeError, "easy_margin='False'.*True or False"),
        (lambda: margin_logits(torch.zeros(1, 2), torch.tensor([0]), s=1.0, m2=0.5, easy_margin="no"),
         TypeError, "easy_margin"),
        # s·(1 + m3 + π) must fit float32, or the logits become inf silently
        (lambda: ArcFaceHead(D, C, s=1e39), ValueError, r"s=1e\+39.*\[0.001, 10000\]"),
        (lambda: ArcFaceHead(D, C, s=1e-4), ValueError, r"s=0.0001.*\[0.001, 10000\]"),
        (lambda: CosFaceHead(D, C, m=1e300), ValueError, r"m3=1e\+300: must lie in \[0, 2\]"),  # once an overflow to inf; now out of range
        (lambda: margin_logits(torch.zeros(1, 2), torch.tensor([0]), s=2e4), ValueError, r"s=20000.0.*\[0.001"),
        (lambda: target_logit(1.0, s=1e-5), ValueError, r"s=1e-05.*\[0.001"),
        (lambda: make_head(["arcface"], D, C), TypeError, r"\['arcface'\].*str"),
        (lambda: make_head(None, D, C), TypeError, "None.*str"),
        (lambda: target_logit(torch.tensor([0.0, 90.0]), m2=0.5), ValueError, r"\[0, π\].*degrees"),
        (lambda: target_logit(-0.5, m2=0.5), ValueError, r"\[0, π\]"),
        (lambda: target_logit(float("nan"), m2=0.5), ValueError, "NaN"),
        (lambda: target_logit("1.0", m2=0.5), TypeError, "theta"),
    ],
)
def test_more_bad_parameters_raise_naming_the_value(build, error, pattern):
    with pytest.raises(error, match=pattern):
        build()


def test_target_logit_gradient_is_finite_at_zero_and_pi_and_exact_inside():
    theta = torch.tensor([0.0, 1e-3, 1.0, 2.5, 2.9, math.pi], dtype=torch.float64, requires_grad=True)
    target_logit(theta, s=2.0, m2=0.5).sum().backward()
    assert torch.isfinite(theta.grad).all()
    # d/dθ of 2·cos(θ + 0.5) below θ_t = π − 0.5 = 2.64; past it the fallback 2·(cos θ − 0.5·sin 0.5)
    # has slope −2·sin θ, which vanishes at π
    expected = [-2 * math.sin(0.501), -2 * math.sin(1.5), -2 * math.sin(3.0), -2 * math.sin(2.9)]
    torch.testing.assert_close(theta.grad[1:5], torch.tensor(expected, dtype=torch.float64))
    assert theta.grad[5] == pytest.approx(0.0, abs=1e-12)


def test_target_logit_accepts_pi_in_float32_and_keeps_its_gradient():
    theta = torch.linspace(0, math.pi, 5, dtype=torch.float32)  # float32 π is a hair above math.pi
    assert torch.isfinite(target_logit(theta, m2=0.5)).all()
    t = torch.tensor([math.radians(170.0)], dtype=torch.float64, requires_grad=True)
    target_logit(t, m2=0.5).sum().backward()
    assert t.grad.item() < 0  # monotone fallback: moving away from the centre lowers the logit


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_loss_rejects_an_empty_batch_and_missing_labels(name):
    head = make_head(name, D, C)
    assert head(torch.zeros(0, D), torch.zeros(0, dtype=torch.long)).shape == (0, C)  # logits of nothing: fine
    with pytest.raises(ValueError, match="empty batch"):
        head.loss(torch.zeros(0, D), torch.zeros(0, dtype=torch.long))  # mean of nothing would be NaN
    with pytest.raises(TypeError, match="labels=None.*loss"):
        head.loss(torch.randn(2, D), None)


def test_dominant_centers_needs_labels():
    with pytest.raises(TypeError, match="labels of type NoneType"):
        SubCenterArcFaceHead(D, C).dominant_centers(torch.randn(3, D), None)


# ---------------------------------------------------------------- the paper's second combined margin (m1 < 1)
def test_combined_margin_with_m1_below_one_matches_float64_reference():
    # ArcFace (Deng et al. 2019), Table 1, CM2: (m1, m2, m3) = (0.9, 0.4, 0.15). θ_t = (π − 0.4)/0.9 = 3.046 rad.
    s, m1, m2, m3 = 16.0, 0.9, 0.4, 0.15
    theta = torch.tensor([0.0, 0.3, 1.0, 2.0, 3.0], dtype=torch.float64)
    cos = torch.stack([torch.cos(theta), torch.zeros(5, dtype=torch.float64)], dim=1)
    labels = torch.zeros(5, dtype=torch.long)
    logits = margin_logits(cos, labels, s=s, m1=m1, m2=m2, m3=m3)
    expected = s * (torch.cos(m1 * theta + m2) - m3)
    torch.testing.assert_close(logits[:, 0], expected, rtol=1e-10, atol=1e-10)
    # a penalty everywhere on [0, θ_t]: the target logit stays below s·cos θ
    assert bool((logits[:, 0] < s * torch.cos(theta)).all())


def test_combined_margin_with_m1_below_one_is_accepted_by_the_head():
    head = CombinedMarginHead(4, 3, s=16.0, m1=0.9, m2=0.4, m3=0.15)
    assert (head.m1, head.m2, head.m3) == (0.9, 0.4, 0.15)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    logits = head(x, torch.tensor([0, 1, 2, 0, 1, 2]))
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("m1, m2", [(0.9, 0.3), (0.5, 1.0), (0.0, 0.5), (-0.1, 0.5)])
def test_m1_below_one_without_enough_angular_margin_is_refused(m1, m2):
    # m1·θ + m2 < θ somewhere in [0, π] would turn the margin into a reward (m2 < (1 − m1)·π)
    with pytest.raises(ValueError, match="m1="):
        CombinedMarginHead(4, 3, s=16.0, m1=m1, m2=m2, m3=0.0)


def test_margin_logits_refuses_cosines_beyond_one_but_not_rounding_of_real_embeddings():
    labels = torch.tensor([0])
    for bad, which in ((1.5, "max"), (1.01, "max"), (-1.2, "min")):
        with pytest.raises(ValueError, match=rf"^cos.{which}={bad}: a cosine lies in \[-1, 1\]"):
            heads.margin_logits(torch.tensor([[bad, 0.0]]), labels, s=16.0, m2=0.5)
    # Real unit embeddings: every sample compared with itself (cos θ = 1 up to rounding, the worst case)
    # and with the others, as the heads compute them, in every dtype the heads accept.
    g = torch.Generator().manual_seed(0)
    for dim in (2, 3, 64, 512, 4096):
        x = F.normalize(torch.randn(256, dim, generator=g), dim=1)
        for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
            xd = F.normalize(x.to(dtype), dim=1)
            cos = F.linear(xd, xd)
            overshoot = float((cos.float().abs() - 1).max())
            logits = heads.margin_logits(cos, torch.arange(256), s=16.0, m2=0.5)
            assert torch.isfinite(logits).all(), (dim, dtype, overshoot)


@pytest.mark.parametrize("name", [n for n in HEAD_NAMES if n != "softmax"])  # softmax does not normalise
def test_embeddings_whose_norm_overflows_are_refused(name):
    # before: ‖z‖² of float32 entries of 1e20 overflows to inf, F.normalize returns a zero vector and the
    # normalised heads silently trained on cos θ = 0 (softmax: loss 2e29); AdaFace returned NaN
    head = make_head(name, 3, 4)
    labels = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"^embeddings\.max=1e\+20: .*squared norm overflows torch\.float32.*; "
                                         r"check the backbone \(learning rate, input scaling\)"):
        head(torch.tensor([[1e20, 0.0, 0.0], [1.0, 2.0, 3.0]]), labels)
    assert torch.isfinite(head.loss(torch.tensor([[1e20, 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=torch.float64), labels))
