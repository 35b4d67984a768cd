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
    n_test_identities : int, 1 <= n < number of identities present
    seed : int, chooses which identities are held out

    Returns
    -------
    (train, test) : FaceDataset, FaceDataset
        Both relabelled to compact 0..K-1 and 0..T-1 (order of the original labels kept);
        ``identities`` carry the original names.

    Raises
    ------
    TypeError
        ``n_test_identities`` or ``seed`` not an int.
    ValueError
        When ``n_test_identities`` is < 1 or leaves no identity for training.
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

    Raises
    ------
    ValueError
        ``test_fraction`` outside (0, 1), or too few images per identity to put one on each side.
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
    n_pairs : int >= 2
    seed : int

    Returns
    -------
    numpy.ndarray, shape (n_pairs, 2), int64 indices into ``dataset``.

    Raises
    ------
    ValueError
        An identity with fewer than 2 images (named), fewer than 2 identities, or more pairs
        of a kind asked for than exist.
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
