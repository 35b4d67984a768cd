"""The cost of the margin head against the number of identities C: memory by formula, time by measurement.

Used by ``benchmarks/bench_scale.py`` and lesson 09. The head holds C×D centres W and each step
computes B×C logits, so both grow linearly with C while the backbone does not grow at all: at
the paper's 85k identities and D = 512, W alone is 174 MB in float32 and a batch of 512 has 174 MB
of logits (plus as much again for their exponentials and their gradient). Partial FC (An et al.,
ICCV 2021 workshops) keeps only the positive centres and a share r of the negatives per step, and
shards W over the processes.
"""
from __future__ import annotations

import math
import statistics
import time

import torch
import torch.distributed as dist

from arcface_viz.distributed import PartialFC, ShardedMarginHead, shard_range

__all__ = ["expected_kept_classes", "head_memory", "time_head_step", "time_steps_side_by_side", "time_two_processes"]


def expected_kept_classes(n_classes: int, batch: int, sample_rate: float = 1.0, world_size: int = 1) -> float:
    """Expected number of centres one process keeps per step under Partial FC.

    With labels drawn uniformly from C classes, a batch of B holds on average
    C·(1 − (1 − 1/C)^B) distinct classes (the positives); a process holding C/W of the classes
    keeps its share of those plus ⌈r·(its negatives)⌉.

    Parameters
    ----------
    n_classes : int
        C.
    batch : int
        B, the whole batch (gathered over the processes).
    sample_rate : float, default 1.0
        Partial FC's r, in (0, 1].
    world_size : int, default 1
        W processes sharing the centres.

    Returns
    -------
    float
        Expected kept classes of the largest shard; C/W (rounded up) when r = 1.

    Examples
    --------
    >>> round(expected_kept_classes(1_000_000, 256, 0.1))
    100231
    """
    local = shard_range(n_classes, world_size, 0)[1]
    if sample_rate >= 1:
        return float(local)
    positives = local * (1 - (1 - 1 / n_classes) ** batch)
    return positives + math.ceil(sample_rate * (local - positives))


def head_memory(n_classes: int, dim: int = 128, batch: int = 256, sample_rate: float = 1.0, world_size: int = 1,
                bytes_per_value: int = 4) -> dict[str, float]:
    """Bytes per process of the centres W and of the logits of one step, from their shapes.

    Parameters
    ----------
    n_classes, dim, batch : int
        C, D and the whole batch B.
    sample_rate : float, default 1.0
        Partial FC's r.
    world_size : int, default 1
        Processes sharing W.
    bytes_per_value : int, default 4
        4 for float32.

    Returns
    -------
    dict
        ``weight`` (C/W·D values; training adds as much for the gradient and twice that for Adam's
        moments), ``logits`` (B × kept classes, one copy; the forward and backward hold about
        three: logits, their exponentials, their gradient), ``kept`` (classes per process).
    """
    local = shard_range(n_classes, world_size, 0)[1]
    kept = expected_kept_classes(n_classes, batch, sample_rate, world_size)
    return {"weight": float(local * dim * bytes_per_value), "logits": float(batch * kept * bytes_per_value),
            "kept": kept}


def _example(n_classes: int, dim: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, dim, generator=generator),
            torch.randint(0, n_classes, (batch,), generator=generator))


def _step(head: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    head.zero_grad(set_to_none=True)
    head(x, y).backward()


def time_head_step(n_classes: int, dim: int = 128, batch: int = 256, sample_rate: float = 1.0, iters: int = 5,
                   seed: int = 0) -> float:
    """Median seconds of one forward + backward of an ArcFace Partial FC head in this process.

    Parameters
    ----------
    n_classes, dim, batch : int
        C, D, B. Memory needed: about ``head_memory(...)["weight"] * 2 + ["logits"] * 3`` bytes.
    sample_rate : float, default 1.0
        Partial FC's r.
    iters : int, default 5
        Timed steps, after one untimed warm-up step.
    seed : int, default 0
        Seeds the centres and the batch.

    Returns
    -------
    float
        Median wall-clock seconds per step.
    """
    return statistics.median(time_steps_side_by_side(n_classes, dim, batch, (sample_rate,), iters, seed)[0])


def time_steps_side_by_side(n_classes: int, dim: int = 128, batch: int = 256, sample_rates=(1.0, 0.1),
                            iters: int = 5, seed: int = 0) -> list[list[float]]:
    """Seconds per step of heads with several sample rates, timed in turn iteration by iteration.

    Interleaving puts the load of other processes on every rate alike, so their ratio is steadier
    than that of two separate runs.

    Parameters
    ----------
    n_classes, dim, batch : int
        C, D, B.
    sample_rates : sequence of float, default (1.0, 0.1)
        The heads to time (one W shared by all).
    iters : int, default 5
        Timed steps per head, after one untimed warm-up step each.
    seed : int, default 0
        Seeds the centres and the batch.

    Returns
    -------
    list of list of float
        ``iters`` wall-clock times for each sample rate, in the given order.
    """
    torch.manual_seed(seed)
    heads = [PartialFC("arcface", dim, n_classes, sample_rate=r, seed=seed, s=64.0, m=0.5) for r in sample_rates]
    for head in heads[1:]:
        head.weight = heads[0].weight  # one W for all: same memory, same caches
    x, y = _example(n_classes, dim, batch, seed)
    times: list[list[float]] = [[] for _ in heads]
    for head in heads:
        _step(head, x, y)  # warm-up
    for i in range(iters):
        order = range(len(heads)) if i % 2 == 0 else reversed(range(len(heads)))
        for j in order:
            start = time.perf_counter()
            _step(heads[j], x, y)
            times[j].append(time.perf_counter() - start)
    return times


def time_two_processes(rank: int, world_size: int, class_counts, dim: int = 128, batch: int = 256,
                       iters: int = 5, seed: int = 0) -> dict[int, tuple[float, float]]:
    """In each process of a group (see :func:`arcface_viz.distributed.spawn`): one process vs the sharded head.

    Per class count and iteration, process 0 first times a one-process full head on the whole
    batch while the others wait, then every process times its part of the sharded head (its B/W
    rows; the step takes as long as the slowest process). The two are interleaved, so the load
    from other jobs falls on both alike.

    Parameters
    ----------
    rank, world_size : int
        This process and the number of processes (as :func:`arcface_viz.distributed.spawn` passes).
    class_counts : sequence of int
        The numbers of classes C to time.
    dim, batch : int
        D and the whole batch B.
    iters : int, default 5
        Timed rounds, after one warm-up round.
    seed : int, default 0
        Seeds the centres and the batch.

    Returns
    -------
    dict
        ``{C: (median one-process seconds, median sharded seconds)}``, the same on every process.
    """
    results = {}
    for n_classes in class_counts:
        torch.manual_seed(seed)
        x, y = _example(n_classes, dim, batch, seed)
        mine = torch.arange(batch).tensor_split(world_size)[rank]
        sharded = ShardedMarginHead("arcface", dim, n_classes, seed=seed, s=64.0, m=0.5)
        single = PartialFC("arcface", dim, n_classes, seed=seed, s=64.0, m=0.5) if rank == 0 else None
        one, two = [], []
        for i in range(iters + 1):  # the first round warms up
            dist.barrier()
            if rank == 0:
                start = time.perf_counter()
                _step(single, x, y)
                elapsed = time.perf_counter() - start
                one.append(elapsed)
            dist.barrier()
            start = time.perf_counter()
            _step(sharded, x[mine], y[mine])
            elapsed = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
            two.append(float(elapsed))
        if rank == 0:
            results[n_classes] = (statistics.median(one[1:]), statistics.median(two[1:]))
        del sharded, single
    return results
