"""Train/eval consistency: is the eval-mode model (what ``embed`` draws) the model that was trained?

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_train_eval.py [--dims 2,3,64] [--losses softmax,normface,arcface,cosface]
[--seeds 0,1,2] [--epochs 20] [--lr 1e-3] [--lr-schedule constant]``

Lesson 2's setting by default: 8 toy identities × 200 images, 32×32, FaceCNN, Adam 1e-3, batch 128, 20 epochs,
normalised heads at s=16 (ArcFace m=0.5, CosFace m=0.35). Each run trains once with ``reestimate_bn=False``
(the weights do not depend on it) and measures accuracy on the training faces three ways:

- ``eval, running BN``: eval mode with BatchNorm's running averages from training (the old behaviour);
- ``eval, re-estimated``: eval mode after :func:`arcface_viz.training.reestimate_batchnorm` (what ``fit`` does);
- ``train mode``: BatchNorm on the statistics of shuffled batches of 128 (what the loss saw).

Prints one line per run, then per (dim, loss) the means over seeds and the largest |eval − train mode|, and the
seconds of a re-estimation pass next to the seconds of a training epoch. Timings depend on the machine's load,
which is printed; the accuracies do not.
"""
from __future__ import annotations

import argparse
import copy
import os
import time

import numpy as np
import torch

from arcface_viz import faces
from arcface_viz.heads import make_head
from arcface_viz.models import FaceCNN
from arcface_viz.training import accuracy, fit, reestimate_batchnorm

HEADS = {"softmax": {}, "normface": {"s": 16.0}, "arcface": {"s": 16.0, "m": 0.5}, "cosface": {"s": 16.0, "m": 0.35}}


@torch.no_grad()
def train_mode_accuracy(model, head, data, seed: int, batch_size: int = 128) -> float:
    """Accuracy with BatchNorm on the statistics of shuffled batches (on a copy: buffers stay as they are)."""
    model = copy.deepcopy(model).train()
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 100))
    predicted = torch.cat([head.eval()(model(data.images[order[i:i + batch_size]])).argmax(1)
                           for i in range(0, len(data), batch_size)])
    return float((predicted == data.labels[order]).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="2,3,64")
    parser.add_argument("--losses", default=",".join(HEADS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-schedule", default="constant")
    args = parser.parse_args()
    data = faces.make_toy_faces(n_identities=8, images_per_identity=200, size=32, seed=0)
    rows = []
    print("dim  loss      seed  eval,running-BN  eval,re-estimated  train-mode  epoch s  re-estimation s")
    for dim in (int(d) for d in args.dims.split(",")):
        for name in args.losses.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                torch.manual_seed(seed)
                model, head = FaceCNN(dim), make_head(name, dim, data.n_identities, **HEADS[name])
                result = fit(model, head, data, epochs=args.epochs, lr=args.lr, lr_schedule=args.lr_schedule,
                             seed=seed, progress=False, reestimate_bn=False)
                running = accuracy(model, head, data)
                trained = train_mode_accuracy(model, head, data, seed)
                start = time.perf_counter()
                reestimate_batchnorm(model, data, seed=seed)
                pass_seconds = time.perf_counter() - start
                reestimated = accuracy(model, head, data)
                epoch_seconds = result.seconds / result.epochs_done
                rows.append((dim, name, seed, running, reestimated, trained, epoch_seconds, pass_seconds))
                print(f"{dim:3d}  {name:8s}  {seed:4d}  {running:15.3f}  {reestimated:17.3f}  {trained:10.3f}  "
                      f"{epoch_seconds:7.2f}  {pass_seconds:15.2f}", flush=True)
    print("\nmeans over seeds; gap = largest |eval − train mode| over seeds")
    print("dim  loss      eval,running-BN  eval,re-estimated  train-mode  gap running  gap re-estimated")
    for dim in sorted({r[0] for r in rows}):
        for name in dict.fromkeys(r[1] for r in rows):
            mine = np.array([r[3:6] for r in rows if r[0] == dim and r[1] == name])
            if not len(mine):
                continue
            gap_running = np.abs(mine[:, 0] - mine[:, 2]).max()
            gap_reestimated = np.abs(mine[:, 1] - mine[:, 2]).max()
            print(f"{dim:3d}  {name:8s}  {mine[:, 0].mean():15.3f}  {mine[:, 1].mean():17.3f}  {mine[:, 2].mean():10.3f}  "
                  f"{gap_running:11.3f}  {gap_reestimated:16.3f}")
    ratio = np.mean([r[7] / r[6] for r in rows])
    print(f"\none re-estimation pass costs {ratio:.2f} of a training epoch (fit's epoch includes the pass and an "
          f"evaluation pass); load average {os.getloadavg()[0]:.1f}, {torch.get_num_threads()} thread(s)")


if __name__ == "__main__":
    main()
