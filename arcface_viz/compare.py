"""The ``compare`` subcommand: train the same CNN with several losses and compare the embeddings.

``python -m arcface_viz compare --data toy|att|olivetti|PATH --losses softmax,normface,cosface,arcface
--seeds N --margins 0,0.1,0.2 --jobs N --out DIR [--force]``

Every loss is trained on the same identity-disjoint split; each seed changes the initialisation and
the batch order, not the split. Every normalised head uses one scale s (``losses.DEFAULT_S`` unless
``--scale``), so NormFace − softmax measures normalisation and scale, and ArcFace − NormFace or
CosFace − NormFace the margin alone. Measured per loss and seed: verification on the unseen
identities (10-fold accuracy on balanced pairs, ROC/EER/TAR@FAR on all pairs), rank-1 identification
of the unseen identities (one gallery image each), angle statistics and margin satisfaction on the
training identities, and -- for toy faces -- closed-set accuracy on held-out images of the training
identities. Differences between losses are paired by seed, with a 95 % confidence interval (Student t
over seeds, ``scipy.stats``). ``--margins`` adds a sweep of the margin m of every margin loss.
``--jobs N`` trains N runs at once in worker processes of one torch thread each, so every run's numbers
equal a one-thread run's. Writes ``DIR/report.json``, PNG figures and ``DIR/index.html``; prints the tables.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import shlex
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import NamedTuple

import numpy as np
import sklearn
import torch
from scipy import stats

import arcface_viz
from arcface_viz import distributed, experiment, faces, metrics, report, robustness, runtime
from arcface_viz._validation import check_int, check_margin, check_real, check_scale, message
from arcface_viz.cli import UsageError
from arcface_viz.losses import DEFAULT_S, LOSS_NAMES, LOSSES
from arcface_viz.training import accuracy, embed

# Settings that train from scratch on these small problems (8 toy identities in 2-D, 30 AT&T
# subjects). The heads' s and m are the registry's defaults (arcface_viz.losses) unless --scale/--margin.
#: Training identities of a toy run (--identities).
TOY_IDENTITIES = 8
TOY = {"dim": 2, "epochs": 24, "lr": 5e-3, "batch_size": 64, "warmup": 8, "augment": False, "test_identities": 4}
#: Most toy identities (training + unseen) one run draws, checked before drawing: a typo such as
#: --test-identities 500 used to draw 101,600 faces before failing; toy runs are small teaching runs.
TOY_MAX_IDENTITIES = 100
REAL = {"dim": 64, "epochs": 60, "lr": 5e-3, "batch_size": 64, "warmup": 10, "augment": True, "test_identities": 10}
DEFAULT_LOSSES = "softmax,normface,cosface,arcface"
SEEDS = {"toy": 3, "real": 5}  # default --seeds: enough for a paired interval; real faces vary more
#: Paired comparisons (a, b): a − b per seed. NormFace − softmax is what normalisation and one scale s
#: give; a margin loss − NormFace is what the margin adds at that same s.
PAIRS = (("normface", "softmax"), ("arcface", "normface"), ("cosface", "normface"), ("sphereface", "normface"),
         ("subcenter", "normface"), ("combined", "normface"))
PAIRED_METRICS = (("verification_accuracy", "10-fold verification accuracy"),
                  ("tar_at_far_1e-2", "TAR@FAR=1e-2"),
                  ("rank1_unseen", "rank-1 identification of unseen identities"))


def register(subparsers) -> None:
    """Add the ``compare`` parser to the CLI's subparsers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The CLI's sub-parsers (see :func:`arcface_viz.cli.build_parser`).
    """
    p = subparsers.add_parser(
        "compare",
        help="train softmax and margin losses on the same split and compare them",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--data", default="toy", help="toy, att, olivetti, or a folder of identity sub-folders (default toy)")
    p.add_argument("--losses", default=DEFAULT_LOSSES,
                   help=f"comma-separated, from: {', '.join(LOSS_NAMES)} (default {DEFAULT_LOSSES})")
    p.add_argument("--dim", type=int, help="embedding dimension (default 2 for toy, 64 for real faces)")
    p.add_argument("--epochs", type=int, help="epochs per run (default 24 toy, 60 real)")
    p.add_argument("--seeds", type=int, help=f"runs per loss with seeds 0..N-1 (default {SEEDS['real']} for real "
                   f"faces, {SEEDS['toy']} for toy faces)")
    p.add_argument("--out", required=True, help="output folder (must be empty or new unless --force)")
    p.add_argument("--force", action="store_true",
                   help="write into an existing non-empty --out folder; files of an earlier run that this one "
                        "does not rewrite stay there (index.html lists only this run's)")
    p.add_argument("--size", help="real faces only: image size HxW or N (default 48x40); toy faces are always "
                                  "32x32, so --data toy refuses it")
    p.add_argument("--identities", type=int, help="toy faces only: training identities (default 8)")
    p.add_argument("--test-identities", type=int, help="identities held out for verification (default 4 toy, 10 real)")
    p.add_argument("--scale", type=float, help=f"s of every normalised head, one value for all (default {DEFAULT_S:g})")
    p.add_argument("--margin", type=float,
                   help="the single margin m of " + ", ".join(n for n, loss in LOSSES.items() if loss.main_margin)
                   + " (default: each loss's: " + ", ".join(f"{loss.default_m:g}" for loss in LOSSES.values()
                                                            if loss.main_margin) + ")")
    p.add_argument("--margins", help="comma-separated margins m, e.g. 0,0.1,0.2,0.3,0.4,0.5: also train every "
                   "margin loss of --losses at each m (same seeds) and draw accuracy and TAR@FAR=1e-2 against m")
    p.add_argument("--warmup", type=int, help="margin warm-up epochs (default 8 toy, 10 real)")
    p.add_argument("--lr", type=float, help="Adam learning rate, decayed to 0 along a cosine (default 5e-3)")
    p.add_argument("--batch-size", type=int, help="batch size (default 64)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random shifts and brightness (default: on for real faces, off for toy)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the identity split (default 0)")
    p.add_argument("--jobs", type=_jobs_arg, metavar="N",
                   help="train N runs (loss × seed, and the --margins sweep) at once, each in its own process with "
                        "one torch thread, so every run's numbers equal a one-thread run's; prints one line per "
                        "finished run instead of progress bars. Default: the CPUs this process may use that are free "
                        "now (CPU affinity and cgroup quota, less the cores other tasks keep busy: "
                        "arcface_viz.runtime.free_cpus), at most one per run; 1 under torchrun and with --sweep. "
                        "--jobs 1 trains one run after another in this process")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no per-run lines")
    p.add_argument("--sweep", help="toy faces: instead, the robustness study -- verification of unseen people while "
                   f"one factor ({', '.join(robustness.SWEEP_FACTORS)}, a comma-separated list, or all) goes from none "
                   "to strong, and the feature norm vs blur, noise and occlusion (arcface_viz.robustness)")
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- arguments
def _jobs_arg(text: str) -> int:
    """--jobs as argparse's ``type``: a whole number >= 1, else argparse's usage error (exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1; give how many runs train at once, "
                                         "e.g. --jobs 2, or --jobs 1 for one after another in this process")
    return value


def _jobs(requested: int | None, n_runs: int, world: int, sweep: bool) -> int:
    """How many runs train at once: --jobs, or the free CPUs; at most one per run; 1 where it cannot apply."""
    if requested is not None and requested > 1 and world > 1:
        raise UsageError(f"--jobs={requested}: under torchrun ({world} processes) the processes train each run "
                         "together; drop --jobs (or pass --jobs 1), or run without torchrun to train runs side by side")
    if requested is not None and requested > 1 and sweep:
        raise UsageError(f"--jobs={requested}: the --sweep robustness study trains its models one after another in "
                         "this process; drop --jobs (or pass --jobs 1)")
    if world > 1 or sweep:
        return 1
    return min(runtime.free_cpus() if requested is None else requested, n_runs)


def _losses(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in LOSS_NAMES]
    if not names or unknown:
        raise UsageError(f"--losses={text!r}: unknown {unknown or 'empty list'}; use names from {', '.join(LOSS_NAMES)}")
    if len(set(names)) != len(names):
        raise UsageError(f"--losses={text!r}: names a loss twice; give each loss once")
    return names


def _size(text: str | None) -> tuple[int, int]:
    if text is None:
        return (48, 40)
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 8:
        raise UsageError(f"--size {text!r}: give HxW such as 48x40, or one number such as 32 (each >= 8)")
    return parts[0], parts[1]


def _settings(args, losses: list[str]) -> dict:
    """Resolve defaults that depend on the data, and check every number."""
    defaults = robustness.STUDY if getattr(args, "sweep", None) else TOY if args.data == "toy" else REAL
    s = {key: defaults[key] for key in defaults}
    for key, value in (("dim", args.dim), ("epochs", args.epochs), ("warmup", args.warmup), ("lr", args.lr),
                       ("batch_size", args.batch_size), ("augment", args.augment), ("test_identities", args.test_identities)):
        if value is not None:
            s[key] = value
    try:  # the package's own checks, named by the option: the same message as from Python, exit code 2
        for key, minimum in (("dim", 1), ("epochs", 1), ("batch_size", 1), ("test_identities", 2), ("warmup", 0)):
            s[key] = check_int(f"--{key.replace('_', '-')}", s[key], minimum=minimum)
        s["lr"] = check_real("--lr", s["lr"], low=0.0, low_open=True, fix="pass a positive learning rate, e.g. 5e-3")
        seeds = SEEDS["toy" if args.data == "toy" else "real"] if args.seeds is None else args.seeds
        s["seeds"] = check_int("--seeds", seeds, minimum=1, fix="pass how many runs per loss")
        if args.data != "toy" and args.identities is not None:  # else ignored without a word
            raise ValueError(message("--identities", args.identities,
                                     "applies to toy faces only (real faces train on every identity not held out)",
                                     "drop --identities, or set --test-identities"))
        identities = TOY_IDENTITIES if args.identities is None else args.identities
        check_int("--identities", identities, minimum=2, fix="a softmax needs at least 2 identities")
        if args.data == "toy":
            s["identities"] = identities
        if args.data == "toy" and identities + s["test_identities"] > TOY_MAX_IDENTITIES:
            raise ValueError(message(
                "--identities + --test-identities", identities + s["test_identities"],
                f"toy runs draw 200 images per identity; at most {TOY_MAX_IDENTITIES} identities in all",
                "lower them, or use real faces (--data att)"))
        # one scale for every normalised head: differences between them are then the margin's alone
        s["s"] = DEFAULT_S if args.scale is None else check_scale(args.scale, name="--scale")
        if args.scale is not None and not any(LOSSES[name].normalized for name in losses):  # else dropped silently
            raise ValueError(message("--scale", args.scale, f"no chosen loss ({', '.join(losses)}) has a scale s",
                                     "drop --scale, or add a normalised loss such as arcface to --losses"))
        if args.margin is not None and not any(LOSSES[name].main_margin for name in losses):
            with_m = ", ".join(name for name, loss in LOSSES.items() if loss.main_margin)
            raise ValueError(message("--margin", args.margin, f"no chosen loss ({', '.join(losses)}) has a single margin m",
                                     f"drop --margin, or add one of {with_m} to --losses"))
        if args.margin is not None:
            _check_margin_for_every_loss(args.margin, losses)
        s["margins"] = _margins(args.margins, losses)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    if args.data == "toy" and args.size is not None:  # else ignored without a word, even when malformed
        raise UsageError(f"--size={args.size!r}: applies to real faces only (toy faces are 32x32); drop --size, "
                         "or pass real faces (--data att)")
    s["size"] = (32, 32) if args.data == "toy" else _size(args.size)
    return s


def _check_margin_for_every_loss(m: float, losses: list[str]) -> None:
    """--margin is the m of every chosen margin loss: name each whose range it leaves, and why."""
    with_m = [name for name in losses if LOSSES[name].main_margin is not None]
    outside = []
    for name in with_m:
        try:
            check_margin(name, m, name="--margin")
        except ValueError as error:
            outside.append(f"{name}: {str(error).split(': ', 1)[1]}")
    if outside:
        raise ValueError(f"--margin={m}: applies to every margin loss chosen ({', '.join(with_m)}); outside the "
                         f"range of {'; and of '.join(outside)}. Give a value every chosen margin loss accepts, "
                         "or train them in separate runs (--losses)")


def _margins(text: str | None, losses: list[str]) -> list[float] | None:
    """The --margins list, each value checked against every margin loss of ``losses``."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--margins={text!r}: give comma-separated numbers such as 0,0.1,0.2") from None
    if not values or len(set(values)) != len(values):
        raise ValueError(f"--margins={text!r}: give distinct comma-separated numbers such as 0,0.1,0.2")
    swept = [name for name in losses if LOSSES[name].main_margin is not None]
    if not swept:
        raise ValueError(f"--margins: none of --losses {','.join(losses)} has a margin m; add arcface or cosface")
    for name in swept:
        for value in values:
            check_margin(name, value, name="--margins")
    return values


def _check_out(text: str, force: bool) -> Path:
    """--out as a usable folder path, checked without creating anything."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out} exists and is not empty; choose a new folder or add --force to overwrite")
    return out


def _out_dir(text: str, force: bool) -> Path:
    out = _check_out(text, force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {out} cannot be created ({error.strerror}); choose a writable folder") from None
    return out


# --------------------------------------------------------------------------- data
def load_data(args, settings: dict) -> tuple[dict, str, str]:
    """The faces of a run, split into training and unseen identities.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``compare`` command line.
    settings : dict
        The run's checked settings (``test_identities``, ``size``, ...).

    Returns
    -------
    splits : dict of str to FaceDataset
        ``train`` (training identities), ``test`` (unseen identities) and, for toy faces,
        ``heldout`` (held-out images of the training identities).
    description : str
        What the data are, for the report.
    credit : str
        The faces' credit line.

    Raises
    ------
    UsageError
        Too many test identities for the data, too few images of the unseen identities for the
        10-fold verification, or real faces that cannot be found.
    """
    data = args.data
    if data == "toy":
        dataset = faces.make_toy_faces(settings["identities"] + settings["test_identities"], 200, 32, seed=0)
        description = (f"toy faces, {settings['identities']} training + {settings['test_identities']} unseen identities "
                       "× 200 images, 32×32")
    else:
        dataset, description = _load_real(data, settings["size"])
    n_ids = len(np.unique(dataset.labels.numpy()))
    if settings["test_identities"] >= n_ids - 1:
        raise UsageError(f"--test-identities {settings['test_identities']} leaves fewer than 2 of the "
                         f"{n_ids} identities for training; lower it")
    train, test = faces.split_identities(dataset, settings["test_identities"], seed=args.split_seed)
    genuine = int(sum(c * (c - 1) // 2 for c in np.bincount(test.labels.numpy())))
    folds = metrics.verification.__kwdefaults__["n_folds"]
    if genuine < folds:  # else make_pairs or verification fails with a traceback, the latter after all training
        raise UsageError(f"--test-identities={settings['test_identities']}: the {test.n_identities} unseen identities "
                         f"give {genuine} genuine pairs (two images of one identity); the {folds}-fold verification "
                         f"needs at least {folds}: raise --test-identities, or add images so that unseen identities "
                         "have 2 or more")
    splits = {"train": train, "test": test}
    if data == "toy":
        splits["train"], splits["heldout"] = faces.split_images(train, 0.2, seed=args.split_seed)
    description += f"; train {len(splits['train'])} images of {train.n_identities} identities, " \
                   f"test {len(test)} images of {test.n_identities} unseen identities"
    return splits, description, dataset.credit


def _load_olivetti(size: tuple[int, int]):
    """Olivetti faces from scikit-learn's cache in a data folder, downloaded there first when missing."""
    root = faces.find_real_faces("olivetti", warn=False)
    created: list[Path] = []  # folders a download creates, removed again if it fails
    if root is not None:
        home, download = root / faces.OLIVETTI_HOME, False
    else:
        home, download = faces.olivetti_download_home(), True
        created = [folder for folder in (home, home.parent) if not folder.exists()]
        looked = ", ".join(str(folder / faces.OLIVETTI_HOME) for folder in faces.data_folders())
        print(f"--data olivetti: no scikit-learn Olivetti cache in {looked}; downloading it through "
              f"scikit-learn into {home} (needs internet; a few MB)", flush=True)
    try:
        dataset = faces.load_olivetti(home, download_if_missing=download, size=size)
    except FileNotFoundError as error:  # on the command line the AT&T faces are --data att, not a function
        for folder in created:  # leave no empty folders from the failed download behind
            try:
                folder.rmdir()
            except OSError:  # not empty: something was saved there
                break
        raise UsageError(f"--data olivetti: {error}".replace(faces.real.OLIVETTI_ALTERNATIVE, "use --data att")) from None
    if download:
        print(f"--data olivetti: saved in {home}; later runs read it from there, offline", flush=True)
    return dataset, f"Olivetti faces ({home}), {size[0]}×{size[1]}"


def _load_real(data: str, size: tuple[int, int]):
    if data == "att":
        root = faces.find_real_faces("att", warn=False)
        if root is None:
            looked = ", ".join(str(folder / "att_faces") for folder in faces.data_folders())
            raise UsageError(f"--data att: AT&T faces not found (looked in {looked}); set ARCFACE_VIZ_DATA to the "
                             "folder holding att_faces/ (data/README.md says where to get them), or use "
                             "--data olivetti, which scikit-learn can download")
        return faces.load_att_faces(root / "att_faces", size=size), f"AT&T/ORL faces ({root / 'att_faces'}), {size[0]}×{size[1]}"
    if data == "olivetti":
        return _load_olivetti(size)
    path = Path(data)
    if not path.is_dir():
        raise UsageError(f"--data {data!r}: not toy, att, olivetti or an existing folder of identity sub-folders")
    try:
        if any(p.is_dir() and p.name[:1] == "s" and p.name[1:].isdigit() for p in path.iterdir()):
            return faces.load_att_faces(path, size=size), f"AT&T-layout faces from {path}, {size[0]}×{size[1]}"
        return faces.load_image_folder(path, size=size), f"faces from {path}, {size[0]}×{size[1]}"
    except (ValueError, OSError) as error:
        raise UsageError(f"--data {data!r}: {error}") from None


# --------------------------------------------------------------------------- one run
def evaluate(result, splits: dict, pairs: np.ndarray, roc_pairs: np.ndarray) -> dict:
    """Every metric of one trained model; values JSON-ready, plus the objects the figures need.

    Parameters
    ----------
    result : TrainResult
        The trained model and head.
    splits : dict of str to FaceDataset
        From :func:`load_data`.
    pairs : numpy.ndarray, shape (P, 2), int64
        Balanced pairs of unseen faces for the 10-fold accuracy.
    roc_pairs : numpy.ndarray, shape (Q, 2), int64
        Pairs of unseen faces for the ROC.

    Returns
    -------
    dict
        ``metrics`` (name to float or None: the open-set numbers, angles in degrees, closed-set
        accuracy for toy faces), ``details`` (10-fold, ROC and angle summaries) and ``objects``
        (verification results, angle statistics and embeddings for the figures).
    """
    open_set = experiment.evaluate_open_set(result.model, splits["test"], pairs=pairs, roc_pairs=roc_pairs)
    folds, roc, test_emb = open_set.folds, open_set.roc, open_set.embeddings
    closed = splits.get("heldout", splits["train"])
    closed_emb = embed(result.model, closed)
    angles = metrics.angle_stats(closed_emb, closed.labels, result.head.centers)
    head = result.head
    satisfied = metrics.margin_satisfaction(closed_emb, closed.labels, head.centers, m1=head.m1, m2=head.m2, m3=head.m3)
    values = {
        **open_set.metrics(),
        "mean_angle_to_center_deg": math.degrees(angles.mean_target_angle),
        "min_center_angle_deg": math.degrees(angles.min_center_angle),
        "mean_center_angle_deg": math.degrees(angles.mean_center_angle),
        "margin_satisfied": satisfied.overall,
    }
    if "heldout" in splits:
        values["closed_set_accuracy"] = accuracy(result.model, result.head, splits["heldout"])
    values = {k: (None if isinstance(v, float) and math.isnan(v) else float(v)) for k, v in values.items()}
    details = {"10fold": folds.to_dict(), "roc": roc.to_dict(), "angles": angles.to_dict(),
               "margin_satisfaction": satisfied.to_dict()}
    return {"metrics": values, "details": details, "objects": (folds, roc, angles, closed_emb, test_emb)}


def _one_run(name: str, kwargs: dict, seed: int, settings: dict, data: tuple, *, progress: bool, keep: bool = False,
             evaluate_it: bool = True) -> tuple[dict | None, tuple | None]:
    """Train and evaluate one (loss, seed): its report.json record and, when ``keep``, (result, figure objects).

    ``data`` is (splits, pairs, roc_pairs). Without ``evaluate_it`` (torchrun ranks other than 0, which only
    help to train) it returns (None, None).
    """
    splits, pairs, roc_pairs = data
    result = train_one(name, kwargs, settings, splits["train"], seed, progress=progress)
    if not evaluate_it:
        return None, None
    evaluated = evaluate(result, splits, pairs, roc_pairs)
    head = result.head
    record = {
        "loss": name, "seed": seed, "head": head.describe(), "head_kwargs": kwargs,
        "s": head.s, "m1": head.m1, "m2": head.m2, "m3": head.m3, "m": _main_m(head, name) if LOSSES[name].main_margin else None,
        "seconds": result.seconds, "epochs": result.epochs_done, "history": result.history,
        "metrics": evaluated["metrics"], "details": evaluated["details"], "config": result.config,
    }
    return record, ((result, evaluated["objects"]) if keep else None)


def _run_line(record: dict) -> str:
    """The line printed when a run has finished: head, seed, seconds and its rates in %, as the table names them.

    >>> _run_line({"head": "NormFace (s=16)", "seed": 0, "seconds": 17.2,
    ...            "metrics": {"verification_accuracy": 0.931, "eer": 0.059, "mean_angle_to_center_deg": 34.0}})
    'NormFace (s=16) seed 0: 17.2 s; 10-fold acc 93.1 %, EER 5.9 %'
    """
    rates = [f"{column.head} {column.factor * record['metrics'][column.key]:.1f} %" for column in SUMMARY_COLUMNS
             if column.unit == "%" and record["metrics"].get(column.key) is not None]
    return f"{record['head']} seed {record['seed']}: {record['seconds']:.1f} s; " + ", ".join(rates)


_WORKER: dict = {}  # in a worker process of --jobs: the settings and data every run shares


def _worker_start(settings: dict, data: tuple) -> None:
    """Runs once in each worker: one torch thread (runs bit-identical to one-thread runs), the shared data.

    The data arrive as tensors, once per worker: pickling AT&T's (3 MB) takes ~0.01 s, loading and resizing
    them again ~0.2 s, and the worker trains exactly the split the parent drew.
    """
    runtime.pin_threads(1)
    _WORKER.update(settings=settings, data=data)


def _worker_run(name: str, kwargs: dict, seed: int, keep: bool) -> tuple[dict, tuple | None]:
    """One run in a worker process, without a progress bar (several bars would interleave)."""
    try:
        return _one_run(name, kwargs, seed, _WORKER["settings"], _WORKER["data"], progress=False, keep=keep)
    except Exception as error:  # the parent re-raises it with its message; say which run it was
        error.add_note(f"in the run of {name} {kwargs} seed {seed} (a compare --jobs worker process)")
        raise


def _train_all(tasks: list[tuple], keep: list[bool], settings: dict, data: tuple, jobs: int, *, rank: int,
               quiet: bool) -> list[tuple[dict | None, tuple | None]]:
    """Every (name, head kwargs, seed) of ``tasks``, ``jobs`` at a time; the outcomes in the order of ``tasks``.

    ``jobs`` = 1 trains in this process with progress bars. More start worker processes with the "spawn"
    method: a forked child inherits torch's OpenMP thread pool in whatever state the parent left it and
    can hang in it, which spawn (a fresh interpreter) avoids. A run that fails raises its own exception
    here, with its message, and the runs not started yet are cancelled.
    """
    if jobs == 1:
        outcomes = []
        for (name, kwargs, seed), k in zip(tasks, keep):
            outcomes.append(_one_run(name, kwargs, seed, settings, data, progress=not quiet, keep=k,
                                     evaluate_it=not rank))
            if not quiet and outcomes[-1][0] is not None:
                print(_run_line(outcomes[-1][0]), flush=True)
        return outcomes
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                               initargs=(settings, data))
    try:
        futures = [pool.submit(_worker_run, name, kwargs, seed, k) for (name, kwargs, seed), k in zip(tasks, keep)]
        for future in as_completed(futures):  # a failed run raises here at once, not after the runs before it
            record = future.result()[0]
            if not quiet:
                print(_run_line(record), flush=True)
        return [future.result() for future in futures]
    except BrokenProcessPool:
        raise RuntimeError(f"--jobs {jobs}: a worker process died without an error message (killed, or out of "
                           "memory?); run again with --jobs 1 to see the failing run in this process") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def train_one(name: str, kwargs: dict, settings: dict, train, seed: int, progress: bool):
    """Train FaceCNN + head ``name`` with the run's settings, via the experiment recipe.

    Parameters
    ----------
    name : str
        A registered loss name.
    kwargs : dict
        The head's constructor arguments (``experiment.head_kwargs``).
    settings : dict
        The run's checked settings (``dim``, ``epochs``, ``batch_size``, ``lr``, ``warmup``,
        ``augment``).
    train : FaceDataset
        The training faces.
    seed : int
        Seeds the initialisation and the training.
    progress : bool
        Show a progress bar.

    Returns
    -------
    TrainResult
        From :func:`arcface_viz.experiment.train` (cosine learning-rate schedule; margin warm-up
        except for softmax).
    """
    warmup = settings["warmup"] if name != "softmax" else 0
    return experiment.train(name, train, dim=settings["dim"], head_options=kwargs, seed=seed, epochs=settings["epochs"],
                            batch_size=settings["batch_size"], lr=settings["lr"],
                            margin_warmup_epochs=min(warmup, settings["epochs"]), augment=settings["augment"],
                            progress=progress, lr_schedule="cosine")


# --------------------------------------------------------------------------- summary
class Column(NamedTuple):
    """One column of the summary table: which metric, and how the table shows it.

    ``report.json`` keeps every rate as a fraction; the printed table and ``index.html`` show
    ``factor`` × that value in ``unit`` (percent for rates), one decimal, like the paired table.

    Parameters
    ----------
    head : str
        Short column head; also the column's name in ``DEFINITIONS``.
    key : str
        The metric's key in ``report.json`` (``summary``, ``runs[i].metrics``; ``seconds``).
    unit : str
        Shown under the head: "%", "°" or "seconds".
    factor : float
        Shown value = factor × the ``report.json`` value (100 turns a fraction into percent).
    group : str
        The table block the column belongs to.
    """

    head: str
    key: str
    unit: str
    factor: float
    group: str


#: Column groups, in the order the table blocks are shown.
UNSEEN = "Unseen identities: verification and identification"
TRAINING = "Training identities, and time per run"
SUMMARY_COLUMNS = (
    Column("10-fold acc", "verification_accuracy", "%", 100.0, UNSEEN),
    Column("TAR@FAR=1e-2", "tar_at_far_1e-2", "%", 100.0, UNSEEN),
    Column("TAR@FAR=1e-3", "tar_at_far_1e-3", "%", 100.0, UNSEEN),
    Column("EER", "eer", "%", 100.0, UNSEEN),
    Column("rank-1 unseen", "rank1_unseen", "%", 100.0, UNSEEN),
    Column("closed-set acc", "closed_set_accuracy", "%", 100.0, TRAINING),
    Column("margin satisfied", "margin_satisfied", "%", 100.0, TRAINING),
    Column("mean θ_y", "mean_angle_to_center_deg", "°", 1.0, TRAINING),
    Column("min centre angle", "min_center_angle_deg", "°", 1.0, TRAINING),
    Column("training time", "seconds", "seconds", 1.0, TRAINING),
)
#: One line per column (named by its head) for the page and report.json: what each column measures.
DEFINITIONS = (
    ("10-fold acc", "face verification on identities never seen in training: same person or not, by the cosine "
                    "of two unit embeddings; threshold chosen on 9 folds, accuracy on the 10th (LFW protocol); "
                    "percent of balanced pairs"),
    ("TAR@FAR=1e-2", "true accept rate (percent of genuine pairs accepted) at the threshold that accepts 1 % of "
                     "impostor pairs, on all pairs of the unseen identities"),
    ("TAR@FAR=1e-3", "the same at 0.1 % of impostor pairs; n/a with fewer than 1,000 impostor pairs, and rough "
                     "with few unseen identities"),
    ("EER", "equal error rate: percent of pairs misjudged where false accepts equal false rejects (lower is better)"),
    ("rank-1 unseen", "one gallery image per unseen identity; percent of the other images whose nearest gallery "
                      "embedding (cosine) is their own identity"),
    ("closed-set acc", "percent of held-out images of the training identities given their own identity by the "
                       "head (toy faces only)"),
    ("margin satisfied", "percent of training-identity images whose margined target logit s·(cos(m1·θ+m2) − m3) "
                         "beats every other logit, at the loss's own margins (for losses without a margin: "
                         "nearest-centre accuracy); ArcFace Table 1 decision condition"),
    ("mean θ_y", "mean target angle θ_y in degrees: between an embedding of a training identity and its own class "
                 "centre W"),
    ("min centre angle", "smallest angle in degrees between two class centres W"),
    ("training time", "wall-clock seconds of one training run, evaluation included"),
    ("units", "the tables show mean ± standard deviation over seeds, one decimal: rates and accuracies in percent, "
              "angles in degrees, time in seconds; paired differences in percentage points. report.json keeps "
              "rates and accuracies as fractions (0 to 1), angles in degrees (keys ending _deg) and times in "
              "seconds"),
)


def summarise(runs: list[dict], losses: list[str]) -> dict:
    """Per loss and metric: mean, std (population; None for one seed) and the per-seed values.

    Parameters
    ----------
    runs : list of dict
        One entry per (loss, seed): ``loss``, ``head``, ``metrics`` and ``seconds``.
    losses : list of str
        The loss names, in table order.

    Returns
    -------
    dict
        Loss name to ``{"head": description, metric: {"mean", "std", "values"}}``; mean and std are
        None when a seed has no value (e.g. TAR@FAR n/a).
    """
    summary = {}
    for name in losses:
        mine = [r for r in runs if r["loss"] == name]
        summary[name] = {"head": mine[0]["head"]}
        for key in list(mine[0]["metrics"]) + ["seconds"]:
            values = [r["seconds"] if key == "seconds" else r["metrics"][key] for r in mine]
            finite = [v for v in values if v is not None]
            summary[name][key] = {
                "mean": float(np.mean(finite)) if len(finite) == len(values) else None,
                "std": float(np.std(finite)) if len(finite) == len(values) and len(values) > 1 else None,
                "values": values,
            }
    return summary


def paired_difference(a, b) -> dict:
    """Per-seed differences a − b, their mean and its 95 % confidence interval (Student t over seeds).

    Parameters
    ----------
    a, b : sequence of float or None
        One value per seed, in the same seed order; a seed where either is None (n/a) is dropped.

    Returns
    -------
    dict
        ``differences`` (list), ``n``, ``mean`` (None when n = 0), ``ci95`` ([low, high] from
        ``scipy.stats.t.interval(0.95, n − 1, mean, sem)``; None when n < 2: one seed has no spread).
    """
    differences = [float(x) - float(y) for x, y in zip(a, b) if x is not None and y is not None]
    n = len(differences)
    result = {"differences": differences, "n": n, "mean": float(np.mean(differences)) if n else None, "ci95": None}
    if n >= 2:
        d = np.asarray(differences)
        sem = float(stats.sem(d))
        if sem == 0.0:  # identical differences: the interval is the point (t.interval would give NaN)
            result["ci95"] = [float(d.mean()), float(d.mean())]
        else:
            result["ci95"] = [float(v) for v in stats.t.interval(0.95, n - 1, loc=d.mean(), scale=sem)]
    return result


def verdict(entry: dict) -> str:
    """Plain words for a paired difference: higher, lower, or no clear difference at 95 %.

    Parameters
    ----------
    entry : dict
        A :func:`paired_difference` result (``ci95`` None or [low, high]).

    Returns
    -------
    str
        "higher (interval above 0)", "lower (interval below 0)", "no clear difference (interval
        includes 0)" or "one seed: no interval".
    """
    if entry["ci95"] is None:
        return "one seed: no interval"
    low, high = entry["ci95"]
    if low > 0:
        return "higher (interval above 0)"
    if high < 0:
        return "lower (interval below 0)"
    return "no clear difference (interval includes 0)"


def paired_analysis(runs: list[dict], losses: list[str]) -> list[dict]:
    """The comparisons of ``PAIRS`` present in ``losses``, per metric of ``PAIRED_METRICS``, paired by seed.

    Parameters
    ----------
    runs : list of dict
        Run records with ``loss``, ``seed`` and ``metrics`` (metric name to float or None).
    losses : list of str
        The losses of the job.

    Returns
    -------
    list of dict
        Per (pair, metric): ``a``, ``b``, ``label`` ("ArcFace − NormFace"), ``metric``,
        ``metric_label``, the :func:`paired_difference` fields, ``method`` and ``verdict``.
    """
    by_seed = {(r["loss"], r["seed"]): r["metrics"] for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    entries = []
    for a, b in PAIRS:
        if a not in losses or b not in losses:
            continue
        for key, what in PAIRED_METRICS:
            values_a = [by_seed[(a, seed)].get(key) for seed in seeds]
            values_b = [by_seed[(b, seed)].get(key) for seed in seeds]
            entry = {"a": a, "b": b, "label": f"{LOSSES[a].label} − {LOSSES[b].label}", "metric": key,
                     "metric_label": what, **paired_difference(values_a, values_b),
                     "method": "mean of per-seed differences; 95 % CI from scipy.stats.t over seeds"}
            entry["verdict"] = verdict(entry)
            entries.append(entry)
    return entries


def format_paired(entries: list[dict]) -> str:
    """The paired analysis as an aligned text table (differences in percentage points).

    Metrics are named by their summary-table column heads (``SUMMARY_COLUMNS``); a pair's label is
    written on its first line only. For the default losses the lines are under 110 characters.

    Parameters
    ----------
    entries : list of dict
        From :func:`paired_analysis` (``mean`` and ``ci95`` as differences of fractions).

    Returns
    -------
    str
        A heading line that names the method, column heads, then one line per entry; "" for no
        entries.

    Examples
    --------
    >>> entry = {"label": "ArcFace − NormFace", "metric": "verification_accuracy", "mean": 0.009,
    ...          "ci95": [-0.003, 0.021], "n": 5, "verdict": "no clear difference (interval includes 0)"}
    >>> print(format_paired([entry, {**entry, "metric": "rank1_unseen", "mean": -0.0133, "ci95": None, "n": 1,
    ...                              "verdict": "one seed: no interval"}]))
    Paired differences a − b by seed, percentage points: mean [95 % CI, Student t over seeds (scipy.stats.t)]
      a − b               metric         mean [95 % CI]     seeds  reading
      ArcFace − NormFace  10-fold acc    +0.9 [-0.3, +2.1]      5  no clear difference (interval includes 0)
                          rank-1 unseen  -1.3                   1  one seed: no interval
    """
    if not entries:
        return ""
    heads = {column.key: column.head for column in SUMMARY_COLUMNS}
    rows = [("a − b", "metric", "mean [95 % CI]", "seeds", "reading")]
    for i, e in enumerate(entries):
        if e["mean"] is None:
            text = "n/a"
        elif e["ci95"] is None:
            text = f"{100 * e['mean']:+.1f}"
        else:
            text = f"{100 * e['mean']:+.1f} [{100 * e['ci95'][0]:+.1f}, {100 * e['ci95'][1]:+.1f}]"
        label = "" if i and entries[i - 1]["label"] == e["label"] else e["label"]
        rows.append((label, heads.get(e["metric"], e.get("metric_label", e["metric"])), text, str(e["n"]), e["verdict"]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["Paired differences a − b by seed, percentage points: mean [95 % CI, Student t over seeds "
             "(scipy.stats.t)]"]
    for r in rows:
        lines.append(f"  {r[0]:{widths[0]}}  {r[1]:{widths[1]}}  {r[2]:{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")
    return "\n".join(lines)


def sweep_summary(runs: list[dict]) -> list[dict]:
    """Per (loss, m): mean and 95 % t half-width over seeds of verification accuracy and TAR@FAR=1e-2.

    Parameters
    ----------
    runs : list of dict
        Run records with ``loss``, ``m`` (the loss's single margin) and ``metrics``.

    Returns
    -------
    list of dict
        Per (loss, m) in first-seen order: ``loss``, ``m``, ``n`` and, for "verification_accuracy",
        "tar_at_far_1e-2" and "rank1_unseen", ``{"mean", "ci95_half_width", "values"}`` (half width
        ``t.ppf(0.975, n − 1)·sem``, None for fewer than 2 values).
    """
    rows = []
    for loss, m in dict.fromkeys((r["loss"], r["m"]) for r in runs):
        mine = [r for r in runs if r["loss"] == loss and r["m"] == m]
        row = {"loss": loss, "m": m, "n": len(mine)}
        for key in ("verification_accuracy", "tar_at_far_1e-2", "rank1_unseen"):
            values = np.array([r["metrics"][key] for r in mine if r["metrics"].get(key) is not None], dtype=float)
            half = None
            if len(values) >= 2:
                half = float(stats.t.ppf(0.975, len(values) - 1) * stats.sem(values))
            row[key] = {"mean": float(values.mean()) if len(values) else None, "ci95_half_width": half,
                        "values": values.tolist()}
        rows.append(row)
    return rows


def table_rows(summary: dict) -> list[dict]:
    """One row per loss: its description, then a cell per column of ``SUMMARY_COLUMNS`` it has.

    Parameters
    ----------
    summary : dict
        From :func:`summarise` (rates as fractions, angles in degrees, times in seconds).

    Returns
    -------
    list of dict
        Rows with key ``"loss"`` (the head's description, which names its s and m) and, per column
        head, a :class:`arcface_viz.report.Cell`: mean and std over seeds times the column's
        ``factor`` (rates in percent), its unit and its group.

    Examples
    --------
    >>> table_rows({"arcface": {"head": "ArcFace (s=16, m=0.5)", "eer": {"mean": 0.05, "std": 0.0125}}})
    [{'loss': 'ArcFace (s=16, m=0.5)', 'EER': Cell(mean=5.0, std=1.25, unit='%', group='Unseen identities: verification and identification')}]
    """
    def scaled(value: float | None, factor: float) -> float | None:
        return None if value is None else factor * value

    rows = []
    for entry in summary.values():
        row = {"loss": entry["head"]}
        for column in SUMMARY_COLUMNS:
            if column.key in entry:
                row[column.head] = report.Cell(scaled(entry[column.key]["mean"], column.factor),
                                               scaled(entry[column.key]["std"], column.factor),
                                               column.unit, column.group)
        rows.append(row)
    return rows


#: Under the printed table: the units, and where each column is defined.
TABLE_LEGEND = ("Mean ± std over seeds, one decimal: % of pairs or images, ° degrees (report.json keeps fractions).\n"
                "What each column measures: index.html, under the table; report.json, \"definitions\".")


def format_table(rows: list[dict], *, legend: bool = True) -> str:
    """The rows of :func:`table_rows` as aligned plain-text tables, one per column group.

    Each block has a title, short column heads with their units on the line below, and numbers
    formatted as on the page (:func:`arcface_viz.report.table_blocks`): rates in percent and angles
    in degrees, to one decimal. For the default four losses a block is under 110 characters wide; for
    every loss of the registry (descriptions up to 37 characters), under 120.

    Parameters
    ----------
    rows : list of dict
        From :func:`table_rows`.
    legend : bool, default True
        End with :data:`TABLE_LEGEND` (units, and where the columns are defined).

    Returns
    -------
    str
        The blocks, separated by a blank line; empty for no rows.

    Examples
    --------
    >>> from arcface_viz.report import Cell
    >>> rows = [{"loss": "ArcFace (s=16, m=0.5)", "EER": Cell(5.0, 1.04, "%", UNSEEN),
    ...          "training time": Cell(17.54, 0.23, "seconds", TRAINING)},
    ...         {"loss": "Softmax", "EER": Cell(12.5, None, "%", UNSEEN),
    ...          "training time": Cell(18.37, 2.7, "seconds", TRAINING)}]
    >>> print(format_table(rows, legend=False))
    Unseen identities: verification and identification
    loss                         EER
                                   %
    ---------------------  ---------
    ArcFace (s=16, m=0.5)  5.0 ± 1.0
    Softmax                     12.5
    <BLANKLINE>
    Training identities, and time per run
    loss                   training time
                                 seconds
    ---------------------  -------------
    ArcFace (s=16, m=0.5)     17.5 ± 0.2
    Softmax                   18.4 ± 2.7
    """
    blocks = report.table_blocks(rows)
    if not blocks:
        return ""
    text = []
    for group, columns, cells in blocks:
        heads = ["loss"] + [head for head, _ in columns]
        units = [""] + [unit for _, unit in columns]
        widths = [max(len(h), len(u), *(len(r[i]) for r in cells)) for i, (h, u) in enumerate(zip(heads, units))]

        def line(values: list[str]) -> str:  # loss names left-aligned, numbers and units right-aligned
            return "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

        lines = [group] if group else []
        lines += [line(heads), line(units), line(["-" * w for w in widths])] + [line(r) for r in cells]
        text.append("\n".join(lines))
    return "\n\n".join(text) + (f"\n{TABLE_LEGEND}" if legend else "")


# --------------------------------------------------------------------------- the command
def run(args) -> int:
    """Run the comparison described by the parsed ``args``.

    Started by torchrun (``WORLD_SIZE`` > 1) every process trains (see
    :func:`arcface_viz.distributed.fit`) and process 0 alone evaluates, prints and writes the report.
    Otherwise ``--jobs`` runs (default: the free CPUs, :func:`arcface_viz.runtime.free_cpus`) train and
    are evaluated at once in spawned worker processes of one torch thread each; the report lists them in
    the same order as one after another.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``compare`` command line.

    Returns
    -------
    int
        The exit code, 0.

    Raises
    ------
    UsageError
        A bad option value or output folder (the CLI prints it and exits with 2), or ``--jobs`` > 1
        under torchrun or with ``--sweep``.
    """
    start = time.perf_counter()
    joined = not torch.distributed.is_initialized()
    rank, world = distributed.init_from_env()
    try:
        return _run(args, start, rank, world)
    finally:
        if joined and world > 1:  # leave a group the caller made to the caller
            torch.distributed.destroy_process_group()


def _run(args, start: float, rank: int, world: int) -> int:
    losses = _losses(args.losses)
    settings = _settings(args, losses)
    # the runs, in report order: every loss × seed, then the --margins sweep's (name, m, seed) not trained already
    tasks = [(name, experiment.head_kwargs(name, settings["s"], args.margin), seed)
             for name in losses for seed in range(settings["seeds"])]
    n_main, sweep_index = len(tasks), []  # sweep_index: per sweep run, its task
    for name in [n for n in losses if LOSSES[n].main_margin is not None] if settings["margins"] else []:
        for m in settings["margins"]:
            for seed in range(settings["seeds"]):
                if m == (LOSSES[name].default_m if args.margin is None else args.margin):  # a main run
                    sweep_index.append(losses.index(name) * settings["seeds"] + seed)
                else:
                    sweep_index.append(len(tasks))
                    tasks.append((name, experiment.head_kwargs(name, settings["s"], m), seed))
    jobs = _jobs(args.jobs, len(tasks), world, bool(args.sweep))
    if args.sweep:
        return robustness.run_command(args, losses, settings)
    _check_out(args.out, args.force)
    splits, description, credit = load_data(args, settings)
    out = _out_dir(args.out, args.force)  # created only once the data loaded
    test = splits["test"]
    pairs = experiment.balanced_pairs(test, seed=args.split_seed)
    roc_pairs = experiment.all_pairs(test.labels.numpy(), seed=args.split_seed)
    keep = [i < n_main and task[2] == 0 for i, task in enumerate(tasks)]  # seed 0 of each loss draws the figures
    outcomes = _train_all(tasks, keep, settings, (splits, pairs, roc_pairs), jobs, rank=rank, quiet=args.quiet)
    if rank:  # the other processes only help to train
        return 0
    runs = [record for record, _ in outcomes[:n_main]]
    figure_inputs = {task[0]: kept for task, (_, kept) in zip(tasks, outcomes) if kept is not None}
    sweep_runs = [outcomes[i][0] for i in sweep_index]
    threads = 1 if jobs > 1 else torch.get_num_threads()
    summary = summarise(runs, losses)
    paired = paired_analysis(runs, losses)
    sweep = sweep_summary(sweep_runs) if sweep_runs else []
    figures = _figures(out, figure_inputs, splits, settings)
    if sweep:
        figures.append(("Margin sweep: verification accuracy and TAR@FAR=1e-2 against m (mean ± 95 % CI over seeds)",
                        report.write_sweep_figure(out, sweep, reference=summary.get("normface"))))
    document = {
        "command": command_line(args, world),
        "args": {k: v for k, v in vars(args).items() if k != "func"},
        "settings": {**settings, "size": list(settings["size"]), "lr_schedule": "cosine", "world_size": world,
                     "backend": torch.distributed.get_backend() if world > 1 else None,
                     "jobs": jobs, "threads_per_job": threads},
        "scale": {"s": settings["s"], "note": "one s for every normalised head (softmax has none)"},
        "data": {"description": description, "credit": credit,
                 "n_train": len(splits["train"]), "n_test": len(test),
                 "n_heldout": len(splits["heldout"]) if "heldout" in splits else None,
                 "train_identities": splits["train"].identities, "test_identities": test.identities,
                 "n_pairs_10fold": len(pairs), "n_pairs_roc": len(roc_pairs)},
        "versions": {"arcface_viz": arcface_viz.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "scikit-learn": sklearn.__version__, "python": platform.python_version(),
                     "threads": threads},
        "summary": summary,
        "paired": paired,
        "sweep": sweep,
        "definitions": dict(DEFINITIONS),
        "runs": runs,
        "sweep_runs": [r for r in sweep_runs if not any(r is main for main in runs)],  # the others are in "runs"
        "figures": [{"caption": c, "file": f} for c, f in figures],
        "figures_seed": 0,
    }
    document["seconds"] = time.perf_counter() - start
    (out / "report.json").write_text(_json(document), encoding="utf-8")
    rows = table_rows(summary)
    report.write_html(out, document, figures, rows, credit, definitions=DEFINITIONS, paired=paired)
    print(format_table(rows))
    if world > 1:
        print(f"trained on {world} processes ({document['settings']['backend']})")
    if jobs > 1:
        print(f"trained {len(tasks)} runs, {jobs} at once in worker processes of one torch thread each")
    print(f"\nOne scale for every normalised head: s = {settings['s']:g}.")
    if paired:
        print(format_paired(paired))
    if sweep:
        print("Margin sweep, mean over seeds: 10-fold acc / TAR@FAR=1e-2")
        for row in sweep:
            print(f"  {LOSSES[row['loss']].label:10s} m={row['m']:<5g} {_fmt(row['verification_accuracy'])} / "
                  f"{_fmt(row['tar_at_far_1e-2'])}")
    print(f"\n{description}\nwrote {out / 'index.html'} and {out / 'report.json'} in {document['seconds']:.0f} s")
    if credit:
        print(credit)
    return 0


def _main_m(head, name: str) -> float:
    """The value of the loss's single margin m on ``head`` (m1, m2 or m3 as the registry says)."""
    return float(getattr(head, LOSSES[name].main_margin))


def _fmt(entry: dict) -> str:
    """A :func:`sweep_summary` metric in percent, as the tables show it: "94.0 % (95 % CI ± 2.0)"."""
    if entry["mean"] is None:
        return "n/a"
    half = entry["ci95_half_width"]
    return f"{100 * entry['mean']:.1f} %" + ("" if half is None else f" (95 % CI ± {100 * half:.1f})")


def command_line(args, world_size: int = 1) -> str:
    """The command that repeats this run (every option that was set, in canonical form).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``compare`` command line.
    world_size : int, default 1
        Processes of the run; above 1 the command starts with torchrun.

    Returns
    -------
    str
        ``python -m arcface_viz compare --option value ...`` (or ``torchrun ... -m arcface_viz compare
        ...``), shell-quoted.
    """
    parts = ["python -m arcface_viz compare"]
    if world_size > 1:  # torchrun's own variables say how the processes were spread over machines
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
        parts = [f"torchrun --nnodes {world_size // per_node} --nproc_per_node {per_node} -m arcface_viz compare"]
    for key, value in vars(args).items():
        if key in ("func", "command") or value is None or value is False:
            continue
        if key == "identities" and args.data != "toy":  # only toy faces have a number of identities to choose
            continue
        parts.append(f"--{key.replace('_', '-')}" if value is True else f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(parts)


def _json(document: dict) -> str:
    return json.dumps(document, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def _figures(out: Path, inputs: dict, splits: dict, settings: dict) -> list[tuple[str, str]]:
    closed = splits.get("heldout", splits["train"])
    test = splits["test"]
    views, histories, verifications, angle_sets = {}, {}, {}, {}
    for name, (result, (folds, roc, angles, closed_emb, test_emb)) in inputs.items():
        title = result.head.describe()
        if settings["dim"] <= 3:  # the training identities with their centres W
            views[name] = {"embeddings": closed_emb.numpy(), "labels": closed.labels.numpy(),
                           "centers": result.head.centers.numpy(), "identities": closed.identities,
                           "margin": getattr(result.head, "m2", None) or None, "title": title,
                           "what": "held-out images of the training identities" if "heldout" in splits
                           else "training images"}
        else:  # high-D: are the unseen identities clustered?
            views[name] = {"embeddings": test_emb.numpy(), "labels": test.labels.numpy(), "centers": None,
                           "identities": test.identities, "margin": None, "title": title,
                           "what": "unseen identities"}
        histories[title] = result
        verifications[title] = roc
        angle_sets[title] = angles
    return report.write_figures(out, views, histories, verifications, angle_sets, losses=list(inputs))
