"""arcface-viz: interactive, tested lessons on the ArcFace loss (Deng et al., CVPR 2019).

Modules, in the order data flows through them:

- :mod:`arcface_viz.faces` -- toy faces, real-face loaders, identity-disjoint splits, pairs
- :mod:`arcface_viz.models` -- a small CNN that maps a face to an embedding
- :mod:`arcface_viz.heads` -- softmax and the margin heads (NormFace ... ArcFace, sub-center)
- :mod:`arcface_viz.training` -- ``fit``, ``embed``, ``save``/``load``
- :mod:`arcface_viz.metrics` -- angle statistics, verification (ROC, TAR@FAR, EER), rank-1
- :mod:`arcface_viz.plots` -- figures (pure functions returning matplotlib/plotly figures)
- :mod:`arcface_viz.widgets` -- ipywidgets apps wired to those pure functions
"""

__version__ = "0.1.0"
