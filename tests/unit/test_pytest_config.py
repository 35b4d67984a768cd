"""pytest's own configuration: runs without optional plugins, sets their options where they run."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

PROBE = textwrap.dedent('''
    def pytest_sessionstart(session):
        print("nbval_cell_timeout =", getattr(session.config.option, "nbval_cell_timeout", "absent"))
''')


def _pytest(*args: str, tmp_path) -> subprocess.CompletedProcess:
    (tmp_path / "timeout_probe.py").write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "timeout_probe",
                           "--collect-only", "-q", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_unit_tests_run_without_nbval(tmp_path):
    # -p no:nbval stands for a machine without nbval installed
    run = _pytest("-p", "no:nbval", "tests/unit/test_environment.py", tmp_path=tmp_path)
    assert "unrecognized arguments" not in run.stderr, run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test_environment_yml_matches_pyproject" in run.stdout
    assert "nbval_cell_timeout = absent" in run.stdout


def test_nbval_gets_the_cell_timeout_unless_given(tmp_path):
    run = _pytest("tests/unit/test_environment.py", tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nbval_cell_timeout = 600.0" in run.stdout
    run = _pytest("--nbval-cell-timeout=30", "tests/unit/test_environment.py", tmp_path=tmp_path)
    assert "nbval_cell_timeout = 30.0" in run.stdout


def test_the_chinese_lessons_run_only_when_named(tmp_path):
    # a run through notebooks/ (make test, make test-notebooks) leaves notebooks/zh out but keeps its identity test
    run = _pytest("--nbval-lax", "--nbval-current-env", "notebooks", "tests/unit/test_zh_edition.py",
                  tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "notebooks/04_margin_explorer.ipynb::Cell 0" in run.stdout
    assert "notebooks/zh/" not in run.stdout
    assert "tests/unit/test_zh_edition.py::test_strip_lang_removes_only_the_argument" in run.stdout
    # make test-zh names the folder; a single Chinese lesson can be named too
    for target in ("notebooks/zh", "notebooks/zh/04_margin_explorer.ipynb"):
        run = _pytest("--nbval-lax", "--nbval-current-env", target, tmp_path=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "notebooks/zh/04_margin_explorer.ipynb::Cell 0" in run.stdout, target
