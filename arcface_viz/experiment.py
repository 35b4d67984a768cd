"""The experiment recipe, defined once: seed → FaceCNN → head from the registry → ``fit`` → open-set evaluation.

Every place that trains a face model -- the ``compare`` command, the assignment checks, the training
lab and the lessons -- calls these functions instead of typing the recipe out again (as d2l's
``train_ch6`` is defined once and called by later chapters)::

    result = experiment.train("arcface", train_faces, dim=2, epochs=20)        # model + head + fit
    scores = experiment.evaluate_open_set(result.model, unseen_faces)          # verification, rank-1

The loss's defaults (scale s, margins) come from the registry, :mod:`arcface_viz.losses`; ``s`` and
the loss's single margin ``m`` override them. Seeding is part of the recipe: ``torch.manual_seed(seed)``
right before the model and head are built, and ``seed`` for ``fit``'s shuffling, so the same call
gives the same run.
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import distributed, faces
from ._validation import check_int, check_loss, check_margin, check_real, check_scale, message
from .heads import head_class, make_head
from .losses import get_loss
from .metrics import VerificationResult, rank1, verification
from .models import FaceCNN
from .training import TrainResult, embed, fit, images_and_labels

__all__ = [
    "MAX_PAIRS",
    "MAX_GENUINE_PAIRS",
    "OpenSetResult",
    "all_pairs",
    "balanced_pairs",
    "build",
    "evaluate_open_set",
    "head_kwargs",
    "train",
]

#: Cap on "all pairs" of the unseen identities for the ROC: enough for TAR@FAR = 1e-3.
MAX_PAIRS = 300_000
#: Cap on the genuine pairs of the balanced 10-fold protocol (as many impostor pairs are drawn).
MAX_GENUINE_PAIRS = 3000


def head_kwargs(loss: str, s: float | None = None, m: float | None = None) -> dict:
    """Constructor arguments of a loss's head: the registry defaults, with ``s`` and ``m`` where the loss has them.

    Parameters
    ----------
    loss : str
        A registered loss name (:data:`arcface_viz.losses.LOSS_NAMES`), case-insensitive.
    s : float, optional
        Scale, in :data:`arcface_viz.losses.S_RANGE`; ignored for softmax (no scale). Default: the
        loss's ``default_s``.
    m : float, optional
        The loss's single margin (SphereFace m1, CosFace m3, ArcFace and sub-center ArcFace m2 in
        radians), in its ``m_range``; ignored for losses without one (softmax, NormFace, combined).
        Default: the loss's ``default_m``.

    Returns
    -------
    dict
        Keyword arguments for ``heads.make_head(loss, in_features, out_features, **kwargs)``: every
        parameter of the head, e.g. ``{"s": 16.0, "m": 0.5}`` for ArcFace, ``{"s": 16.0, "m1": 1.0,
        "m2": 0.3, "m3": 0.2}`` for the combined margin, ``{}`` for softmax.

    Raises
    ------
    TypeError
        ``loss`` not a str; ``s`` or ``m`` not a real number.
    ValueError
        An unknown loss; ``s`` or ``m`` outside its legal range.

    Examples
    --------
    >>> head_kwargs("arcface", s=32.0)
    {'s': 32.0, 'm': 0.5}
    >>> head_kwargs("softmax", s=32.0, m=0.5)
    {}
    """
    entry = get_loss(check_loss("loss", loss))
    # checked even where the loss ignores them: s="x" or m=nan is a mistake whatever the loss
    s = None if s is None else check_scale(s)
    if m is not None and entry.main_margin is None:
        check_real("m", m, fix=f"{entry.label} has no single margin; pass m=None")
    if not entry.normalized:
        return {}
    kwargs: dict = {"s": entry.default_s if s is None else s}
    if entry.main_margin is None:
        if entry.margins != (1.0, 0.0, 0.0):  # the combined margin: all three
            kwargs.update(zip(("m1", "m2", "m3"), entry.margins))
    else:
        # the head's keyword for its single margin: "m" (CosFace, ArcFace) or the margin's own name
        params = inspect.signature(head_class(entry.name).__init__).parameters
        keyword = "m" if "m" in params else entry.main_margin
        kwargs[keyword] = entry.default_m if m is None else check_margin(entry, m)
    kwargs.update(entry.extra)
    return kwargs


def build(loss: str, dim: int, n_classes: int, *, s: float | None = None, m: float | None = None,
          seed: int = 0, head_options: Mapping[str, object] | None = None) -> tuple[FaceCNN, nn.Module]:
    """A fresh :class:`~arcface_viz.models.FaceCNN` and the loss's head, initialised from ``seed``.

    Parameters
    ----------
    loss : str
        A registered loss name.
    dim : int
        Embedding dimension D >= 1 (2 for the circle, 3 for the sphere).
    n_classes : int
        Number of training identities C >= 1.
    s, m : float, optional
        As in :func:`head_kwargs`.
    seed : int, default 0
        ``torch.manual_seed(seed)`` right before the model and then the head are built.
    head_options : mapping, optional
        Head parameters overriding :func:`head_kwargs` (e.g. ``{"k": 2}`` sub-centres,
        ``{"easy_margin": True}``, ``{"m2": 0.2}`` for the combined margin, or a whole
        ``head_kwargs(...)`` result).

    Returns
    -------
    model : FaceCNN
        The backbone, mapping float32 images (N, 1, H, W) to embeddings (N, ``dim``).
    head : nn.Module
        From :func:`arcface_viz.heads.make_head`.

    Raises
    ------
    TypeError, ValueError
        As :func:`head_kwargs` and :func:`arcface_viz.heads.make_head`.

    Examples
    --------
    >>> model, head = build("cosface", dim=2, n_classes=8, m=0.2)
    >>> head.describe()
    'CosFace (s=16, m=0.2)'
    """
    kwargs = {**head_kwargs(loss, s, m), **dict(head_options or {})}
    dim = check_int("dim", dim, minimum=1, fix="pass the embedding dimension, e.g. 2")
    seed = check_int("seed", seed, minimum=0, fix="pass a seed >= 0")
    torch.manual_seed(seed)
    model = FaceCNN(dim)
    head = make_head(loss, dim, n_classes, **kwargs)
    return model, head


def train(loss: str, data, *, epochs: int, dim: int = 2, s: float | None = None, m: float | None = None,
          seed: int = 0, head_options: Mapping[str, object] | None = None, **fit_options: object) -> TrainResult:
    """Build a model and head with :func:`build` and train them with :func:`arcface_viz.training.fit`.

    Inside a torch.distributed process group (e.g. started by torchrun) the training is
    :func:`arcface_viz.distributed.fit` instead: the same batches, split over the processes.

    Parameters
    ----------
    loss : str
        A registered loss name.
    data : FaceDataset or tuple(images, labels)
        Training images float32 (N, C, H, W) in [0, 1] and int labels (N,); the head gets
        ``data.n_identities`` classes (``labels.max() + 1`` for a tuple, whose labels must then
        use every class 0 .. max).
    epochs : int
        Passes over the data, >= 1.
    dim : int, default 2
        Embedding dimension.
    s, m : float, optional
        Scale and single margin (see :func:`head_kwargs`); default the registry's.
    seed : int, default 0
        Seeds the initialisation (as :func:`build`) and ``fit``'s shuffling and augmentation.
    head_options : mapping, optional
        Head parameters overriding the defaults (as in :func:`build`).
    **fit_options
        Passed to ``fit``: ``batch_size``, ``lr``, ``optimizer``, ``margin_warmup_epochs``,
        ``augment``, ``callback``, ``progress``, ``lr_schedule``, ``heldout``, ``reestimate_bn``.

    Returns
    -------
    TrainResult
        Model and head in eval mode, per-epoch history, seconds, config.

    Raises
    ------
    TypeError, ValueError
        As :func:`build` and :func:`arcface_viz.training.fit`.

    Examples
    --------
    >>> from arcface_viz.faces import make_toy_faces
    >>> toy = make_toy_faces(n_identities=3, images_per_identity=8, size=32, seed=0)
    >>> result = train("arcface", toy, epochs=1, progress=False)
    >>> result.epochs_done, result.head.describe()
    (1, 'ArcFace (s=16, m=0.5)')
    """
    if hasattr(data, "n_identities"):
        n_classes = data.n_identities
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        if not isinstance(data[1], torch.Tensor) and np.asarray(data[1]).dtype.kind in "USO":  # names, not indices
            raise TypeError(message("labels", data[1], "expected integer class labels, got str",
                                    "map names to 0..C-1, e.g. np.unique(names, return_inverse=True)[1]"))
        labels = images_and_labels(data)[1]  # the checks of fit, before the classes are counted from the labels
        n_classes = int(labels.max()) + 1
        missing = sorted(set(range(n_classes)) - set(labels.unique().tolist()))
        if missing:  # the head would carry classes no image trains
            raise ValueError(message("labels", labels.unique().tolist()[:10], f"classes {missing[:10]} have no images "
                                     f"(the head would get {n_classes} classes)",
                                     "relabel to 0..C-1, e.g. np.unique(labels, return_inverse=True)[1]"))
    else:
        raise TypeError(message("data", type(data).__name__, "expected a FaceDataset or a tuple (images, labels)",
                                "load faces with arcface_viz.faces"))
    model, head = build(loss, dim, n_classes, s=s, m=m, seed=seed, head_options=head_options)
    # in a torch.distributed group (torchrun): DDP backbone and class-sharded head on the same batches
    trainer = distributed.fit if torch.distributed.is_initialized() else fit
    return trainer(model, head, data, epochs=epochs, seed=seed, **fit_options)


# --------------------------------------------------------------------------- open-set evaluation
def all_pairs(labels, seed: int = 0, limit: int = MAX_PAIRS) -> np.ndarray:
    """Every unordered pair (i < j) of images, row by row, or a random ``limit`` of them in that order.

    Parameters
    ----------
    labels : array_like, shape (N,)
        One label per image (only its length is used).
    seed : int, default 0
        Seeds the subsample when there are more than ``limit`` pairs.
    limit : int, default MAX_PAIRS
        Largest number of pairs to keep, >= 1.

    Returns
    -------
    numpy.ndarray, shape (P, 2), int64
        Index pairs, P = min(N·(N−1)/2, limit).

    Raises
    ------
    TypeError, ValueError
        If ``limit`` is not an int >= 1.

    Examples
    --------
    >>> all_pairs([0, 0, 1, 1]).tolist()
    [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    >>> len(all_pairs(range(100), limit=10))
    10
    """
    limit = check_int("limit", limit, minimum=1, fix="pass the largest number of pairs to keep")
    n = len(labels)
    total = n * (n - 1) // 2
    if total <= limit:
        i, j = np.triu_indices(n, k=1)
        return np.stack([i, j], axis=1).astype(np.int64)
    # Draw positions in the row-by-row list and map them to (i, j): the n² list is never built.
    k = np.sort(np.random.default_rng(seed).choice(total, limit, replace=False)).astype(np.int64)
    return _pair_at(k, n)


def _pair_at(k: np.ndarray, n: int) -> np.ndarray:
    """Pairs number ``k`` of the row-by-row list of (i < j) over ``n`` items (the order of ``np.triu_indices``)."""
    def start(i):  # position of (i, i + 1): rows 0..i-1 hold n-1, n-2, ... pairs
        return i * (2 * n - i - 1) // 2

    i = np.floor((2 * n - 1 - np.sqrt((2.0 * n - 1) ** 2 - 8.0 * k)) / 2).astype(np.int64)
    i = np.clip(i, 0, n - 2)
    i -= start(i) > k  # float rounding: step back or forward one row where the estimate missed
    i += start(i + 1) <= k
    return np.stack([i, k - start(i) + i + 1], axis=1)


def balanced_pairs(dataset, seed: int = 0, max_genuine: int = MAX_GENUINE_PAIRS) -> np.ndarray:
    """As many genuine pairs as exist (at most ``max_genuine``) and as many impostor pairs, for the 10-fold protocol.

    Parameters
    ----------
    dataset : FaceDataset
        The unseen identities.
    seed : int, default 0
        Seeds :func:`arcface_viz.faces.make_pairs`.
    max_genuine : int, default MAX_GENUINE_PAIRS
        Largest number of genuine pairs; the impostor pairs match their number.

    Returns
    -------
    numpy.ndarray, shape (P, 2), int64
        From :func:`arcface_viz.faces.make_pairs`, half genuine and half impostor.

    Raises
    ------
    ValueError
        As :func:`arcface_viz.faces.make_pairs` (e.g. no identity with two images).

    References
    ----------
    .. [1] G. B. Huang, M. Ramesh, T. Berg, E. Learned-Miller, "Labeled Faces in the Wild: A Database
       for Studying Face Recognition in Unconstrained Environments", UMass Amherst Tech. Rep. 07-49,
       2007 (the balanced genuine/impostor pairs and 10-fold protocol).
    """
    counts = np.bincount(np.asarray(dataset.labels))
    genuine = int(sum(c * (c - 1) // 2 for c in counts))
    return faces.make_pairs(dataset, 2 * min(genuine, max_genuine), seed=seed)


@dataclass
class OpenSetResult:
    """What :func:`evaluate_open_set` measures on identities never seen in training.

    The constructor arguments are also the attributes.

    Parameters
    ----------
    folds : VerificationResult
        On the balanced pairs: the 10-fold accuracy (LFW protocol).
    roc : VerificationResult
        On all pairs: ROC, AUC, EER, TAR@FAR (NaN where too few impostor pairs).
    rank1 : float
        Closed-set rank-1 identification among the unseen identities, first image of each as the
        gallery, the others as probes, in [0, 1].
    embeddings : torch.Tensor, shape (N, D), float32
        The unit embeddings of the test images.
    """

    folds: VerificationResult
    roc: VerificationResult
    rank1: float
    embeddings: torch.Tensor

    def metrics(self) -> dict[str, float]:
        """The numbers, by name, as plain floats (NaN where undefined).

        Returns
        -------
        dict of str to float
            ``verification_accuracy`` and ``verification_accuracy_std`` (10-fold, in [0, 1]),
            ``tar_at_far_1e-1``, ``tar_at_far_1e-2``, ``tar_at_far_1e-3``, ``eer``, ``auc`` and
            ``rank1_unseen``, all in [0, 1].
        """
        return {
            "verification_accuracy": self.folds.accuracy_mean,
            "verification_accuracy_std": self.folds.accuracy_std,
            "tar_at_far_1e-1": self.roc.tar_at_far[1e-1],
            "tar_at_far_1e-2": self.roc.tar_at_far[1e-2],
            "tar_at_far_1e-3": self.roc.tar_at_far[1e-3],
            "eer": self.roc.eer,
            "auc": self.roc.auc,
            "rank1_unseen": self.rank1,
        }


def evaluate_open_set(model: nn.Module, test, *, pairs: np.ndarray | None = None,
                      roc_pairs: np.ndarray | None = None, seed: int = 0) -> OpenSetResult:
    """Verification and identification of identities the model never saw: the face-recognition test.

    Parameters
    ----------
    model : nn.Module
        The trained backbone (no head: at test time faces are compared by the cosine of their
        unit embeddings).
    test : FaceDataset
        Images of identities disjoint from the training ones (:func:`arcface_viz.faces.split_identities`).
    pairs : numpy.ndarray, shape (P, 2), int, optional
        Pairs for the 10-fold accuracy; default :func:`balanced_pairs` with ``seed``.
    roc_pairs : numpy.ndarray, shape (Q, 2), int, optional
        Pairs for the ROC; default :func:`all_pairs` with ``seed``.
    seed : int, default 0
        Seeds the default pairs.

    Returns
    -------
    OpenSetResult
        TAR@FAR values the pairs cannot support are NaN (their RuntimeWarning is not repeated here).

    Raises
    ------
    ValueError
        As :func:`arcface_viz.metrics.verification` and :func:`arcface_viz.metrics.rank1`.
    """
    if not (hasattr(test, "images") and hasattr(test, "labels")):
        raise TypeError(message("test", type(test).__name__, "expected a FaceDataset of the unseen identities",
                                "pass faces.split_identities(...)[1], not its images"))
    labels = np.asarray(test.labels)
    pairs = balanced_pairs(test, seed=seed) if pairs is None else pairs
    roc_pairs = all_pairs(labels, seed=seed) if roc_pairs is None else roc_pairs
    emb = embed(model, test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # n/a TAR@FAR is NaN, said in the docstring
        folds = verification(emb, labels, pairs)
        roc = verification(emb, labels, roc_pairs)
    first = np.unique(labels, return_index=True)[1]  # gallery: the first image of each unseen identity
    probe = np.setdiff1d(np.arange(len(labels)), first)
    return OpenSetResult(folds, roc, rank1(emb[first], labels[first], emb[probe], labels[probe]), emb)

