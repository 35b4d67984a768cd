"""Shared fixtures: where the real faces are, and a headless matplotlib."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def real_data_root() -> Path | None:
    """The folder holding ``att_faces/`` and ``olivetti/``, or None when it is not on this machine."""
    candidates = [os.environ.get("ARCFACE_VIZ_DATA"), ROOT / "data", ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "att_faces").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def real_data() -> Path:
    root = real_data_root()
    if root is None:
        pytest.skip(
            "real faces not found: set ARCFACE_VIZ_DATA to a folder holding att_faces/ and olivetti/ "
            "(see data/README.md)"
        )
    return root


@pytest.fixture(scope="session")
def att_dir(real_data: Path) -> Path:
    return real_data / "att_faces"


@pytest.fixture(scope="session")
def olivetti_home(real_data: Path) -> Path:
    home = real_data / "olivetti" / "sklearn_data_home"
    if not (home / "olivetti_py3.pkz").is_file():
        pytest.skip(f"no scikit-learn Olivetti cache at {home}")
    return home
