"""Lesson 5's training in 1, 4 and 8 concurrent processes: does a shared server keep its throughput?

Each process is a fresh Python, like a student's kernel: it imports arcface_viz, makes lesson 5's toy
faces (8 identities x 200 images, 32 px, seed 0) and runs a short ``training.fit`` of lesson 5's model
(FaceCNN with 2-D embeddings, ArcFace s=16, m=0.5). The N processes start together. For each N the
script prints every run's fit time over the solo fit time, and the total throughput (fits per second
over the whole batch, first fit start to last fit end) over the solo run's.

Two thread policies, side by side:
- ``arcface_viz``: the package's choice (arcface_viz/runtime.py: usable CPUs capped by idle cores);
- ``all cores``: ARCFACE_VIZ_THREADS = os.cpu_count(), what torch does by default.
Goal: with the package's policy, total throughput is never below the solo run's.

Run: python benchmarks/bench_concurrency.py [--epochs 3] [--counts 1,4,8]. Prints the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(epochs: int) -> None:
    import torch

    from arcface_viz import faces, heads, models, training

    data = faces.make_toy_faces(n_identities=8, images_per_identity=200, size=32, seed=0)
    torch.manual_seed(0)
    model, head = models.FaceCNN(2), heads.ArcFaceHead(2, data.n_identities, s=16.0, m=0.5)
    start = time.time()
    training.fit(model, head, data, epochs=epochs, seed=0, progress=False)
    end = time.time()
    print(json.dumps({"start": start, "end": end, "threads": torch.get_num_threads()}))


def run_batch(n: int, epochs: int, threads: str | None) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ARCFACE_VIZ_THREADS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if threads:
        env["ARCFACE_VIZ_THREADS"] = threads
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--epochs", str(epochs)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(n)]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed with exit code {proc.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--counts", default="1,4,8")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.epochs)
        return
    counts = [int(c) for c in args.counts.split(",")]
    cores = os.cpu_count() or 1
    print(f"{cores} cores; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.epochs} epochs of lesson 5's fit per process")
    run_batch(1, 1, None)  # warm the toy-face cache and the file cache once
    for label, threads in [("arcface_viz", None), ("all cores", str(cores))]:
        solo = None
        for n in counts:
            runs = run_batch(n, args.epochs, threads)
            times = [r["end"] - r["start"] for r in runs]
            wall = max(r["end"] for r in runs) - min(r["start"] for r in runs)
            if solo is None:
                solo = statistics.median(times) if n == 1 else None
                if solo is None:
                    raise SystemExit("--counts must start with 1 (the solo run)")
            ratios = sorted(t / solo for t in times)
            throughput = (n / wall) / (1 / solo)
            print(f"{label:12s} N={n}: threads {sorted({r['threads'] for r in runs})}, "
                  f"time/solo median {statistics.median(ratios):.2f} max {ratios[-1]:.2f} "
                  f"(each: {' '.join(f'{x:.2f}' for x in ratios)}), total throughput / solo {throughput:.2f}"
                  f"   [solo fit {solo:.2f} s, load {os.getloadavg()[0]:.2f}]")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
