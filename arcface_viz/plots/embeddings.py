"""Embeddings on the unit circle (2-D, matplotlib) and the unit sphere (3-D, plotly, animated).

Both figures normalise the embeddings first: the margin heads only see directions, so the
direction is what a lesson should show (the paper's toy figure, Deng et al., CVPR 2019, Fig. 3).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Wedge

from .._validation import check_array, check_label_array, check_real
from ..losses import M2_RANGE
from ._common import figure_and_axes
from .colors import MARGIN_COLOR, identity_colors


def _unit_rows(values, name: str, dim: int) -> np.ndarray:
    array = check_array(name, values, ndim=2)
    if array.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns (a {dim}-D embedding), got shape {array.shape}; "
                         f"train with embedding_dim={dim} or project first")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{name} has an all-zero row: its direction (and angle) is undefined")
    return array / norms


def _names(identities: Sequence[str] | None, n: int) -> list[str]:
    if identities is None:
        return [f"identity {k}" for k in range(n)]
    names = [str(x) for x in identities]
    if len(names) < n:
        raise ValueError(f"identities has {len(names)} names but the labels/centres need {n}")
    return names


def _class_count(labels: np.ndarray, centers: np.ndarray | None) -> int:
    n = int(labels.max()) + 1 if labels.size else 0
    if centers is not None:
        if labels.size and labels.max() >= len(centers):
            raise ValueError(f"labels go up to {labels.max()} but there are only {len(centers)} centres")
        n = len(centers)
    return n


def _mean_directions(points: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Unit mean direction of each class: the centre to use when the head's centres are not given."""
    sums = np.zeros((n, points.shape[1]))
    np.add.at(sums, labels, points)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    empty = np.flatnonzero(np.bincount(labels, minlength=n) == 0).tolist()
    if empty:
        raise ValueError(f"class(es) {empty} have no embeddings, so no centre can be estimated: relabel to 0..C-1 "
                         "(e.g. labels - labels.min(), or FaceDataset.relabel()) or pass centers explicitly")
    if np.any(norms == 0):
        raise ValueError("a class's embeddings cancel out (mean direction undefined): pass centers explicitly")
    return sums / norms


def _check_points(points: np.ndarray, name: str) -> None:
    if len(points) == 0:
        raise ValueError(f"{name} has no embeddings (shape {points.shape}): nothing to draw")


def _embedding_inputs(emb, labels, centers, identities, name: str, dim: int):
    """Validated unit points, integer labels, unit centres (given or class mean directions), names, colours."""
    points = _unit_rows(emb, name, dim)
    _check_points(points, name)
    y = check_label_array("labels", labels, len(points))
    centres = None if centers is None else _unit_rows(centers, "centers", dim)
    n = _class_count(y, centres)
    if centres is None:
        centres = _mean_directions(points, y, n)
    return points, y, centres, _names(identities, n), identity_colors(n)


def _circle_margin(margin) -> float | None:
    """The circle's margin: None or the additive angular margin m2 in its legal range (radians)."""
    if margin is None:
        return None
    # degrees such as 28.6 would wrap around the circle
    return check_real("margin", margin, low=M2_RANGE[0], high=M2_RANGE[1], high_open=True,
                      fix="the additive angular margin is in radians; convert degrees with np.radians")


def angles_to_centers(points: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Angle in degrees between each unit row of ``points`` and its class's unit centre.

    Parameters
    ----------
    points : numpy.ndarray, shape (N, D), float
        Unit embeddings.
    labels : numpy.ndarray, shape (N,), int
        Class of each embedding, in [0, C).
    centers : numpy.ndarray, shape (C, D), float
        Unit class centres.

    Returns
    -------
    numpy.ndarray, shape (N,), float64
        Angles in degrees, in [0, 180].

    Examples
    --------
    >>> import numpy as np
    >>> angles_to_centers(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 0]), np.eye(2)).tolist()
    [0.0, 90.0]
    """
    cos = np.clip(np.einsum("nd,nd->n", points, centers[labels]), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def plot_circle_embeddings(emb2d, labels, centers=None, *, margin: float | None = None,
                           identities: Sequence[str] | None = None, title: str | None = None,
                           ax: Axes | None = None) -> Figure:
    """2-D embeddings on the unit circle with a ray per class centre (the paper's toy figure).

    Parameters
    ----------
    emb2d : array_like or Tensor, (N, 2) float
        Embeddings (any norm; each row is normalised to the unit circle).
    labels : array_like or Tensor, (N,) int
        Identity of each embedding, in [0, C).
    centers : array_like or Tensor, (C, 2) float, optional
        Class centres W (``head.centers``). Default: each class's mean direction.
    margin : float, optional
        Additive angular margin m in radians (ArcFace m2). Shades, on the bisector between each pair
        of neighbouring centres, the grey wedge of width m where no class wins with its margin.
        Without it the class sectors (coloured) meet at the bisectors.
    identities : sequence of str, optional
        Names for the legend (label k -> identities[k]).
    title : str, optional
        The title, e.g. ``head.describe()``; default "Embeddings on the unit circle".
    ax : matplotlib Axes, optional
        Draw into this Axes (its figure is returned); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Points of identity k are a collection with gid ``"points:k"`` (offsets on the unit circle);
        centre rays are lines with gid ``"center:k"``.

    Raises
    ------
    ValueError
        Shapes that do not match, no embeddings, a zero embedding or centre, a class without
        embeddings when ``centers`` is not given (labels not 0..C-1), a margin outside [0, π).
    TypeError
        Labels that are not integers, a margin that is not a number.
    """
    points, y, centres, names, colors = _embedding_inputs(emb2d, labels, centers, identities, "emb2d", 2)
    margin = _circle_margin(margin)
    n = len(centres)

    fig, ax = figure_and_axes(ax, (6.2, 6.2))
    _shade_sectors(ax, centres, colors, margin or 0.0)
    circle = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(circle), np.sin(circle), color="#555555", lw=1.0)
    for k in range(n):
        member = points[y == k]
        scatter = ax.scatter(member[:, 0], member[:, 1], s=14, color=colors[k], alpha=0.6, lw=0,
                             label=names[k], zorder=3)
        scatter.set_gid(f"points:{k}")
        (ray,) = ax.plot([0, 1.18 * centres[k, 0]], [0, 1.18 * centres[k, 1]], color=colors[k], lw=2.2, zorder=4)
        ray.set_gid(f"center:{k}")
        ax.plot([1.18 * centres[k, 0]], [1.18 * centres[k, 1]], "o", color=colors[k], mec="black", ms=6, zorder=5)
    for deg in (0, 90, 180, 270):
        rad = np.radians(deg)
        ax.text(1.3 * np.cos(rad), 1.3 * np.sin(rad), f"{deg}°", ha="center", va="center", color="#777777",
                fontsize="small")
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    subtitle = "rays: class centres W" + (f"; grey wedges: margin m = {np.degrees(margin):.1f}°" if margin else "")
    ax.set_title(f"{title or 'Embeddings on the unit circle'}\n{subtitle}", fontsize="medium")
    handles, _ = ax.get_legend_handles_labels()
    if n >= 2:
        # a neutral swatch: each sector is shaded in its own identity's colour
        handles.append(Patch(facecolor="white", edgecolor="#777777", lw=0.8,
                             label="light sector: its class wins"))
    if margin and n >= 2:
        handles.append(Patch(facecolor=MARGIN_COLOR, alpha=0.5, lw=0, label=f"margin wedge, m = {np.degrees(margin):.1f}°"))
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              markerscale=1.5)
    return fig


def _shade_sectors(ax: Axes, centres: np.ndarray, colors: list[str], margin: float) -> None:
    """Coloured sector per class up to the bisectors with its neighbours, minus half the margin each side.

    The grey margin wedge between two neighbours never reaches past either centre: when two centres
    are closer than the margin, the whole arc between them is grey (they cannot both keep it).
    """
    angles = np.degrees(np.arctan2(centres[:, 1], centres[:, 0])) % 360.0
    order = np.argsort(angles)
    half = np.degrees(margin) / 2.0
    n = len(order)
    if n < 2:
        return
    for i, k in enumerate(order):
        prev_angle = angles[order[i - 1]] - (360.0 if i == 0 else 0.0)
        next_angle = angles[order[(i + 1) % n]] + (360.0 if i == n - 1 else 0.0)
        start = (prev_angle + angles[k]) / 2.0 + min(half, (angles[k] - prev_angle) / 2.0)
        end = (angles[k] + next_angle) / 2.0 - min(half, (next_angle - angles[k]) / 2.0)
        if end > start:
            ax.add_patch(Wedge((0, 0), 1.0, start, end, color=colors[k], alpha=0.12, lw=0))
        gap = min(half, (next_angle - angles[k]) / 2.0)
        if gap > 0:
            bisector = (angles[k] + next_angle) / 2.0
            ax.add_patch(Wedge((0, 0), 1.12, bisector - gap, bisector + gap, color=MARGIN_COLOR, alpha=0.4, lw=0))


def _frame_parts(frame, index: int, y: np.ndarray, default_centres: np.ndarray | None, n: int):
    """(unit points, unit centres) of animation frame number ``index``."""
    if isinstance(frame, Mapping):
        if "embeddings" not in frame:
            raise ValueError(f"frame {index} is a mapping without the key 'embeddings' (keys: {sorted(frame)})")
        emb, cen = frame["embeddings"], frame.get("centers")
    elif isinstance(frame, tuple):
        if len(frame) != 2:
            raise ValueError(f"frame {index} is a tuple of {len(frame)} items: pass (embeddings, centers)")
        emb, cen = frame
    else:
        emb, cen = frame, default_centres
    points = _unit_rows(emb, f"frame {index} embeddings", 3)
    if len(points) != len(y):
        raise ValueError(f"each frame must hold {len(y)} embeddings (one per label), frame {index} has {len(points)}")
    if cen is None:
        return points, _mean_directions(points, y, n)
    centres = _unit_rows(cen, f"frame {index} centers", 3)
    if len(centres) != n:
        raise ValueError(f"frame {index} has {len(centres)} centres but the figure shows {n} classes")
    return points, centres


def _sphere_traces(points, y, centres, names, colors) -> list:
    """Point and centre traces (one of each per identity) for one state of the embeddings."""
    angles = angles_to_centers(points, y, centres)
    traces = []
    for k, name in enumerate(names):
        member = y == k
        traces.append(go.Scatter3d(
            x=points[member, 0], y=points[member, 1], z=points[member, 2], mode="markers", name=name,
            legendgroup=name, marker={"size": 3, "color": colors[k], "opacity": 0.85},
            customdata=angles[member],
            hovertemplate=f"{name}<br>angle to centre: %{{customdata:.1f}}°<extra></extra>"))
    for k, name in enumerate(names):
        tip = 1.25 * centres[k]
        traces.append(go.Scatter3d(
            x=[0.0, tip[0]], y=[0.0, tip[1]], z=[0.0, tip[2]], mode="lines+markers", legendgroup=name,
            showlegend=False, line={"color": colors[k], "width": 6},
            marker={"size": [0, 6], "color": colors[k], "symbol": "diamond"},
            hovertemplate=f"centre W of {name}<extra></extra>"))
    return traces


def plot_sphere_embeddings(emb3d, labels, centers=None, frames: Sequence | None = None, *,
                           identities: Sequence[str] | None = None, title: str | None = None,
                           frame_labels: Sequence[str] | None = None) -> go.Figure:
    """3-D embeddings on a transparent unit sphere, optionally animated over epochs (plotly).

    Parameters
    ----------
    emb3d : array_like or Tensor, (N, 3) float
        Embeddings (normalised onto the unit sphere here).
    labels : array_like or Tensor, (N,) int
        Identity of each embedding, in [0, C); the same for every frame.
    centers : array_like or Tensor, (C, 3) float, optional
        Class centres W (``head.centers``). Default: each class's mean direction.
    frames : sequence or iterable, optional
        One entry per epoch: an (N, 3) embedding array, a tuple ``(embeddings, centers)`` or a mapping
        with keys ``"embeddings"`` and ``"centers"``; a stacked (T, N, 3) array or tensor also works. Adds a play button and an epoch slider; the
        figure first shows ``emb3d`` (usually the last epoch) with the slider at the last frame.
    identities : sequence of str, optional
        Names for the legend and hover (label k -> identities[k]).
    title : str, optional
        The title, e.g. ``head.describe()``.
    frame_labels : sequence of str, optional
        Slider labels; default "epoch 1", "epoch 2", ...

    Returns
    -------
    plotly.graph_objects.Figure
        ``data[0]`` is the sphere surface; then one marker trace per identity (``customdata``: angle to
        the identity's centre in degrees, shown on hover); then one line per centre.

    Raises
    ------
    ValueError
        Shapes that do not match, zero vectors, frames of a different size.
    TypeError
        Labels that are not integers.
    """
    points, y, centres, names, colors = _embedding_inputs(emb3d, labels, centers, identities, "emb3d", 3)
    n = len(centres)

    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 40), np.linspace(0, np.pi, 20))
    sphere = go.Surface(x=np.cos(u) * np.sin(v), y=np.sin(u) * np.sin(v), z=np.cos(v), opacity=0.15,
                        colorscale=[[0, "#c8c8c8"], [1, "#c8c8c8"]], showscale=False, hoverinfo="skip",
                        name="unit sphere")
    fig = go.Figure([sphere, *_sphere_traces(points, y, centres, names, colors)])
    axis = {"range": [-1.3, 1.3], "showbackground": False, "gridcolor": "#e5e5e5", "zerolinecolor": "#bbbbbb"}
    fig.update_layout(
        title={"text": (title or "Embeddings on the unit sphere") + "<br><sup>lines: class centres W; "
               "hover a point for its angle to its centre (degrees)</sup>"},
        scene={"xaxis": {**axis, "title": {"text": "e1"}}, "yaxis": {**axis, "title": {"text": "e2"}},
               "zaxis": {**axis, "title": {"text": "e3"}}, "aspectmode": "cube",
               "camera": {"eye": {"x": 1.35, "y": 1.35, "z": 0.9}}},
        legend={"itemsizing": "constant"}, margin={"l": 0, "r": 0, "t": 60, "b": 0}, height=560)
    # (an animated figure gets a bottom margin in _add_animation, for the slider's labels)
    # list(): a stacked (T, N, 3) array or tensor, or a generator, works like a list of frames
    frames = None if frames is None else list(frames)
    if frames:
        _add_animation(fig, frames, y, centers, n, names, colors, frame_labels)
    return fig


def _add_animation(fig, frames, y, centers, n, names, colors, frame_labels) -> None:
    default_centres = None if centers is None else centers
    labels_text = list(frame_labels) if frame_labels is not None else [f"epoch {i + 1}" for i in range(len(frames))]
    if len(labels_text) != len(frames):
        raise ValueError(f"frame_labels has {len(labels_text)} entries for {len(frames)} frames")
    trace_ids = list(range(1, 1 + 2 * n))  # every trace but the sphere surface
    plotly_frames = []
    for index, (frame, label) in enumerate(zip(frames, labels_text)):
        points, centres = _frame_parts(frame, index, y, default_centres, n)
        plotly_frames.append(go.Frame(data=_sphere_traces(points, y, centres, names, colors), traces=trace_ids,
                                      name=label))
    fig.frames = plotly_frames
    step_args = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "y": 0.0,
                      "xanchor": "left", "yanchor": "top",
                      "buttons": [
                          {"label": "▶ play", "method": "animate",
                           "args": [None, {"frame": {"duration": 400, "redraw": True}, "fromcurrent": False,
                                           "transition": {"duration": 0}}]},
                          {"label": "❚❚ pause", "method": "animate", "args": [[None], step_args]}]}],
        # a bottom margin for the slider and its step labels: without one they are clipped
        margin={"l": 0, "r": 0, "t": 60, "b": 110}, height=640,
        sliders=[{"active": len(plotly_frames) - 1, "x": 0.3, "len": 0.68, "y": 0.0, "yanchor": "top",
                  "currentvalue": {"prefix": ""},
                  "steps": [{"label": f.name, "method": "animate", "args": [[f.name], step_args]}
                            for f in plotly_frames]}])
