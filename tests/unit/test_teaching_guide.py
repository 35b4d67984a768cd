"""The teacher's guide, notebooks/TEACHING.md, stays in step with the lessons and assignments it describes.

What can be checked without running anything: every lesson in notebooks/ has its own section with learning
goals, discussion prompts and solutions; every numbered exercise of a lesson has a worked solution in that
section; every assignment has a section; every file the guide names exists; every relative link resolves; the
measured run times cover every lesson; and the READMEs link to the guide. The numbers in the solutions are
measurements quoted from runs (with their seeds), which a text test cannot re-run.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
GUIDE = NOTEBOOKS / "TEACHING.md"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
# The teacher copies of the assignments, wherever the course layout keeps them (release/ holds student copies).
ASSIGNMENTS = sorted({p.name: p for p in (NOTEBOOKS / "assignments").rglob("A[0-9]_*.ipynb")
                      if "release" not in p.parts and ".ipynb_checkpoints" not in p.parts}.values())
LINK = re.compile(r"\]\(([^)\s]+)\)")
NOTEBOOK_NAME = re.compile(r"\b((?:[0-9]{2}|A[0-9])_[A-Za-z0-9_]+\.ipynb)\b")


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Level-2 sections of a markdown text: heading line -> body up to the next level-2 heading."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {part.splitlines()[0].strip(): part for part in parts[1:]}


def lesson_section(number: int) -> str:
    found = [body for title, body in sections(guide_text()).items() if re.match(rf"Lesson {number}\b", title)]
    assert len(found) == 1, f"TEACHING.md needs exactly one '## Lesson {number} — ...' section, found {len(found)}"
    return found[0]


def numbered_exercises(path: Path) -> int:
    """How many numbered items the lesson's '## Exercises' markdown section lists."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = re.search(r"^## Exercises\s*$(.*?)(?=^## |\Z)", cell.source, flags=re.MULTILINE | re.DOTALL)
        if match:
            return len(re.findall(r"^\d+\.\s", match.group(1), flags=re.MULTILINE))
    return 0


def test_there_are_lessons_and_assignments_to_check():
    assert len(LESSONS) >= 9 and len(ASSIGNMENTS) >= 3, (LESSONS, ASSIGNMENTS)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_has_a_full_section(lesson):
    number = int(lesson.name[:2])
    body = lesson_section(number)
    assert lesson.name in body, f"the section of lesson {number} should name {lesson.name}"
    for part in ("**Learning goals.**", "**Discussion prompts.**", "**Solutions.**"):
        assert part in body, f"lesson {number}: no {part} in its section"
    prompts = re.search(r"\*\*Discussion prompts\.\*\*(.*?)(?=\n\*\*|\Z)", body, flags=re.DOTALL).group(1)
    count = len(re.findall(r"^- ", prompts, flags=re.MULTILINE))
    assert 2 <= count <= 4, f"lesson {number}: {count} discussion prompts, expected 2 to 4"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_numbered_exercise_has_a_solution(lesson):
    count = numbered_exercises(lesson)
    assert count >= 1, f"{lesson.name} has no numbered exercises under '## Exercises' (did its layout change?)"
    body = lesson_section(int(lesson.name[:2]))
    missing = [k for k in range(1, count + 1) if f"*Exercise {k}" not in body]
    assert not missing, f"{lesson.name}: no worked solution for exercise(s) {missing} in TEACHING.md"
    extra = [int(k) for k in re.findall(r"\*Exercise (\d+)", body) if int(k) > count]
    assert not extra, f"TEACHING.md solves exercise(s) {extra} that {lesson.name} does not have"


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda p: p.stem)
def test_every_assignment_has_a_section(assignment):
    heading = re.search(rf"^### {assignment.name[:2]} — .*`{re.escape(assignment.name)}`",
                        guide_text(), flags=re.MULTILINE)
    assert heading, f"TEACHING.md needs a '### {assignment.name[:2]} — ... (`{assignment.name}`)' section"


def test_every_named_notebook_exists():
    known = {p.name for p in LESSONS} | {p.name for p in ASSIGNMENTS}
    named = set(NOTEBOOK_NAME.findall(guide_text()))
    assert named, "the guide names no notebook at all"
    unknown = sorted(named - known)
    assert not unknown, f"TEACHING.md names notebooks that do not exist: {unknown}"


def test_relative_links_resolve():
    broken = []
    for target in LINK.findall(guide_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        if path and not (GUIDE.parent / path).exists():
            broken.append(target)
        elif not path and anchor not in anchors(guide_text()):
            broken.append(target)
    assert not broken, f"links in TEACHING.md that do not resolve: {broken}"


def anchors(text: str) -> set[str]:
    """GitHub-style anchors of the markdown headings: lower case, punctuation dropped, spaces to '-'."""
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_anchor_slugs_follow_github():
    # the rule the link check relies on, on headings of the kind the guide uses
    assert anchors("## Lesson 1 — From softmax to ArcFace\n## The assignments A1–A3\n") == {
        "lesson-1--from-softmax-to-arcface", "the-assignments-a1a3"}


def test_run_times_cover_every_lesson():
    table = sections(guide_text())["The course at a glance"]
    for lesson in LESSONS:
        row = [line for line in table.splitlines() if line.startswith("|") and lesson.stem in line]
        assert row, f"the run-time table has no row for {lesson.stem}"
        assert re.search(r"\d+ s\b|\d+ min", row[0]), f"no measured time in the row of {lesson.stem}: {row[0]}"
    assert "load" in table and "idle" in table, "the times must say the load they were measured under"


@pytest.mark.parametrize("readme", [ROOT / "README.md", NOTEBOOKS / "README.md"], ids=["README", "notebooks"])
def test_readmes_link_to_the_guide(readme):
    targets = {(readme.parent / t.partition("#")[0]).resolve() for t in LINK.findall(readme.read_text("utf-8"))}
    assert GUIDE.resolve() in targets, f"{readme.relative_to(ROOT)} should link to notebooks/TEACHING.md"
