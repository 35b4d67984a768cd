"""scripts/lesson_copy.py: make lab opens a git-ignored copy, and never overwrites a student's work."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("lesson_copy", ROOT / "scripts" / "lesson_copy.py")
lesson_copy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lesson_copy)


def _source(tmp_path):
    src = tmp_path / "notebooks"
    (src / "assignments" / "release" / "A1").mkdir(parents=True)
    (src / "assignments" / "source" / "A1").mkdir(parents=True)
    (src / ".ipynb_checkpoints").mkdir()
    (src / "01.ipynb").write_text("lesson one")
    (src / "README.md").write_text("readme")
    (src / "TEACHING.md").write_text("worked solutions")
    (src / "assignments" / "source" / "A1" / "A1.ipynb").write_text("teacher copy")
    (src / "assignments" / "release" / "A1" / "A1.ipynb").write_text("student copy")
    (src / ".ipynb_checkpoints" / "01-checkpoint.ipynb").write_text("checkpoint")
    return src


def test_first_sync_copies_lessons_and_student_copies_but_no_solutions_or_checkpoints(tmp_path):
    src, copy = _source(tmp_path), tmp_path / "my-lessons"
    done = lesson_copy.sync(src, copy)
    assert sorted(done) == ["copied 01.ipynb", "copied README.md", "copied assignments/release/A1/A1.ipynb"]
    assert (copy / "01.ipynb").read_text() == "lesson one"
    assert (copy / "assignments" / "release" / "A1" / "A1.ipynb").read_text() == "student copy"
    assert not (copy / "assignments" / "source").exists() and not (copy / "TEACHING.md").exists()
    assert not (copy / ".ipynb_checkpoints").exists()


def test_a_students_edits_survive_a_sync(tmp_path):
    src, copy = _source(tmp_path), tmp_path / "my-lessons"
    lesson_copy.sync(src, copy)
    (copy / "01.ipynb").write_text("lesson one with my outputs")
    assert lesson_copy.sync(src, copy) == []
    assert (copy / "01.ipynb").read_text() == "lesson one with my outputs"


def test_an_updated_lesson_lands_beside_the_students_copy(tmp_path):
    src, copy = _source(tmp_path), tmp_path / "my-lessons"
    lesson_copy.sync(src, copy)
    (copy / "01.ipynb").write_text("my work")
    (src / "01.ipynb").write_text("lesson one, fixed")
    done = lesson_copy.sync(src, copy)
    assert len(done) == 1 and "your copy is kept" in done[0] and "01.updated.ipynb" in done[0]
    assert (copy / "01.ipynb").read_text() == "my work"
    assert (copy / "01.updated.ipynb").read_text() == "lesson one, fixed"
    assert lesson_copy.sync(src, copy) == []  # said once, not at every start


def test_the_working_copy_is_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", "my-lessons/01_from_softmax_to_arcface.ipynb"],
                            cwd=ROOT, check=False)
    assert result.returncode == 0, "my-lessons/ must be in .gitignore"


def test_an_updated_lesson_replaces_a_copy_the_student_never_changed(tmp_path):
    src, copy = _source(tmp_path), tmp_path / "my-lessons"
    lesson_copy.sync(src, copy)
    (src / "01.ipynb").write_text("lesson one, fixed")
    assert lesson_copy.sync(src, copy) == ["updated 01.ipynb (you had not changed it)"]
    assert (copy / "01.ipynb").read_text() == "lesson one, fixed"
    assert not (copy / "01.updated.ipynb").exists()
    assert lesson_copy.sync(src, copy) == []  # and the manifest now records the new version


def _relative_links(path):
    """The relative link and image targets of a markdown file or of a notebook's markdown cells (no URLs, no anchors)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and t.split("#")[0]]


def test_every_link_in_the_copied_lessons_opens_in_the_copy_too():
    # make lab's JupyterLab has my-lessons/ as its root: a link out of notebooks/ (to ../README.md, say) works on
    # GitHub but not there, and a link to a file lesson_copy leaves out (a solution) does not open either. The one
    # exception: notebooks/README.md points teachers to TEACHING.md and says it is left out of students' copies.
    source = ROOT / "notebooks"
    copied = set(lesson_copy.lesson_files(source))
    broken = []
    for rel in copied:
        for target in _relative_links(source / rel):
            if (rel, target) == (Path("README.md"), "TEACHING.md"):
                continue
            resolved = os.path.normpath(rel.parent / target)
            if resolved.startswith("..") or Path(resolved) not in copied and not (source / resolved).is_dir():
                broken.append(f"{rel}: {target}")
    assert not broken, f"links that do not open in make lab's copy: {broken}"
