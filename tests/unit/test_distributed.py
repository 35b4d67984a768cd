"""Partial FC and the class-sharded head against the single-process heads of arcface_viz.heads.

The reference is a full head (every centre in one process) and ``F.cross_entropy`` of its logits,
in float64. The sharded cases run in two gloo processes started once per module by
``distributed.spawn`` (torch.multiprocessing, 127.0.0.1, a free port).
"""
from __future__ import annotations

import argparse
import json
import math

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F

from arcface_viz import compare, distributed, scale, training
from arcface_viz.distributed import PartialFC, ShardedMarginHead, example_step, shard_range
from arcface_viz.heads import make_head

# (name, settings of example_step): C = 7 never divides by the two processes
CASES = {
    "margin": dict(loss="arcface", s=16.0, m=0.5),
    "fallback": dict(loss="arcface", s=16.0, m=0.5, opposite=0.5),
    "easy_margin": dict(loss="arcface", s=16.0, m=0.5, easy_margin=True),
    "sphereface_fallback": dict(loss="sphereface", opposite=0.5),
    "combined": dict(loss="combined"),
    "cosface": dict(loss="cosface"),
    "softmax": dict(loss="softmax"),
    "subcenter": dict(loss="subcenter"),
    "uneven_batch": dict(loss="arcface", batch=13),
    "many_classes": dict(loss="arcface", n_classes=25, batch=16),
    "large_scale": dict(loss="arcface", s=2000.0, m=0.5),  # exp(s·cos θ) overflows float64 without the max
    "sampled": dict(loss="arcface", n_classes=25, batch=6, sample_rate=0.3),
}


def reference(loss="arcface", n_classes=7, dim=5, batch=12, seed=0, opposite=0.0, sample_rate=1.0, classes=None,
              **head_kwargs):
    """Loss and gradients of the full single-process head on example_step's batch (its own construction)."""
    torch.manual_seed(seed)
    head = make_head(loss, dim, n_classes, **head_kwargs).double()
    generator = torch.Generator().manual_seed(seed + 1)
    labels = torch.randint(0, n_classes, (batch,), generator=generator)
    x = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    n_away = round(opposite * batch)
    x[:n_away] = -head.weight.detach()[labels[:n_away] * getattr(head, "k", 1)] * 50 + 0.05 * x[:n_away]
    x.requires_grad_(True)
    logits = head(x, labels)
    if classes is not None:  # Partial FC: the softmax over the kept classes only
        logits = logits[:, classes]
        labels = torch.searchsorted(classes, labels)
    value = F.cross_entropy(logits, labels)
    value.backward()
    return {"loss": float(value.detach()), "grad_embeddings": x.grad, "grad_weight": head.weight.grad, "x": x,
            "head": head}


def _worker(rank: int, world_size: int) -> dict:
    """Every sharded case and every collective error, in one pair of processes."""
    out = {name: example_step(rank, world_size, **settings) for name, settings in CASES.items()}
    errors = {}
    try:  # the processes disagree on the number of classes
        ShardedMarginHead("arcface", 4, 10 + rank)
    except ValueError as error:
        errors["mismatch"] = str(error)
    head = ShardedMarginHead("arcface", 4, 9)
    with torch.no_grad():  # a shard of the wrong size, e.g. loaded from another world size
        head.weight = torch.nn.Parameter(torch.zeros(9, 4))
    try:
        head(torch.randn(3, 4), torch.tensor([0, 1, 2]))
    except ValueError as error:
        errors["shape"] = str(error)
    try:
        ShardedMarginHead("arcface", 4, 1)
    except ValueError as error:
        errors["too_few"] = str(error)
    try:  # a batch of one image cannot be split over two processes: every batch would be skipped
        _fit_case(batch_size=1)
    except ValueError as error:
        errors["small_batch"] = str(error)
    out["errors"] = errors
    out["fit"] = _fit_case()
    out["fit_bn"] = _fit_case(batchnorm=True)
    out["bn"] = _bn_steps(rank, world_size)
    out["world"] = (dist.get_world_size(), dist.get_backend())
    return out


def _bn_net() -> torch.nn.Module:
    """A small float64 CNN with both kinds of BatchNorm, seeded."""
    torch.manual_seed(3)
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4),
                         nn.BatchNorm1d(4, momentum=None)).double()


def _bn_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Step ``step``'s whole batch (13 rows: the processes get 7 and 6) and a fixed projection of the output."""
    generator = torch.Generator().manual_seed(10 + step)
    x = torch.randn(13, 2, 6, 6, generator=generator, dtype=torch.float64) * 2 + 0.5
    return x, torch.randn(4, generator=generator, dtype=torch.float64)


def _bn_steps(rank: int | None = None, world_size: int = 1) -> list[dict]:
    """Two training-mode forwards and backwards of _bn_net, synced over the processes when rank is given.

    The loss is the whole batch's mean of tanh(output · projection): each process backpropagates its
    rows' share, so the sum over processes of the parameters' gradients is one process's gradient.
    """
    net = _bn_net()
    if rank is not None:
        distributed.convert_synced_batchnorm(net)
    steps = []
    for step in range(2):
        x, projection = _bn_batch(step)
        rows = torch.arange(13).tensor_split(world_size)[rank or 0]
        mine = x[rows].clone().requires_grad_(True)
        out = net(mine)
        loss = torch.tanh(out @ projection).sum() / 13
        net.zero_grad()
        loss.backward()
        steps.append({"rows": (int(rows[0]), int(rows[-1]) + 1), "out": out.detach(), "loss": float(loss.detach()),
                      "grad_input": mine.grad, "grads": {k: p.grad.clone() for k, p in net.named_parameters()},
                      "buffers": {k: b.clone() for k, b in net.named_buffers()},
                      "eval_out": net.eval()(mine.detach()) if step == 1 else None})
        net.train()
    steps.append({"types": [type(m).__name__ for m in distributed.revert_synced_batchnorm(net)]})
    return steps


def _fit_case(batchnorm: bool = False, **kwargs):
    """A short distributed.fit of a backbone, with BatchNorm or without."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    if batchnorm:
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                                    torch.nn.Flatten(), torch.nn.Linear(72, 3))
    head = make_head("arcface", 3, 5, s=8.0, m=0.3)
    generator = torch.Generator().manual_seed(0)
    data = (torch.rand(50, 1, 8, 8, generator=generator), torch.randint(0, 5, (50,), generator=generator))
    fit = kwargs.pop("fit", distributed.fit)
    # SGD: Adam would hide a gradient off by a constant factor (its steps do not depend on the scale)
    kwargs.setdefault("batch_size", 16)
    result = fit(model, head, data, epochs=3, lr=0.05, optimizer="sgd", margin_warmup_epochs=1,
                 augment=True, seed=0, progress=False, lr_schedule="cosine", **kwargs)
    return {"history": result.history, "head": head.weight.detach(), "model": model[-1].weight.detach(),
            "config": result.config["fit"], "state": {k: v.clone() for k, v in model.state_dict().items()},
            "types": [type(m).__name__ for m in model]}


@pytest.fixture(scope="module")
def sharded():
    return distributed.spawn(_worker, 2)


def _assemble(results: list[dict], key: str, span: str) -> torch.Tensor:
    """Concatenate the processes' pieces (their rows or their classes) in rank order."""
    parts = sorted(results, key=lambda r: r[span][0])
    return torch.cat([p[key] for p in parts])


@pytest.mark.parametrize("name", [n for n in CASES if n != "sampled"])
def test_sharded_equals_one_process(sharded, name):
    settings = CASES[name]
    ref = reference(**settings)
    results = [r[name] for r in sharded]
    assert sharded[0]["world"] == (2, "gloo")
    assert [r["classes"] for r in results] == [shard_range(settings.get("n_classes", 7), 2, r) for r in range(2)]
    for r in results:  # every process reports the loss of the whole batch
        assert r["loss"] == pytest.approx(ref["loss"], rel=1e-12, abs=1e-12)
    grad_x = _assemble(results, "grad_embeddings", "rows")
    torch.testing.assert_close(grad_x, ref["grad_embeddings"], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(_assemble(results, "grad_weight", "classes"), ref["grad_weight"], rtol=1e-10, atol=1e-12)


def test_cases_reach_their_branch():
    """The fallback rows really lie past θ = π − m, the easy-margin case has rows with cos θ_y <= 0."""
    ref = reference(**CASES["fallback"])
    head, x = ref["head"], ref["x"].detach()
    labels = torch.randint(0, 7, (12,), generator=torch.Generator().manual_seed(1))
    cos_y = head.cosine(x)[torch.arange(12), labels]
    assert (cos_y < math.cos(math.pi - 0.5)).sum() >= 6
    ref = reference(**CASES["easy_margin"])
    assert (ref["head"].cosine(ref["x"].detach())[torch.arange(12), labels] <= 0).sum() >= 2


def test_sharded_sampling_is_the_softmax_over_the_kept_classes(sharded):
    results = [r["sampled"] for r in sharded]
    kept = torch.cat([r["sampled"] for r in results])
    settings = CASES["sampled"]
    ref = reference(**settings, classes=kept)
    assert 6 <= len(kept) < 25  # the batch's classes plus 30 % of the others, not all 25
    for r in results:
        assert r["loss"] == pytest.approx(ref["loss"], rel=1e-12)
    grad_w = _assemble(results, "grad_weight", "classes")
    torch.testing.assert_close(grad_w, ref["grad_weight"], rtol=1e-10, atol=1e-12)
    dropped = torch.ones(25, dtype=torch.bool)
    dropped[kept] = False
    assert torch.count_nonzero(grad_w[dropped]) == 0


def test_collective_errors(sharded):
    for result in sharded:  # every process raises, none waits for the others
        errors = result["errors"]
        assert "mismatched shards" in errors["mismatch"] and "rank(s) [1]" in errors["mismatch"]
        assert "weight of shape (9, 4)" in errors["shape"] and "expected (" in errors["shape"]
        assert "n_classes=1 < world_size=2" in errors["too_few"]
        assert "batch_size=1 with 50 training images for 2 processes" in errors["small_batch"]
        assert "pass batch_size >= 2" in errors["small_batch"]


def test_missing_process_group():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="torch.distributed is not initialised.*torchrun.*PartialFC"):
        ShardedMarginHead("arcface", 4, 10)


# --------------------------------------------------------------------------- one process
@pytest.mark.parametrize("name", ["margin", "fallback", "easy_margin", "softmax", "subcenter"])
def test_partial_fc_rate_one_is_the_full_head(name):
    settings = CASES[name]
    ref = reference(**settings)
    one = example_step(0, 1, **settings)
    assert one["loss"] == pytest.approx(ref["loss"], rel=1e-13)
    torch.testing.assert_close(one["grad_embeddings"], ref["grad_embeddings"], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(one["grad_weight"], ref["grad_weight"], rtol=1e-12, atol=1e-14)


def test_partial_fc_samples_positives_and_a_share_of_negatives():
    head = PartialFC("arcface", 4, 100, sample_rate=0.1, seed=3)
    labels = torch.tensor([5, 5, 17, 99, 42])
    head(torch.randn(5, 4), labels)
    kept = head.sampled_classes
    assert set(labels.tolist()) <= set(kept.tolist())
    assert len(kept) == 4 + math.ceil(0.1 * 96)
    assert torch.equal(kept, kept.sort().values)
    head(torch.randn(5, 4), labels)
    assert not torch.equal(head.sampled_classes, kept)  # a new draw every step
    ref = reference(n_classes=100, dim=4, batch=5, sample_rate=0.1, classes=None)  # the reference's batch
    one = example_step(0, 1, n_classes=100, dim=4, batch=5, sample_rate=0.1)
    assert one["loss"] < ref["loss"]  # fewer negatives in the normaliser: a smaller loss


def test_partial_fc_matches_reference_over_kept_classes():
    one = example_step(0, 1, **CASES["sampled"])
    ref = reference(**CASES["sampled"], classes=one["sampled"])
    assert one["loss"] == pytest.approx(ref["loss"], rel=1e-13)
    torch.testing.assert_close(one["grad_weight"], ref["grad_weight"], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(one["grad_embeddings"], ref["grad_embeddings"], rtol=1e-12, atol=1e-14)


def test_partial_fc_predict_and_full_head_use_every_centre():
    torch.manual_seed(0)
    head = make_head("cosface", 6, 11)
    part = PartialFC.from_head(head, sample_rate=0.2)
    x = torch.randn(20, 6)
    assert torch.equal(part.predict(x), head.eval()(x).argmax(1))
    rebuilt = part.full_head()
    assert type(rebuilt) is type(head) and torch.equal(rebuilt.weight, head.weight) and not rebuilt.training


def test_partial_fc_warmup_scales_the_margin():
    torch.manual_seed(0)
    part = PartialFC("arcface", 4, 6, m=0.5)
    x, y = torch.randn(8, 4), torch.randint(0, 6, (8,))
    part.margin_factor = 0.0
    no_margin = part(x, y)
    normface = PartialFC("normface", 4, 6)
    normface.weight.data.copy_(part.weight.data)
    assert no_margin.item() == pytest.approx(normface(x, y).item(), rel=1e-6)
    part.margin_factor = 1.0
    assert part(x, y).item() > no_margin.item()


@pytest.mark.parametrize("bad", [0, 0.0, 1.5, -0.1, float("nan")])
def test_bad_sample_rate(bad):
    with pytest.raises(ValueError, match=r"sample_rate=\S+: must (lie in \(0, 1\]|be a finite number)"):
        PartialFC("arcface", 4, 10, sample_rate=bad)


@pytest.mark.parametrize("bad", [True, "0.1", torch.tensor(0.1)])
def test_sample_rate_of_the_wrong_type(bad):
    with pytest.raises(TypeError, match="sample_rate=.*expected a real number"):
        PartialFC("arcface", 4, 10, sample_rate=bad)


def test_shard_range_covers_every_class_once():
    for n_classes, world in ((7, 2), (10, 3), (1000, 7), (5, 5)):
        spans = [shard_range(n_classes, world, r) for r in range(world)]
        assert spans[0][0] == 0 and spans[-1][1] == n_classes
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert max(b - a for a, b in spans) - min(b - a for a, b in spans) <= 1
    with pytest.raises(ValueError, match="rank=2"):
        shard_range(10, 2, 2)


def test_partial_fc_bad_inputs():
    part = PartialFC("arcface", 4, 10)
    with pytest.raises(ValueError, match=r"label=10: outside \[0, 9\]"):
        part(torch.randn(2, 4), torch.tensor([0, 10]))
    with pytest.raises(TypeError, match="labels.dtype=torch.float32"):
        part(torch.randn(2, 4), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected \(B, 4\)"):
        part(torch.randn(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="unknown"):
        PartialFC("arcfase", 4, 10)


# --------------------------------------------------------------------------- cost
def test_head_memory_from_shapes():
    memory = scale.head_memory(1000, dim=128, batch=256)
    assert memory == {"weight": 1000 * 128 * 4, "logits": 256 * 1000 * 4, "kept": 1000}
    assert scale.head_memory(1001, 128, 256, world_size=2)["weight"] == 501 * 128 * 4  # the larger shard


def test_expected_kept_classes_matches_sampling():
    """The formula against PartialFC's own draws: positives of a uniform batch plus ceil(r·negatives)."""
    head = PartialFC("arcface", 4, 500, sample_rate=0.1)
    generator = torch.Generator().manual_seed(0)
    kept = []
    for _ in range(200):
        head(torch.randn(64, 4, generator=generator), torch.randint(0, 500, (64,), generator=generator))
        kept.append(len(head.sampled_classes))
    expected = scale.expected_kept_classes(500, 64, 0.1)
    assert abs(sum(kept) / len(kept) - expected) < 1.0
    assert scale.expected_kept_classes(500, 64) == 500


def test_time_steps_side_by_side_times_every_rate():
    times = scale.time_steps_side_by_side(200, dim=8, batch=16, sample_rates=(1.0, 0.5), iters=2)
    assert [len(t) for t in times] == [2, 2] and all(v > 0 for t in times for v in t)


# --------------------------------------------------------------------------- training
def test_fit_on_two_processes_follows_one_process(sharded):
    """Same seeds: two processes (DDP backbone, sharded head) train like training.fit on the whole batch."""
    one = _fit_case(fit=training.fit)
    two = sharded[0]["fit"]
    assert two["config"]["world_size"] == 2 and two["config"]["backend"] == "gloo"
    for key in ("loss", "eval_accuracy_train", "margin_factor", "lr"):
        assert two["history"][key] == pytest.approx(one["history"][key], rel=1e-5, abs=1e-6), key
    torch.testing.assert_close(two["head"], one["head"], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(two["model"], one["model"], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(sharded[1]["fit"]["head"], two["head"])  # every process ends with the whole head


def test_fit_with_batchnorm_on_two_processes_follows_one_process(sharded):
    """With SyncedBatchNorm the processes normalise with the whole batch's statistics, as training.fit does."""
    one = _fit_case(batchnorm=True, fit=training.fit)
    for result in (r["fit_bn"] for r in sharded):
        assert result["types"] == one["types"]  # the caller's BatchNorm2d is back
        for key in ("loss", "eval_accuracy_train"):
            assert result["history"][key] == pytest.approx(one["history"][key], rel=1e-5, abs=1e-6), key
        for key, value in one["state"].items():
            # float32, 3 epochs: rounding differences of ~1e-6 grow; per-process statistics miss by ~1e-2
            torch.testing.assert_close(result["state"][key], value, rtol=1e-3, atol=1e-5, msg=key)
        torch.testing.assert_close(result["head"], one["head"], rtol=1e-4, atol=1e-6)


def test_synced_batchnorm_equals_one_process(sharded):
    """Output, loss, gradients and running statistics of two synced processes equal one process's (float64)."""
    one = _bn_steps()
    exact = dict(rtol=1e-10, atol=1e-12)
    for step, reference in enumerate(one[:2]):
        parts = sorted((r["bn"][step] for r in sharded), key=lambda part: part["rows"])
        assert [p["rows"] for p in parts] == [(0, 7), (7, 13)]
        torch.testing.assert_close(torch.cat([p["out"] for p in parts]), reference["out"], **exact)
        torch.testing.assert_close(torch.cat([p["grad_input"] for p in parts]), reference["grad_input"], **exact)
        assert sum(p["loss"] for p in parts) == pytest.approx(reference["loss"], rel=1e-12)
        for key, grad in reference["grads"].items():  # DDP sums the processes' shares
            torch.testing.assert_close(parts[0]["grads"][key] + parts[1]["grads"][key], grad, **exact, msg=key)
        for part in parts:  # the same running statistics (momentum 0.1 and cumulative) on every process
            for key, value in reference["buffers"].items():
                torch.testing.assert_close(part["buffers"][key], value, **exact, msg=key)
        if step == 1:  # eval mode uses the running statistics, row by row
            torch.testing.assert_close(torch.cat([p["eval_out"] for p in parts]), reference["eval_out"], **exact)
    assert reference["buffers"]["1.num_batches_tracked"] == 2
    assert not torch.allclose(one[1]["buffers"]["1.running_var"], torch.ones(3, dtype=torch.float64))  # the statistics moved
    assert sharded[0]["bn"][2]["types"] == ["Conv2d", "BatchNorm2d", "ReLU", "Flatten", "Linear", "BatchNorm1d"]


def test_synced_batchnorm_without_a_group_is_batchnorm():
    """Outside a process group the converted layer computes what BatchNorm does, and reverts to it."""
    plain, synced = _bn_net(), distributed.convert_synced_batchnorm(_bn_net())
    assert type(synced[1]).__name__ == "SyncedBatchNorm" and synced[1].source_class is torch.nn.BatchNorm2d
    x, _ = _bn_batch(0)
    torch.testing.assert_close(synced(x), plain(x))
    torch.testing.assert_close(synced[5].running_var, plain[5].running_var)
    with pytest.raises(ValueError, match=r"expected \(N, 3, ...\)"):
        synced[1](torch.zeros(2, 4, 3, 3, dtype=torch.float64))
    layer = torch.nn.BatchNorm1d(4)
    converted = distributed.convert_synced_batchnorm(layer)
    assert converted.weight is layer.weight and converted.running_mean is layer.running_mean  # shared tensors
    assert type(distributed.revert_synced_batchnorm(converted)) is torch.nn.BatchNorm1d


def test_fit_in_one_process_is_training_fit():
    one = _fit_case(fit=training.fit)
    same = _fit_case()
    assert same["config"]["world_size"] == 1 and same["config"]["sample_rate"] == 1.0
    for key in ("loss", "eval_accuracy_train"):
        assert same["history"][key] == pytest.approx(one["history"][key], rel=1e-5), key
    torch.testing.assert_close(same["head"], one["head"], rtol=1e-4, atol=1e-6)
    sampled = _fit_case(sample_rate=0.5)
    assert sampled["config"]["sample_rate"] == 0.5 and all(map(math.isfinite, sampled["history"]["loss"]))


def _compare_worker(rank: int, world_size: int, out: str) -> int:
    parser = argparse.ArgumentParser()
    compare.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["compare", "--data", "toy", "--identities", "3", "--test-identities", "2", "--dim", "3",
                              "--epochs", "1", "--seeds", "1", "--losses", "arcface", "--out", out, "--quiet"])
    return compare.run(args)


@pytest.mark.slow
def test_compare_on_two_processes_writes_one_report(tmp_path):
    codes = distributed.spawn(_compare_worker, 2, args=(str(tmp_path / "run"),))
    assert codes == [0, 0]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["settings"]["world_size"] == 2 and report["settings"]["backend"] == "gloo"
    assert report["command"].startswith("torchrun --nnodes 1 --nproc_per_node 2 -m arcface_viz compare")
    assert [r["config"]["fit"]["world_size"] for r in report["runs"]] == [2]
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.suffix == ".json") == ["report.json"]


def test_init_from_env_is_a_no_op_without_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.init_from_env() == (0, 1)
    assert not dist.is_initialized()
