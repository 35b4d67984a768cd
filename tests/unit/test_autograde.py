"""The grading cycle with nbgrader: student copy -> submitted/ -> nbgrader autograde -> gradebook points.

Every grade here runs a whole notebook in a fresh kernel (about 10-20 s for A1 or A3 on an idle machine;
A2 trains three models, so it is graded once, for the m = 0 submission). The submissions are built
from the committed student copies the way a student would: by editing cells.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from arcface_viz.teaching import assignments, checks
from tests.conftest import ROOT

pytest.importorskip("nbgrader", reason="grading needs nbgrader (the teacher extra: pip install -e '.[teacher]')")

COURSE = ROOT / "notebooks" / "assignments"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOTEBOOKS = {"A1": "A1_arcface_logits", "A2": "A2_choose_s_and_m", "A3": "A3_tar_far_eer"}
POINTS = {"A1": 8, "A2": 5, "A3": 7}


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _student_copy(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE / "release" / assignment / f"{NOTEBOOKS[assignment]}.ipynb", as_version=4)


def _solved(assignment: str) -> nbformat.NotebookNode:
    """The student copy with every solution cell filled in with the teacher's code (markers dropped)."""
    teacher = nbformat.read(COURSE / "source" / assignment / f"{NOTEBOOKS[assignment]}.ipynb", as_version=4)
    solutions = {_grade_id(c): c.source for c in teacher.cells if BEGIN in c.source}
    nb = _student_copy(assignment)
    for cell in nb.cells:
        if _grade_id(cell) in solutions:
            cell.source = "\n".join(line for line in solutions[_grade_id(cell)].split("\n")
                                    if line.strip() not in (BEGIN, END))
    return nb


def _write(nb: nbformat.NotebookNode, folder: Path, assignment: str) -> Path:
    path = folder / f"{NOTEBOOKS[assignment]}.ipynb"
    nbformat.write(nb, path)
    return path


def _scores(grade: assignments.Grade) -> dict[str, float]:
    return {c.grade_id: c.score for c in grade.cells}


@pytest.mark.parametrize("assignment", ["A1", "A3"])
def test_student_copy_as_handed_out_scores_zero(assignment, tmp_path, capfd):
    from arcface_viz.cli import main

    path = tmp_path / f"{NOTEBOOKS[assignment]}.ipynb"
    shutil.copyfile(COURSE / "release" / assignment / path.name, path)
    assert main(["assignments", "grade", str(path), "--student", "stub", "--work-dir", str(tmp_path / "grading")]) == 1
    out, err = capfd.readouterr()  # at file-descriptor level: the kernel nbgrader starts writes there too
    # exit code 1 is a result; the last line says so, for a teacher who sees make's "Error 1" after it
    assert out.splitlines()[-1].startswith("below the pass mark (a result, not an error")
    assert "without encryption" not in err  # ipykernel's TCP warning is not the teacher's concern
    for gid in checks.EXPECTED[assignment]:
        assert f"{gid}: not implemented yet" in out
    assert f"total" in out and f"0 / {POINTS[assignment]}  (below the pass mark" in out
    assert "locked code cells" not in out  # nothing was tampered with
    # the gradebook stays in the work dir given, with the submission and nbgrader's autograded copy
    grading = tmp_path / "grading"
    assert (grading / "gradebook.db").is_file()
    assert (grading / "submitted" / "stub" / assignment / path.name).is_file()
    assert (grading / "autograded" / "stub" / assignment / path.name).is_file()


@pytest.mark.parametrize("assignment", ["A1", "A3"])
def test_solution_scores_full_points(assignment, tmp_path):
    grade = assignments.autograde(_write(_solved(assignment), tmp_path, assignment), COURSE, student="solver")
    assert [c.grade_id for c in grade.cells] == list(checks.EXPECTED[assignment])
    assert all(c.score == c.max_score and c.error is None for c in grade.cells), grade.lines()
    assert grade.score == grade.max_score == POINTS[assignment]
    assert grade.passed() and grade.restored == grade.missing == []


def test_printing_fake_pass_lines_scores_zero(tmp_path):
    nb = _student_copy("A1")
    fake = "".join(f"print('CHECK {gid}: PASS')\nprint('CHECK A1.{gid[3:]}: PASS')\n" for gid in checks.EXPECTED["A1"])
    solution = next(c for c in nb.cells if _grade_id(c) == "arcface_logits")
    solution.source = fake + solution.source
    nb.cells.append(nbformat.v4.new_code_cell(fake))
    grade = assignments.autograde(_write(nb, tmp_path, "A1"), COURSE, student="printer")
    assert _scores(grade) == dict.fromkeys(checks.EXPECTED["A1"], 0.0)
    assert grade.score == 0 and not grade.passed()


def test_edited_locked_check_cells_are_restored_and_deleted_ones_score_zero(tmp_path):
    nb = _student_copy("A1")
    for cell in nb.cells:
        if _grade_id(cell) == "a1_interface":  # replaced by a cell that cannot fail, and unlocked
            cell.source = "print('CHECK a1_interface: PASS')"
            cell.metadata["nbgrader"]["locked"] = False
        if _grade_id(cell) == "a1_reference":  # edited
            cell.source = "pass"
        if _grade_id(cell) == "a1_fallback":  # stripped of its nbgrader metadata
            cell.source = "pass"
            del cell.metadata["nbgrader"]
    nb.cells = [c for c in nb.cells if _grade_id(c) != "a1_gradients"]  # deleted
    work = tmp_path / "grading"
    grade = assignments.autograde(_write(nb, tmp_path, "A1"), COURSE, student="editor", work_dir=work)
    # What nbgrader 0.9.6 does: it puts the teacher's version of an edited locked cell back (hidden tests
    # included) and runs it; a graded cell that is gone scores 0 (our config does not re-add it).
    assert grade.restored == ["a1_interface", "a1_reference"]
    assert grade.missing == ["a1_fallback", "a1_gradients"]
    assert _scores(grade) == dict.fromkeys(checks.EXPECTED["A1"], 0.0)
    errors = {c.grade_id: c.error for c in grade.cells}
    assert "a1_interface: not implemented yet" in errors["a1_interface"]
    assert "a1_reference: not implemented yet" in errors["a1_reference"]
    autograded = nbformat.read(work / "autograded" / "editor" / "A1" / "A1_arcface_logits.ipynb", as_version=4)
    sources = {_grade_id(c): c.source for c in autograded.cells if _grade_id(c)}
    assert sources["a1_interface"] == "checks.a1_interface(arcface_logits)"
    assert "### BEGIN HIDDEN TESTS\nchecks.a1_reference(arcface_logits, seed=" in sources["a1_reference"]
    assert "a1_fallback" not in sources and "a1_gradients" not in sources
    assert "deleted (a graded one scores 0): a1_fallback, a1_gradients" in grade.lines()[-1]


@pytest.mark.slow
def test_a2_without_margin_scores_below_the_pass_mark(tmp_path):
    nb = _solved("A2")
    cell = next(c for c in nb.cells if _grade_id(c) == "choose_s_and_m")
    cell.source = cell.source.replace("return 16.0, 0.5", "return 16.0, 0.0")
    assert "return 16.0, 0.0" in cell.source
    grade = assignments.autograde(_write(nb, tmp_path, "A2"), COURSE, student="no_margin")
    assert _scores(grade) == {"a2_choice": 1.0, "a2_training": 0.0}
    assert grade.max_score == POINTS["A2"] and not grade.passed()
    training = grade.cells[1].error
    assert training.startswith("CheckFailed: a2_training: s=16, m=0: over seeds 0, 1, 2")
    assert "the EER on unseen identities must be <= 14 %" in training


def test_grade_lines_show_points_per_cell_total_pass_mark_and_restored_cells():
    grade = assignments.Grade("A3", "A3_tar_far_eer", "alice", [
        assignments.CellGrade("a3_hand_example", 2, 2),
        assignments.CellGrade("a3_bad_input", 0, 1, "CheckFailed: a3_bad_input: expected a ValueError"),
    ], restored=["a3_bad_input"], missing=["a3_03"])
    assert grade.score == 2 and grade.max_score == 3 and grade.passed(0.6) and not grade.passed(0.7)
    assert grade.lines() == [
        "A3/A3_tar_far_eer.ipynb, student 'alice' (nbgrader autograde)",
        "  a3_hand_example  2 / 2",
        "  a3_bad_input     0 / 1  CheckFailed: a3_bad_input: expected a ValueError",
        "  total            2 / 3  (pass: 1.8 of 3 points, 60 %)",
        "  locked code cells the submission had edited, run as the teacher wrote them: a3_bad_input",
        "  locked code cells the submission had deleted (a graded one scores 0): a3_03",
    ]


def test_grade_lines_in_chinese_translate_the_summary_but_not_grade_ids_or_reasons():
    grade = assignments.Grade("A3", "A3_tar_far_eer", "alice", [
        assignments.CellGrade("a3_hand_example", 2, 2),
        assignments.CellGrade("a3_bad_input", 0, 1, "CheckFailed: a3_bad_input: expected a ValueError"),
    ], restored=["a3_bad_input"], missing=["a3_03"])
    assert grade.lines(lang="en") == grade.lines()
    assert grade.lines(lang="zh") == [
        "A3/A3_tar_far_eer.ipynb，学生 'alice'（nbgrader 自动评分）",
        "  a3_hand_example  2 / 2",
        "  a3_bad_input     0 / 1  未通过：CheckFailed: a3_bad_input: expected a ValueError",
        # 总分 is two characters four columns wide: the points still line up in a terminal
        "  总分             2 / 3  （通过：及格线为满分 3 分中的 1.8 分，即 60 %）",
        "  提交中被改动过的锁定代码单元格（已按老师的原版运行）：a3_bad_input",
        "  提交中被删除的锁定代码单元格（其中的计分单元格记 0 分）：a3_03",
    ]
    assert grade.lines(0.7, "zh")[3] == "  总分             2 / 3  （未达及格线：及格线为满分 3 分中的 2.1 分，即 70 %）"
    assert grade.lines(0.7, "en")[3] == "  total            2 / 3  (below the pass mark: 2.1 of 3 points, 70 %)"


def test_grade_lines_refuse_an_unknown_language():
    grade = assignments.Grade("A1", "A1_arcface_logits", "bob", [assignments.CellGrade("a1_interface", 1, 1)])
    with pytest.raises(ValueError, match=r"^lang='fr': must be one of 'en', 'zh'"):
        grade.lines(lang="fr")


def test_only_edited_or_deleted_locked_code_cells_are_reported():
    # without running anything: prose cannot change a score, and the Chinese edition (same code cells,
    # Chinese prose) graded against this course must not look tampered with
    released = _student_copy("A1")
    chinese = nbformat.read(ROOT / "notebooks" / "zh" / "assignments" / "release" / "A1" / "A1_arcface_logits.ipynb",
                            as_version=4) if (ROOT / "notebooks" / "zh" / "assignments").is_dir() else released
    assert assignments._changed_locked_cells(chinese, released) == ([], [])
    nb = _student_copy("A1")
    nb.cells[0].source = "# my own title"  # a locked markdown cell
    nb.cells = [c for c in nb.cells if _grade_id(c) not in ("a1_01", "a1_02")]  # a read-only markdown and code cell
    next(c for c in nb.cells if _grade_id(c) == "a1_fallback").source += "\nprint('ok')"
    assert assignments._changed_locked_cells(nb, released) == (["a1_fallback"], ["a1_02"])
