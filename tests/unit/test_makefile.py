"""The Makefile's choice of Python and JupyterLab flags, read from `make -n` (prints, runs nothing)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def dry_run(target: str, *args: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHON")}
    done = subprocess.run(["make", "-n", "-B", target, *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_without_an_active_environment_make_creates_and_uses_dot_venv():
    out = dry_run("test")
    assert "-m venv .venv" in out
    assert "the project-local .venv" in out
    assert ".venv/bin/python -m pytest" in out


def test_an_active_virtual_environment_is_used_as_it_is():
    out = dry_run("test", VIRTUAL_ENV="/opt/myenv")
    assert "-m venv" not in out
    assert "/opt/myenv/bin/python -m pytest" in out


def test_an_active_conda_environment_is_used_as_it_is():
    out = dry_run("test", CONDA_PREFIX="/opt/conda/envs/arcface-viz")
    assert "-m venv" not in out
    assert "/opt/conda/envs/arcface-viz/bin/python -m pytest" in out


def test_python_on_the_command_line_wins():
    out = dry_run("test", "PYTHON=/usr/bin/python3.12", VIRTUAL_ENV="/opt/myenv")
    assert "/usr/bin/python3.12 -m pytest" in out and "/opt/myenv" not in out


def test_lab_opens_the_working_copy_without_news_and_passes_lab_args():
    out = dry_run("lab", "LAB_ARGS=--port 8890", VIRTUAL_ENV="/opt/myenv")
    assert "scripts/lesson_copy.py notebooks my-lessons" in out
    assert "--ServerApp.root_dir=my-lessons --port 8890" in out
    assert "--LabApp.news_url=None" in out
    assert ("--allow-root" in out) == (os.geteuid() == 0)


def test_app_binds_to_loopback():
    assert "--Voila.ip=127.0.0.1" in dry_run("app", VIRTUAL_ENV="/opt/myenv")


def test_grade_passes_the_notebook_student_assignment_and_grading_folder():
    out = dry_run("grade", "NB=sub/A1_arcface_logits.ipynb", "STUDENT=alice", "ASSIGNMENT=A1", "GRADE_DIR=grading",
                  VIRTUAL_ENV="/opt/myenv")
    assert ('/opt/myenv/bin/python -m arcface_viz assignments --course "notebooks/assignments" grade '
            '"sub/A1_arcface_logits.ipynb" --student "alice"' in out)
    assert '--assignment "A1"' in out and '--work-dir "grading"' in out
    plain = dry_run("grade", "NB=a.ipynb", VIRTUAL_ENV="/opt/myenv")
    assert '--student "student"' in plain and "--assignment" not in plain and "--work-dir" not in plain
    assert "--lang" not in plain  # the summary's language then follows the course


def test_grade_lang_sets_the_summary_language_and_the_locale_lang_does_not():
    out = dry_run("grade", "NB=a.ipynb", "GRADE_LANG=zh", VIRTUAL_ENV="/opt/myenv")
    assert 'grade "a.ipynb" --student "student"' in out and out.count('--lang "zh"') == 1
    assert "--lang" not in dry_run("grade", "NB=a.ipynb", VIRTUAL_ENV="/opt/myenv", LANG="zh_CN.UTF-8")


def test_grade_prints_one_line_of_its_own_not_its_recipe():
    # PYTHON=true: every command of install and grade succeeds and prints nothing, so what is left is make's own
    # --no-print-directory: under `make test` this make is a sub-make, which would add "Entering directory" lines
    done = subprocess.run(["make", "-B", "--no-print-directory", "grade", "NB=sub/A1_arcface_logits.ipynb",
                           "STUDENT=alice", "PYTHON=true"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "make: using PYTHON=true",
        "make: grading sub/A1_arcface_logits.ipynb (student alice, course notebooks/assignments)",
    ]


def test_test_unit_runs_the_tests_named_by_tests():
    assert "/opt/myenv/bin/python -m pytest tests/unit -x" in dry_run("test-unit", "PYTEST_ARGS=-x",
                                                                       VIRTUAL_ENV="/opt/myenv")
    one = dry_run("test-unit", "TESTS=tests/unit/test_heads.py", "PYTEST_ARGS=-k arcface", VIRTUAL_ENV="/opt/myenv")
    assert "/opt/myenv/bin/python -m pytest tests/unit/test_heads.py -k arcface" in one
    assert "pytest tests/unit " not in one  # not the whole folder as well


def test_release_regenerates_every_course():
    out = dry_run("release", VIRTUAL_ENV="/opt/myenv")
    assert "for course in notebooks/assignments notebooks/zh/assignments;" in out
    assert "-m arcface_viz assignments --course $course release" in out


def test_install_includes_the_teacher_extra():
    assert 'pip install -e ".[dev,site,app,teacher]"' in dry_run("install", VIRTUAL_ENV="/opt/myenv")


def test_test_zh_runs_the_chinese_lessons_and_their_tests():
    out = dry_run("test-zh", VIRTUAL_ENV="/opt/myenv")
    command = out.replace("\\\n", " ")
    assert "/opt/myenv/bin/python -m pytest --nbval-lax --nbval-current-env notebooks/zh" in command
    assert "tests/unit/test_zh_edition.py" in command and "tests/browser/test_zh_lesson.py" in command
    # make test runs pytest from the root: conftest.py leaves notebooks/zh out of it (test_pytest_config checks)
    assert "notebooks/zh" not in dry_run("test", VIRTUAL_ENV="/opt/myenv")
