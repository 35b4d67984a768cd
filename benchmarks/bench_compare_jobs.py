"""``compare --jobs``: wall time of the AT&T job with 1 worker and with more, and whether the runs are equal.

Runs ``python -m arcface_viz compare --data att --epochs E --seeds S --jobs N --quiet`` once per N (a fresh
Python each, ``OMP_NUM_THREADS=1`` so that ``--jobs 1`` trains on one thread as every worker does), prints each
wall time, its ratio to ``--jobs 1``'s, the load average before and after, and checks that every run's metrics
and history equal the ``--jobs 1`` run's (seconds aside). Falls back to toy faces, said so, when the AT&T
faces are not found. The issue's goal: the default job (``--epochs 60 --seeds 5``, 4 losses) under 5 minutes
on an idle 2-core machine.

Run: python benchmarks/bench_compare_jobs.py [--epochs 10] [--seeds 2] [--jobs 1,2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_job(data: str, epochs: int, seeds: int, jobs: int, out: Path) -> tuple[float, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "arcface_viz", "compare", "--data", data, "--epochs", str(epochs), "--seeds",
               str(seeds), "--jobs", str(jobs), "--quiet", "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start, json.loads((out / "report.json").read_text())


def without_timing(run: dict) -> dict:
    run = {k: v for k, v in run.items() if k != "seconds"}
    run["history"] = {k: v for k, v in run["history"].items() if k != "seconds"}
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--jobs", default="1,2", help="comma-separated worker counts; the first is the reference")
    args = parser.parse_args()
    from arcface_viz import faces, runtime

    data = "att" if faces.find_real_faces("att", warn=False) is not None else "toy"
    if data == "toy":
        print("AT&T faces not found (see data/README.md): timing toy faces instead")
    counts = [int(j) for j in args.jobs.split(",")]
    print(f"{os.cpu_count()} cores, {runtime.free_cpus()} free now; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; compare --data {data} --epochs {args.epochs} "
          f"--seeds {args.seeds}")
    reference = None
    with tempfile.TemporaryDirectory() as folder:
        for jobs in counts:
            wall, report = run_job(data, args.epochs, args.seeds, jobs, Path(folder) / f"jobs{jobs}")
            runs = [without_timing(r) for r in report["runs"]]
            if reference is None:
                reference = (wall, runs)
            same = "equal to" if runs == reference[1] else "DIFFERENT from"
            print(f"--jobs {jobs}: {len(runs)} runs, wall {wall:.1f} s ({wall / 60:.2f} min), "
                  f"{wall / reference[0]:.2f} of --jobs {counts[0]}'s; runs {same} --jobs {counts[0]}'s   "
                  f"[load {os.getloadavg()[0]:.2f}]")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
