"""Fast re-rendering of one matplotlib panel for a slider: a cached background plus the artists that move.

A widget's panel (the margin explorer's three, lesson 6's two) is drawn in full once. After that, each
slider change redraws only what it moved and sends the panel to the browser as a JPEG:

- the **background** (axes, grid, legend, reference curves) is drawn once and cached as pixels;
- **dynamic** artists (curves, markers, images) are drawn over it at every render;
- **overlay** artists (titles, notes, labels, an axis's tick labels and label) are each rendered once per
  look into a transparent layer, which every render blends in at the artist's z-order. Text is the
  largest cost of a change -- matplotlib 3.11 draws it glyph by glyph, about 5 ms per two-line title
  here -- so an overlay is drawn again only when its text, position, limits or ticks change.

benchmarks/bench_widgets.py and benchmarks/bench_browser_sliders.py measure what this buys.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

#: Dots per inch of the widgets' panels: a 5.6-inch panel is 448 pixels wide.
PANEL_DPI = 80
#: Names that :meth:`BlitPanel.artist` resolves to a part of the axes rather than to an artist's gid.
AXES_PARTS = ("title", "xaxis", "yaxis")


def overlay_state(artist: Artist) -> tuple:
    """What an overlay artist looks like, as a comparable value: when it changes, the artist is redrawn.

    Parameters
    ----------
    artist : matplotlib.text.Text or matplotlib.axis.Axis
        A text (title, label, note) or an axis (its ticks, tick labels and label).

    Returns
    -------
    tuple
        For a text: visibility, string, position (as given and in display pixels) and colour. For
        an axis: visibility, where its major ticks fall on the screen (pixels, rounded to 0.001),
        their labels and the axis label's string -- an axis rescaled together with its ticks,
        labelled the same, looks the same and is not drawn again.

    Raises
    ------
    TypeError
        Any other artist: its looks cannot be compared cheaply; make it a dynamic artist.

    Examples
    --------
    >>> from matplotlib.text import Text
    >>> overlay_state(Text(0.5, 1.0, "s = 16")) == overlay_state(Text(0.5, 1.0, "s = 16"))
    True
    >>> overlay_state(Text(0.5, 1.0, "s = 16")) == overlay_state(Text(0.5, 1.0, "s = 16.5"))
    False
    """
    if isinstance(artist, Text):
        position = artist.get_position()
        return ("text", artist.get_visible(), artist.get_text(), tuple(position),
                tuple(artist.get_transform().transform(position)), str(artist.get_color()))
    if isinstance(artist, Axis):
        low, high = sorted(artist.get_view_interval())
        locs = [loc for loc in artist.get_majorticklocs() if low <= loc <= high]
        column = 0 if artist.axis_name == "x" else 1
        points = np.zeros((len(locs), 2))
        points[:, column] = locs
        on_screen = artist.axes.transData.transform(points)[:, column] if locs else []
        # rounded: a rescaled axis whose ticks stay put on screen (float noise) is the same axis
        return ("axis", artist.get_visible(), tuple(round(float(v), 3) for v in on_screen),
                tuple(artist.major.formatter.format_ticks(locs)), artist.label.get_text())
    raise TypeError(f"overlay artist {type(artist).__name__}: only texts and axes can be overlay artists; "
                    "list it among the dynamic artists instead")


class BlitPanel:
    """One matplotlib panel drawn in full once, then re-rendered from caches as its artists move.

    Parameters
    ----------
    figsize : tuple of float
        (width, height) in inches; the image is ``figsize * dpi`` pixels.
    dpi : int, default PANEL_DPI
        Dots per inch.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The panel's figure (constrained layout until :meth:`lay_out_with` or the first :meth:`rebuild`
        fixes the axes position).
    canvas : matplotlib.backends.backend_agg.FigureCanvasAgg
        Its Agg canvas; after :meth:`render` it holds the pixels of the returned image.
    ax : matplotlib.axes.Axes
        The single axes.
    dynamic : list of matplotlib.artist.Artist
        Artists redrawn at every render.
    overlay : list of matplotlib.artist.Artist
        Texts and axes rendered again only when :func:`overlay_state` changes.

    Examples
    --------
    >>> panel = BlitPanel((3.0, 2.0))
    >>> def draw(ax):
    ...     ax.plot([0, 1], [0, 1], gid="curve")
    ...     ax.set_title("slope 1")
    >>> panel.rebuild(draw, dynamic=("curve",), overlay=("title",))
    >>> panel.render()[:2]  # a JPEG
    b'\\xff\\xd8'
    >>> panel.artist("curve").set_ydata([0, 0.5])
    >>> panel.ax.title.set_text("slope 0.5")
    >>> len(panel.render()) > 1000
    True
    """

    def __init__(self, figsize: tuple[float, float], dpi: int = PANEL_DPI):
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax: Axes = self.figure.add_subplot()
        self.dynamic: list[Artist] = []
        self.overlay: list[Artist] = []
        self._background = None
        self._layers: dict[int, tuple[tuple, int, int, np.ndarray]] = {}  # id(artist) -> state, x, y, RGBA
        self._layer_renderer: _LineReusingRenderer | None = None  # the transparent canvas of the layers
        self._laid_out = False

    def rebuild(self, draw: Callable[[Axes], object], dynamic: Sequence[str] = (),
                overlay: Sequence[str] = ()) -> None:
        """Clear the axes and draw them again with ``draw(ax)``; the next render draws everything.

        Parameters
        ----------
        draw : callable
            ``draw(ax)`` draws the panel into the (cleared) axes, e.g. a ``plot_*`` function.
        dynamic : sequence of str
            Artists that later changes move (curves, markers, images): their gids, or a name of
            :data:`AXES_PARTS`. They are redrawn at every render.
        overlay : sequence of str
            Texts and axes that change less often than the dynamic artists, or never (titles, tick
            labels, notes, labels over a changing image): gids or names of :data:`AXES_PARTS`. Each is
            rendered again only when it changes, and blended in at its z-order.

        Raises
        ------
        KeyError
            A name that is neither a gid in the axes nor one of :data:`AXES_PARTS`.
        TypeError
            An overlay artist that is not a text or an axis.
        """
        self.ax.clear()
        draw(self.ax)
        if not self._laid_out:
            self.lay_out_with(lambda ax: None)
        self.dynamic = [self.artist(name) for name in dynamic]
        self.overlay = [self.artist(name) for name in overlay]
        for artist in self.overlay:
            overlay_state(artist)  # raises early for an artist that cannot be an overlay
        self.invalidate()

    def lay_out_with(self, draw: Callable[[Axes], object]) -> None:
        """Fix the axes position from one constrained layout of what ``draw(ax)`` adds.

        Constrained layout costs ~100 ms per draw; the position it finds survives ``ax.clear()``. Lay
        out with the widest content a slider can give (e.g. the longest tick labels), so that no later
        value pushes a label out of the image.

        Parameters
        ----------
        draw : callable
            ``draw(ax)`` adds the content to lay out for (the caller clears the axes afterwards if
            needed).
        """
        draw(self.ax)
        self.canvas.draw()
        self.figure.set_layout_engine("none")
        self._laid_out = True

    def invalidate(self) -> None:
        """Draw everything again at the next render (after a change to a static artist or the axes)."""
        self._background = None
        self._layers = {}

    def artist(self, name: str) -> Artist:
        """The artist of this panel with gid ``name``, or the axes' title, x axis or y axis.

        Parameters
        ----------
        name : str
            A gid (set by the plot functions) or one of :data:`AXES_PARTS`.

        Returns
        -------
        matplotlib.artist.Artist
            The artist.

        Raises
        ------
        KeyError
            No artist of the axes has that gid.
        """
        if name in AXES_PARTS:
            return getattr(self.ax, name)
        for child in self.ax.get_children():
            if child.get_gid() == name:
                return child
        raise KeyError(f"no artist with gid {name!r} in this panel; gids are set by the plot functions")

    def render(self) -> bytes:
        """JPEG of the panel: the cached background, then dynamic artists and overlay layers in z-order.

        Returns
        -------
        bytes
            The JPEG file's content (quality 92 without chroma subsampling: text stays crisp; ~1 ms to
            encode against ~13 ms for a PNG of the same panel).
        """
        renderer = self.canvas.get_renderer()
        if self._layer_renderer is not None:
            self._layer_renderer.next_render()
        if self._background is None:
            in_overlay = [part for artist in self.overlay for part in _overlay_parts(artist)[0]]
            # An axes moves a hidden title far up while drawing; keep where the title was.
            title_position = self.ax.title.get_position()
            with _hidden(self.dynamic + in_overlay):
                self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self.ax.title.set_position(title_position)
        else:
            self.canvas.restore_region(self._background)
        layers = [(artist.get_zorder(), 0, artist) for artist in self.dynamic]
        layers += [(artist.get_zorder(), 1, artist) for artist in self.overlay]
        gc = renderer.new_gc()
        for _, is_overlay, artist in sorted(layers, key=lambda layer: layer[:2]):
            if is_overlay:
                _, x, y, rgba = self._layer(artist)
                if rgba.size:
                    renderer.draw_image(gc, x, y, rgba)
            else:
                artist.draw(renderer)
        gc.restore()
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="jpeg", quality=92, subsampling=0)
        return buffer.getvalue()

    def _layer(self, artist: Artist) -> tuple[tuple, int, int, np.ndarray]:
        """(state, x, y, RGBA pixels) of an overlay artist drawn alone on a transparent canvas, cropped to
        what it paints; (x, y) is the crop's lower left corner in display pixels. Cached until it changes."""
        state = overlay_state(artist)
        cached = self._layers.get(id(artist))
        if cached is not None and cached[0] == state:
            return cached
        width, height = self.canvas.get_width_height()
        if self._layer_renderer is None:
            self._layer_renderer = _LineReusingRenderer(width, height, self.figure.dpi)
        layer = self._layer_renderer
        layer.clear()
        # An axis's grid lines and tick marks are in the background (under the curves and the legend);
        # its layer holds the tick labels and the label only.
        with _hidden(_overlay_parts(artist)[1]):
            artist.draw(layer)
        cached = (state, *_crop(np.asarray(layer.buffer_rgba())))
        self._layers[id(artist)] = cached
        return cached


class _LineReusingRenderer(RendererAgg):
    """A transparent Agg canvas that reuses the pixels of a text line drawn unchanged at the last render.

    A title such as "ArcFace (s=16, m=0.5)\nbinary decision boundaries (grey: margin)" changes in its
    first line only; its second line, drawn at the same place with the same font, is copied instead of
    drawn glyph by glyph again. Only lines of the current and the previous render are kept, so a value
    that comes back later (a slider moved right, then left) is drawn again like any new one.
    """

    def __init__(self, width: int, height: int, dpi: float):
        super().__init__(width, height, dpi)
        self._scratch = RendererAgg(width, height, dpi)
        self._previous: dict[tuple, tuple[int, int, np.ndarray]] = {}
        self._current: dict[tuple, tuple[int, int, np.ndarray]] = {}

    def next_render(self) -> None:
        """Forget the lines of the render before the last one."""
        self._previous, self._current = self._current, {}

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        # docstring inherited
        clip = gc.get_clip_rectangle()
        if gc.get_clip_path()[0] is not None or gc.get_hatch() is not None:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        key = (s, prop, float(x), float(y), float(angle), ismath, tuple(gc.get_rgb()), gc.get_alpha(),
               gc.get_antialiased(), None if clip is None else tuple(clip.bounds))
        line = self._current.get(key) or self._previous.get(key)
        if line is None:
            self._scratch.clear()
            self._scratch.draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            line = _crop(np.asarray(self._scratch.buffer_rgba()))
        self._current[key] = line
        left, bottom, rgba = line
        if rgba.size:
            self.draw_image(gc, left, bottom, rgba)


def _crop(rgba: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(x, y, pixels) of the painted part of a transparent canvas's buffer (rows top down); (x, y) is its
    lower left corner in display pixels and the pixels are bottom up, as ``draw_image`` takes them."""
    rows = np.flatnonzero(rgba[..., 3].any(axis=1))
    if rows.size == 0:
        return 0, 0, np.zeros((0, 0, 4), np.uint8)
    columns = np.flatnonzero(rgba[..., 3].any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    return int(left), int(rgba.shape[0] - bottom), rgba[top:bottom, left:right][::-1].copy()


def _overlay_parts(artist: Artist) -> tuple[list[Artist], list[Artist]]:
    """(parts the overlay draws, parts left in the background) of an overlay artist."""
    if not isinstance(artist, Axis):
        return [artist], []
    ticks = artist.get_major_ticks() + artist.get_minor_ticks()
    texts = [label for tick in ticks for label in (tick.label1, tick.label2)] + [artist.label, artist.offsetText]
    lines = [line for tick in ticks for line in (tick.gridline, tick.tick1line, tick.tick2line)]
    return texts, lines


@contextmanager
def _hidden(artists: Sequence[Artist]) -> Iterator[None]:
    """Hide ``artists`` for a draw, then give each back the visibility it had."""
    visible = [artist.get_visible() for artist in artists]
    for artist in artists:
        artist.set_visible(False)
    try:
        yield
    finally:
        for artist, was in zip(artists, visible):
            artist.set_visible(was)
