"""How well embeddings separate identities: angles, margin satisfaction, verification (ROC, EER, TAR@FAR,
10-fold), rank-1.

Angles are in radians in code and in the dataclass fields; ``to_dict()`` and ``table()`` give degrees
for people. Verification compares L2-normalised embeddings by cosine similarity, as at inference time
in ArcFace (Deng et al., CVPR 2019, Sec. 3) -- no head, no margin, no labels.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import auc as sk_auc
from sklearn.metrics import roc_curve
from sklearn.model_selection import StratifiedKFold

from ._validation import (check_array, check_index_pairs, check_int, check_label_array, check_probability, check_roc,
                          message)
from .heads import margin_logits

FARS = (1e-1, 1e-2, 1e-3)


def _matrix(values, name: str) -> np.ndarray:
    """A finite float64 (N, D) array from a tensor or array-like, rows L2-normalised."""
    array = check_array(name, values, ndim=2)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(message(f"{name}.shape", array.shape, "expected (N, D) with N, D >= 1", "pass embeddings"))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(message(name, "all-zero row", "a zero vector has no direction (angle undefined)",
                                 "drop it or check the model output"))
    return array / norms


def _angles(cos: np.ndarray) -> np.ndarray:
    # Rounding can put a cosine of unit vectors slightly outside [-1, 1]: clip before arccos.
    return np.arccos(np.clip(cos, -1.0, 1.0))


@dataclass
class AngleStats:
    """Angles between embeddings and class centres, in radians.

    The constructor arguments are also the attributes; :func:`angle_stats` builds it.

    Parameters
    ----------
    target_angles : numpy.ndarray, shape (N,), float64
        Angle θ_y between each embedding and the centre of its own class, radians.
    mean_angle_to_center : numpy.ndarray, shape (C,), float64
        Per class, mean of ``target_angles`` over that class's embeddings, radians.
    min_center_angle : float
        Smallest angle between two distinct class centres, radians (NaN when C = 1: no pair exists).
    mean_center_angle : float
        Mean angle over all pairs of distinct class centres, radians (NaN when C = 1).
    """

    target_angles: np.ndarray
    mean_angle_to_center: np.ndarray
    min_center_angle: float
    mean_center_angle: float

    @property
    def mean_target_angle(self) -> float:
        """Mean of ``target_angles`` over all embeddings, radians.
        """
        return float(self.target_angles.mean())

    def to_dict(self) -> dict:
        """JSON-ready summary in degrees (keys end in ``_deg``).

        Returns
        -------
        dict
            ``mean_target_angle_deg`` (float), ``mean_angle_to_center_deg`` (list of C floats),
            ``min_center_angle_deg`` and ``mean_center_angle_deg`` (floats, NaN when C = 1).
        """
        return {
            "mean_target_angle_deg": math.degrees(self.mean_target_angle),
            "mean_angle_to_center_deg": [math.degrees(a) for a in self.mean_angle_to_center],
            "min_center_angle_deg": math.degrees(self.min_center_angle),
            "mean_center_angle_deg": math.degrees(self.mean_center_angle),
        }

    def table(self) -> str:
        """A short plain-text table in degrees, one line per quantity.

        Returns
        -------
        str
            Four lines: mean angle to own centre, the per-class means, and the min and mean angles
            between centres.
        """
        d = self.to_dict()
        per_class = ", ".join(f"{a:.1f}" for a in d["mean_angle_to_center_deg"])
        return "\n".join(
            [
                f"mean angle to own centre     {d['mean_target_angle_deg']:7.2f}°",
                f"  per class                  {per_class}",
                f"min angle between centres    {d['min_center_angle_deg']:7.2f}°",
                f"mean angle between centres   {d['mean_center_angle_deg']:7.2f}°",
            ]
        )


def angle_stats(embeddings, labels, centers) -> AngleStats:
    """Angles of embeddings to their class centres and between the centres.

    Parameters
    ----------
    embeddings : torch.Tensor or np.ndarray
        (N, D) embeddings; normalised here, so raw model outputs are fine.
    labels : torch.Tensor or np.ndarray
        (N,) integer class of each embedding, in [0, C).
    centers : torch.Tensor or np.ndarray
        (C, D) class centres W (a head's ``centers``; for softmax the rows of its Linear weight);
        normalised here.

    Returns
    -------
    AngleStats
        Radians. θ_y = arccos(x̂ · Ŵ_y) as in ArcFace (Deng et al., 2019, Eq. 2-3).

    Raises
    ------
    ValueError
        On shape mismatch, non-finite or zero vectors, labels out of [0, C), or a class of
        ``centers`` that has no embedding (its mean angle would be undefined).
    TypeError
        If ``labels`` are not integers.

    References
    ----------
    .. [1] J. Deng, J. Guo, N. Xue, S. Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep
       Face Recognition", CVPR 2019, arXiv:1801.07698, eq. 2 (W_j·x = cos θ_j for unit vectors).

    Examples
    --------
    Embeddings at 10°, 30° (class 0) and 80° (class 1) with centres along the axes (0° and 90°):
    target angles 10°, 30°, 10°, so class means 20° and 10°; the centres are 90° apart.

    >>> import numpy as np
    >>> angles = np.radians([10.0, 30.0, 80.0])
    >>> embeddings = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # any length
    >>> stats = angle_stats(embeddings, np.array([0, 0, 1]), np.eye(2))
    >>> np.degrees(stats.target_angles).round(6).tolist()
    [10.0, 30.0, 10.0]
    >>> print(stats.table())
    mean angle to own centre       16.67°
      per class                  20.0, 10.0
    min angle between centres      90.00°
    mean angle between centres     90.00°
    """
    x = _matrix(embeddings, "embeddings")
    w = _matrix(centers, "centers")
    if w.shape[1] != x.shape[1]:
        raise ValueError(message("centers.shape", w.shape, f"centers have dimension {w.shape[1]} but embeddings have "
                                 f"{x.shape[1]}", "pass the head's centres of the same model"))
    y = check_label_array("labels", labels, x.shape[0])
    n_classes = w.shape[0]
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(message("label", int(y.max()), f"labels must lie in [0, {n_classes}) for {n_classes} centres",
                                 "relabel to 0..C-1 or pass every class's centre"))
    counts = np.bincount(y, minlength=n_classes)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(message("labels", f"no class {missing}", f"classes {missing} have no embeddings",
                                 "pass only the centres of classes present"))
    target = _angles(np.einsum("nd,nd->n", x, w[y]))
    per_class = np.bincount(y, weights=target, minlength=n_classes) / counts
    if n_classes > 1:
        upper = np.triu_indices(n_classes, k=1)
        between = _angles(w @ w.T)[upper]
        min_between, mean_between = float(between.min()), float(between.mean())
    else:
        min_between = mean_between = float("nan")
    return AngleStats(target, per_class, min_between, mean_between)


@dataclass
class MarginSatisfaction:
    """Which samples meet the decision-margin condition of a margin loss.

    The constructor arguments are also the attributes; :func:`margin_satisfaction` builds it.

    Parameters
    ----------
    satisfied : np.ndarray
        (N,) bool: the margined target logit cos(m1·θ_y + m2) − m3 is strictly larger than every
        other logit cos θ_j, j ≠ y.
    per_identity : np.ndarray
        (C,) float64, share of each class's samples that satisfy it; NaN for a class of ``centers``
        with no sample here (nothing to measure).
    counts : np.ndarray
        (C,) int64, samples per class.
    margins : tuple of float
        The (m1, m2, m3) tested; m2 in radians.
    """

    satisfied: np.ndarray
    per_identity: np.ndarray
    counts: np.ndarray
    margins: tuple[float, float, float]

    @property
    def overall(self) -> float:
        """Share of all samples that satisfy the condition, in [0, 1]."""
        return float(self.satisfied.mean())

    def to_dict(self) -> dict:
        """JSON-ready summary (NaN per identity becomes None).

        Returns
        -------
        dict
            ``margins`` (``{"m1", "m2", "m3"}``, m2 in radians), ``overall`` (float in [0, 1]),
            ``per_identity`` (list of float or None) and ``counts`` (list of int).
        """
        return {
            "margins": {"m1": self.margins[0], "m2": self.margins[1], "m3": self.margins[2]},
            "overall": self.overall,
            "per_identity": [None if math.isnan(v) else float(v) for v in self.per_identity],
            "counts": self.counts.tolist(),
        }


def margin_satisfaction(embeddings, labels, centers, *, m1: float = 1.0, m2: float = 0.0,
                        m3: float = 0.0) -> MarginSatisfaction:
    """Share of samples whose margined target logit beats every other logit (the decision margin).

    A margin loss asks more of a sample than being classified right: its target logit with the
    margin, s·(cos(m1·θ_y + m2) − m3), must exceed every other logit s·cos θ_j. This is the
    decision boundary of Deng et al. (2019), Table 1 (e.g. ArcFace: cos(θ_1 + m) > cos θ_2). The
    scale s > 0 multiplies both sides, so it does not enter. With m1 = 1, m2 = m3 = 0 the condition
    is "classified right by the nearest centre" (a tie counts as not satisfied).

    Parameters
    ----------
    embeddings : torch.Tensor or np.ndarray
        (N, D) embeddings; normalised here.
    labels : torch.Tensor or np.ndarray
        (N,) integer class in [0, C).
    centers : torch.Tensor or np.ndarray
        (C, D) class centres W (a head's ``centers``); normalised here.
    m1 : float, default 1.0
        Multiplicative angular margin (SphereFace; 1 means none); below 1 only with
        m2 >= (1 − m1)·π (the paper's CM2 is m1 = 0.9, m2 = 0.4), as in :func:`~arcface_viz.heads.margin_logits`.
    m2 : float, default 0.0
        Additive angular margin in radians, in [0, π) (ArcFace).
    m3 : float, default 0.0
        Additive cosine margin, >= 0 (CosFace).

    Returns
    -------
    MarginSatisfaction
        Per-sample flags, per-identity and overall shares.

    Raises
    ------
    ValueError
        Shape mismatch, non-finite or zero vectors, labels outside [0, C), or margins outside
        their ranges (checked by :func:`arcface_viz.heads.margin_logits`).
    TypeError
        Labels that are not integers; margins that are not real numbers.

    Notes
    -----
    The margined target logit is :func:`arcface_viz.heads.margin_logits` (with its monotone fallback
    past θ_y = (π − m2)/m1), the same function the heads train with: one formula, one place.
    Sources: ArcFace (Deng et al., CVPR 2019, arXiv 1801.07698), eq. 4 and Table 1.

    Examples
    --------
    >>> import numpy as np
    >>> centres = np.array([[1.0, 0.0], [0.0, 1.0]])  # at 0° and 90°
    >>> emb = np.array([[np.cos(0.5), np.sin(0.5)]])  # 28.6° from its centre 0, 61.4° from centre 1
    >>> margin_satisfaction(emb, [0], centres, m2=0.5).overall  # 28.6° + 28.6° < 61.4°
    1.0
    >>> margin_satisfaction(emb, [0], centres, m2=0.6).overall  # 28.6° + 34.4° > 61.4°
    0.0
    """
    x = _matrix(embeddings, "embeddings")
    w = _matrix(centers, "centers")
    if w.shape[1] != x.shape[1]:
        raise ValueError(message("centers.shape", w.shape, f"centers have dimension {w.shape[1]} but embeddings have "
                                 f"{x.shape[1]}", "pass the head's centres of the same model"))
    y = check_label_array("labels", labels, x.shape[0])
    n_classes = w.shape[0]
    if y.max() >= n_classes:  # check_label_array refused negative labels
        raise ValueError(message("label", int(y.max()), f"labels must lie in [0, {n_classes}) for {n_classes} centres",
                                 "relabel to 0..C-1 or pass every class's centre"))
    cos = torch.from_numpy(np.clip(x @ w.T, -1.0, 1.0))
    logits = margin_logits(cos, torch.from_numpy(y), s=1.0, m1=m1, m2=m2, m3=m3).numpy()
    rows = np.arange(len(y))
    target = logits[rows, y].copy()
    logits[rows, y] = -np.inf  # with one class there is no rival: the condition holds
    satisfied = target > logits.max(axis=1)
    counts = np.bincount(y, minlength=n_classes)
    hits = np.bincount(y, weights=satisfied, minlength=n_classes)
    per_identity = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return MarginSatisfaction(satisfied, per_identity, counts, (float(m1), float(m2), float(m3)))


def pair_scores(embeddings, pairs) -> np.ndarray:
    """Cosine similarity of each pair of embeddings.

    Parameters
    ----------
    embeddings : torch.Tensor or np.ndarray
        (N, D) embeddings (normalised here).
    pairs : np.ndarray
        (P, 2) integer indices into ``embeddings``.

    Returns
    -------
    np.ndarray
        (P,) float64 in [-1, 1].

    Raises
    ------
    ValueError
        If ``pairs`` is not (P, 2) or holds an index outside [0, N).
    """
    x = _matrix(embeddings, "embeddings")
    p = check_index_pairs(pairs, x.shape[0])
    return np.clip(np.einsum("pd,pd->p", x[p[:, 0]], x[p[:, 1]]), -1.0, 1.0)


def equal_error_rate(fpr: np.ndarray, tpr: np.ndarray) -> tuple[float, int]:
    """The error rate where false accepts equal false rejects, interpolated linearly on the ROC.

    Parameters
    ----------
    fpr, tpr : np.ndarray
        (K,) ROC points ordered by decreasing threshold, as ``sklearn.metrics.roc_curve`` returns them
        (from (0, 0) to (1, 1)).

    Returns
    -------
    eer : float
        The value where FAR = FRR = 1 − TPR, between 0 and 1.
    index : int
        First ROC point with FAR >= FRR (its threshold is the nearest operating point).

    Raises
    ------
    TypeError, ValueError
        If ``fpr`` and ``tpr`` are not one full ROC (see :func:`arcface_viz._validation.check_roc`):
        different lengths, NaN, rates outside [0, 1] (percentages), decreasing, or not from (0, 0)
        to (1, 1).

    Examples
    --------
    FAR − FRR runs −1, −0.5, 0.5, 1 along this ROC: it crosses 0 halfway between points 1 and 2,
    where FAR = 0 + 0.5·(0.5 − 0) = 0.25.

    >>> equal_error_rate(np.array([0.0, 0.0, 0.5, 1.0]), np.array([0.0, 0.5, 1.0, 1.0]))
    (0.25, 2)
    """
    fpr, tpr = check_roc(fpr, tpr)
    diff = fpr - (1.0 - tpr)  # non-decreasing from -1 at (0, 0) to +1 at (1, 1)
    i = int(np.argmax(diff >= 0))
    if diff[i] == 0 or i == 0:
        return float(fpr[i]), i
    t = diff[i - 1] / (diff[i - 1] - diff[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1])), i


def tar_at_far(fpr: np.ndarray, tpr: np.ndarray, far: float, n_impostors: int) -> float:
    """True accept rate (TAR) of the best operating point whose false accept rate (FAR) is <= ``far``.

    Parameters
    ----------
    fpr, tpr : np.ndarray
        (K,) full ROC (``drop_intermediate=False``, so no operating point is missing).
    far : float
        Target false accept rate in (0, 1).
    n_impostors : int
        Number of impostor (different-identity) pairs behind ``fpr``.

    Returns
    -------
    float
        The largest TPR over points with FPR <= ``far``; NaN with a ``RuntimeWarning`` when
        ``n_impostors < 1 / far``: with fewer impostors one false accept already exceeds ``far``,
        so the number would only say "TAR at FAR = 0".

    Raises
    ------
    TypeError, ValueError
        If ``far`` is not a probability strictly between 0 and 1, ``n_impostors`` is not an int >= 1,
        or ``fpr`` and ``tpr`` are not one full ROC (as in :func:`equal_error_rate`).
    """
    far = check_probability("far", far)
    fpr, tpr = check_roc(fpr, tpr)
    n_impostors = check_int("n_impostors", n_impostors, minimum=1, fix="pass the number of impostor pairs behind fpr")
    if n_impostors < math.ceil(1.0 / far - 1e-9):
        warnings.warn(
            f"TAR@FAR={far:g} needs at least {math.ceil(1 / far - 1e-9)} impostor pairs, have {n_impostors}; "
            "reported as NaN (use more pairs or a larger FAR)",
            RuntimeWarning,
            stacklevel=2,
        )
        return float("nan")
    return float(tpr[fpr <= far + 1e-12].max())


def _best_threshold(scores: np.ndarray, is_same: np.ndarray) -> float:
    """The threshold (accept when score >= it) with the highest accuracy on these pairs."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], is_same[order]
    n = len(s)
    # Accepting s[k:] : correct = rejected impostors in s[:k] + accepted genuines in s[k:].
    neg_below = np.concatenate([[0], np.cumsum(~y)])
    pos_from = np.concatenate([np.cumsum(y[::-1])[::-1], [0]])
    correct = neg_below + pos_from  # index k = 0..n
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[1:] > s[:-1]  # a threshold can only sit between distinct scores
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        return float(s[0] - 1e-6)
    if k == n:
        return float(s[-1] + 1e-6)
    return float((s[k - 1] + s[k]) / 2)


@dataclass
class VerificationResult:
    """Face verification on pairs: are two faces the same person (the metrics of one run).

    The constructor arguments are also the attributes; :func:`verification` builds it.

    Parameters
    ----------
    scores : numpy.ndarray, shape (P,), float64
        Cosine similarity of each pair, in [-1, 1].
    is_same : numpy.ndarray, shape (P,), bool
        True for genuine (same-identity) pairs.
    fpr, tpr, thresholds : numpy.ndarray, shape (K,)
        The full ROC from ``sklearn.metrics.roc_curve`` (false accept rate, true accept rate, score
        thresholds).
    auc : float
        Area under the ROC, in [0, 1].
    eer : float
        Equal error rate (FAR = FRR), linearly interpolated, in [0, 1].
    eer_threshold : float
        Threshold of the first ROC point with FAR >= FRR.
    tar_at_far : dict of float to float
        TAR at FAR 1e-1, 1e-2, 1e-3 (NaN where there are fewer than 1/FAR impostor pairs).
    fold_accuracy : numpy.ndarray, shape (n_folds,)
        Accuracy of the LFW protocol: per fold, threshold chosen on the other folds.
    fold_thresholds : numpy.ndarray, shape (n_folds,)
        The threshold chosen for each fold.
    """

    scores: np.ndarray
    is_same: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    eer: float
    eer_threshold: float
    tar_at_far: dict[float, float]
    fold_accuracy: np.ndarray
    fold_thresholds: np.ndarray = field(repr=False)

    @property
    def accuracy_mean(self) -> float:
        """Mean of the fold accuracies."""
        return float(self.fold_accuracy.mean())

    @property
    def accuracy_std(self) -> float:
        """Standard deviation (population, as LFW reports it) of the fold accuracies."""
        return float(self.fold_accuracy.std())

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-pair arrays); NaN TARs become None.

        Returns
        -------
        dict
            ``n_pairs``, ``n_genuine``, ``n_impostor``, ``auc``, ``eer``, ``eer_threshold``,
            ``tar_at_far`` (keys ``"0.1"``, ``"0.01"``, ``"0.001"``), ``accuracy_mean``,
            ``accuracy_std``, ``fold_accuracy`` and ``fold_thresholds`` (lists).
        """
        return {
            "n_pairs": int(self.is_same.size),
            "n_genuine": int(self.is_same.sum()),
            "n_impostor": int((~self.is_same).sum()),
            "auc": self.auc,
            "eer": self.eer,
            "eer_threshold": self.eer_threshold,
            "tar_at_far": {f"{far:g}": (None if math.isnan(v) else v) for far, v in self.tar_at_far.items()},
            "accuracy_mean": self.accuracy_mean,
            "accuracy_std": self.accuracy_std,
            "fold_accuracy": self.fold_accuracy.tolist(),
            "fold_thresholds": self.fold_thresholds.tolist(),
        }


def verification(embeddings, labels, pairs, *, n_folds: int = 10, seed: int = 0) -> VerificationResult:
    """Verification metrics of embeddings on (genuine, impostor) pairs.

    Parameters
    ----------
    embeddings : torch.Tensor or np.ndarray
        (N, D) embeddings of identities, ideally never seen in training; normalised here.
    labels : torch.Tensor or np.ndarray
        (N,) integer identity of each embedding; a pair is genuine when both labels agree.
    pairs : np.ndarray
        (P, 2) integer index pairs (e.g. ``faces.make_pairs``).
    n_folds : int, default 10
        Folds of the LFW protocol (Huang et al., 2007): threshold maximising accuracy on
        ``n_folds - 1`` folds, accuracy on the remaining one. Folds are stratified so each keeps the
        genuine/impostor ratio, as LFW's fixed folds do.
    seed : int, default 0
        Seed of the fold shuffle.

    Returns
    -------
    VerificationResult
        Scores, ROC, AUC, EER, TAR@FAR and the per-fold accuracies.

    Raises
    ------
    TypeError
        Labels or pair indices that are not integers; ``n_folds``/``seed`` not ints.
    ValueError
        Bad shapes or indices, a pair (i, i) of an image with itself, no genuine or no impostor
        pair, or fewer than ``n_folds`` pairs of either kind.

    References
    ----------
    .. [1] G. B. Huang, M. Ramesh, T. Berg, E. Learned-Miller, "Labeled Faces in the Wild: A Database
       for Studying Face Recognition in Unconstrained Environments", UMass Amherst Tech. Rep. 07-49,
       2007 (the 10-fold protocol).

    Examples
    --------
    Two identities on the unit circle, at 0°, 10°, 20° and at 90°, 100°, 110°. Of their 15 pairs, 6
    are genuine with cosines >= cos 20° = 0.9397 and 9 impostor with cosines <= cos 70° = 0.3420,
    so the scores separate them perfectly: AUC 1, EER 0, every fold accurate. (Too few impostor
    pairs for TAR@FAR 0.1: those are NaN with a RuntimeWarning, silenced here.)

    >>> import itertools, warnings
    >>> angles = np.radians([0.0, 10.0, 20.0, 90.0, 100.0, 110.0])
    >>> embeddings = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    >>> pairs = np.array(list(itertools.combinations(range(6), 2)))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", RuntimeWarning)
    ...     result = verification(embeddings, np.array([0, 0, 0, 1, 1, 1]), pairs, n_folds=2)
    >>> genuine, impostor = result.scores[result.is_same], result.scores[~result.is_same]
    >>> int(result.is_same.sum()), round(float(genuine.min()), 4), round(float(impostor.max()), 4)
    (6, 0.9397, 0.342)
    >>> result.auc, result.eer, result.accuracy_mean
    (1.0, 0.0, 1.0)
    """
    x = _matrix(embeddings, "embeddings")
    y = check_label_array("labels", labels, x.shape[0])
    p = check_index_pairs(pairs, x.shape[0])
    same_image = np.flatnonzero(p[:, 0] == p[:, 1])
    if same_image.size:  # a genuine score of exactly 1 that says nothing about the embeddings
        k = int(same_image[0])
        raise ValueError(message(f"pairs[{k}]", (int(p[k, 0]), int(p[k, 1])), f"pair {k} ({p[k, 0]}, {p[k, 1]}) compares "
                                 f"an image with itself ({same_image.size} such pairs)",
                                 "use itertools.combinations or faces.make_pairs"))
    n_folds = check_int("n_folds", n_folds, minimum=2, fix="pass the number of folds, 10 in the LFW protocol")
    scores = np.clip(np.einsum("pd,pd->p", x[p[:, 0]], x[p[:, 1]]), -1.0, 1.0)
    is_same = y[p[:, 0]] == y[p[:, 1]]
    n_genuine, n_impostor = int(is_same.sum()), int((~is_same).sum())
    if min(n_genuine, n_impostor) < n_folds:
        raise ValueError(message("pairs", f"{n_genuine} genuine, {n_impostor} impostor",
                                 f"need at least {n_folds} genuine and {n_folds} impostor pairs for {n_folds}-fold "
                                 f"accuracy, got {n_genuine} genuine and {n_impostor} impostor", "make more pairs"))
    fpr, tpr, thresholds = roc_curve(is_same, scores, drop_intermediate=False)
    eer, i = equal_error_rate(fpr, tpr)
    tars = {far: tar_at_far(fpr, tpr, far, n_impostor) for far in FARS}
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    accuracy, chosen = [], []
    for train_idx, test_idx in folds.split(scores, is_same):
        threshold = _best_threshold(scores[train_idx], is_same[train_idx])
        accuracy.append(float(np.mean((scores[test_idx] >= threshold) == is_same[test_idx])))
        chosen.append(threshold)
    return VerificationResult(
        scores=scores,
        is_same=is_same,
        fpr=fpr,
        tpr=tpr,
        thresholds=thresholds,
        auc=float(sk_auc(fpr, tpr)),
        eer=eer,
        eer_threshold=float(thresholds[i]),
        tar_at_far=tars,
        fold_accuracy=np.asarray(accuracy),
        fold_thresholds=np.asarray(chosen),
    )


def rank1(gallery_emb, gallery_labels, probe_emb, probe_labels) -> float:
    """Closed-set rank-1 identification: share of probes whose most similar gallery face has their label.

    Parameters
    ----------
    gallery_emb : torch.Tensor or np.ndarray
        (G, D) enrolled embeddings.
    gallery_labels : torch.Tensor or np.ndarray
        (G,) integer identities.
    probe_emb : torch.Tensor or np.ndarray
        (Q, D) query embeddings (not the gallery images themselves, or every probe finds itself).
    probe_labels : torch.Tensor or np.ndarray
        (Q,) integer identities.

    Returns
    -------
    float
        Accuracy in [0, 1]; nearest neighbour by cosine similarity.

    Raises
    ------
    ValueError
        On shape mismatch, non-finite/zero embeddings, or a probe identity absent from the gallery
        (closed set: it could never be right).
    TypeError
        If the labels are not integers.

    Examples
    --------
    Gallery: one face per identity (0° and 90°); probes at 10°, 20° (identity 0) and 100°, 110°
    (identity 1) are each nearest to their own identity's gallery face:

    >>> angles = np.radians([0.0, 90.0, 10.0, 20.0, 100.0, 110.0])
    >>> e = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    >>> rank1(e[:2], np.array([0, 1]), e[2:], np.array([0, 0, 1, 1]))
    1.0
    """
    g = _matrix(gallery_emb, "gallery_emb")
    q = _matrix(probe_emb, "probe_emb")
    if g.shape[1] != q.shape[1]:
        raise ValueError(message("probe_emb.shape", q.shape, f"gallery dimension {g.shape[1]} differs from probe "
                                 f"dimension {q.shape[1]}", "embed both with the same model"))
    gl = check_label_array("gallery_labels", gallery_labels, g.shape[0])
    ql = check_label_array("probe_labels", probe_labels, q.shape[0])
    missing = np.setdiff1d(ql, gl)
    if missing.size:
        raise ValueError(message("probe_labels", missing[:10].tolist(), f"probe identities {missing[:10].tolist()} are "
                                 "not in the gallery", "closed-set rank-1 needs every probe identity enrolled "
                                 "(same labelling for gallery and probes)"))
    correct = 0
    for start in range(0, q.shape[0], 1024):  # chunks keep the (Q, G) similarity matrix small
        nearest = np.argmax(q[start : start + 1024] @ g.T, axis=1)
        correct += int(np.sum(gl[nearest] == ql[start : start + 1024]))
    return correct / q.shape[0]
