"""Does a margin make recognition robust to lighting, pose and occlusion? Does the feature norm track quality?

Two controlled studies on toy faces, whose nuisances are known per image, built on the experiment
recipe (:mod:`arcface_viz.experiment`)::

    models = robustness.train_models(("softmax", "normface", "arcface"), seeds=(0, 1, 2))
    sweep = robustness.nuisance_sweep(models, "lighting")      # verification vs lighting strength
    quality = robustness.norm_vs_quality(models)                # Spearman ρ of ‖z‖ vs blur, noise, occlusion

**Nuisance sweep.** Every loss is trained at one scale s on faces of moderate nuisance (every factor
at ``nuisance`` = 0.5). The test people are drawn from another generator seed, so none of them was
seen in training. They are rendered at levels 0 (none) to 1 (the generator's strongest) of one factor
while every other factor stays at the training level -- and, because the generator scales the *same*
random draws, the test images at two levels differ in that factor only. At each level: TAR at
FAR = 1e-2 on all pairs and the 10-fold verification accuracy (LFW protocol) on balanced pairs, the
same pairs at every level; mean and 95 % t-interval over the training seeds (``scipy.stats.t``).

**Feature norm vs quality.** The raw embedding norm ‖z‖ (before normalisation) of unseen faces whose
blur, noise and occlusion all vary up to the strongest level, against each of those three (occlusion:
0/1), by Spearman's rank correlation (``scipy.stats.spearmanr``, with its p-value). AdaFace (Kim et al.,
CVPR 2022) and MagFace (Meng et al., CVPR 2021) rest on ‖z‖ falling as quality falls (ρ < 0).
"""
from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

import arcface_viz
from . import experiment, faces
from ._validation import check_choice, check_int, check_loss, check_real
from .faces import NUISANCE_FACTORS
from .training import TrainResult, embed

__all__ = [
    "LEVELS",
    "METRICS",
    "QUALITY_FACTORS",
    "STUDY",
    "SWEEP_FACTORS",
    "Models",
    "drop_difference",
    "factor_examples",
    "interval",
    "norm_vs_quality",
    "nuisance_sweep",
    "run_command",
    "test_faces",
    "train_models",
    "training_faces",
]

#: The study's default budget: faces, embedding and training (keys shared with ``compare``'s settings).
STUDY = {
    "identities": 8, "images_per_identity": 150, "test_identities": 8, "test_images_per_identity": 40,
    "nuisance": 0.5, "size": 32, "dim": 16, "epochs": 16, "lr": 5e-3, "batch_size": 64, "warmup": 4,
    "augment": False,
}
#: Levels of the swept factor, from none to the generator's strongest.
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The factors a sweep can vary (:data:`arcface_viz.faces.NUISANCE_FACTORS`).
SWEEP_FACTORS = tuple(NUISANCE_FACTORS)
#: The quality factors the feature norm is compared with.
QUALITY_FACTORS = ("blur", "noise", "occlusion")
#: Metrics of the sweep (keys of :meth:`arcface_viz.experiment.OpenSetResult.metrics`) and their titles.
METRICS = {"tar_at_far_1e-2": "TAR@FAR=1e-2", "verification_accuracy": "10-fold accuracy"}
#: Generator seeds: training people from one, test people from another (nobody is in both).
TRAIN_SEED, TEST_SEED = 0, 1


@dataclass
class Models:
    """Trained models of a study, from :func:`train_models`.

    Parameters
    ----------
    setup : dict
        The study's settings (:data:`STUDY` with the caller's overrides).
    seeds : tuple of int
        The training seeds.
    runs : dict of str to list of TrainResult
        ``runs[loss][i]`` was trained with ``seeds[i]``.
    """

    setup: dict
    seeds: tuple[int, ...]
    runs: dict[str, list[TrainResult]] = field(default_factory=dict)

    @property
    def losses(self) -> list[str]:
        """The trained losses' names, in training order."""
        return list(self.runs)


def _setup(overrides: Mapping[str, object]) -> dict:
    unknown = sorted(set(overrides) - set(STUDY))
    if unknown:
        raise TypeError(f"{unknown[0]}={overrides[unknown[0]]!r}: not a study setting; use {', '.join(STUDY)}")
    setup = {**STUDY, **overrides}
    for key in ("identities", "images_per_identity", "test_identities", "test_images_per_identity", "size", "dim",
                "epochs", "batch_size"):
        setup[key] = check_int(key, setup[key], minimum=2 if "identities" in key else 1,
                               fix=f"pass a whole number (default {STUDY[key]})")
    setup["warmup"] = check_int("warmup", setup["warmup"], minimum=0, fix="pass margin warm-up epochs >= 0")
    setup["nuisance"] = check_real("nuisance", setup["nuisance"], low=0.0, high=1.0, fix="pass the training level in [0, 1]")
    setup["lr"] = check_real("lr", setup["lr"], low=0.0, low_open=True, fix="pass a positive learning rate, e.g. 5e-3")
    return setup


def training_faces(setup: Mapping[str, object]) -> faces.FaceDataset:
    """The training people: ``identities`` × ``images_per_identity`` toy faces, every factor at ``nuisance``.

    Parameters
    ----------
    setup : mapping
        A study setup (``Models.setup``, or :data:`STUDY`).

    Returns
    -------
    FaceDataset
        Toy faces of generator seed ``TRAIN_SEED``.
    """
    return faces.make_toy_faces(setup["identities"], setup["images_per_identity"], setup["size"],
                                nuisance=setup["nuisance"], seed=TRAIN_SEED)


def test_faces(setup: Mapping[str, object], levels: Mapping[str, float] | None = None) -> faces.FaceDataset:
    """Unseen people (another generator seed) at the training ``nuisance``, with ``levels`` for some factors.

    Parameters
    ----------
    setup : mapping
        A study setup (``Models.setup``, or :data:`STUDY`).
    levels : mapping of str to float, optional
        Factors of :data:`SWEEP_FACTORS` at their own level in [0, 1].

    Returns
    -------
    FaceDataset
        ``test_identities`` × ``test_images_per_identity`` toy faces of generator seed ``TEST_SEED``.
    """
    return faces.make_toy_faces(setup["test_identities"], setup["test_images_per_identity"], setup["size"],
                                nuisance=setup["nuisance"], seed=TEST_SEED, levels=dict(levels or {}))


def factor_examples(setup: Mapping[str, object] | None = None, factors: Sequence[str] = SWEEP_FACTORS,
                    levels: Sequence[float] = (0.0, 0.5, 1.0), per_level: int = 6, person: int = 0) -> faces.FaceDataset:
    """The same unseen person's first ``per_level`` images at each level of each factor, one "identity" per row.

    For :func:`arcface_viz.plots.plot_face_grid` (its rows are named e.g. "lighting 0.5"): along a
    row the other factors vary as in training; down a factor's rows only that factor changes.

    Parameters
    ----------
    setup : mapping, optional
        Overrides of :data:`STUDY` (as for :func:`train_models`).
    factors : sequence of str
        Factors of :data:`SWEEP_FACTORS`.
    levels : sequence of float
        Levels in [0, 1].
    per_level : int
        Images per row.
    person : int
        Which test person, in [0, test_identities).

    Returns
    -------
    FaceDataset
        One label per (factor, level), named "<factor> <level>".
    """
    setup = _setup(dict(setup or {}))
    factors = [check_choice(f"factors[{i}]", f, SWEEP_FACTORS) for i, f in enumerate(factors)]
    person = check_int("person", person, minimum=0, maximum=setup["test_identities"] - 1,
                       fix="pass the index of a test person")
    images, names, meta = [], [], []
    for factor in factors:
        for level in levels:
            test = test_faces(setup, {factor: level})
            chosen = np.flatnonzero(test.labels.numpy() == person)[:per_level]
            images.append(test.images[chosen])
            meta.extend(test.meta[i] for i in chosen)
            names.append(f"{factor} {level:g}")
    labels = np.repeat(np.arange(len(names)), [len(part) for part in images])
    return faces.FaceDataset(torch.cat(images), labels, names, meta, faces.TOY_CREDIT)


def train_models(losses: Sequence[str] = ("softmax", "normface", "arcface"), seeds: Sequence[int] = (0, 1, 2), *,
                 s: float | None = None, progress: bool = False, **setup: object) -> Models:
    """Train every loss once per seed on the same training faces, with the experiment recipe.

    Parameters
    ----------
    losses : sequence of str
        Registered loss names.
    seeds : sequence of int
        One run per seed (initialisation and batch order; the faces do not change).
    s : float, optional
        One scale for every normalised head; default the registry's (16).
    progress : bool, default False
        Progress bars.
    **setup
        Overrides of :data:`STUDY` (faces, ``dim``, ``epochs``, ``lr``, ``batch_size``, ``warmup`` epochs of
        the margin, ``augment``).

    Returns
    -------
    Models
        One trained model and head per loss and seed, with the setup.

    Raises
    ------
    TypeError, ValueError
        Unknown loss or setting, bad numbers (as :func:`arcface_viz.experiment.train`).
    """
    names = [check_loss(f"losses[{i}]", loss) for i, loss in enumerate(losses)]
    seeds = tuple(check_int(f"seeds[{i}]", seed, minimum=0, fix="pass seeds >= 0") for i, seed in enumerate(seeds))
    if not names or not seeds:
        raise ValueError(f"losses={list(losses)!r}, seeds={list(seeds)!r}: pass at least one loss and one seed")
    setup = _setup(setup)
    train = training_faces(setup)
    models = Models(setup, seeds)
    for name in names:
        models.runs[name] = [
            experiment.train(name, train, epochs=setup["epochs"], dim=setup["dim"], s=s, seed=seed,
                             batch_size=setup["batch_size"], lr=setup["lr"],
                             margin_warmup_epochs=min(setup["warmup"], setup["epochs"]), augment=setup["augment"],
                             lr_schedule="cosine", progress=progress)
            for seed in seeds
        ]
    return models


def interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Mean and two-sided Student t-interval of the mean (``scipy.stats.t``).

    Parameters
    ----------
    values : sequence of float
        One value per seed.
    confidence : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    tuple
        ``(mean, low, high)``; ``low`` and ``high`` are None for a single value (no spread to measure).
    """
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, None, None
    sem = float(stats.sem(values))
    if sem == 0.0:
        return mean, mean, mean
    low, high = stats.t.interval(confidence, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def _described(values: list[float]) -> dict:
    """{"values", "mean", "low", "high"}: per-seed values with their mean and 95 % t-interval."""
    mean, low, high = interval(values)
    return {"values": values, "mean": mean, "low": low, "high": high}


def _summary(per_level: list[list[float]]) -> dict:
    """{"mean", "low", "high"} lists over levels, and the per-seed "values"."""
    parts = [interval(values) for values in per_level]
    return {"mean": [p[0] for p in parts], "low": [p[1] for p in parts], "high": [p[2] for p in parts],
            "values": per_level}


def nuisance_sweep(models: Models, factor: str, levels: Sequence[float] = LEVELS) -> dict:
    """Verification of unseen people while one nuisance factor goes from none to strong, the others fixed.

    Parameters
    ----------
    models : Models
        From :func:`train_models`.
    factor : str
        One of :data:`SWEEP_FACTORS`.
    levels : sequence of float
        Levels in [0, 1] of that factor (the training level is ``models.setup["nuisance"]``).

    Returns
    -------
    dict
        JSON-ready: ``factor``, ``levels``, ``losses``, ``seeds``, ``train_level``, the pair counts and
        ``metrics[loss][metric]`` = {"mean", "low", "high" (95 % t-interval; None for one seed), "values"
        (per level, per seed)} for the metrics of :data:`METRICS`.
    """
    factor = check_choice("factor", factor, SWEEP_FACTORS)
    levels = [check_real(f"levels[{i}]", level, low=0.0, high=1.0, fix="pass levels in [0, 1]")
              for i, level in enumerate(levels)]
    first = test_faces(models.setup, {factor: levels[0]})
    labels = first.labels.numpy()
    pairs = experiment.balanced_pairs(first, seed=0)
    roc_pairs = experiment.all_pairs(labels, seed=0)
    values = {loss: {metric: [] for metric in METRICS} for loss in models.losses}
    for level in levels:
        test = test_faces(models.setup, {factor: level})
        for loss, runs in models.runs.items():
            measured = [experiment.evaluate_open_set(run.model, test, pairs=pairs, roc_pairs=roc_pairs).metrics()
                        for run in runs]
            for metric in METRICS:
                values[loss][metric].append([float(m[metric]) for m in measured])
    return {
        "factor": factor, "levels": levels, "losses": models.losses, "seeds": list(models.seeds),
        "train_level": models.setup["nuisance"], "n_test_images": len(labels), "n_pairs_10fold": len(pairs),
        "n_pairs_roc": len(roc_pairs),
        "metrics": {loss: {metric: _summary(v) for metric, v in per.items()} for loss, per in values.items()},
        # robustness itself: how much each seed's model loses from the first level to the last
        "drop": {loss: {metric: _described([a - b for a, b in zip(v[0], v[-1])]) for metric, v in per.items()}
                 for loss, per in values.items()},
    }


def drop_difference(sweep: Mapping, loss: str = "arcface", baseline: str = "normface",
                    metric: str = "verification_accuracy") -> dict:
    """Paired per seed: (drop of ``loss``) − (drop of ``baseline``) from the sweep's first level to its last.

    Runs with the same seed share the backbone's initialisation and the batch order, so the difference
    is taken seed by seed. Negative: ``loss`` loses less than ``baseline`` as the factor grows (more
    robust); an interval containing 0: no measurable difference in robustness.

    Parameters
    ----------
    sweep : mapping
        A result of :func:`nuisance_sweep`.
    loss, baseline : str
        Two of its losses.
    metric : str
        A key of :data:`METRICS`.

    Returns
    -------
    dict
        {"values" (per seed), "mean", "low", "high" (95 % t-interval; None for one seed)}.
    """
    loss, baseline = (check_choice(name, value, sweep["losses"]) for name, value in
                      (("loss", loss), ("baseline", baseline)))
    metric = check_choice("metric", metric, METRICS)
    ours, theirs = (sweep["drop"][name][metric]["values"] for name in (loss, baseline))
    return _described([a - b for a, b in zip(ours, theirs)])


def quality_values(dataset: faces.FaceDataset, factor: str) -> np.ndarray:
    """Per image: blur (extra edge width, pixels), noise (grey-level std) or occlusion (1 occluded, 0 not).

    Parameters
    ----------
    dataset : FaceDataset
        Toy faces (their ``meta``).
    factor : str
        One of :data:`QUALITY_FACTORS`.

    Returns
    -------
    numpy.ndarray
        float64, one value per image.
    """
    factor = check_choice("factor", factor, QUALITY_FACTORS)
    if factor == "occlusion":
        return np.array([row["occluder"] != "none" for row in dataset.meta], dtype=np.float64)
    return np.array([row[factor] for row in dataset.meta], dtype=np.float64)


def norm_vs_quality(models: Models, losses: Sequence[str] | None = None,
                    factors: Sequence[str] = QUALITY_FACTORS, level: float = 1.0) -> dict:
    """Spearman correlation of the raw feature norm ‖z‖ with blur, noise and occlusion on unseen faces.

    Parameters
    ----------
    models : Models
        From :func:`train_models`.
    losses : sequence of str, optional
        Which of ``models.losses`` (default all).
    factors : sequence of str
        Of :data:`QUALITY_FACTORS`; each is rendered at ``level`` (the others at the training level),
        so within the one test set they vary independently.
    level : float, default 1.0
        Level of the quality factors in the test faces.

    Returns
    -------
    dict
        JSON-ready: ``factors``, ``level``, ``seeds``, ``quality[factor]`` (per image),
        ``norms[loss]`` (per image, first seed), and ``spearman[loss][factor]`` = {"rho", "p" (per seed),
        "mean", "low", "high" (95 % t-interval of ρ over seeds)}.
    """
    names = models.losses if losses is None else [check_choice(f"losses[{i}]", n, models.losses)
                                                 for i, n in enumerate(losses)]
    factors = [check_choice(f"factors[{i}]", f, QUALITY_FACTORS) for i, f in enumerate(factors)]
    level = check_real("level", level, low=0.0, high=1.0, fix="pass a level in [0, 1]")
    test = test_faces(models.setup, {f: level for f in factors})
    quality = {f: quality_values(test, f) for f in factors}
    result = {"factors": factors, "level": level, "seeds": list(models.seeds), "n_images": len(test),
              "quality": {f: q.tolist() for f, q in quality.items()}, "norms": {}, "spearman": {}}
    for name in names:
        norms = [embed(run.model, test, normalize=False).norm(dim=1).numpy() for run in models.runs[name]]
        result["norms"][name] = norms[0].tolist()
        result["spearman"][name] = {}
        for f in factors:
            tests = [stats.spearmanr(n, quality[f]) for n in norms]
            rho = [float(t.statistic) for t in tests]
            mean, low, high = interval(rho)
            result["spearman"][name][f] = {"rho": rho, "p": [float(t.pvalue) for t in tests],
                                          "mean": mean, "low": low, "high": high}
    return result


# --------------------------------------------------------------------------- the compare option
def run_command(args, losses: list[str], settings: dict) -> int:
    """``compare --sweep FACTOR[,FACTOR...]|all``: the study with ``compare``'s parsed and checked options.

    Writes ``report.json`` (setup, per-factor sweeps with the drop from none to strong, norm vs quality,
    versions, the command), ``sweep.png`` and ``norm_quality.png`` into ``--out``, and prints the tables.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``compare`` options (``--sweep``, ``--seeds``, ``--scale``, ``--out`` ...).
    losses : list of str
        The checked ``--losses``.
    settings : dict
        ``compare``'s checked settings, with :data:`STUDY`'s defaults.

    Returns
    -------
    int
        The exit code, 0.

    Raises
    ------
    UsageError
        ``--data`` other than toy, an unknown factor, ``--margin``, ``--margins`` or ``--split-seed``
        (the study does not use them), or an unusable ``--out`` folder.
    """
    from .cli import UsageError
    from .compare import _out_dir, command_line  # the command's own folder checks and rendering of its options
    from .plots.robustness import plot_norm_vs_quality, plot_nuisance_sweep

    start = time.perf_counter()
    if args.data != "toy":
        raise UsageError(f"--sweep with --data {args.data}: only toy faces carry their nuisances; use --data toy")
    try:
        factors = list(SWEEP_FACTORS) if args.sweep.strip().lower() == "all" else [
            check_choice("--sweep", f.strip(), SWEEP_FACTORS) for f in args.sweep.split(",")]
    except ValueError as error:
        raise UsageError(f"{error} (or all, or a comma-separated list)") from None
    for option, value in (("--margin", args.margin), ("--margins", args.margins)):  # else dropped without a word
        if value is not None:
            raise UsageError(f"{option}={value!r}: the robustness study (--sweep) trains each loss at its default "
                             f"margin; drop {option}, or compare margins without --sweep")
    if args.split_seed != 0:
        raise UsageError(f"--split-seed={args.split_seed}: the robustness study (--sweep) draws its own people "
                         f"(training seed {TRAIN_SEED}, test seed {TEST_SEED}); drop --split-seed")
    out = _out_dir(args.out, args.force)
    setup = {key: settings[key] for key in STUDY if key in settings}  # with --identities or its default
    setup["size"] = settings["size"][0]
    models = train_models(losses, range(args.seeds or 1), s=args.scale, progress=not args.quiet, **setup)
    sweeps = [nuisance_sweep(models, factor) for factor in factors]
    quality = norm_vs_quality(models)
    document = {
        "command": command_line(args), "setup": models.setup, "losses": losses, "seeds": list(models.seeds),
        "scale": {name: getattr(runs[0].head, "s", None) for name, runs in models.runs.items()},
        "heads": {name: runs[0].head.describe() for name, runs in models.runs.items()},
        "train_seconds": {name: [run.seconds for run in runs] for name, runs in models.runs.items()},
        "sweeps": sweeps, "norm_vs_quality": quality, "interval": "95 % t-interval of the mean over seeds",
        "versions": {"arcface_viz": arcface_viz.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version(), "threads": torch.get_num_threads()},
    }
    plot_nuisance_sweep(sweeps).savefig(out / "sweep.png", dpi=120)
    plot_norm_vs_quality(quality).savefig(out / "norm_quality.png", dpi=120)
    document["seconds"] = time.perf_counter() - start
    (out / "report.json").write_text(json.dumps(json_ready(document), indent=1, allow_nan=False), encoding="utf-8")
    print(format_sweeps(sweeps))
    print(format_quality(quality))
    print(f"wrote {out / 'report.json'}, {out / 'sweep.png'} and {out / 'norm_quality.png'} "
          f"in {document['seconds']:.0f} s")
    return 0


def _cell(mean: float, low: float | None, high: float | None) -> str:
    return f"{mean:.3f}" if low is None else f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def format_sweeps(sweeps: Sequence[dict]) -> str:
    """Plain-text table: per factor, loss and metric, mean [95 % interval] at each level.

    Parameters
    ----------
    sweeps : sequence of dict
        Results of :func:`nuisance_sweep`.

    Returns
    -------
    str
        One line per factor, then one per loss and metric.
    """
    lines = []
    for sweep in sweeps:
        lines.append(f"{sweep['factor']}: levels " + ", ".join(f"{level:g}" for level in sweep["levels"])
                     + f" (training level {sweep['train_level']:g}; seeds {sweep['seeds']})")
        for loss, per in sweep["metrics"].items():
            for metric, title in METRICS.items():
                s = per[metric]
                cells = "  ".join(_cell(m, lo, hi) for m, lo, hi in zip(s["mean"], s["low"], s["high"]))
                lines.append(f"  {loss:<9} {title:<17} {cells}")
    return "\n".join(lines)


def format_quality(quality: dict) -> str:
    """Plain-text table of Spearman ρ (mean [95 % interval]) and the largest p-value over seeds.

    Parameters
    ----------
    quality : dict
        A result of :func:`norm_vs_quality`.

    Returns
    -------
    str
        A title line, then one line per loss.
    """
    lines = [f"feature norm vs quality (Spearman ρ, {quality['n_images']} unseen faces, seeds {quality['seeds']})"]
    for loss, per in quality["spearman"].items():
        cells = "  ".join(f"{f}: {_cell(v['mean'], v['low'], v['high'])} (p <= {max(v['p']):.1g})"
                          for f, v in per.items())
        lines.append(f"  {loss:<9} {cells}")
    return "\n".join(lines)


def json_ready(value):
    """``value`` with NaN and inf floats as None (strict JSON has no NaN: TAR@FAR is NaN where too few pairs).

    Parameters
    ----------
    value : object
        Nested dicts, lists, tuples and numbers.

    Returns
    -------
    object
        The same structure (tuples as lists), non-finite floats replaced by None.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
