"""Plotly renderer choice for offline use (no CDN anywhere).

Inside a Jupyter kernel plotly (>= 6) picks the ``plotly_mimetype`` renderer: JupyterLab draws the
figure JSON with the jupyterlab-plotly extension that ships with the plotly package, offline.
That output is invisible in an nbconvert HTML export, and plotly's ``notebook_connected`` renderer
would load plotly.js from a CDN. ``plotly_mimetype+notebook`` adds an HTML output whose page
embeds plotly.js itself (about 4.7 MB once per notebook), so the exported HTML works offline too.
"""
from __future__ import annotations

import plotly.io as pio

OFFLINE_HTML_RENDERER = "plotly_mimetype+notebook"


def use_offline_html_renderer() -> str:
    """Make plotly figures render in JupyterLab *and* in offline nbconvert HTML exports.

    Returns
    -------
    str
        The previous default renderer, to restore with ``plotly.io.renderers.default = previous``.
    """
    previous = pio.renderers.default
    pio.renderers.default = OFFLINE_HTML_RENDERER
    return previous
