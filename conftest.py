"""Options of optional pytest plugins, set only where the plugin runs.

nbval's cell timeout used to sit in pyproject's addopts, so a machine without nbval (e.g. someone who
only wants ``pytest tests/unit``) stopped at "unrecognized arguments: --nbval-cell-timeout" before
running a single test. It is set here instead, when nbval is loaded.
"""
from __future__ import annotations

#: Seconds a notebook cell may run under nbval before it fails. A lesson should take under 2
#: minutes in all; the rest is room for a busy machine. ``--nbval-cell-timeout=N`` overrides it.
NBVAL_CELL_TIMEOUT = 600.0


def pytest_configure(config) -> None:
    if not config.pluginmanager.hasplugin("nbval"):
        return
    given = any(str(arg).startswith("--nbval-cell-timeout") for arg in config.invocation_params.args)
    if not given:
        config.option.nbval_cell_timeout = NBVAL_CELL_TIMEOUT
