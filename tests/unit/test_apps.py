"""The Voilà apps under apps/ are committed clean and only call the package."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT
from tests.unit.test_notebook_hygiene import problems

APPS = sorted((ROOT / "apps").glob("*.ipynb"))


def test_both_explorers_are_apps():
    assert [p.name for p in APPS] == ["margin_explorer.ipynb", "training_lab.ipynb"]


@pytest.mark.parametrize("path", APPS, ids=lambda p: p.name)
def test_app_notebook_is_committed_clean_and_thin(path: Path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert problems(nb) == []
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and "arcface_viz" in code[0], "an app is one cell that calls the package"
