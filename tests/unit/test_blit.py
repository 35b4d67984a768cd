"""arcface_viz.blit: a blitted render has the pixels of a full draw, and redraws only what changed.

The reference is matplotlib's own full draw of the same figure (or a widget's full rebuild): the caches
must never show a stale title, tick label or curve.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image

from arcface_viz import blit
from arcface_viz.blit import BlitPanel, overlay_state
from arcface_viz.threshold import threshold_explorer
from arcface_viz.widgets import margin_explorer


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.int16)


def _full_draw(panel: BlitPanel) -> np.ndarray:
    """The panel drawn by matplotlib in one pass, every artist in its z-order."""
    panel.canvas.draw()
    return np.asarray(panel.canvas.buffer_rgba())[..., :3].astype(np.int16)


def _blitted(panel: BlitPanel) -> np.ndarray:
    panel.render()
    return np.asarray(panel.canvas.buffer_rgba())[..., :3].astype(np.int16)


def _scaled_panel(s: float) -> BlitPanel:
    """A panel like the logits one: a curve and y-limits proportional to s, grid, legend, title naming s."""
    panel = BlitPanel((3.5, 2.6))
    theta = np.linspace(0, np.pi, 181)

    def draw(ax):
        ax.plot(theta, s * np.cos(theta), color="grey", label="reference")
        ax.plot(theta, s * np.cos(theta + 0.5), lw=3, color="red", gid="curve", label="selected")
        ax.set_ylim(-1.5 * s, 1.1 * s)
        ax.set_yticks(s * np.array([-1.0, 0.0, 1.0]))
        ax.set_ylabel(f"logit, s = {s:g}")
        ax.set_title(f"s = {s:g}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left")

    panel.lay_out_with(draw)
    panel.rebuild(draw, dynamic=("curve",), overlay=("title", "yaxis"))
    return panel


def test_overlay_state_tells_texts_and_axes_apart():
    assert overlay_state(Text(0, 1, "a")) == overlay_state(Text(0, 1, "a"))
    assert overlay_state(Text(0, 1, "a")) != overlay_state(Text(0, 1, "b"))
    assert overlay_state(Text(0, 1, "a")) != overlay_state(Text(0, 2, "a"))
    panel = _scaled_panel(16.0)
    before = overlay_state(panel.ax.yaxis)
    panel.ax.set_ylim(-32, 32)
    assert overlay_state(panel.ax.yaxis) != before
    with pytest.raises(TypeError, match="overlay artist Line2D: only texts and axes"):
        overlay_state(Line2D([0, 1], [0, 1]))


def test_rebuild_rejects_unknown_gids_and_non_text_overlays():
    panel = BlitPanel((2.0, 2.0))
    with pytest.raises(KeyError, match="no artist with gid 'missing'"):
        panel.rebuild(lambda ax: ax.plot([0, 1], gid="line"), dynamic=("missing",))
    with pytest.raises(TypeError, match="only texts and axes"):
        panel.rebuild(lambda ax: ax.plot([0, 1], gid="line"), overlay=("line",))


def test_first_render_has_the_pixels_of_a_full_draw():
    panel = _scaled_panel(16.0)
    blitted = _blitted(panel)
    np.testing.assert_array_equal(blitted, _full_draw(panel))


def test_a_new_scale_redraws_tick_labels_and_title_but_not_the_background():
    # The logits panel's case: y-limits and ticks proportional to s, so the curves stay where they are on
    # screen and only the texts change. After the change the blitted image equals a full draw.
    panel = _scaled_panel(16.0)
    panel.render()
    background = panel._background
    s = 40.0
    theta = np.linspace(0, np.pi, 181)
    panel.ax.lines[0].set_ydata(s * np.cos(theta))
    panel.artist("curve").set_ydata(s * np.cos(theta + 0.5))
    panel.ax.set_ylim(-1.5 * s, 1.1 * s)
    panel.ax.set_yticks(s * np.array([-1.0, 0.0, 1.0]))
    panel.ax.yaxis.label.set_text(f"logit, s = {s:g}")
    panel.ax.set_title(f"s = {s:g}")
    blitted = _blitted(panel)
    assert panel._background is background  # no full draw
    labels = [label.get_text() for label in panel.ax.get_yticklabels()]
    assert labels == ["−40", "0", "40"]
    difference = np.abs(blitted - _full_draw(panel))
    assert difference.max() <= 2, difference.max()  # float rounding of the rescaled transform at most


def test_an_overlay_is_drawn_only_when_it_changes(monkeypatch):
    panel = _scaled_panel(16.0)
    panel.render()
    drawn = []
    title = panel.ax.title
    original = title.draw
    monkeypatch.setattr(title, "draw", lambda renderer: (drawn.append(title.get_text()), original(renderer)))
    panel.artist("curve").set_ydata(np.zeros(181))
    panel.render()
    assert drawn == []  # only the curve moved: the title comes from the cache
    title.set_text("s = 17")
    blitted = _blitted(panel)
    assert drawn == ["s = 17"]
    np.testing.assert_array_equal(blitted, _full_draw(panel))


def test_grid_lines_stay_under_the_legend():
    # The y axis is an overlay, but its grid lines belong to the background: drawn over the legend they
    # would strike through its labels.
    panel = _scaled_panel(16.0)
    np.testing.assert_array_equal(_blitted(panel), _full_draw(panel))


@pytest.mark.parametrize("control, value", [("s", 40.5), ("s", 1.5), ("m1", 1.2), ("m2", 0.8), ("m3", 0.3),
                                            ("theta", 150.0), ("n_classes", 60)])
def test_margin_explorer_panels_equal_a_full_rebuild(control, value):
    widget = margin_explorer()
    widget.controls["theta"].value = 70.0  # one incremental change first
    widget.controls[control].value = value
    incremental = {name: image.value for name, image in widget.images.items()}
    widget.update("all")  # draws every panel from scratch
    for name, image in widget.images.items():
        difference = np.abs(_pixels(incremental[name]) - _pixels(image.value))
        # JPEG of the same pixels is the same file; allow the rescaled transform's rounding after an s change
        assert difference.max() <= 8 and difference.mean() < 0.01, (name, difference.max(), difference.mean())


def _assert_like_a_full_rebuild(widget) -> None:
    shown = {name: image.value for name, image in widget.images.items()}
    widget.update("all")  # draws the selected loss's panels from scratch
    for name, image in widget.images.items():
        difference = np.abs(_pixels(shown[name]) - _pixels(image.value))
        assert difference.max() <= 8 and difference.mean() < 0.01, (name, difference.max(), difference.mean())


def test_margin_explorer_back_to_a_loss_moves_its_own_panels_like_a_full_rebuild():
    widget = margin_explorer()  # ArcFace
    arcface = dict(widget.figures)
    widget.controls["loss"].value = "cosface"  # first time: its own panels, drawn in full
    assert all(widget.figures[name] is not arcface[name] for name in arcface)
    cosface = dict(widget.figures)
    for control, value in (("s", 40.5), ("theta", 120.0), ("n_classes", 30)):
        widget.controls[control].value = value
    widget.controls["loss"].value = "arcface"  # back: ArcFace's panels, brought up to the new s, θ and C
    assert all(widget.figures[name] is arcface[name] for name in arcface)
    assert widget.figures["boundary"].axes[0].get_title().startswith("ArcFace (s=40.5, m=0.5)")
    _assert_like_a_full_rebuild(widget)
    widget.controls["m2"].value = 0.3  # custom, first time
    widget.controls["s"].value = 8.0
    widget.controls["loss"].value = "cosface"
    assert all(widget.figures[name] is cosface[name] for name in cosface)
    _assert_like_a_full_rebuild(widget)
    widget.controls["m3"].value = 0.1  # custom again, now with CosFace's margins and s = 8
    assert widget.settings["loss"] == "custom"
    _assert_like_a_full_rebuild(widget)


def test_margin_explorer_panels_follow_the_loss_after_invalid_settings():
    widget = margin_explorer()  # ArcFace
    arcface = dict(widget.figures)
    widget.controls["m1"].value = 0.8  # custom, but invalid with m2 = 0.5: the readout says so, nothing drawn
    assert widget.error is not None and widget.settings["loss"] == "custom"
    widget.controls["m1"].value = 1.0  # valid again: custom's own panels, not ArcFace's
    assert widget.error is None and all(widget.figures[name] is not arcface[name] for name in arcface)
    _assert_like_a_full_rebuild(widget)
    widget.controls["loss"].value = "arcface"
    assert all(widget.figures[name] is arcface[name] for name in arcface)
    _assert_like_a_full_rebuild(widget)


def test_threshold_explorer_panels_equal_a_fresh_widget():
    rng = np.random.default_rng(0)
    genuine, impostor = rng.normal(0.55, 0.15, 450), rng.normal(0.05, 0.2, 4500)
    moved = threshold_explorer(genuine, impostor)
    moved.controls["threshold"].value = 0.31
    fresh = threshold_explorer(genuine, impostor, threshold=0.31)
    for name in ("scores", "roc"):
        assert moved.images[name].value == fresh.images[name].value, name


def test_panel_size_follows_the_dpi():
    panel = BlitPanel((5.6, 4.2))
    panel.rebuild(lambda ax: ax.set_title("t"), overlay=("title",))
    assert Image.open(io.BytesIO(panel.render())).size == (round(5.6 * blit.PANEL_DPI), round(4.2 * blit.PANEL_DPI))


def test_an_overlay_note_stays_over_a_moving_line_below_it_in_z_order():
    # The probability panel's NormFace note: a boxed text in the overlay, a probe line passing under it.
    panel = BlitPanel((3.0, 2.4))

    def draw(ax):
        ax.set_xlim(0, 180)
        ax.set_ylim(0, 1)
        ax.axvline(30, color="black", lw=1.5, gid="probe")
        ax.text(0.95, 0.5, "NormFace bound\ns ≥ 3.63", transform=ax.transAxes, ha="right", va="center",
                bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc"}, gid="note")

    panel.rebuild(draw, dynamic=("probe",), overlay=("note",))
    frames = {}
    for x in (30, 150, 160):  # beside the note, then under it
        panel.artist("probe").set_xdata([x, x])
        frames[x] = _blitted(panel)
        difference = np.abs(frames[x] - _full_draw(panel))
        assert difference.max() <= 2, (x, difference.max())  # blending the layer rounds by a level or two
    box = panel.artist("note").get_bbox_patch().get_window_extent(panel.canvas.get_renderer())
    height = panel.canvas.get_width_height()[1]
    rows = slice(round(height - box.y1) + 2, round(height - box.y0) - 2)
    columns = slice(round(box.x0) + 2, round(box.x1) - 2)
    # inside the box, the line under it changes nothing
    np.testing.assert_array_equal(frames[160][rows, columns], frames[30][rows, columns])


def test_an_unchanged_line_of_a_changed_title_is_copied_not_drawn_again():
    panel = BlitPanel((3.5, 2.6))
    panel.rebuild(lambda ax: ax.set_title("ArcFace (s=16, m=0.5)\nbinary decision boundaries"), overlay=("title",))
    panel.render()
    drawn = []
    scratch = panel._layer_renderer._scratch
    original = scratch.draw_text
    scratch.draw_text = lambda gc, x, y, s, *args, **kwargs: (drawn.append(s), original(gc, x, y, s, *args, **kwargs))
    for value in ("16.5", "17", "16.5"):
        panel.ax.title.set_text(f"ArcFace (s={value}, m=0.5)\nbinary decision boundaries")
        assert np.abs(_blitted(panel) - _full_draw(panel)).max() <= 2  # blending twice rounds by a level
    # the second line is drawn once (at the first render) and copied since; the first line each time, also
    # when a value comes back (only the last render's lines are kept)
    assert drawn == ["ArcFace (s=16.5, m=0.5)", "ArcFace (s=17, m=0.5)", "ArcFace (s=16.5, m=0.5)"]


def test_an_axis_rescaled_with_its_ticks_and_labels_is_not_drawn_again():
    # The margin explorer's logits axis: limits and ticks proportional to s, labels in multiples of s.
    panel = BlitPanel((3.0, 2.4))
    scale = {"s": 16.0}

    def draw(ax):
        ax.plot([0, 1], [0, 16], gid="line")
        ax.yaxis.set_major_formatter(lambda value, _: f"{value / scale['s']:g}s")

    panel.rebuild(draw, dynamic=("line",), overlay=("yaxis",))
    for s in (16.0, 40.5):
        scale["s"] = s
        panel.ax.set_ylim(-s, s)
        panel.ax.set_yticks(s * np.array([-1.0, 0.0, 1.0]))
        panel.artist("line").set_ydata([0, s])
        if s == 16.0:
            first = _blitted(panel)
            before = overlay_state(panel.ax.yaxis)
    assert overlay_state(panel.ax.yaxis) == before
    np.testing.assert_array_equal(_blitted(panel), first)  # the same picture: same pixels
    panel.ax.set_yticks(s * np.array([-1.0, 0.5, 1.0]))
    assert overlay_state(panel.ax.yaxis) != before  # a tick moved on screen
