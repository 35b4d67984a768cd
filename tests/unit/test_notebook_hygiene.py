"""Every notebook under notebooks/ is committed clean: valid nbformat 4, kernelspec ``python3``,
no outputs, no execution counts and no saved widget state.

Outputs in the repository make diffs unreadable, leak timings and memory addresses into nbval's
comparison, and show a student results they did not compute; a kernelspec other than ``python3``
makes ``pytest --nbval-current-env`` and JupyterLab ask for a kernel that may not exist.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
# Folders that hold generated or editor files, not sources: checkpoints written by JupyterLab, the student
# copies nbgrader generates (`make release`; pytest ignores those too, see pyproject) and nbgrader's working
# folders when a teacher grades in a course directory (git-ignored; see notebooks/assignments/conftest.py).
SKIPPED_PARTS = {".ipynb_checkpoints", "submitted", "autograded", "feedback"}
SKIPPED_PREFIXES = (NOTEBOOKS / "assignments" / "release",)


def notebook_paths() -> list[Path]:
    """All ``*.ipynb`` files under notebooks/, assignments included, sorted."""
    paths = []
    for path in sorted(NOTEBOOKS.rglob("*.ipynb")):
        if SKIPPED_PARTS.intersection(path.parts):
            continue
        if any(path.is_relative_to(prefix) for prefix in SKIPPED_PREFIXES):
            continue
        paths.append(path)
    return paths


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with a notebook as committed; an empty list means it is clean."""
    found = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        found.append(f"invalid nbformat: {error.message}")
    if nb.get("nbformat") != 4:
        found.append(f"nbformat {nb.get('nbformat')!r}, expected 4")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        found.append(f"kernelspec name {kernel!r}, expected 'python3'")
    if "widgets" in nb.get("metadata", {}):
        found.append("saved widget state in metadata['widgets'] (clear it before committing)")
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {index}: {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {index}: execution_count {cell['execution_count']}")
    return found


def _clean_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1 + 1")]
    return nb


def test_there_are_notebooks_to_check():
    assert notebook_paths(), f"no notebooks found under {NOTEBOOKS}"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_notebook_is_committed_clean(path: Path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    found = problems(nb)
    assert not found, (
        f"{path.relative_to(ROOT)}: " + "; ".join(found)
        + "\nFix: `jupyter nbconvert --clear-output --inplace <notebook>` and choose the 'Python 3' kernel."
    )


def test_problems_accepts_a_clean_notebook():
    assert problems(_clean_notebook()) == []


def test_problems_reports_outputs_and_execution_counts():
    nb = _clean_notebook()
    nb.cells[1].execution_count = 3
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=3)]
    assert problems(nb) == ["cell 1: 1 output(s)", "cell 1: execution_count 3"]


def test_problems_reports_a_wrong_or_missing_kernelspec():
    nb = _clean_notebook()
    nb.metadata["kernelspec"]["name"] = "arcface-venv"
    assert problems(nb) == ["kernelspec name 'arcface-venv', expected 'python3'"]
    del nb.metadata["kernelspec"]
    assert problems(nb) == ["kernelspec name None, expected 'python3'"]


def test_problems_reports_saved_widget_state():
    nb = _clean_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert any("widget state" in p for p in problems(nb))


def test_problems_reports_invalid_nbformat():
    nb = _clean_notebook()
    nb.cells[1]["source"] = 42  # the schema wants a string or a list of strings
    found = problems(nb)
    assert len(found) == 1 and found[0].startswith("invalid nbformat")


def test_the_chinese_edition_is_checked_too():
    # notebooks/zh/ (issue 15) is held to the same rules: no outputs, kernelspec python3
    assert any(path.is_relative_to(NOTEBOOKS / "zh") for path in notebook_paths())
