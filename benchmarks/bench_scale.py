"""The margin head's cost against the number of classes C: full head vs Partial FC, one vs two processes.

For C = 1e3 … 1e6 (B = 256, D = 128, float32, ArcFace s = 64, m = 0.5) prints per process:

- the memory of the centres W and of one copy of the B × C logits, from their shapes (exact);
- the time of one forward + backward of the head, full (r = 1) and Partial FC (r = 0.1), timed
  interleaved in this process, and their ratio;
- one process vs two gloo processes (sharded head, each with half of the batch), timed interleaved
  in the same two spawned processes, and their ratio.

Times are measured where the step fits in ``--max-mb`` (about 2·W + 3·logits bytes), and
extrapolated linearly in C from the largest measured C beyond (marked "~"): with the default 1500 MB
Partial FC is measured at C = 1e6, where the full head is computed. The load average is
printed before and after: on a machine shared with other jobs, compare the ratios, not the times.

Run: python benchmarks/bench_scale.py [--iters 5] [--threads 1] [--max-mb 1500] [--classes 1e3,1e4,1e5,1e6]
"""
from __future__ import annotations

import argparse
import os
import statistics

import torch

from arcface_viz import distributed, scale

B, D = 256, 128


def _fits(n_classes: int, sample_rate: float, max_mb: float, world_size: int = 1) -> bool:
    memory = scale.head_memory(n_classes, D, B, sample_rate, world_size)
    return (2 * memory["weight"] + 3 * memory["logits"]) / 2**20 <= max_mb


def _extrapolate(measured: dict[int, float], n_classes: int) -> float:
    """Linear in C through the largest measured point (the head's cost is linear in C at large C)."""
    largest = max(measured)
    return measured[largest] * n_classes / largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--max-mb", type=float, default=1500.0, help="largest step measured, MB (default 1500)")
    parser.add_argument("--classes", default="1e3,1e4,1e5,1e6", help="comma-separated class counts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    counts = [int(float(c)) for c in args.classes.split(",")]
    print(f"B={B}, D={D}, float32, {args.threads} thread(s) per process, load average {os.getloadavg()[0]:.1f}")

    print("\nmemory per process (MB): W = C/W·D, logits = B × kept classes (one copy)")
    print(f"{'C':>9} {'W 1 proc':>9} {'W 2 proc':>9} {'logits r=1':>11} {'r=0.1':>8} {'2 proc r=1':>11} "
          f"{'2 proc r=0.1':>13}")
    for c in counts:
        mem = [scale.head_memory(c, D, B, r, w) for w in (1, 2) for r in (1.0, 0.1)]
        print(f"{c:>9,} {mem[0]['weight'] / 2**20:>9.1f} {mem[2]['weight'] / 2**20:>9.1f} "
              f"{mem[0]['logits'] / 2**20:>11.1f} {mem[1]['logits'] / 2**20:>8.1f} {mem[2]['logits'] / 2**20:>11.1f} "
              f"{mem[3]['logits'] / 2**20:>13.1f}")

    print("\none process: full head vs Partial FC r=0.1, forward + backward, interleaved")
    full_t, part_t = {}, {}
    for c in counts:
        if _fits(c, 1.0, args.max_mb):
            times = scale.time_steps_side_by_side(c, D, B, (1.0, 0.1), args.iters)
            full_t[c], part_t[c] = statistics.median(times[0]), statistics.median(times[1])
            ratios = sorted(a / b for a, b in zip(*times))
            note = f"ratio {full_t[c] / part_t[c]:5.2f} (per-iteration {ratios[0]:.2f}..{ratios[-1]:.2f})"
            print(f"  C={c:>9,}: r=1 {1e3 * full_t[c]:9.1f} ms   r=0.1 {1e3 * part_t[c]:8.1f} ms   {note}")
        elif _fits(c, 0.1, args.max_mb):  # only Partial FC fits: measure it, compute the full head
            full, part = _extrapolate(full_t, c), scale.time_head_step(c, D, B, 0.1, args.iters)
            print(f"  C={c:>9,}: r=1 ~{1e3 * full:8.0f} ms   r=0.1 {1e3 * part:8.1f} ms   ratio ~{full / part:.2f} "
                  "(r=1 computed: linear in C from the largest C measured)")
        else:
            full, part = _extrapolate(full_t, c), _extrapolate(part_t, c)
            print(f"  C={c:>9,}: r=1 ~{1e3 * full:8.0f} ms   r=0.1 ~{1e3 * part:7.0f} ms   ratio ~{full / part:.2f} "
                  "(computed: linear in C from the largest C measured)")

    measured = [c for c in counts if _fits(c, 1.0, args.max_mb)]
    print("\none vs two gloo processes (127.0.0.1), full head, interleaved in the same processes")
    pairs = distributed.spawn(scale.time_two_processes, 2, args=(measured, D, B, args.iters))[0]
    for c in counts:
        if c in pairs:
            one, two = pairs[c]
            print(f"  C={c:>9,}: 1 process {1e3 * one:9.1f} ms   2 processes {1e3 * two:9.1f} ms   "
                  f"ratio {one / two:5.2f}")
        else:
            one = _extrapolate({k: v[0] for k, v in pairs.items()}, c)
            two = _extrapolate({k: v[1] for k, v in pairs.items()}, c)
            print(f"  C={c:>9,}: 1 process ~{1e3 * one:8.0f} ms   2 processes ~{1e3 * two:8.0f} ms   "
                  f"ratio ~{one / two:.2f} (computed)")
    print(f"\nload average after: {os.getloadavg()[0]:.1f} (2 cores: above 2 the processes share a core)")


if __name__ == "__main__":
    main()
