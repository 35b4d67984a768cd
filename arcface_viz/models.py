"""A small convolutional backbone that maps a grey face image to an embedding.

The network is deliberately tiny (about 25k parameters at ``width=16``) so that 32×32 faces train at
thousands of images per second on two CPU cores: the lessons are about the *loss*, not the backbone.
It returns raw (unnormalised) embeddings; the heads in :mod:`arcface_viz.heads` normalise them.
"""
from __future__ import annotations

import torch
from torch import nn

from ._validation import check_int


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    # conv -> BN -> ReLU -> 2×2 max-pool: BN lets Adam at 1e-3 train from scratch without tuning.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class FaceCNN(nn.Module):
    """Three conv blocks (``width``, 2·``width``, 4·``width`` channels), global average pool, Linear.

    Parameters
    ----------
    embedding_dim : int
        Size D of the output embedding (2 or 3 for pictures on the circle/sphere, 64-128 for
        verification). Must be >= 1.
    in_channels : int, default 1
        Channels of the input images (1 for grey faces).
    width : int, default 16
        Channels of the first block; the others use 2× and 4× this (16-32-64 by default).

    Raises
    ------
    ValueError
        If ``embedding_dim``, ``in_channels`` or ``width`` is not a positive integer.

    Notes
    -----
    Any input of at least 8×8 pixels works: the global average pool removes the spatial size, so
    the same model takes 32×32 toy faces and e.g. 48×40 AT&T faces.

    Examples
    --------
    >>> import torch
    >>> model = FaceCNN(2).eval()
    >>> sum(p.numel() for p in model.parameters())
    23538
    >>> model(torch.rand(4, 1, 32, 32)).shape
    torch.Size([4, 2])
    """

    def __init__(self, embedding_dim: int, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1, fix="pass the embedding dimension D, e.g. 2")
        in_channels = check_int("in_channels", in_channels, minimum=1, fix="pass 1 for grey faces")
        width = check_int("width", width, minimum=1, fix="pass the channels of the first block, e.g. 32")
        self.embedding_dim = embedding_dim
        self.in_channels = in_channels
        self.width = width
        self.features = nn.Sequential(
            _block(in_channels, width),
            _block(width, 2 * width),
            _block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.embedding = nn.Linear(4 * width, embedding_dim)

    def config(self) -> dict:
        """The constructor arguments, so that :func:`arcface_viz.training.load` can rebuild the model.

        Returns
        -------
        dict
            ``{"embedding_dim": int, "in_channels": int, "width": int}``; ``FaceCNN(**config)``
            builds the same architecture.
        """
        return {"embedding_dim": self.embedding_dim, "in_channels": self.in_channels, "width": self.width}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map images to raw embeddings.

        Parameters
        ----------
        images : torch.Tensor
            Shape (B, in_channels, H, W), float32, values in [0, 1]; H, W >= 8.

        Returns
        -------
        torch.Tensor
            Shape (B, embedding_dim), float32, not normalised.

        Raises
        ------
        ValueError
            If ``images`` is not 4-D with ``in_channels`` channels, or smaller than 8×8.
        TypeError
            If ``images`` is not a floating-point tensor.
        """
        if not isinstance(images, torch.Tensor) or not images.is_floating_point():
            raise TypeError(
                f"FaceCNN expects a float tensor (B, {self.in_channels}, H, W), got "
                f"{type(images).__name__}{'' if not isinstance(images, torch.Tensor) else ' ' + str(images.dtype)}"
            )
        if images.ndim != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"FaceCNN expects images of shape (B, {self.in_channels}, H, W), got {tuple(images.shape)}; "
                "add the channel axis with images.unsqueeze(1)"
            )
        if images.shape[2] < 8 or images.shape[3] < 8:
            raise ValueError(f"FaceCNN needs images of at least 8×8 pixels, got {tuple(images.shape[2:])}")
        return self.embedding(self.features(images))
