"""The assignments: the nbgrader course layout, the committed student copies, and the checks themselves.

The checks must tell right from wrong: the teacher solutions pass, the student copies' stubs fail every
check, and typical wrong answers (CosFace-style margin on the cosine, margin on every class, EER
without interpolation, s = 64) fail at least one check. The autograde cycle (nbgrader executing whole
notebooks) is tested in test_autograde.py.
"""
from __future__ import annotations

from pathlib import Path

import argparse
import importlib.util
import re

import nbformat
import numpy as np
import pytest
import torch

from arcface_viz.cli import UsageError
from arcface_viz.teaching import assignments, checks
from tests.conftest import ROOT

COURSE = ROOT / "notebooks" / "assignments"
SOURCES = sorted((COURSE / "source").glob("*/*.ipynb"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _source(assignment: str) -> Path:
    return next(p for p in SOURCES if p.parent.name == assignment)


def _code_cell_with(path: Path, text: str) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def _replace_solution(source: str, body: str) -> str:
    """The cell with the lines between the markers replaced by ``body`` (indented as the BEGIN line)."""
    lines = source.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
    stop = next(i for i, line in enumerate(lines) if line.strip() == END)
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    new = [indent + line if line else line for line in body.strip("\n").split("\n")]
    return "\n".join(lines[:start] + new + lines[stop + 1 :])


def _define(source: str, name: str):
    """Run a notebook cell's code in a fresh namespace and return the function ``name`` it defines."""
    namespace: dict = {}
    exec("import math\nimport numpy as np\nimport torch\nfrom sklearn.metrics import roc_curve\n", namespace)
    exec(source, namespace)
    return namespace[name]


def _outcomes(check, *functions) -> bool:
    """True if the check passes, False if it raises CheckFailed."""
    try:
        check(*functions)
    except checks.CheckFailed:
        return False
    return True


def _failure(check, *functions) -> str:
    """The message of the CheckFailed the check raises (fails the test if it passes)."""
    with pytest.raises(checks.CheckFailed) as info:
        check(*functions)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


A1_NB = _source("A1")
A1_CELL = _code_cell_with(A1_NB, "def arcface_logits").source
A1_CHECKS = (checks.a1_interface, checks.a1_reference, checks.a1_target_only, checks.a1_fallback, checks.a1_gradients)

# Wrong answers a student might hand in, written as replacements of the solution block.
A1_WRONG = {
    "cosine_minus_margin": """
cos_y = cos.gather(1, labels.unsqueeze(1))
return s * cos.scatter(1, labels.unsqueeze(1), cos_y - m)
""",
    "cosine_plus_margin": """
cos_y = cos.gather(1, labels.unsqueeze(1))
return s * cos.scatter(1, labels.unsqueeze(1), cos_y + m)
""",
    "margin_on_every_class": """
sin = torch.sqrt(torch.clamp(1.0 - cos * cos, min=1e-12))
with_margin = cos * math.cos(m) - sin * math.sin(m)
return s * torch.where(cos > math.cos(math.pi - m), with_margin, cos - m * math.sin(m))
""",
    "no_fallback": """
cos_y = cos.gather(1, labels.unsqueeze(1))
sin_y = torch.sqrt(torch.clamp(1.0 - cos_y * cos_y, min=1e-12))
return s * cos.scatter(1, labels.unsqueeze(1), cos_y * math.cos(m) - sin_y * math.sin(m))
""",
    "acos_unclamped": """
cos_y = cos.gather(1, labels.unsqueeze(1))
theta = torch.acos(cos_y)
target = torch.where(theta < math.pi - m, torch.cos(theta + m), cos_y - m * math.sin(m))
return s * cos.scatter(1, labels.unsqueeze(1), target)
""",
}



# ------------------------------------------------------------------------------- the course layout
def test_the_course_has_three_assignments_each_a_folder_with_one_notebook():
    assert assignments.assignment_ids(COURSE)[:3] == ["A1", "A2", "A3"]
    assert [p.relative_to(COURSE / "source").as_posix() for p in SOURCES if p.parent.name in ("A1", "A2", "A3")] == [
        "A1/A1_arcface_logits.ipynb", "A2/A2_choose_s_and_m.ipynb", "A3/A3_tar_far_eer.ipynb"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_graded_cells_are_locked_call_their_check_and_carry_the_points_the_text_states(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    aid = nb.metadata["arcface_viz"]["assignment"]
    graded = [c for c in nb.cells if _nbgrader(c).get("grade")]
    assert [_nbgrader(c)["grade_id"] for c in graded] == list(checks.EXPECTED[aid])
    checks_text = next(c.source for c in nb.cells if c.cell_type == "markdown" and "## Checks" in c.source)
    for cell in graded:
        meta = _nbgrader(cell)
        gid = meta["grade_id"]
        assert cell.cell_type == "code" and meta["locked"] and not meta["solution"] and meta["points"] > 0
        visible = cell.source.split(HIDDEN_BEGIN)[0]
        assert visible.startswith(f"checks.{gid}("), f"{gid}: the graded cell must call checks.{gid}"
        points = meta["points"]
        name = gid.split("_", 1)[1]
        assert f"**{name}** ({points:g} point{'s' if points != 1 else ''})" in checks_text, (
            f"{path.name}: the Checks cell must state the points of {gid} as the metadata does ({points:g})")
    total = sum(_nbgrader(c)["points"] for c in graded)
    assert f"{total:g} points in all" in checks_text


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_solutions_sit_in_solution_cells_and_hidden_tests_in_graded_cells(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if BEGIN in cell.source:
            assert meta.get("solution") and not meta.get("locked") and cell.source.count(BEGIN) == 1
            assert cell.source.count(END) == 1
        else:
            assert not meta.get("solution"), "a solution cell without a solution block would be blanked entirely"
        if HIDDEN_BEGIN in cell.source:
            assert meta.get("grade") and cell.source.count(HIDDEN_END) == 1
        if cell.cell_type == "markdown":
            assert meta.get("locked") and not meta.get("grade"), "instructions are read-only"
    assert any(BEGIN in c.source for c in nb.cells)


def test_hidden_checks_use_other_inputs_and_the_solutions_pass_them():
    a1 = _define(A1_CELL, "arcface_logits")
    tar, eer = _a3_functions()
    hidden = []
    for path in SOURCES:
        for cell in nbformat.read(path, as_version=4).cells:
            if HIDDEN_BEGIN in cell.source:
                hidden.append(cell.source.split(HIDDEN_BEGIN)[1].split(HIDDEN_END)[0].strip())
    assert len(hidden) >= 4
    namespace = {"checks": checks, "arcface_logits": a1, "tar_at_far": tar, "equal_error_rate": eer}
    for code in hidden:
        assert "seed=" in code, f"a hidden check should use inputs the visible one does not: {code}"
        exec(code, namespace)  # raises CheckFailed if the solution fails it


# ------------------------------------------------------------------------------- the committed student copies
@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    pytest.importorskip("nbgrader", reason="nbgrader (the teacher extra) generates the student copies")
    out = tmp_path_factory.mktemp("release")
    return out, assignments.generate(COURSE, out)


def test_committed_student_copies_equal_freshly_generated_ones(fresh_release):
    # compared byte for byte: nbgrader 0.9.6's generate_assignment writes nothing volatile (no dates, paths)
    out, files = fresh_release
    committed = sorted(p.relative_to(COURSE / "release") for p in (COURSE / "release").rglob("*") if p.is_file())
    assert committed == files, "run `make release` and commit notebooks/assignments/release/"
    for rel in files:
        assert (COURSE / "release" / rel).read_bytes() == (out / rel).read_bytes(), (
            f"notebooks/assignments/release/{rel} is out of date: run `make release` and commit it")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_student_copies_keep_every_cell_but_no_solution_and_no_hidden_test(path, fresh_release):
    out, _ = fresh_release
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(out / path.parent.name / path.name, as_version=4)
    assert [c["id"] for c in student.cells] == [c["id"] for c in teacher.cells]
    for t_cell, s_cell in zip(teacher.cells, student.cells):
        assert not s_cell.get("outputs")
        assert _nbgrader(s_cell).get("locked", False) == _nbgrader(t_cell).get("locked", False)
        if BEGIN in t_cell.source:
            assert BEGIN not in s_cell.source and "raise NotImplementedError()" in s_cell.source
            inside = False
            for line in t_cell.source.split("\n"):
                if line.strip() in (BEGIN, END):
                    inside = line.strip() == BEGIN
                elif inside and line.strip():
                    assert line not in s_cell.source.split("\n"), f"solution line leaked: {line!r}"
                elif line.strip():
                    assert line in s_cell.source.split("\n"), f"line outside the markers lost: {line!r}"
        elif HIDDEN_BEGIN in t_cell.source:
            assert s_cell.source == t_cell.source.split(HIDDEN_BEGIN)[0].rstrip("\n")
        else:
            assert s_cell.source == t_cell.source


def test_release_check_reports_an_edited_copy_and_release_rewrites_it(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader (the teacher extra) generates the student copies")
    import shutil

    course = tmp_path / "course"
    shutil.copytree(COURSE / "source" / "A3", course / "source" / "A3")
    shutil.copy(COURSE / "nbgrader_config.py", course)
    assert [line.split()[0] for line in assignments.release(course)] == ["wrote"]
    student = course / "release" / "A3" / "A3_tar_far_eer.ipynb"
    student.write_text(student.read_text(encoding="utf-8").replace("Assignment 3", "My work"), encoding="utf-8")
    (course / "release" / "A3" / "notes.txt").write_text("mine")
    report = assignments.release(course, check=True)
    assert report[0].startswith("out of date") and "My work" in student.read_text(encoding="utf-8")
    assert report[1].startswith("stale") and "notes.txt" in report[1]
    assert assignments.release(course)[0].startswith("wrote") and "My work" not in student.read_text(encoding="utf-8")
    assert not list(course.glob("gradebook.db")), "nbgrader ran in a scratch copy, not in the course"


def test_a_folder_without_a_course_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no nbgrader_config.py"):
        assignments.assignment_ids(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(UsageError, match="no assignment in"):
        assignments.assignment_ids(tmp_path)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    assignments.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_grade_of_a_bad_path_or_assignment_is_a_usage_error(tmp_path):
    pytest.importorskip("nbgrader", reason="grade needs nbgrader (the teacher extra)")
    broken = tmp_path / "A1_arcface_logits.ipynb"
    broken.write_text("{not json")
    renamed = tmp_path / "my_homework.ipynb"
    renamed.write_text(nbformat.writes(nbformat.read(A1_NB, as_version=4)))
    readme = tmp_path / "README.md"
    readme.write_text("# arcface-viz\n\nNot a notebook.\n")
    folder = tmp_path / "A1"
    folder.mkdir()
    (folder / "A1_arcface_logits.ipynb").write_text(renamed.read_text())
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv, message in (
        ([str(tmp_path / "missing.ipynb")], "missing.ipynb: no such file"),
        ([str(broken)], "cannot be read as a notebook"),
        ([str(readme)], f"{readme}: not a notebook (a Markdown file, not .ipynb); pass the student's .ipynb file"),
        ([str(folder)], f"{folder}: a folder, not a notebook; pass the .ipynb inside it: "
                        f"{folder / 'A1_arcface_logits.ipynb'}"),
        ([str(empty)], f"{empty}: a folder with no .ipynb in it; pass the student's .ipynb file"),
        ([str(renamed)], "cannot tell which assignment"),
        ([str(renamed), "--assignment", "A9"], "assignment='A9': no such assignment"),
        ([str(renamed), "--pass-mark", "60"], "--pass-mark=60.0"),
    ):
        args = _parse(["assignments", "--course", str(COURSE), "grade", *argv])
        with pytest.raises(UsageError, match=re.escape(message)):
            args.func(args)


@pytest.mark.skipif(importlib.util.find_spec("arcface_viz.compare") is None,
                    reason="arcface_viz.compare (imported by the CLI) is not written yet")
def test_cli_exit_code_2_for_a_bad_path(tmp_path, capsys):
    pytest.importorskip("nbgrader", reason="grade needs nbgrader (the teacher extra)")
    from arcface_viz.cli import main

    assert main(["assignments", "grade", str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb: no such file; check the path" in capsys.readouterr().err


def test_cli_exit_code_3_when_nbgrader_itself_fails(monkeypatch, capsys):
    # exit code 1 means "below the pass mark"; a grading that crashed must not look like one
    from arcface_viz.cli import main

    def crash(*args, **kwargs):
        raise RuntimeError("nbgrader autograde A1 for student failed:\nkernel died")

    monkeypatch.setattr(assignments, "autograde", crash)
    assert main(["assignments", "grade", str(A1_NB)]) == 3
    err = capsys.readouterr().err
    assert "nbgrader autograde A1 for student failed:\nkernel died" in err
    assert err.rstrip().splitlines()[-1].startswith("grading failed (exit code 3): no score")


# ------------------------------------------------------------------------------- the checks, in process
def test_a1_solution_passes_every_check():
    solution = _define(A1_CELL, "arcface_logits")
    assert all(_outcomes(check, solution) for check in A1_CHECKS)


@pytest.mark.parametrize("variant", sorted(A1_WRONG))
def test_a1_wrong_answers_fail_a_check(variant):
    wrong = _define(_replace_solution(A1_CELL, A1_WRONG[variant]), "arcface_logits")
    failed = [check.__name__ for check in A1_CHECKS if not _outcomes(check, wrong)]
    assert failed, f"{variant} passed every A1 check"
    if variant in ("cosine_minus_margin", "cosine_plus_margin", "margin_on_every_class"):
        assert "a1_reference" in failed
    if variant == "margin_on_every_class":
        assert "a1_target_only" in failed
    if variant == "no_fallback":
        assert "a1_fallback" in failed
    if variant == "acos_unclamped":
        assert failed == ["a1_gradients"]
        assert _failure(checks.a1_gradients, wrong).startswith("a1_gradients: gradient of the loss w.r.t. cos is not finite")


def test_a1_student_copy_stub_fails_every_check_saying_not_implemented():
    stub_cell = _code_cell_with(COURSE / "release" / "A1" / A1_NB.name, "def arcface_logits").source
    stub = _define(stub_cell, "arcface_logits")
    for check in A1_CHECKS:
        assert _failure(check, stub) == f"{check.__name__}: not implemented yet (NotImplementedError: )"


def test_a1_hand_example_matches_the_package_reference():
    from arcface_viz.heads import margin_logits

    want = margin_logits(torch.tensor(checks._A1_COS, dtype=torch.float64), torch.tensor(checks._A1_LABELS),
                         s=checks._A1_S, m2=checks._A1_M)
    torch.testing.assert_close(want, torch.tensor(checks._A1_EXPECTED, dtype=torch.float64))
    assert checks._A1_EXPECTED[0][0] == pytest.approx(0.2360, abs=1e-4)
    assert checks._A1_EXPECTED[1][1] == pytest.approx(-11.8971, abs=1e-4)


A3_NB = _source("A3")
A3_CODE = "\n".join(
    _code_cell_with(A3_NB, f"def {name}(").source for name in ("roc_points", "tar_at_far", "equal_error_rate")
)


def _a3_functions(code: str = A3_CODE):
    return _define(code, "tar_at_far"), _define(code, "equal_error_rate")


def test_a3_solution_passes_every_check():
    tar, eer = _a3_functions()
    assert _outcomes(checks.a3_hand_example, tar, eer)
    assert _outcomes(checks.a3_tar_vs_sklearn, tar)
    assert _outcomes(checks.a3_eer_vs_sklearn, eer)
    assert _outcomes(checks.a3_bad_input, tar, eer)


def test_a3_reference_eer_agrees_with_metrics_module():
    from arcface_viz.metrics import equal_error_rate
    from sklearn.metrics import roc_curve

    scores, same = checks._synthetic_scores(300, 500, 0.3, seed=9)
    fpr, tpr, _ = roc_curve(same, scores, drop_intermediate=False)
    assert checks._reference_eer(scores, same) == pytest.approx(equal_error_rate(fpr, tpr)[0], abs=1e-12)


def test_a3_reference_eer_is_an_independent_algorithm(monkeypatch):
    # a brute-force scan of every threshold: it must not lean on any ROC code it is compared with
    import sklearn.metrics

    from arcface_viz import metrics

    def forbidden(*args, **kwargs):
        raise AssertionError("the reference EER must not use ROC code")

    monkeypatch.setattr(sklearn.metrics, "roc_curve", forbidden)
    monkeypatch.setattr(metrics, "equal_error_rate", forbidden)
    # ties between a genuine and an impostor score, worked by hand: thresholds 0.9, 0.5, 0.1 give
    # (FAR, FRR) = (0, 1/2), (1/2, 0), (1, 0): FAR − FRR goes −1/2 → +1/2, crossing midway at 1/4
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    same = np.array([True, True, False, False])
    assert checks._reference_eer(scores, same) == pytest.approx(0.25)
    assert checks._reference_eer(checks._A3_SCORES, checks._A3_SAME) == pytest.approx(0.25)


def test_a3_wrong_answers_fail():
    tar, eer = _a3_functions()

    def eer_without_interpolation(scores, is_same):  # the first ROC point with FAR >= FRR
        fpr, tpr, _ = __import__("sklearn.metrics").metrics.roc_curve(is_same, scores, drop_intermediate=False)
        return float(fpr[np.argmax(fpr >= 1 - tpr)])

    def tar_from_the_wrong_side(scores, is_same, far):  # FAR read as "at least", not "at most"
        fpr, tpr, _ = __import__("sklearn.metrics").metrics.roc_curve(is_same, scores, drop_intermediate=False)
        return float(tpr[fpr >= far].min())

    def no_validation(scores, is_same, far=0.1):
        return 0.5

    assert not _outcomes(checks.a3_hand_example, tar, eer_without_interpolation)
    assert not _outcomes(checks.a3_tar_vs_sklearn, tar_from_the_wrong_side)
    assert not _outcomes(checks.a3_bad_input, no_validation, no_validation)
    assert not _outcomes(checks.a3_hand_example, tar, lambda scores, is_same: 1 - eer(scores, is_same))


def test_a3_hand_example_is_what_sklearn_says():
    assert checks._reference_tar(checks._A3_SCORES, checks._A3_SAME, 0.2) == 0.75
    assert checks._reference_tar(checks._A3_SCORES, checks._A3_SAME, 0.1) == 0.5
    assert checks._reference_eer(checks._A3_SCORES, checks._A3_SAME) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "choice, reason",
    [
        (lambda: (16.0, 28.6), "radians"),
        (lambda: (0.0, 0.5), "s must be > 0"),
        (lambda: (16.0, float("nan")), "finite number"),
        (lambda: [16.0, 0.5], "tuple"),
        ((16.0, 0.5), "the function choose_s_and_m itself"),
    ],
)
def test_a2_choice_rejects_bad_values(choice, reason):
    message = _failure(checks.a2_choice, choice)
    assert message.startswith("a2_choice: ") and reason in message


def test_a2_choice_accepts_numbers_and_prints_degrees(capsys):
    assert _outcomes(checks.a2_choice, lambda: (16, 0.5))
    assert capsys.readouterr().out == "a2_choice: s=16, m=0.5 rad = 28.6°\n"


@pytest.mark.slow
def test_a2_training_passes_the_solution_and_fails_s_64(capsys):
    # At the seeds the check uses (A2_SEEDS): the solution passes; s = 64 does not fit (the fit target
    # binds). m = 0 at the same s fails the EER target: test_autograde.py grades that submission.
    assert _outcomes(checks.a2_training, lambda: A2_GOOD)
    assert capsys.readouterr().out.startswith("a2_training: s=16, m=0.5: over seeds 0, 1, 2 unseen-identity EER")
    message = _failure(checks.a2_training, lambda: (64.0, A2_GOOD[1]))
    assert message.startswith("a2_training: s=64, m=0.5") and "training identities must be fitted" in message


A2_GOOD = (16.0, 0.5)




@pytest.mark.parametrize("option, make, message", [
    # before: "" graded into submitted/ itself; "../x" wrote outside submitted/ and nbgrader failed (exit 3)
    (["--student", ""], None, "student='': not a usable student id; use letters (any script), digits, '_', '-' or '.'"),
    (["--student", "../evil"], None, "student='../evil': not a usable student id; use letters"),
    (["--student", "a b"], None, "student='a b': not a usable student id"),
    # before: FileExistsError traceback (exit 1) from mkdir
    (["--work-dir", "{tmp}/file"], "file", "work_dir='{tmp}/file': is a file; give a folder (new, or one that "
                                           "holds earlier gradings)"),
])
def test_grade_refuses_a_bad_student_id_or_work_dir_before_grading(tmp_path, monkeypatch, option, make, message):
    if make:
        (tmp_path / make).write_text("keep me")
    monkeypatch.setattr(assignments, "_course_api", lambda *a, **k: pytest.fail("grading started"))
    option = [o.replace("{tmp}", str(tmp_path)) for o in option]
    args = _parse(["assignments", "--course", str(COURSE), "grade", str(A1_NB), *option])
    with pytest.raises(UsageError, match="^" + re.escape(message.replace("{tmp}", str(tmp_path)))):
        args.func(args)
    if make:
        assert (tmp_path / make).read_text() == "keep me"


@pytest.mark.parametrize("student", ["alice", "张三", "s_01.b-2"])
def test_grade_takes_student_ids_in_any_script(tmp_path, monkeypatch, student):
    class Started(Exception):
        pass

    def started(*args, **kwargs):
        raise Started

    monkeypatch.setattr(assignments, "_course_api", started)
    with pytest.raises(Started):
        assignments.autograde(A1_NB, COURSE, student=student, work_dir=tmp_path / "grading")
