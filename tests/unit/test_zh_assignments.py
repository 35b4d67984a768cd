"""The Chinese assignments (notebooks/zh/assignments/) are the English nbgrader course with Chinese prose (issue 15).

notebooks/zh/assignments/ is an nbgrader course directory laid out like notebooks/assignments/ (issue 18):
source/<A>/<name>.ipynb are the teacher notebooks, release/<A>/<name>.ipynb the student copies that
``nbgrader generate_assignment`` makes from them. The rules, so that the two editions grade alike:

- every English teacher notebook has a Chinese twin at the same relative path, with the same cells in the same
  order, the same cell ids and the same cell metadata (nbgrader's grade ids, points, locked and solution flags);
- every code cell (solutions, locked checks, hidden tests) is the English cell character for character, and every
  markdown cell is Chinese and quotes only numbers of its English cell (the rules of tests/unit/test_zh_edition.py);
- the committed Chinese student copies are what nbgrader generates from the Chinese teacher notebooks now, and their
  code cells, including nbgrader's checksums of the locked check cells, are those of the English student copies:
  a Chinese submission is graded by the same cells, for the same points, as an English one, in either course.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from arcface_viz.teaching import assignments
from tests.conftest import ROOT
from tests.unit.test_zh_edition import code_problems, markdown_problems

ENGLISH = ROOT / "notebooks" / "assignments"
CHINESE = ROOT / "notebooks" / "zh" / "assignments"


def teacher_notebooks(course: Path) -> list[Path]:
    """The teacher notebooks source/<A>/A*_*.ipynb of an nbgrader course directory, sorted."""
    return sorted(course.glob("source/*/A*_*.ipynb"))


ENGLISH_SOURCES = teacher_notebooks(ENGLISH)
needs_course = pytest.mark.skipif(
    not ENGLISH_SOURCES, reason="notebooks/assignments/source/ (the nbgrader course of issue 18) is not in this checkout")


def twin_problems(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode) -> list[str]:
    """Every difference between an English assignment notebook and its Chinese twin that the rules forbid."""
    if [(c.cell_type, c.get("id")) for c in english.cells] != [(c.cell_type, c.get("id")) for c in chinese.cells]:
        return ["cells differ in type, id or order: "
                f"English {[(c.cell_type, c.get('id')) for c in english.cells]}, "
                f"Chinese {[(c.cell_type, c.get('id')) for c in chinese.cells]}"]
    found = []
    if english.metadata != chinese.metadata:
        found.append(f"notebook metadata differ: {dict(english.metadata)} vs {dict(chinese.metadata)}")
    for index, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        if en.cell_type == "code":
            found += code_problems(index, en.source, zh.source)
        elif en.cell_type == "markdown":
            found += markdown_problems(index, en.source, zh.source)
        en_meta, zh_meta = _without_checksum(en.metadata), _without_checksum(zh.metadata)
        if en.cell_type == "code":  # a locked code cell's checksum is what autograde compares: it must match too
            en_meta, zh_meta = en.metadata, zh.metadata
        if en_meta != zh_meta:
            found.append(f"cell {index} ({en.get('id')}): metadata differ: {dict(en_meta)} vs {dict(zh_meta)}")
    return found


def _without_checksum(metadata: dict) -> dict:
    """Cell metadata without nbgrader's checksum (a Chinese markdown cell has its own)."""
    metadata = json.loads(json.dumps(metadata))
    metadata.get("nbgrader", {}).pop("checksum", None)
    return metadata


# ----------------------------------------------------------------------------- teacher notebooks
@needs_course
@pytest.mark.parametrize("english", ENGLISH_SOURCES, ids=lambda p: p.name)
def test_chinese_teacher_notebook_is_the_english_one_in_chinese(english: Path):
    chinese = CHINESE / english.relative_to(ENGLISH)
    assert chinese.is_file(), f"{english.relative_to(ROOT)} has no Chinese twin {chinese.relative_to(ROOT)}"
    found = twin_problems(nbformat.read(english, as_version=4), nbformat.read(chinese, as_version=4))
    assert not found, f"{chinese.relative_to(ROOT)} vs {english.relative_to(ROOT)}:\n" + "\n".join(found)


@needs_course
def test_every_chinese_assignment_has_an_english_original():
    english = {p.relative_to(ENGLISH) for p in ENGLISH_SOURCES}
    orphans = sorted(str(p.relative_to(CHINESE)) for p in teacher_notebooks(CHINESE)
                     if p.relative_to(CHINESE) not in english)
    assert not orphans, f"Chinese assignments without an English one at the same path: {orphans}"


# ----------------------------------------------------------------------------- student copies
@needs_course
def test_chinese_student_copies_are_what_nbgrader_generates():
    pytest.importorskip("nbgrader", reason="generating needs nbgrader (the teacher extra: pip install -e '.[teacher]')")
    report = assignments.release(CHINESE, check=True)
    wrong = [line for line in report if not line.startswith("unchanged")]
    assert not wrong, ("the Chinese student copies are not what nbgrader generates from source/: run "
                       "`python -m arcface_viz assignments --course notebooks/zh/assignments release` and commit "
                       "them\n" + "\n".join(wrong))


@needs_course
@pytest.mark.parametrize("english", ENGLISH_SOURCES, ids=lambda p: p.name)
def test_chinese_student_copy_has_the_english_copys_graded_cells(english: Path):
    chinese_copy = CHINESE / "release" / english.parent.name / english.name
    english_copy = ENGLISH / "release" / english.parent.name / english.name
    assert chinese_copy.is_file(), f"{chinese_copy.relative_to(ROOT)} is missing"
    found = twin_problems(nbformat.read(english_copy, as_version=4), nbformat.read(chinese_copy, as_version=4))
    assert not found, f"{chinese_copy.relative_to(ROOT)} vs {english_copy.relative_to(ROOT)}:\n" + "\n".join(found)


@needs_course
def test_a_solved_chinese_copy_scores_the_same_in_both_courses(tmp_path: Path):
    """A1 solved in the Chinese student copy: full points in the Chinese course and the same points, cell by
    cell, when graded with the English course (make grade's default), with no locked cell reported edited."""
    pytest.importorskip("nbgrader", reason="grading needs nbgrader (the teacher extra: pip install -e '.[teacher]')")
    name = "A1_arcface_logits.ipynb"
    teacher = nbformat.read(CHINESE / "source" / "A1" / name, as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in teacher.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(CHINESE / "release" / "A1" / name, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            cell.source = "\n".join(line for line in solutions[gid].split("\n")
                                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    submission = tmp_path / name
    nbformat.write(nb, submission)

    chinese = assignments.autograde(submission, CHINESE)
    assert (chinese.score, chinese.max_score) == (8, 8), chinese.lines()
    assert chinese.restored == [] and chinese.missing == [], chinese.lines()

    english = assignments.autograde(submission, ENGLISH)
    assert [(c.grade_id, c.score, c.max_score) for c in english.cells] == \
        [(c.grade_id, c.score, c.max_score) for c in chinese.cells], english.lines()
    assert english.restored == [] and english.missing == [], english.lines()


# ----------------------------------------------------------------------------- the summary's language
FAKE_GRADE = assignments.Grade("A1", "A1_arcface_logits", "alice", [
    assignments.CellGrade("a1_interface", 1, 1),
    assignments.CellGrade("a1_reference", 0, 3, "CheckFailed: a1_reference: not implemented yet"),
])


def _grade_output(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``python -m arcface_viz assignments ARGS`` with autograde replaced by FAKE_GRADE (no nbgrader run)."""
    from arcface_viz.cli import main

    monkeypatch.setattr(assignments, "autograde", lambda *a, **k: FAKE_GRADE)
    code = main(["assignments", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_course_id_sets_the_summary_language():
    assert assignments.course_lang(CHINESE) == "zh"  # course id arcface-viz-zh
    assert assignments.course_lang(ENGLISH) == "en"  # course id arcface-viz


@pytest.mark.parametrize("args, lang", [
    (["--course", str(CHINESE), "grade", "x.ipynb"], "zh"),
    (["--course", str(ENGLISH), "grade", "x.ipynb"], "en"),
    (["--course", str(CHINESE), "grade", "x.ipynb", "--lang", "en"], "en"),
    (["--course", str(ENGLISH), "grade", "x.ipynb", "--lang", "zh"], "zh"),
])
def test_grade_prints_the_summary_in_the_courses_language_or_the_one_asked_for(monkeypatch, capsys, args, lang):
    code, out, _ = _grade_output(monkeypatch, capsys, *args)
    assert code == 1  # 1 of 4 points: below the pass mark
    assert out.splitlines() == {
        "en": ["A1/A1_arcface_logits.ipynb, student 'alice' (nbgrader autograde)",
               "  a1_interface  1 / 1",
               "  a1_reference  0 / 3  CheckFailed: a1_reference: not implemented yet",
               "  total         1 / 4  (below the pass mark: 2.4 of 4 points, 60 %)",
               "below the pass mark (a result, not an error): exit code 1; make reports it as 'Error 1'"],
        "zh": ["A1/A1_arcface_logits.ipynb，学生 'alice'（nbgrader 自动评分）",
               "  a1_interface  1 / 1",
               "  a1_reference  0 / 3  未通过：CheckFailed: a1_reference: not implemented yet",
               "  总分          1 / 4  （未达及格线：及格线为满分 4 分中的 2.4 分，即 60 %）",
               "未达及格线（这是评分结果，不是出错）：退出码 1；make 会把它显示为 'Error 1'"],
    }[lang]


def test_a_failed_grading_says_so_in_the_courses_language_under_nbgrader_s_log(monkeypatch, capsys):
    from arcface_viz.cli import main

    def crash(*args, **kwargs):
        raise RuntimeError("nbgrader autograde A1 for student failed:\nkernel died")

    monkeypatch.setattr(assignments, "autograde", crash)
    assert main(["assignments", "--course", str(CHINESE), "grade", "x.ipynb"]) == 3
    err = capsys.readouterr().err
    assert err.splitlines() == ["nbgrader autograde A1 for student failed:", "kernel died",
                                "评分失败（退出码 3）：没有得分；原因见上面的日志"]


@pytest.mark.parametrize("bad", ["fr", "ZH", ""])
def test_grade_refuses_an_unknown_language_before_grading(monkeypatch, capsys, bad):
    code, out, err = _grade_output(monkeypatch, capsys, "--course", str(CHINESE), "grade", "x.ipynb", "--lang", bad)
    assert code == 2 and out == ""
    assert err.startswith(f"python -m arcface_viz assignments: error: lang={bad!r}: must be one of 'en', 'zh'")
    assert err.endswith("'en', 'zh'; pass --lang en or --lang zh (make grade GRADE_LANG=en|zh), "
                        "or leave it out to follow the course\n")


# ----------------------------------------------------------------------------- the rules themselves
def test_twin_rules_catch_a_changed_check_and_changed_points():
    def notebook(check: str, points: int, prose: str) -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_markdown_cell(prose, id="a1-00", metadata={"nbgrader": {"grade_id": "a1_00", "locked": True}}),
            nbformat.v4.new_code_cell(check, id="a1-01", metadata={
                "nbgrader": {"grade": True, "grade_id": "a1_check", "locked": True, "points": points}}),
        ]
        return nb

    english = notebook("checks.a1_interface(f)", 1, "## Checks (1 point)")
    assert twin_problems(english, notebook("checks.a1_interface(f)", 1, "## 检查（1 分）")) == []
    assert twin_problems(english, notebook("checks.a1_interface(g)", 1, "## 检查（1 分）"))  # another check
    assert twin_problems(english, notebook("checks.a1_interface(f)", 2, "## 检查（1 分）"))  # other points
    assert twin_problems(english, notebook("checks.a1_interface(f)", 1, "## 检查（2 分）"))  # a number not in English
    assert twin_problems(english, notebook("checks.a1_interface(f)", 1, "## Checks (1 point)"))  # not translated
    # nbgrader's checksum may differ on a markdown cell, not on a locked code cell
    chinese = notebook("checks.a1_interface(f)", 1, "## 检查（1 分）")
    chinese.cells[0].metadata["nbgrader"]["checksum"] = "zh"
    assert twin_problems(english, chinese) == []
    chinese.cells[1].metadata["nbgrader"]["checksum"] = "zh"
    assert twin_problems(english, chinese)
