"""Exit 0 when the active Python already has this project and every dependency it declares.

`make` calls this to decide whether an install is needed, so that a ready environment starts in
a second and a new one installs once.
"""
from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def missing() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    problems = []
    for spec in wanted:
        req = Requirement(spec)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name} is not installed")
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name} {version} does not satisfy {req.specifier}")
    try:
        import arcface_viz
    except ImportError:
        problems.append("arcface_viz is not installed")
    else:
        if Path(arcface_viz.__file__).resolve().parents[1] != ROOT:
            problems.append(f"arcface_viz is imported from {arcface_viz.__file__}, not this checkout")
    return problems


if __name__ == "__main__":
    found = missing()
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
