"""Run the Examples sections of the package's docstrings as doctests.

``make test`` collects this file like any other test, so the examples in the docstrings stay true:
each one is deterministic (seeded or hand-made data), CPU only, offline and well under a second.
The modules are listed explicitly rather than through ``--doctest-modules`` so that importing a
module for its doctests never depends on pytest's collection of the notebooks and browser tests.
"""
from __future__ import annotations

import doctest
import importlib

import pytest

#: Modules whose docstrings carry examples.
MODULES = [
    "arcface_viz.losses",
    "arcface_viz._validation",
    "arcface_viz.experiment",
    "arcface_viz.faces.dataset",
    "arcface_viz.faces.generate",
    "arcface_viz.faces.real",
    "arcface_viz.faces.sdf",
    "arcface_viz.faces.splits",
    "arcface_viz.faces.toy",
    "arcface_viz.models",
    "arcface_viz.heads",
    "arcface_viz.metrics",
    "arcface_viz.plots.colors",
    "arcface_viz.report",
    "arcface_viz.explorer",
    "arcface_viz.plots.embeddings",
    "arcface_viz.plots.margins",
    "arcface_viz.doctor",
    "arcface_viz.compare",
    "arcface_viz.widgets",
    "arcface_viz.i18n",
    "arcface_viz.blit",
    "arcface_viz.runtime",
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(module_name: str) -> None:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in finder.find(module) if t.examples]
    assert tests, f"{module_name} has no examples; drop it from MODULES or add some"
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)  # the runner writes only what failed
    failures, attempted = runner.summarize(verbose=False)
    if failures:
        pytest.fail(f"{failures} of {attempted} doctest examples failed in {module_name}:\n" + "".join(report))
