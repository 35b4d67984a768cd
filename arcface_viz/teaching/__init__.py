"""Teacher tooling: the assignment checks and the nbgrader course commands.

- :mod:`arcface_viz.teaching.checks` -- the checks the assignments' graded cells call on a student's functions
- :mod:`arcface_viz.teaching.assignments` -- ``python -m arcface_viz assignments release|grade``
  (``make release``, ``make grade NB=...``): thin wrappers over nbgrader's API for the course in
  ``notebooks/assignments/``

Kept apart from the lessons' package: a student's notebook imports only ``checks``; nothing in the
rest of :mod:`arcface_viz` imports this sub-package.
"""
