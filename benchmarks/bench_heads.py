"""ArcFace head cost relative to the normalised-softmax floor, forward + backward.

Prints, for B=512, D=128 and C in {1000, 10000}, the median time of
ArcFaceHead + cross-entropy divided by the median time of the floor
F.normalize + F.linear (normalised centres) + cross-entropy on the same shapes and the same
parameters. Goal: <= 1.15. The head does its normalisation, product and margin in one autograd
node, so it can come out below 1; the second line, ArcFaceHead / NormFaceHead (the same node with
m = 0), is the cost of the margin itself.
Each pair is timed interleaved iteration by iteration, alternating which goes first, so that load
from other processes and the state one step leaves behind hit both alike; each round gives one
ratio of medians, and the spread of the rounds is printed as the run-to-run noise. On a machine
shared with other jobs, wall-clock times of multi-threaded torch swing wildly;
``--threads 1 --clock cpu`` (process CPU time of one thread) is far steadier.

Run: python benchmarks/bench_heads.py [--iters 60] [--repeats 5] [--threads N] [--clock wall|cpu]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from arcface_viz.heads import ArcFaceHead, NormFaceHead

B, D = 512, 128


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter


def _time(step, iters: int) -> list[float]:
    times = []
    for _ in range(iters):
        start = clock()
        step()
        times.append(clock() - start)
    return times


def _bench(n_classes: int, iters: int, repeats: int) -> None:
    torch.manual_seed(0)
    embeddings = torch.randn(B, D, requires_grad=True)
    labels = torch.randint(0, n_classes, (B,))
    head = ArcFaceHead(D, n_classes, s=16.0, m=0.5)
    normface = NormFaceHead(D, n_classes, s=16.0)
    normface.weight = head.weight  # one set of parameters for every step: same memory, same caches

    def floor() -> None:
        logits = F.linear(F.normalize(embeddings, dim=1), F.normalize(head.weight, dim=1))
        F.cross_entropy(logits, labels).backward()

    def arcface() -> None:
        F.cross_entropy(head(embeddings, labels), labels).backward()

    def normface_step() -> None:
        F.cross_entropy(normface(embeddings, labels), labels).backward()

    try:  # optional third-party reference; its margin is in degrees (28.6 deg = 0.5 rad)
        from pytorch_metric_learning.losses import ArcFaceLoss
    except ImportError:
        ArcFaceLoss = None

    ratio, floor_ms, arcface_ms = _ratio(floor, arcface, iters, repeats)
    print(
        f"C={n_classes:>5}: floor {floor_ms:6.2f} ms, ArcFaceHead {arcface_ms:6.2f} ms, ratio "
        f"{statistics.median(ratio):.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratio)})"
    )
    ratio, normface_ms, _ = _ratio(normface_step, arcface, iters, repeats)
    print(f"           margin alone: NormFaceHead {normface_ms:6.2f} ms, ArcFaceHead / NormFaceHead "
          f"{statistics.median(ratio):.3f}")
    if ArcFaceLoss is None:
        print("           pytorch-metric-learning ArcFaceLoss: skipped (package not installed)")
        return
    pml = ArcFaceLoss(n_classes, D, margin=28.6, scale=16.0)
    # timed against the floor in its own rounds: interleaved with the ArcFaceHead, its much larger
    # allocations would slow whichever step runs after it
    ratio, _, pml_ms = _ratio(floor, lambda: pml(embeddings, labels).backward(), iters, repeats)
    print(f"           pytorch-metric-learning ArcFaceLoss {pml_ms:6.2f} ms, ratio {statistics.median(ratio):.3f}")


def _ratio(floor, step, iters: int, repeats: int) -> tuple[list[float], float, float]:
    """Per-round ratios of medians step/floor, and the best medians of each in milliseconds."""
    _time(floor, 3)  # warm-up
    _time(step, 3)
    ratios, floor_medians, step_medians = [], [], []
    for _ in range(repeats):
        # interleave the two iteration by iteration, alternating which goes first, so that bursts
        # of load and the state one step leaves behind (caches, allocator) hit both alike
        floor_times, step_times = [], []
        for i in range(iters):
            if i % 2:
                floor_times += _time(floor, 1)
                step_times += _time(step, 1)
            else:
                step_times += _time(step, 1)
                floor_times += _time(floor, 1)
        floor_medians.append(statistics.median(floor_times))
        step_medians.append(statistics.median(step_times))
        ratios.append(step_medians[-1] / floor_medians[-1])
    return ratios, min(floor_medians) * 1e3, min(step_medians) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=60, help="timed iterations per round (median taken)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds, alternating floor and ArcFace")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="wall time or process CPU time")
    args = parser.parse_args()
    if args.iters < 20:
        parser.error(f"--iters {args.iters}: use at least 20 for a stable median")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    global clock
    clock = CLOCKS[args.clock]
    print(
        f"B={B}, D={D}, torch {torch.__version__}, {torch.get_num_threads()} threads, {args.clock} clock; "
        "goal ratio <= 1.15"
    )
    for n_classes in (1000, 10000):
        _bench(n_classes, args.iters, args.repeats)


if __name__ == "__main__":
    main()
