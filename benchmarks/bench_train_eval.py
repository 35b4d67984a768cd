"""Train/eval consistency: is the eval-mode model (what ``embed`` draws) the model that was trained?

Run: ``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_train_eval.py [--dims 2,3,64] [--losses all]
[--seeds 0,1,2,3,4] [--epochs 20] [--lr 5e-3] [--lr-schedule cosine] [--passes 3]``

Lesson 2's recipe by default (notebooks/02_toy_example_2d.ipynb): 8 toy identities × 200 images, 32×32, seed 0,
``experiment.train(loss, data, dim=D, epochs=20, lr=5e-3, lr_schedule="cosine", seed=SEED)`` — FaceCNN(D), Adam,
batch 128, every registered head (arcface_viz.losses.LOSS_NAMES) with the registry's s and margins. Each run trains
once with ``fit``'s defaults and measures accuracy on its own training faces:

- ``eval (fit)``: eval mode as ``fit`` leaves the model — BatchNorm statistics re-estimated after the last epoch on
  every training image (``reestimate_batchnorm(..., max_images=None)``; earlier epochs use a sample of at most
  ``BN_IMAGES`` = 512); it equals ``history["eval_accuracy_train"][-1]``, which the script checks;
- ``train (b128)``: the accuracy the trained network has with BatchNorm on batch statistics, as the loss saw it.
  Precisely: a copy of the backbone in train mode (its running statistics are updated on the copy and thrown away,
  so the returned model's buffers are untouched), the head in eval mode (margin-free logits: no margin), the
  training faces without augmentation, shuffled and cut into batches of 128 (fit's batch size; 1,600 faces give
  12 batches of 128 and one of 64, as in training), no gradients; the mean over ``--passes`` shuffles
  (seeds 1000 + pass), because one shuffle's batches make the number itself vary by a few tenths of a point;
- ``train (one batch)``: the same with all training faces in one batch: train mode without the sampling noise of
  small batches (the statistics of the whole training set, which the eval-mode model is meant to carry).

The gaps are ``eval - train mode`` in percentage points, for each definition of train mode. Prints one line per
run, then per (dim, loss) the worst |gap| over seeds with its seed, then the worst per dim. Accuracies do not depend on the machine's load; the
seconds per run do (the load average is printed).
"""
from __future__ import annotations

import argparse
import copy
import os
import signal
import time

import torch

from arcface_viz import experiment, faces
from arcface_viz.losses import LOSS_NAMES
from arcface_viz.training import BN_IMAGES, accuracy

BATCH = 128  # fit's default batch size, which experiment.train (and lesson 2) use


@torch.no_grad()
def train_mode_accuracy(model, head, data, passes: int = 3, batch_size: int = BATCH) -> float:
    """Mean accuracy over ``passes`` shuffles with BatchNorm on batch statistics (see the module docstring)."""
    model = copy.deepcopy(model).train()
    head = copy.deepcopy(head).eval()
    scores = []
    for p in range(passes):
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(1000 + p))
        predicted = torch.cat([head(model(data.images[order[i:i + batch_size]])).argmax(1)
                               for i in range(0, len(data), batch_size)])
        scores.append(float((predicted == data.labels[order]).float().mean()))
    return sum(scores) / passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="2,3,64")
    parser.add_argument("--losses", default="all", help="comma-separated registered names, or 'all'")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--lr-schedule", default="cosine")
    parser.add_argument("--passes", type=int, default=3, help="shuffles averaged for train-mode accuracy")
    args = parser.parse_args()
    losses = LOSS_NAMES if args.losses == "all" else tuple(args.losses.split(","))
    data = faces.make_toy_faces(n_identities=8, images_per_identity=200, size=32, seed=0)
    print(f"{len(data)} toy faces, {data.n_identities} identities; BN_IMAGES={BN_IMAGES}; "
          f"{torch.get_num_threads()} thread(s); load average {os.getloadavg()[0]:.2f}", flush=True)
    print("dim  loss        seed  eval(fit)  train(b128)  train(one batch)  gap(b128)  gap(one batch)  seconds")
    rows = []
    # `kill PID` of a background run (where Ctrl-C's SIGINT is ignored) stops it like Ctrl-C
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:  # seeds outermost: a run stopped early (Ctrl-C, kill) has every head at the first seeds, and still summarises
        for seed in (int(s) for s in args.seeds.split(",")):
            for dim in (int(d) for d in args.dims.split(",")):
                for name in losses:
                    rows.append(measure(data, name, dim, seed, args))
    except KeyboardInterrupt:
        print(f"stopped after {len(rows)} runs", flush=True)
    summarise(rows)


def measure(data, name: str, dim: int, seed: int, args: argparse.Namespace) -> tuple:
    """Train one run of the recipe and print and return (dim, loss, seed, eval, both train modes, both gaps)."""
    start = time.perf_counter()
    run = experiment.train(name, data, dim=dim, epochs=args.epochs, lr=args.lr, lr_schedule=args.lr_schedule,
                           seed=seed, progress=False)
    fitted = accuracy(run.model, run.head, data)
    assert fitted == run.history["eval_accuracy_train"][-1], (fitted, run.history["eval_accuracy_train"][-1])
    trained = train_mode_accuracy(run.model, run.head, data, args.passes)
    whole = train_mode_accuracy(run.model, run.head, data, passes=1, batch_size=len(data))
    seconds = time.perf_counter() - start
    row = (dim, name, seed, fitted, trained, whole, 100 * (fitted - trained), 100 * (fitted - whole))
    print(f"{dim:3d}  {name:10s}  {seed:4d}  {fitted:9.4f}  {trained:11.4f}  {whole:16.4f}  "
          f"{row[6]:+9.2f}  {row[7]:+14.2f}  {seconds:7.1f}", flush=True)
    return row


def summarise(rows: list[tuple]) -> None:
    """Worst |gap| per (dim, loss) and per dim, lowest eval-mode accuracy, over the seeds measured."""
    print("\nworst |gap| over seeds, percentage points (seed); lowest eval(fit) accuracy over seeds (seed)")
    print("dim  loss        worst gap(b128)  worst gap(one batch)  min eval(fit)")
    for dim in dict.fromkeys(r[0] for r in rows):
        for name in dict.fromkeys(r[1] for r in rows):
            mine = [r for r in rows if r[0] == dim and r[1] == name]
            if not mine:
                continue
            g_b = max(mine, key=lambda r: abs(r[6]))
            g_one = max(mine, key=lambda r: abs(r[7]))
            low = min(mine, key=lambda r: r[3])
            print(f"{dim:3d}  {name:10s}  {g_b[6]:+9.2f} ({g_b[2]})  {g_one[7]:+14.2f} ({g_one[2]})  "
                  f"{low[3]:9.4f} ({low[2]})")
    print("\nworst |gap| per dim over every loss and seed")
    for dim in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == dim]
        g_b = max(mine, key=lambda r: abs(r[6]))
        g_one = max(mine, key=lambda r: abs(r[7]))
        print(f"{dim:3d}  b128: {g_b[6]:+.2f} ({g_b[1]}, seed {g_b[2]})   one batch: {g_one[7]:+.2f} "
              f"({g_one[1]}, seed {g_one[2]})")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
