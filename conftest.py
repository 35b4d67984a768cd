"""Options of optional pytest plugins, set only where the plugin runs, and which notebooks a run collects.

nbval's cell timeout used to sit in pyproject's addopts, so a machine without nbval (e.g. someone who
only wants ``pytest tests/unit``) stopped at "unrecognized arguments: --nbval-cell-timeout" before
running a single test. It is set here instead, when nbval is loaded.
"""
from __future__ import annotations

from pathlib import Path

#: The Chinese lessons: run under nbval only when named on the command line (``make test-zh``), never by a
#: run that reaches them through ``notebooks/`` (``make test``, ``make test-notebooks``): twice the lessons would
#: double the suite's time (issue 15: the whole suite should stay within about 10 minutes on 2 cores).
#: ``tests/unit/test_zh_edition.py``, which every run collects, keeps them identical to the English code.
ZH_LESSONS = Path(__file__).resolve().parent / "notebooks" / "zh"

#: Seconds a notebook cell may run under nbval before it fails. A lesson should take under 2
#: minutes in all; the rest is room for a busy machine. ``--nbval-cell-timeout=N`` overrides it.
NBVAL_CELL_TIMEOUT = 600.0


def pytest_configure(config) -> None:
    if not config.pluginmanager.hasplugin("nbval"):
        return
    given = any(str(arg).startswith("--nbval-cell-timeout") for arg in config.invocation_params.args)
    if not given:
        config.option.nbval_cell_timeout = NBVAL_CELL_TIMEOUT


def _named_on_command_line(config, path: Path) -> bool:
    """True when a command-line argument is ``path`` or lies inside it (``pytest notebooks/zh/04_x.ipynb``)."""
    for arg in config.args:
        given = (config.invocation_params.dir / str(arg).split("::")[0]).resolve()
        if given == path or path in given.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """Leave notebooks/zh out of a run that did not name it (see :data:`ZH_LESSONS`)."""
    path = Path(collection_path).resolve()
    if path == ZH_LESSONS and not _named_on_command_line(config, ZH_LESSONS):
        return True
    return None
