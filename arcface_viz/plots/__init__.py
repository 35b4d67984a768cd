"""Figures for the lessons: pure functions that take arrays/results and return a figure.

Matplotlib figures (``matplotlib.figure.Figure``, not registered with pyplot, so a notebook shows a
returned figure once) for the static, projectable plots; plotly for the 3-D sphere. Identity k has
the colour ``identity_colors(n)[k]`` in every figure. Angles: radians in arguments, degrees on axes.

Plotly offline: in JupyterLab plotly's default renderer inside a kernel is ``plotly_mimetype``,
drawn by the bundled jupyterlab-plotly extension -- no CDN. For notebooks exported to HTML with
nbconvert, call :func:`use_offline_html_renderer` first so the exported page embeds plotly.js.
"""
from ._common import plain_log_axis
from .colors import LOSS_COLORS, MARGIN_COLOR, identity_colors, loss_color, series_styles
from .embeddings import angles_to_centers, plot_circle_embeddings, plot_sphere_embeddings
from .evaluation import plot_angle_histograms, plot_roc, plot_training_history
from .faces import plot_face_grid
from .margins import (fallback_jump, mark_fallback_jump, plot_decision_boundaries, plot_probability_vs_angle,
                      plot_target_logits, update_decision_boundaries, update_probability_vs_angle,
                      update_target_logits)
from .renderer import use_offline_html_renderer
from .robustness import plot_drops, plot_norm_vs_quality, plot_nuisance_sweep

__all__ = [
    "LOSS_COLORS",
    "MARGIN_COLOR",
    "angles_to_centers",
    "fallback_jump",
    "identity_colors",
    "loss_color",
    "mark_fallback_jump",
    "plain_log_axis",
    "plot_angle_histograms",
    "plot_circle_embeddings",
    "plot_decision_boundaries",
    "plot_drops",
    "plot_face_grid",
    "plot_norm_vs_quality",
    "plot_nuisance_sweep",
    "plot_probability_vs_angle",
    "plot_roc",
    "plot_sphere_embeddings",
    "plot_target_logits",
    "plot_training_history",
    "series_styles",
    "update_decision_boundaries",
    "update_probability_vs_angle",
    "update_target_logits",
    "use_offline_html_renderer",
]
