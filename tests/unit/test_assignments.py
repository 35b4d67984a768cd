"""Assignments: release (student copies), grade (run + collect checks) and the checks themselves.

The checks must tell right from wrong: the teacher solutions pass, the handed-out copies fail every
check, and typical wrong answers (CosFace-style margin on the cosine, margin on every class, EER
without interpolation, s = 64) fail at least one check.
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from arcface_viz.teaching import assignments, checks
from arcface_viz.teaching.assignments import BEGIN, END, STUB, collect, release_notebook, render_release, strip_solutions
from arcface_viz.cli import UsageError
from tests.conftest import ROOT

SOURCE = ROOT / "notebooks" / "assignments"
RELEASE = SOURCE / "release"
SOURCES = sorted(SOURCE.glob("*.ipynb"))


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
    """True if the check passes, False if it fails (it prints its line either way)."""
    try:
        check(*functions)
    except checks.CheckFailed:
        return False
    return True


A1_CELL = _code_cell_with(SOURCE / "A1_arcface_logits.ipynb", "def arcface_logits").source
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


# ------------------------------------------------------------------------------- strip_solutions
def test_strip_solutions_keeps_signature_docstring_and_indentation():
    source = 'def f(x):\n    """Add one."""\n    ### BEGIN SOLUTION\n    y = x\n    return y + 1\n    ### END SOLUTION\n\nprint(f)'
    assert strip_solutions(source) == f'def f(x):\n    """Add one."""\n    {STUB}\n\nprint(f)'


def test_strip_solutions_at_top_level_and_twice_in_a_cell():
    source = f"{BEGIN}\na = 1\n{END}\nb = 2\n  {BEGIN}\n  c = 3\n  {END}"
    assert strip_solutions(source) == f"{STUB}\nb = 2\n  {STUB}"


@pytest.mark.parametrize(
    "source, message",
    [
        (f"{BEGIN}\nx = 1", "never closed"),
        (f"x = 1\n{END}", "without"),
        (f"{BEGIN}\n{BEGIN}\n{END}\n{END}", "inside another"),
    ],
)
def test_strip_solutions_rejects_unbalanced_markers(source, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(source, where="A9, cell 3")


def _teacher_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python", "version": "3.11.7"}, "arcface_viz": {"assignment": "A9"},
                   "widgets": {"state": {}}}
    md = nbformat.v4.new_markdown_cell("# Task")
    code = nbformat.v4.new_code_cell(f"def f():\n    {BEGIN}\n    return 42\n    {END}")
    code.execution_count = 4
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    code.metadata = {"tags": ["solution"], "execution": {"iopub.status.busy": "2026-01-01"}}
    md["id"], code["id"] = "intro", "task"
    nb.cells = [md, code]
    return nb


def test_release_notebook_strips_outputs_run_metadata_and_solutions():
    released = release_notebook(_teacher_notebook(), "A9.ipynb")
    nbformat.validate(released)
    code = released.cells[1]
    assert code.source == f"def f():\n    {STUB}"
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata == {"tags": ["solution"]}
    assert [c["id"] for c in released.cells] == ["intro", "task"]
    assert released.metadata == {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "arcface_viz": {"assignment": "A9", "release": True},
    }


def test_release_notebook_refuses_markers_in_markdown_and_notebooks_without_solutions():
    nb = _teacher_notebook()
    nb.cells[0].source = f"{BEGIN}\nThe answer is 42.\n{END}"
    with pytest.raises(ValueError, match="only supported in code cells"):
        release_notebook(nb, "A9.ipynb")
    nb = _teacher_notebook()
    nb.cells[1].source = "def f():\n    return 42"
    with pytest.raises(ValueError, match="no '### BEGIN SOLUTION' block"):
        release_notebook(nb, "A9.ipynb")


# ------------------------------------------------------------------------------- committed release
def test_there_are_three_assignments_with_their_checks():
    assert [p.name[:2] for p in SOURCES] == ["A1", "A2", "A3"]
    for path in SOURCES:
        nb = nbformat.read(path, as_version=4)
        aid = assignments.assignment_id(nb, path)
        calls = "".join(c.source for c in nb.cells if c.cell_type == "code")
        for check_id in checks.EXPECTED[aid]:
            assert f"checks.{check_id.lower().replace('.', '_')}(" in calls, f"{path.name} never calls {check_id}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_committed_release_equals_a_fresh_one(path):
    committed = RELEASE / path.name
    assert committed.is_file(), f"{committed} missing: run `make release` and commit it"
    assert committed.read_text(encoding="utf-8") == render_release(path), (
        f"{committed.relative_to(ROOT)} is out of date: run `make release` and commit it"
    )


def test_release_folder_holds_only_copies_of_teacher_notebooks():
    assert sorted(p.name for p in RELEASE.glob("*.ipynb")) == [p.name for p in SOURCES]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_release_keeps_every_cell_but_no_solution_line(path):
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(RELEASE / path.name, as_version=4)
    assert [c["id"] for c in student.cells] == [c["id"] for c in teacher.cells]
    for t_cell, s_cell in zip(teacher.cells, student.cells):
        if BEGIN not in t_cell.source:
            assert s_cell.source == t_cell.source
            continue
        assert BEGIN not in s_cell.source and END not in s_cell.source and STUB in s_cell.source
        inside = False
        for line in t_cell.source.split("\n"):
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif inside and line.strip():
                assert line not in s_cell.source.split("\n"), f"solution line leaked: {line!r}"
            elif line.strip():
                assert line in s_cell.source.split("\n"), f"line outside the markers lost: {line!r}"


def test_release_writes_only_into_the_release_folder(tmp_path):
    for path in SOURCES:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(UsageError, match="writes only into"):
        assignments.write_release(tmp_path, tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert not (tmp_path / "release").exists()

    first = assignments.write_release(tmp_path)
    assert [line.split()[0] for line in first] == ["wrote"] * 3
    for path in SOURCES:
        assert (tmp_path / "release" / path.name).read_text(encoding="utf-8") == render_release(path)
    assert [line.split()[0] for line in assignments.write_release(tmp_path)] == ["unchanged"] * 3

    student_copy = tmp_path / "release" / SOURCES[0].name
    student_copy.write_text(student_copy.read_text(encoding="utf-8").replace("Assignment 1", "My work"))
    report = assignments.write_release(tmp_path, check=True)
    assert report[0].startswith("out of date") and "My work" in student_copy.read_text(encoding="utf-8")


def test_release_without_teacher_notebooks_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no \\*.ipynb"):
        assignments.write_release(tmp_path)
    with pytest.raises(UsageError, match="no folder"):
        assignments.write_release(tmp_path / "missing")


# ------------------------------------------------------------------------------- grade: collecting results
def _executed(*cells: tuple[str, list[dict]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def _stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def test_collect_reads_checks_reports_missing_ones_and_cell_errors():
    nb = _executed(
        ("x = compute()", [_error("NameError", "name 'compute' is not defined")]),
        ("checks.a3_hand_example(f, g)", [_stdout("CHECK A3.hand_example: PASS\n")]),
        ("checks.a3_tar_vs_sklearn(f)", [_stdout("CHECK A3.tar_vs_sklearn: FAIL: TAR should be 0.5, got 0.4\n"),
                                        _error("CheckFailed", "TAR should be 0.5, got 0.4")]),
        ("checks.a3_bad_input(f, g)", [_stdout("CHECK A3.bad_input: PASS (all refused)\n")]),
    )
    report = collect(nb, "A3")
    assert report.checks == {
        "A3.hand_example": (True, ""),
        "A3.tar_vs_sklearn": (False, "TAR should be 0.5, got 0.4"),
        "A3.eer_vs_sklearn": (False, "not run (its cell was removed or an earlier error stopped it)"),
        "A3.bad_input": (True, "all refused"),
    }
    assert report.errors == ["cell 0 (x = compute()): NameError: name 'compute' is not defined"]
    assert not report.passed
    assert report.lines()[-1] == "RESULT FAIL: 2/4 checks passed, 1 cell error(s)"


def test_collect_passes_only_with_every_expected_check_and_no_error():
    lines = "".join(f"CHECK {cid}: PASS\n" for cid in checks.EXPECTED["A1"])
    assert collect(_executed(("checks...", [_stdout(lines)])), "A1").passed
    assert not collect(_executed(("checks...", [_stdout(lines)]), ("1/0", [_error("ZeroDivisionError", "")])),
                       "A1").passed
    # a duplicated check cell: any failure wins, in either order
    twice = _executed(("a", [_stdout(lines)]), ("b", [_stdout("CHECK A1.reference: FAIL: off by 2\n")]))
    assert collect(twice, "A1").checks["A1.reference"] == (False, "off by 2")
    assert not collect(_executed(("print(1)", [_stdout("1\n")])), None).passed  # no check at all


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    assignments.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_grade_of_a_bad_path_is_a_usage_error(tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    for path, message in ((tmp_path / "missing.ipynb", "missing.ipynb: no such file"), (text_file, "not a notebook file"),
                          (broken, "cannot be read as a notebook")):
        args = _parse(["assignments", "grade", str(path)])
        with pytest.raises(UsageError, match=message):
            args.func(args)


@pytest.mark.skipif(importlib.util.find_spec("arcface_viz.compare") is None,
                    reason="arcface_viz.compare (imported by the CLI) is not written yet")
def test_cli_exit_code_2_for_a_bad_path(tmp_path, capsys):
    from arcface_viz.cli import main

    assert main(["assignments", "grade", str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb: no such file; check the path" in capsys.readouterr().err


# ------------------------------------------------------------------------------- the checks, in process
def test_a1_solution_passes_every_check():
    solution = _define(A1_CELL, "arcface_logits")
    assert all(_outcomes(check, solution) for check in A1_CHECKS)


@pytest.mark.parametrize("variant", sorted(A1_WRONG))
def test_a1_wrong_answers_fail_a_check(variant, capsys):
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
    assert "FAIL" in capsys.readouterr().out


def test_a1_released_stub_fails_every_check(capsys):
    stub = _define(strip_solutions(A1_CELL), "arcface_logits")
    assert not any(_outcomes(check, stub) for check in A1_CHECKS)
    assert capsys.readouterr().out.count("not implemented yet") == len(A1_CHECKS)


def test_a1_hand_example_matches_the_package_reference():
    from arcface_viz.heads import margin_logits

    want = margin_logits(torch.tensor(checks._A1_COS, dtype=torch.float64), torch.tensor(checks._A1_LABELS),
                         s=checks._A1_S, m2=checks._A1_M)
    torch.testing.assert_close(want, torch.tensor(checks._A1_EXPECTED, dtype=torch.float64))
    assert checks._A1_EXPECTED[0][0] == pytest.approx(0.2360, abs=1e-4)
    assert checks._A1_EXPECTED[1][1] == pytest.approx(-11.8971, abs=1e-4)


A3_NB = SOURCE / "A3_tar_far_eer.ipynb"
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
def test_a2_choice_rejects_bad_values(choice, reason, capsys):
    assert not _outcomes(checks.a2_choice, choice)
    assert reason in capsys.readouterr().out


def test_a2_choice_accepts_numbers_and_prints_degrees(capsys):
    assert _outcomes(checks.a2_choice, lambda: (16, 0.5))
    assert "CHECK A2.choice: PASS (s=16, m=0.5 rad = 28.6°)" in capsys.readouterr().out


@pytest.mark.slow
def test_a2_training_passes_the_solution_and_fails_no_margin_and_s_64(capsys):
    # At the seeds the check uses (A2_SEEDS): the solution passes; m = 0 at the same s fits the training
    # identities but verifies unseen ones worse (the EER target binds); s = 64 does not fit (the fit target binds).
    assert _outcomes(checks.a2_training, lambda: A2_GOOD)
    passed = capsys.readouterr().out
    assert "CHECK A2.training: PASS" in passed
    assert not _outcomes(checks.a2_training, lambda: (A2_GOOD[0], 0.0))
    no_margin = capsys.readouterr().out
    assert "CHECK A2.training: FAIL" in no_margin and "EER on unseen identities must be" in no_margin
    assert not _outcomes(checks.a2_training, lambda: (64.0, A2_GOOD[1]))
    large_s = capsys.readouterr().out
    assert "CHECK A2.training: FAIL" in large_s and "training identities must be fitted" in large_s


A2_GOOD = (16.0, 0.5)


# ------------------------------------------------------------------------------- grade end to end
@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_teacher_notebooks_pass_grade(path):
    report = assignments.grade(path)
    assert report.passed, "\n".join(report.lines())
    assert list(report.checks) == list(checks.EXPECTED[path.name[:2]])


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_release_notebooks_fail_every_check_as_handed_out(path):
    report = assignments.grade(RELEASE / path.name)
    assert not report.passed
    assert list(report.checks) == list(checks.EXPECTED[path.name[:2]])
    assert not any(ok for ok, _ in report.checks.values()), "\n".join(report.lines())


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["cosine_minus_margin", "margin_on_every_class"])
def test_grade_fails_a_wrong_a1_and_still_runs_the_later_checks(variant, tmp_path):
    nb = nbformat.read(SOURCE / "A1_arcface_logits.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "def arcface_logits" in c.source)
    cell.source = _replace_solution(cell.source, A1_WRONG[variant])
    path = tmp_path / "A1_student.ipynb"
    nbformat.write(nb, path)
    report = assignments.grade(path)
    assert not report.passed
    assert report.checks["A1.reference"][0] is False
    assert report.checks["A1.gradients"] == (True, "")  # a failed check earlier did not stop this one
    if variant == "margin_on_every_class":
        assert report.checks["A1.target_only"][0] is False
