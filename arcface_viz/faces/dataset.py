"""The one container every face source returns: :class:`FaceDataset`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(eq=False)  # eq=False: comparing tensors element-wise in __eq__ would be meaningless
class FaceDataset(Dataset):
    """Grey face images with integer identity labels.

    Parameters
    ----------
    images : torch.Tensor or numpy.ndarray, shape (N, 1, H, W)
        Grey levels in [0, 1]; stored as ``torch.float32``.
    labels : torch.Tensor or numpy.ndarray, shape (N,)
        Identity index of each image, ``0 <= label < len(identities)``; stored as ``torch.int64``.
    identities : list of str, length C
        ``identities[k]`` names label ``k``.
    meta : list of dict or None, length N
        Per-image facts (for toy faces: pose, lighting, expression, occluder ...), or None.
    credit : str
        Credit line to show wherever the images are shown.

    Raises
    ------
    ValueError
        On a wrong shape, values outside [0, 1] or non-finite values, labels out of range,
        or ``meta`` of the wrong length.
    TypeError
        When images are not floating point, or labels are not integers.

    Examples
    --------
    >>> import torch
    >>> data = FaceDataset(torch.zeros(3, 1, 4, 5), torch.tensor([1, 1, 2]), ["a", "b", "c"])
    >>> data
    FaceDataset(3 images of 4x5, 3 identities, credit='')
    >>> data.relabel().labels.tolist(), data.relabel().identities
    ([0, 0, 1], ['b', 'c'])
    """

    images: torch.Tensor
    labels: torch.Tensor
    identities: list[str]
    meta: list[dict[str, Any]] | None = None
    credit: str = ""

    def __post_init__(self) -> None:
        images = torch.as_tensor(self.images)
        labels = torch.as_tensor(self.labels)
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"images must have shape (N, 1, H, W); got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"images must be floating point in [0, 1]; got dtype {images.dtype}")
        images = images.to(torch.float32)
        if images.numel() and not bool(torch.isfinite(images).all()):
            raise ValueError("images contain NaN or infinite values")
        if images.numel() and (float(images.min()) < 0.0 or float(images.max()) > 1.0):
            raise ValueError(
                f"images must lie in [0, 1]; got range [{float(images.min()):.4g}, {float(images.max()):.4g}]"
            )
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise TypeError(f"labels must be integers; got dtype {labels.dtype}")
        labels = labels.to(torch.int64)
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},); got {tuple(labels.shape)}")
        identities = [str(name) for name in self.identities]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(identities)):
            raise ValueError(
                f"labels must lie in [0, {len(identities) - 1}] (one per identity name); "
                f"got range [{int(labels.min())}, {int(labels.max())}]"
            )
        if self.meta is not None and len(self.meta) != images.shape[0]:
            raise ValueError(f"meta must have one dict per image ({images.shape[0]}); got {len(self.meta)}")
        self.images, self.labels, self.identities = images, labels, identities
        self.meta = None if self.meta is None else list(self.meta)
        self.credit = str(self.credit)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """Return ``(image (1, H, W) float32, label int)``."""
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        return (
            f"FaceDataset({len(self)} images of {self.image_size[0]}x{self.image_size[1]}, "
            f"{self.n_identities} identities, credit={self.credit!r})"
        )

    @property
    def n_identities(self) -> int:
        """Number of identity names C (labels range over 0..C-1)."""
        return len(self.identities)

    @property
    def image_size(self) -> tuple[int, int]:
        """Image height and width in pixels ``(H, W)``."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> FaceDataset:
        """Images at ``indices``, with labels and identity names unchanged.

        Parameters
        ----------
        indices : sequence of int, numpy.ndarray or torch.Tensor
            Integer indices (negative ones count from the end), or a boolean mask of length N.

        Returns
        -------
        FaceDataset
            The selected images, labels and ``meta`` entries, in the order of ``indices``; the same
            ``identities`` list (call :meth:`relabel` to compact the labels).

        Raises
        ------
        IndexError
            When an index is out of range, or a boolean mask does not have length N.
        """
        index = torch.as_tensor(np.asarray(indices))
        if index.dtype == torch.bool:
            if index.shape != (len(self),):
                raise IndexError(f"a boolean mask must have length {len(self)}; got {tuple(index.shape)}")
            index = torch.nonzero(index).flatten()
        index = index.to(torch.int64).reshape(-1)
        if index.numel() and (int(index.min()) < -len(self) or int(index.max()) >= len(self)):
            raise IndexError(f"indices must lie in [0, {len(self) - 1}]; got {index.tolist()[:10]}...")
        meta = None if self.meta is None else [self.meta[i] for i in index.tolist()]
        return FaceDataset(self.images[index], self.labels[index], list(self.identities), meta, self.credit)

    def relabel(self) -> FaceDataset:
        """Same images with labels compacted to 0..K-1 (K identities present), keeping their order.

        Returns
        -------
        FaceDataset
            Label ``k`` of the result is the k-th smallest label present; ``identities`` keeps only the
            names of the identities present, in that order.
        """
        present = torch.unique(self.labels)  # sorted, so old order is kept
        mapping = torch.full((self.n_identities,), -1, dtype=torch.int64)
        mapping[present] = torch.arange(len(present))
        names = [self.identities[k] for k in present.tolist()]
        return FaceDataset(self.images, mapping[self.labels], names, self.meta, self.credit)
