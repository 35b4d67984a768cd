"""Splits that face people use: identity-disjoint (open set), stratified (closed set), and pairs."""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from .._validation import check_int, check_real
from .dataset import FaceDataset


def split_identities(dataset: FaceDataset, n_test_identities: int, seed: int = 0) -> tuple[FaceDataset, FaceDataset]:
    """Open-set split: the test identities never appear in training.

    Parameters
    ----------
    dataset : FaceDataset
        The faces to split.
    n_test_identities : int
        Identities held out for testing, ``1 <= n <`` number of identities present.
    seed : int, default 0
        Chooses which identities are held out (>= 0).

    Returns
    -------
    train : FaceDataset
        Images of the other identities, relabelled to compact 0..K-1 (order of the original labels
        kept); ``identities`` carry the original names.
    test : FaceDataset
        Images of the held-out identities, relabelled to 0..T-1 the same way.

    Raises
    ------
    TypeError
        ``n_test_identities`` or ``seed`` not an int.
    ValueError
        When ``n_test_identities`` is < 1 or leaves no identity for training, or ``seed`` < 0.

    Examples
    --------
    >>> import torch
    >>> data = FaceDataset(torch.zeros(6, 1, 2, 2), torch.tensor([0, 0, 0, 1, 1, 2]), ["ada", "ben", "cy"])
    >>> train, test = split_identities(data, 1, seed=0)
    >>> len(train.identities), len(test.identities), set(train.identities) & set(test.identities)
    (2, 1, set())
    >>> len(train) + len(test), test.labels.unique().tolist()
    (6, [0])
    """
    present = np.unique(dataset.labels.numpy())
    n_test_identities = check_int("n_test_identities", n_test_identities, minimum=1, maximum=len(present) - 1,
                                  fix=f"the dataset has {len(present)} identities and training needs at least one")
    rng = np.random.default_rng(check_int("seed", seed, minimum=0, fix="pass a seed >= 0"))
    test_ids = rng.choice(present, size=n_test_identities, replace=False)
    is_test = np.isin(dataset.labels.numpy(), test_ids)
    return dataset.subset(~is_test).relabel(), dataset.subset(is_test).relabel()


def split_images(dataset: FaceDataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[FaceDataset, FaceDataset]:
    """Closed-set split of the images, stratified by identity (labels unchanged).

    Uses :func:`sklearn.model_selection.train_test_split` with ``stratify=labels``.

    Parameters
    ----------
    dataset : FaceDataset
        The faces to split.
    test_fraction : float, default 0.2
        Share of each identity's images held out, in the open interval (0, 1).
    seed : int, default 0
        ``random_state`` of the split (>= 0).

    Returns
    -------
    train : FaceDataset
        The training images in their original order, same labels and identities.
    test : FaceDataset
        The held-out images, likewise.

    Raises
    ------
    TypeError
        ``test_fraction`` not a number or ``seed`` not an int.
    ValueError
        ``test_fraction`` outside (0, 1), ``seed`` < 0, or too few images per identity to put one on
        each side.
    """
    test_fraction = check_real("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True,
                               fix="pass the share of each identity's images to hold out, e.g. 0.2")
    labels = dataset.labels.numpy()
    try:
        train_idx, test_idx = train_test_split(
            np.arange(len(dataset)), test_size=float(test_fraction), stratify=labels, random_state=check_int("seed", seed, minimum=0, fix="pass a seed >= 0")
        )
    except ValueError as error:
        raise ValueError(
            f"cannot split {len(dataset)} images of {len(np.unique(labels))} identities with "
            f"test_fraction={test_fraction} stratified by identity: {error}"
        ) from None
    return dataset.subset(np.sort(train_idx)), dataset.subset(np.sort(test_idx))


def make_pairs(dataset: FaceDataset, n_pairs: int, seed: int = 0) -> np.ndarray:
    """Balanced verification pairs: ``n_pairs // 2`` genuine (same identity), the rest impostor.

    Pairs are distinct unordered index pairs ``(i, j)`` with ``i < j``, in a shuffled order (so
    contiguous folds, as in the 10-fold LFW protocol, mix genuine and impostor pairs).
    Whether a pair is genuine: ``labels[i] == labels[j]``.

    Parameters
    ----------
    dataset : FaceDataset
        The faces to pair (usually identities unseen in training).
    n_pairs : int
        Number of pairs, >= 2; ``n_pairs // 2`` are genuine.
    seed : int, default 0
        Seeds the draw (>= 0).

    Returns
    -------
    numpy.ndarray, shape (n_pairs, 2), int64
        Indices into ``dataset``, ``i < j`` in every row.

    Raises
    ------
    TypeError
        ``n_pairs`` or ``seed`` not an int.
    ValueError
        An identity with fewer than 2 images (named), fewer than 2 identities, or more pairs
        of a kind asked for than exist.

    References
    ----------
    .. [1] G. B. Huang, M. Ramesh, T. Berg, E. Learned-Miller, "Labeled Faces in the Wild: A Database
       for Studying Face Recognition in Unconstrained Environments", UMass Amherst Tech. Rep. 07-49,
       2007 (balanced genuine/impostor pairs in 10 folds).

    Examples
    --------
    Five images of two identities hold 4 genuine pairs (3 + 1) and 6 impostor pairs (3 x 2):

    >>> import torch
    >>> data = FaceDataset(torch.zeros(5, 1, 2, 2), torch.tensor([0, 0, 0, 1, 1]), ["ada", "ben"])
    >>> pairs = make_pairs(data, 6, seed=0)
    >>> pairs.shape, pairs.dtype, bool((pairs[:, 0] < pairs[:, 1]).all())
    ((6, 2), dtype('int64'), True)
    >>> labels = data.labels.numpy()
    >>> int((labels[pairs[:, 0]] == labels[pairs[:, 1]]).sum())  # genuine
    3
    >>> make_pairs(data, 10)
    Traceback (most recent call last):
    ...
    ValueError: n_pairs=10 asks for 5 genuine and 5 impostor pairs, but this dataset has only 4 genuine and 6 impostor pairs
    """
    n_pairs = check_int("n_pairs", n_pairs, minimum=2, fix="pass an even count, half genuine and half impostor")
    labels = dataset.labels.numpy()
    ids, counts = np.unique(labels, return_counts=True)
    if len(ids) < 2:
        raise ValueError(f"impostor pairs need at least 2 identities; the dataset has {len(ids)}")
    lonely = ids[counts < 2]
    if len(lonely):
        names = ", ".join(repr(dataset.identities[k]) for k in lonely[:5])
        raise ValueError(
            f"genuine pairs need at least 2 images per identity; identity {names} has only 1. "
            "Drop it first, e.g. dataset.subset(mask).relabel()"
        )
    n_genuine = n_pairs // 2
    n_impostor = n_pairs - n_genuine
    n = len(labels)
    max_genuine = int((counts * (counts - 1) // 2).sum())
    max_impostor = n * (n - 1) // 2 - max_genuine
    if n_genuine > max_genuine or n_impostor > max_impostor:
        raise ValueError(
            f"n_pairs={n_pairs} asks for {n_genuine} genuine and {n_impostor} impostor pairs, but this "
            f"dataset has only {max_genuine} genuine and {max_impostor} impostor pairs"
        )
    rng = np.random.default_rng(check_int("seed", seed, minimum=0, fix="pass a seed >= 0"))
    members = [np.flatnonzero(labels == k) for k in ids]
    genuine = _draw_pairs(rng, n_genuine, n, lambda m: _genuine_batch(rng, members, m), max_genuine,
                          lambda: _all_pairs(labels, same=True))
    impostor = _draw_pairs(rng, n_impostor, n, lambda m: _impostor_batch(rng, labels, m), max_impostor,
                           lambda: _all_pairs(labels, same=False))
    pairs = np.concatenate([genuine, impostor]).astype(np.int64)
    return pairs[rng.permutation(len(pairs))]


def _genuine_batch(rng: np.random.Generator, members: list[np.ndarray], m: int) -> np.ndarray:
    """m random same-identity pairs: an identity uniformly, then two different images of it."""
    which = rng.integers(len(members), size=m)
    sizes = np.array([len(x) for x in members])[which]
    first = (rng.random(m) * sizes).astype(np.int64)
    second = (first + 1 + (rng.random(m) * (sizes - 1)).astype(np.int64)) % sizes
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in members])])[which]
    flat = np.concatenate(members)
    return np.stack([flat[offsets + first], flat[offsets + second]], axis=1)


def _impostor_batch(rng: np.random.Generator, labels: np.ndarray, m: int) -> np.ndarray:
    pairs = rng.integers(len(labels), size=(m, 2))
    return pairs[labels[pairs[:, 0]] != labels[pairs[:, 1]]]


def _all_pairs(labels: np.ndarray, same: bool) -> np.ndarray:
    i, j = np.triu_indices(len(labels), k=1)
    keep = (labels[i] == labels[j]) == same
    return np.stack([i[keep], j[keep]], axis=1)


def _draw_pairs(rng, wanted: int, n: int, batch, available: int, enumerate_all) -> np.ndarray:
    """``wanted`` distinct sorted pairs by rejection sampling; when asking for most of the
    available pairs (where rejection would crawl) enumerate them all and choose instead."""
    if wanted == 0:
        return np.empty((0, 2), dtype=np.int64)
    if wanted > available // 2:
        everything = enumerate_all()
        return everything[rng.choice(len(everything), size=wanted, replace=False)]
    keys: dict[int, None] = {}  # insertion-ordered set: the result depends only on the seed
    while len(keys) < wanted:
        drawn = np.sort(batch(2 * (wanted - len(keys)) + 8), axis=1)
        for key in (drawn[:, 0] * n + drawn[:, 1]).tolist():
            keys.setdefault(key)
            if len(keys) == wanted:
                break
    flat = np.fromiter(keys, dtype=np.int64, count=wanted)
    return np.stack([flat // n, flat % n], axis=1)
