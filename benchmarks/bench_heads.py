"""ArcFace head cost relative to the normalised-softmax floor, forward + backward.

Prints, for B=512, D=128 and C in {1000, 10000}, the median time of
ArcFaceHead + cross-entropy divided by the median time of the floor
F.normalize + F.linear (normalised centres) + cross-entropy on the same shapes. Goal: <= 1.15.
Timings are interleaved iteration by iteration so that load from other processes hits both
alike; each round gives one ratio of medians, and the spread of the rounds is printed as the
run-to-run noise. On a machine shared with other jobs, wall-clock times of multi-threaded torch
swing wildly; ``--threads 1 --clock cpu`` (process CPU time of one thread) is far steadier.

Run: python benchmarks/bench_heads.py [--iters 30] [--repeats 3] [--threads N] [--clock wall|cpu]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from arcface_viz.heads import ArcFaceHead

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
    weight = head.weight.detach().clone().requires_grad_()

    def floor() -> None:
        logits = F.linear(F.normalize(embeddings, dim=1), F.normalize(weight, dim=1))
        F.cross_entropy(logits, labels).backward()

    def arcface() -> None:
        F.cross_entropy(head(embeddings, labels), labels).backward()

    steps = {"floor": floor, "arcface": arcface}
    try:  # optional third-party reference; its margin is in degrees (28.6 deg = 0.5 rad)
        from pytorch_metric_learning.losses import ArcFaceLoss

        pml = ArcFaceLoss(n_classes, D, margin=28.6, scale=16.0)
        steps["pml"] = lambda: pml(embeddings, labels).backward()
    except ImportError:
        pml = None

    for step in steps.values():  # warm-up
        _time(step, 3)
    medians: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        # interleave the steps iteration by iteration so that bursts of load hit all of them alike
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(iters):
            for name, step in steps.items():
                times[name] += _time(step, 1)
        for name in steps:
            medians[name].append(statistics.median(times[name]))
    ratios = [a / f for a, f in zip(medians["arcface"], medians["floor"])]
    print(
        f"C={n_classes:>5}: floor {min(medians['floor']) * 1e3:6.2f} ms, ArcFaceHead "
        f"{min(medians['arcface']) * 1e3:6.2f} ms, ratio {statistics.median(ratios):.3f} "
        f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
    )
    if pml is None:
        print("           pytorch-metric-learning ArcFaceLoss: skipped (package not installed)")
    else:
        pml_ratios = [a / f for a, f in zip(medians["pml"], medians["floor"])]
        print(f"           pytorch-metric-learning ArcFaceLoss ratio {statistics.median(pml_ratios):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=30, help="timed iterations per round (median taken)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds, alternating floor and ArcFace")
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
