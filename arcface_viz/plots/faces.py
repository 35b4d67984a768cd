"""A grid of face images: one row per identity, its first samples across."""
from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from .._validation import check_int, message
from ..faces import FaceDataset
from .colors import identity_colors


def plot_face_grid(
    dataset: FaceDataset,
    per_identity: int = 8,
    max_identities: int | None = None,
    cell_inches: float = 0.8,
) -> Figure:
    """Show ``per_identity`` images of each identity, one identity per row, with its name.

    Parameters
    ----------
    dataset : FaceDataset
        Images (N, 1, H, W) in [0, 1]; its ``credit`` line is printed under the grid. Each row
        carries the identity's name and its colour from :func:`.colors.identity_colors`.
    per_identity : int >= 1
        Columns: the first images of each identity in dataset order (fewer when it has fewer).
    max_identities : int or None
        Show only the first identities (by label); None shows all.
    cell_inches : float
        Size of one face in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot, so a notebook shows it once (as the cell's value) and no global
        figure is left open.

    Raises
    ------
    TypeError
        ``dataset`` is not a FaceDataset (e.g. its images alone).
    ValueError
        ``per_identity`` or ``max_identities`` < 1, or an empty dataset.
    """
    if not isinstance(dataset, FaceDataset):  # e.g. dataset.images: the rows need each image's identity
        raise TypeError(message("dataset", type(dataset).__name__, "expected a FaceDataset (images with their "
                                "identities)", "pass the dataset itself, e.g. make_toy_faces(...) or load_att_faces(...)"))
    per_identity = check_int("per_identity", per_identity, minimum=1, fix="pass how many images of each person to show")
    if max_identities is not None:
        max_identities = check_int("max_identities", max_identities, minimum=1, fix="pass a count, or None for all")
    if len(dataset) == 0:
        raise ValueError("the dataset holds no images")
    labels = dataset.labels.numpy()
    present = np.unique(labels)[:max_identities]
    n_rows = len(present)
    height, width = dataset.image_size
    cell_w = cell_inches * width / max(height, width)
    cell_h = cell_inches * height / max(height, width)
    label_w, credit_h = 1.1, 0.45
    fig = Figure(figsize=(label_w + per_identity * cell_w, n_rows * cell_h + credit_h), layout="none")
    fig_w, fig_h = fig.get_size_inches()
    images = dataset.images.numpy()
    colors = identity_colors(dataset.n_identities)
    for row, label in enumerate(present):
        idx = np.flatnonzero(labels == label)[:per_identity]
        bottom = (fig_h - (row + 1) * cell_h) / fig_h
        middle = bottom + 0.5 * cell_h / fig_h
        fig.text((label_w - 0.3) / fig_w, middle, dataset.identities[label], ha="right", va="center", fontsize=9)
        # The identity's colour, as on the circle, sphere and histograms of the other figures.
        fig.text((label_w - 0.25) / fig_w, middle, "\u25a0", color=colors[label], ha="left", va="center", fontsize=11)
        for col in range(per_identity):
            ax = fig.add_axes([(label_w + col * cell_w) / fig_w, bottom, 0.96 * cell_w / fig_w, 0.96 * cell_h / fig_h])
            ax.set_axis_off()
            if col < len(idx):
                ax.imshow(images[idx[col], 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    credit = "\n".join(textwrap.wrap(dataset.credit, width=max(40, int(fig_w * 14))))
    fig.text(0.01, 0.02 * credit_h / fig_h, credit, ha="left", va="bottom", fontsize=6.5, color="0.3")
    return fig
