"""Environment check: ``python -m arcface_viz doctor``, and ``check_environment()`` for a lesson's first cell.

It reports the versions the lessons depend on, whether Chromium (browser tests) and the real faces
are found, and warns about the cause of blank widgets in public reports: a kernel whose ipywidgets
major does not match the jupyterlab_widgets major that JupyterLab serves (ipywidgets 8 needs
jupyterlab_widgets 3, ipywidgets 7 needs jupyterlab_widgets 1). The facts come from pure functions
that take their sources as arguments, so the tests can feed fake versions.
"""
from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PACKAGES",
    "WIDGET_PAIRS",
    "EnvironmentReport",
    "check_environment",
    "find_chromium",
    "format_report",
    "package_versions",
    "widget_extension",
    "widget_warnings",
]

#: Distributions whose versions the report lists (their names on PyPI).
PACKAGES = ("torch", "ipywidgets", "jupyterlab_widgets", "plotly", "jupyterlab")

#: jupyterlab_widgets major needed by each ipywidgets major (ipywidgets' installation notes: the kernel
#: package and the JupyterLab extension speak one widget protocol version; 8 with 3, 7 with 1).
WIDGET_PAIRS = {7: 1, 8: 3}

#: Where the browser tests look for Chromium: Debian's package first, then the PATH.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

#: The JupyterLab extension that jupyterlab_widgets installs (its folder under ``labextensions``).
WIDGET_EXTENSION = Path("@jupyter-widgets") / "jupyterlab-manager"


@dataclass(frozen=True)
class EnvironmentReport:
    """Facts about this Python environment; ``str(report)`` is the formatted report.

    The constructor arguments are also the attributes; :func:`check_environment` builds it.

    Parameters
    ----------
    python : str
        Python version and executable.
    versions : dict of str to str or None
        Installed version of each of ``PACKAGES`` (None: not installed).
    widget_extension : tuple (version, folder) or None
        The widgets' JupyterLab extension found on Jupyter's data path.
    chromium : str or None
        Path of a Chromium executable.
    att_faces : Path or None
        The AT&T folder, if found.
    olivetti : Path or None
        The Olivetti cache folder of scikit-learn, if found.
    warnings : tuple of str, default ()
        Problems that break the lessons, each with its fix.
    """

    python: str
    versions: dict[str, str | None]
    widget_extension: tuple[str, str] | None
    chromium: str | None
    att_faces: Path | None
    olivetti: Path | None
    warnings: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return format_report(self)


def _installed_version(name: str) -> str:
    return importlib.metadata.version(name)


def package_versions(
    names: Iterable[str] = PACKAGES, version: Callable[[str], str] = _installed_version
) -> dict[str, str | None]:
    """Installed version of each distribution, None where it is not installed.

    Parameters
    ----------
    names : iterable of str
        Distribution names, e.g. ``PACKAGES``.
    version : callable, default importlib.metadata.version
        Returns a version string or raises ``importlib.metadata.PackageNotFoundError``.

    Returns
    -------
    dict of str to str or None
        Distribution name to its version, None where it is not installed.
    """
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _major(version: str | None) -> int | None:
    """Leading integer of a version string ("8.1.9" -> 8), None when there is none."""
    if not version:
        return None
    head = version.split(".")[0]
    return int(head) if head.isdigit() else None


def widget_warnings(ipywidgets: str | None, jupyterlab_widgets: str | None) -> list[str]:
    """Warnings about the ipywidgets / jupyterlab_widgets pair; empty when the majors match.

    Parameters
    ----------
    ipywidgets : str or None
        The kernel's ipywidgets version (None: not installed).
    jupyterlab_widgets : str or None
        The jupyterlab_widgets version JupyterLab serves (None: not installed).

    Returns
    -------
    list of str
        Each warning says what breaks and what to install.

    Examples
    --------
    >>> from arcface_viz.doctor import widget_warnings
    >>> widget_warnings("8.1.5", "3.0.13")
    []
    >>> print(widget_warnings("8.1.5", "1.1.7")[0][:66])
    ipywidgets 8.1.5 (major 8) needs jupyterlab_widgets 3.x, but jupyt
    """
    if ipywidgets is None:
        return ["ipywidgets is not installed in this Python: the explorers and the training lab need it; "
                "run `make install` (or pip install 'ipywidgets>=8.1,<9')"]
    kernel_major = _major(ipywidgets)
    needed = WIDGET_PAIRS.get(kernel_major)
    if needed is None:
        return [f"ipywidgets {ipywidgets}: this project is tested with ipywidgets 8 (and jupyterlab_widgets 3); "
                "install 'ipywidgets>=8.1,<9' and 'jupyterlab_widgets>=3,<4'"]
    if jupyterlab_widgets is None:
        return [f"jupyterlab_widgets is not installed here: if JupyterLab runs from this Python, widgets show "
                f"no output; install 'jupyterlab_widgets>={needed},<{needed + 1}' where JupyterLab runs"]
    server_major = _major(jupyterlab_widgets)
    if server_major != needed:
        return [f"ipywidgets {ipywidgets} (major {kernel_major}) needs jupyterlab_widgets {needed}.x, but "
                f"jupyterlab_widgets {jupyterlab_widgets} is installed: widgets will stay blank or show "
                f"'Error displaying widget'. Install 'jupyterlab_widgets>={needed},<{needed + 1}' where JupyterLab "
                "runs, then restart JupyterLab and reload the page"]
    return []


def find_chromium(
    candidates: Sequence[str] = CHROMIUM_CANDIDATES, which: Callable[[str], str | None] = shutil.which
) -> str | None:
    """Path of the first Chromium found (absolute candidates must be executable files), or None.

    Parameters
    ----------
    candidates : sequence of str, default CHROMIUM_CANDIDATES
        Absolute paths or command names, tried in order.
    which : callable, default shutil.which
        Resolves a candidate to an executable path, or None.

    Returns
    -------
    str or None
        The first path ``which`` resolves.

    Examples
    --------
    >>> find_chromium(["chromium", "chromium-browser"], which=lambda name: None)  # none found
    >>> find_chromium(["chromium"], which=lambda name: "/opt/" + name)
    '/opt/chromium'
    """
    for candidate in candidates:
        found = which(candidate)
        if found:
            return found
    return None


def _jupyter_labextension_dirs() -> list[str]:
    from jupyter_core.paths import jupyter_path

    return jupyter_path("labextensions")


def widget_extension(folders: Iterable[str | Path] | None = None) -> tuple[str, str] | None:
    """(version, folder) of the first widgets JupyterLab extension on Jupyter's data path, or None.

    Parameters
    ----------
    folders : iterable of path, optional
        ``labextensions`` folders to search; default ``jupyter_core.paths.jupyter_path("labextensions")``,
        as seen from this Python (a JupyterLab run from another environment has its own).

    Returns
    -------
    tuple of str or None
        ``(version, folder)`` read from ``@jupyter-widgets/jupyterlab-manager/package.json``; None
        when no folder has a readable one (or jupyter_core is missing).
    """
    if folders is None:
        try:
            folders = _jupyter_labextension_dirs()
        except ImportError:
            return None
    for folder in folders:
        package = Path(folder) / WIDGET_EXTENSION / "package.json"
        try:
            return str(json.loads(package.read_text())["version"]), str(folder)
        except (OSError, ValueError, KeyError):
            continue
    return None


def _find_faces() -> tuple[Path | None, Path | None]:
    """The AT&T folder and the Olivetti cache folder, as the lessons and compare find them."""
    from .faces import OLIVETTI_HOME, find_real_faces

    att = find_real_faces("att", warn=False)
    olivetti = find_real_faces("olivetti", warn=False)
    return (None if att is None else att / "att_faces"), (None if olivetti is None else olivetti / OLIVETTI_HOME)


def check_environment(
    *,
    version: Callable[[str], str] = _installed_version,
    which: Callable[[str], str | None] = shutil.which,
    extension_folders: Iterable[str | Path] | None = None,
    find_faces: Callable[[], tuple[Path | None, Path | None]] = _find_faces,
) -> EnvironmentReport:
    """Collect the facts about this environment; ``print()`` the result for a readable report.

    Parameters
    ----------
    version : callable, optional
        Version of a distribution by name (default ``importlib.metadata.version``).
    which : callable, optional
        Path of an executable by name, or None (default ``shutil.which``).
    extension_folders : iterable of path, optional
        Where to look for the widgets' JupyterLab extension (default Jupyter's data path).
    find_faces : callable, optional
        Returns the AT&T folder and the Olivetti cache folder, or None for each (default: as the
        lessons find them).

    Returns
    -------
    EnvironmentReport
        The facts, with the warnings about missing or mismatched packages.

    Examples
    --------
    >>> from arcface_viz.doctor import check_environment
    >>> print(check_environment())  # doctest: +SKIP
    arcface-viz environment check
      Python              3.11.2 (/usr/bin/python3)
      torch               2.13.0+cpu
      ...
    """
    versions = package_versions(PACKAGES, version)
    problems = widget_warnings(versions["ipywidgets"], versions["jupyterlab_widgets"])
    for name in ("torch", "plotly", "jupyterlab"):
        if versions[name] is None:
            problems.append(f"{name} is not installed in this Python: run `make install` (or pip install -e .)")
    att, olivetti = find_faces()
    return EnvironmentReport(
        python=f"{platform.python_version()} ({sys.executable})",
        versions=versions,
        widget_extension=widget_extension(extension_folders),
        chromium=find_chromium(CHROMIUM_CANDIDATES, which),
        att_faces=att,
        olivetti=olivetti,
        warnings=tuple(problems),
    )


def format_report(report: EnvironmentReport) -> str:
    """The report as aligned text lines, warnings last (or a line saying the widget pair matches).

    Parameters
    ----------
    report : EnvironmentReport
        The facts, from :func:`check_environment`.

    Returns
    -------
    str
        The report, one fact per line.
    """
    rows = [("Python", report.python)]
    rows += [(name, version or "not installed") for name, version in report.versions.items()]
    extension = report.widget_extension
    rows.append(("widgets extension", f"{WIDGET_EXTENSION.as_posix()} {extension[0]} in {extension[1]}"
                 if extension else "not found on this Python's Jupyter path"))
    rows.append(("Chromium", report.chromium or "not found (only the browser tests need it; they skip without it)"))
    missing = "not found (lessons use toy faces instead; see data/README.md)"
    rows.append(("AT&T faces", str(report.att_faces) if report.att_faces else missing))
    rows.append(("Olivetti faces", str(report.olivetti) if report.olivetti else
                 "not found (`python -m arcface_viz compare --data olivetti` downloads them)"))
    width = max(len(name) for name, _ in rows)
    lines = ["arcface-viz environment check"] + [f"  {name:<{width}}  {value}" for name, value in rows]
    if report.warnings:
        lines += [f"WARNING: {text}" for text in report.warnings]
    else:
        kernel, server = (_major(report.versions.get(n)) for n in ("ipywidgets", "jupyterlab_widgets"))
        lines.append(f"OK: ipywidgets {kernel} and jupyterlab_widgets {server} match. If JupyterLab runs from "
                     "another environment, run `python -m arcface_viz doctor` there too.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line
def register(subparsers) -> None:
    """Add the ``doctor`` subcommand to the CLI."""
    parser = subparsers.add_parser(
        "doctor", help="check versions, widgets, Chromium and the real faces",
        description="Print the versions the lessons depend on, whether Chromium and the real faces are found, "
                    "and warn when ipywidgets and jupyterlab_widgets do not match (blank widgets). "
                    "Exit code 1 when there is a warning.",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    """Print the report; 1 when it has warnings, else 0."""
    report = check_environment()
    print(report)
    return 1 if report.warnings else 0
