"""``python -m arcface_viz assignments release|grade``: the assignments as an nbgrader course.

``notebooks/assignments/`` is an nbgrader course directory: ``nbgrader_config.py``, the teacher
notebooks in ``source/<assignment>/`` (solutions between ``### BEGIN SOLUTION`` and ``### END SOLUTION``,
locked graded cells with points, hidden tests) and the student copies in ``release/<assignment>/``.
Everything here is a thin wrapper over nbgrader's Python API (:class:`nbgrader.apps.NbGraderAPI` and
:class:`nbgrader.api.Gradebook`), run in a scratch copy of the course so that no gradebook, submission
or log ever lands in the repository:

- :func:`release` regenerates the student copies with ``nbgrader generate_assignment`` and writes (or
  with ``check`` compares) the committed ones;
- :func:`autograde` puts one notebook into ``submitted/<student>/<assignment>/``, runs
  ``nbgrader autograde`` and reads the points of each graded cell from the gradebook;
  :meth:`Grade.lines` prints them in the course's language (:func:`course_lang`; texts in :mod:`arcface_viz.i18n`).

nbgrader is an optional dependency (the ``teacher`` extra); it is imported only when used.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from arcface_viz import i18n
from arcface_viz.cli import UsageError

#: The course directory, relative to the repository root.
COURSE_DIR = Path("notebooks") / "assignments"
#: The share of an assignment's points a submission needs to pass: our convention, not nbgrader's.
PASS_FRACTION = 0.6
CONFIG_FILE = "nbgrader_config.py"


def course_lang(course_dir: Path = COURSE_DIR) -> str:
    """The language of a course's grading summary: ``"zh"`` when its nbgrader course id ends in ``-zh``.

    The Chinese edition, ``notebooks/zh/assignments/``, has the course id ``arcface-viz-zh``; every other
    course (``arcface-viz``, or one without a course id) is graded in English.

    Parameters
    ----------
    course_dir : Path
        The course directory (with ``nbgrader_config.py``); only read.

    Returns
    -------
    str
        ``"zh"`` or ``"en"``.

    Raises
    ------
    UsageError
        If ``course_dir`` has no ``nbgrader_config.py``.
    """
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(_config_file(course_dir).parent)).load_config()
    course_id = config.get("CourseDirectory", {}).get("course_id", "")
    return "zh" if isinstance(course_id, str) and course_id.endswith("-zh") else "en"


def _require_nbgrader():
    try:
        import nbgrader  # noqa: F401
    except ImportError as error:
        raise UsageError(
            "nbgrader is not installed: install the teacher extra (pip install -e '.[teacher]'; make install does)"
        ) from error


def assignment_ids(course_dir: Path = COURSE_DIR) -> list[str]:
    """The assignments of a course: the folders of ``source/`` that hold at least one notebook.

    Parameters
    ----------
    course_dir : Path
        The course directory (with ``nbgrader_config.py`` and ``source/``).

    Returns
    -------
    list of str
        The assignment ids (folder names), sorted.

    Raises
    ------
    UsageError
        If ``course_dir`` has no ``nbgrader_config.py`` or no assignment.
    """
    course_dir = _config_file(course_dir).parent
    found = sorted(p.name for p in (course_dir / "source").glob("*") if p.is_dir() and any(p.glob("*.ipynb")))
    if not found:
        raise UsageError(f"no assignment in {course_dir / 'source'}: expected source/<assignment>/<notebook>.ipynb")
    return found


def _config_file(course_dir: Path) -> Path:
    """The course's ``nbgrader_config.py``; a usage error naming the fix when the folder has none."""
    path = Path(course_dir) / CONFIG_FILE
    if not path.is_file():
        raise UsageError(f"no {CONFIG_FILE} in {Path(course_dir)}: pass the course directory (default {COURSE_DIR})")
    return path


@contextmanager
def _alembic_on_path() -> Iterator[None]:
    # nbgrader's Gradebook runs the `alembic` executable when it creates a database; it sits next to
    # this Python, which is not on PATH when the environment is used without activating it (make does).
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old])
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _course_api(course_dir: Path, root: Path, assignments: list[str]):
    """An NbGraderAPI on a scratch course at ``root``: the course's config and the given source folders."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(course_dir / CONFIG_FILE, root / CONFIG_FILE)
    for aid in assignments:
        shutil.copytree(course_dir / "source" / aid, root / "source" / aid, dirs_exist_ok=True)
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    # The kernel nbgrader starts warns on every run that it talks over local TCP without encryption; true
    # of every Jupyter kernel and nothing a teacher grading a notebook can act on. Its errors still show.
    extra = list(config.Execute.extra_arguments) if "extra_arguments" in config.Execute else []
    config.Execute.extra_arguments = extra + ["--IPKernelApp.log_level=ERROR"]
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _checked(result: dict, what: str) -> dict:
    if not result.get("success"):
        raise RuntimeError(f"{what} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return result


def generate(course_dir: Path, out_dir: Path, assignments: list[str] | None = None) -> list[Path]:
    """Run ``nbgrader generate_assignment`` on a scratch copy of the course; copy the student versions out.

    Parameters
    ----------
    course_dir : Path
        The course directory; only read.
    out_dir : Path
        Receives ``<assignment>/<file>`` for every generated file (created if missing).
    assignments : list of str, optional
        Which assignments; default all of :func:`assignment_ids`.

    Returns
    -------
    list of Path
        The files written, relative to ``out_dir``, sorted.

    Raises
    ------
    UsageError
        No course or nbgrader missing.
    RuntimeError
        When nbgrader fails (its log is in the message).
    """
    _require_nbgrader()
    course_dir, out_dir = Path(course_dir), Path(out_dir)
    assignments = assignment_ids(course_dir) if assignments is None else assignments
    written = []
    with tempfile.TemporaryDirectory() as tmp, _alembic_on_path():
        root = Path(tmp)
        api = _course_api(course_dir, root, assignments)
        for aid in assignments:
            _checked(api.generate_assignment(aid), f"nbgrader generate_assignment {aid}")
            for path in sorted((root / "release" / aid).rglob("*")):
                if path.is_file():
                    rel = path.relative_to(root / "release")
                    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, out_dir / rel)
                    written.append(rel)
    return sorted(written)


def release(course_dir: Path = COURSE_DIR, *, check: bool = False) -> list[str]:
    """Regenerate the committed student copies in ``course_dir/release/`` (or with ``check`` compare them).

    Parameters
    ----------
    course_dir : Path
        The course directory.
    check : bool
        Write nothing; report which copies are missing or differ.

    Returns
    -------
    list of str
        One line per file: ``wrote``, ``unchanged``, with ``check`` ``out of date``/``missing``, and
        ``stale`` for a file in ``release/`` that nbgrader did not generate (left in place).
    """
    course_dir = Path(course_dir)
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = Path(tmp)
        fresh = generate(course_dir, fresh_dir)
        report = []
        for rel in fresh:
            target = course_dir / "release" / rel
            new = (fresh_dir / rel).read_bytes()
            old = target.read_bytes() if target.is_file() else None
            if old == new:
                report.append(f"unchanged   {target}")
            elif check:
                report.append(f"{'missing' if old is None else 'out of date':<11} {target}")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(new)
                report.append(f"wrote       {target}")
    fresh_set = {str(rel) for rel in fresh}
    for path in sorted((course_dir / "release").rglob("*")):
        if path.is_file() and str(path.relative_to(course_dir / "release")) not in fresh_set:
            report.append(f"stale       {path} (not generated from source/; left in place)")
    return report


# =============================================================================== autograde
@dataclass
class CellGrade:
    """The points nbgrader gave one graded cell.

    The constructor arguments are also the attributes.

    Parameters
    ----------
    grade_id : str
        The cell's nbgrader ``grade_id`` (the name of the check it calls).
    score, max_score : float
        Points given and points possible.
    error : str or None
        The first line of the error the cell raised (its check's reason), if any.
    """

    grade_id: str
    score: float
    max_score: float
    error: str | None = None


@dataclass
class Grade:
    """One submission's autograde result, from nbgrader's gradebook.

    The constructor arguments are also the attributes.

    Parameters
    ----------
    assignment, notebook, student : str
        Where the gradebook keeps it (``notebook`` without ``.ipynb``).
    cells : list of CellGrade
        The graded cells, in notebook order.
    restored : list of str
        The grade_ids of locked code cells the submission had edited: nbgrader put the teacher's version back
        (hidden tests included) before running it.
    missing : list of str
        The grade_ids of locked code cells the submission had deleted or stripped of their nbgrader metadata;
        a graded one among them scores 0.
    """

    assignment: str
    notebook: str
    student: str
    cells: list[CellGrade] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Points given, summed over the graded cells."""
        return sum(c.score for c in self.cells)

    @property
    def max_score(self) -> float:
        """Points possible."""
        return sum(c.max_score for c in self.cells)

    def passed(self, fraction: float = PASS_FRACTION) -> bool:
        """True when the score reaches ``fraction`` of the points possible.

        Parameters
        ----------
        fraction : float, default PASS_FRACTION
            The pass mark as a share of the points, in [0, 1].

        Returns
        -------
        bool
            ``score >= fraction * max_score``.
        """
        return self.score >= fraction * self.max_score - 1e-9

    def lines(self, fraction: float = PASS_FRACTION, lang: str = "en") -> list[str]:
        """The result as printed by ``assignments grade``: a line per graded cell, the total, tampered cells.

        Parameters
        ----------
        fraction : float, default PASS_FRACTION
            The pass mark as a share of the points.
        lang : str, default "en"
            ``"en"`` or ``"zh"``: the language of the summary's own words (:mod:`arcface_viz.i18n`, keys
            ``grade.*``); grade ids and the checks' failure reasons are printed as they are.

        Returns
        -------
        list of str
            The lines, without newlines.

        Raises
        ------
        TypeError, ValueError
            ``lang`` is not ``"en"`` or ``"zh"``.

        Examples
        --------
        >>> grade = Grade("A3", "A3_tar_far_eer", "alice", [CellGrade("a3_hand_example", 2, 2)])
        >>> grade.lines(lang="zh")[-1]
        '  总分             2 / 2  （通过：及格线为满分 2 分中的 1.2 分，即 60 %）'
        """
        lang = i18n.check_lang(lang)
        total = i18n.text("grade.total", lang)
        width = max([_display_width(c.grade_id) for c in self.cells] + [5, _display_width(total)])
        out = [i18n.text("grade.header", lang, assignment=self.assignment, notebook=self.notebook,
                         student=self.student)]
        for c in self.cells:
            out.append(f"  {_pad(c.grade_id, width)}  {c.score:g} / {c.max_score:g}"
                       + (f"  {i18n.text('grade.reason', lang, error=c.error)}" if c.error else ""))
        verdict = i18n.text("grade.pass" if self.passed(fraction) else "grade.fail", lang)
        out.append(f"  {_pad(total, width)}  {self.score:g} / {self.max_score:g}  "
                   + i18n.text("grade.mark", lang, verdict=verdict, needed=fraction * self.max_score,
                               possible=self.max_score, percent=100 * fraction))
        if self.restored:
            out.append("  " + i18n.text("grade.restored", lang, cells=", ".join(self.restored)))
        if self.missing:
            out.append("  " + i18n.text("grade.missing", lang, cells=", ".join(self.missing)))
        return out


def _display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters take two (so the points columns line up)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _display_width(text))


def _find_source(course_dir: Path, submission: Path, assignment: str | None) -> tuple[str, str]:
    """The (assignment, notebook name) a submission belongs to."""
    sources = {aid: sorted(p.stem for p in (course_dir / "source" / aid).glob("*.ipynb"))
               for aid in assignment_ids(course_dir)}
    if assignment is not None:
        if assignment not in sources:
            raise UsageError(f"assignment={assignment!r}: no such assignment; choose one of {sorted(sources)}")
        names = sources[assignment]
        if submission.stem in names:
            return assignment, submission.stem
        if len(names) == 1:
            return assignment, names[0]
        raise UsageError(f"{submission.name}: assignment {assignment} has notebooks {names}; name the file like one")
    matches = [(aid, name) for aid, names in sources.items() for name in names if name == submission.stem]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(
        f"{submission.name}: cannot tell which assignment this is (the file name matches "
        f"{len(matches)} source notebooks); pass the assignment: --assignment ID (make grade ASSIGNMENT=ID), "
        f"one of {sorted(sources)}"
    )


def _changed_locked_cells(nb: nbformat.NotebookNode, released: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    """grade_ids of the student copy's locked code cells that the submission changed, and of those it lacks.

    Compared with the student copy, not with the gradebook: the gradebook's checksums include the hidden
    tests, which the student copy never had, so nbgrader "restores" every cell with hidden tests. Locked
    markdown cells are left out: they cannot change a score, and a translated edition of the course (same
    code cells, other prose) may be graded against this one.
    """
    from nbgrader.utils import compute_checksum, is_locked

    submitted = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
                 if "grade_id" in c.get("metadata", {}).get("nbgrader", {})}
    changed, missing = [], []
    for cell in released.cells:
        if cell.cell_type != "code" or "nbgrader" not in cell.metadata or not is_locked(cell):
            continue
        gid = cell.metadata["nbgrader"]["grade_id"]
        if gid not in submitted:
            missing.append(gid)
            continue
        try:
            same = compute_checksum(submitted[gid]) == compute_checksum(cell)
        except (KeyError, TypeError, ValueError):  # metadata edited into something nbgrader cannot read
            same = False
        if not same:
            changed.append(gid)
    return changed, missing


def _cell_errors(autograded: Path) -> dict[str, str]:
    """grade_id -> first line of the error each graded cell raised, from the autograded notebook."""
    nb = nbformat.read(autograded, as_version=4)
    errors = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if gid and output.get("output_type") == "error":
                errors[gid] = f"{output.get('ename')}: {str(output.get('evalue', '')).splitlines()[0][:300]}"
    return errors


_FILE_KINDS = {".md": "a Markdown file", ".py": "a Python file", ".html": "an HTML file", ".pdf": "a PDF file",
               ".txt": "a text file", ".zip": "a zip archive"}


def _read_submission(submission: Path) -> nbformat.NotebookNode:
    """The submitted notebook; a UsageError naming what the path is instead (folder, other file, missing)."""
    if submission.is_dir():
        found = sorted(submission.glob("*.ipynb"))
        if not found:
            raise UsageError(f"{submission}: a folder with no .ipynb in it; pass the student's .ipynb file")
        raise UsageError(f"{submission}: a folder, not a notebook; pass the .ipynb inside it: "
                         + " or ".join(str(p) for p in found))
    if not submission.is_file():
        raise UsageError(f"{submission}: no such file; check the path")
    try:
        return nbformat.read(submission, as_version=4)
    except Exception as error:  # nbformat raises several types for a file that is not a notebook
        if submission.suffix.lower() != ".ipynb":
            kind = _FILE_KINDS.get(submission.suffix.lower(), f"a {submission.suffix or 'suffix-less'} file")
            raise UsageError(f"{submission}: not a notebook ({kind}, not .ipynb); pass the student's .ipynb file, "
                             "e.g. make grade NB=path/to/A1_arcface_logits.ipynb") from error
        raise UsageError(f"{submission}: cannot be read as a notebook ({type(error).__name__}: {error}); "
                         "the file is damaged: ask the student for it again") from error


def autograde(submission: Path, course_dir: Path = COURSE_DIR, *, student: str = "student",
              assignment: str | None = None, work_dir: Path | None = None) -> Grade:
    """Grade one notebook with ``nbgrader autograde`` and read its points from the gradebook.

    In ``work_dir`` (a scratch folder by default) the course's config and the assignment's source are
    copied, ``nbgrader generate_assignment`` records the graded cells in ``gradebook.db``, the notebook
    is copied to ``submitted/<student>/<assignment>/<notebook>.ipynb`` and ``nbgrader autograde`` runs
    it in a fresh kernel (locked cells restored from the gradebook first).

    Parameters
    ----------
    submission : Path
        The student's notebook (.ipynb); only read.
    course_dir : Path
        The course directory (default ``notebooks/assignments``); only read.
    student : str, default "student"
        The student id in the gradebook.
    assignment : str, optional
        The assignment id; default: the one with a source notebook of the submission's file name.
    work_dir : Path, optional
        Keep the grading course (gradebook.db, submitted/, autograded/) here; it may already hold
        earlier gradings. Default: a temporary folder, removed afterwards.

    Returns
    -------
    Grade
        Points per graded cell (notebook order), the errors they raised, the locked cells restored and
        the locked cells missing.

    Raises
    ------
    UsageError
        Not a readable notebook, unknown assignment, a student id that is not a plain folder name,
        a ``work_dir`` that is a file, or nbgrader missing.
    RuntimeError
        When nbgrader itself fails (its log is in the message).
    """
    if not isinstance(student, str) or not re.fullmatch(r"[^\W][\w.-]*", student):
        # the id names a folder under submitted/: "" or "../x" would grade outside it (\w: letters of any script)
        raise UsageError(f"student={student!r}: not a usable student id; use letters (any script), digits, '_', '-' "
                         "or '.' (not first), e.g. --student alice")
    if work_dir is not None and Path(work_dir).exists() and not Path(work_dir).is_dir():
        raise UsageError(f"work_dir={str(work_dir)!r}: is a file; give a folder (new, or one that holds earlier "
                         "gradings)")
    _require_nbgrader()
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    submission, course_dir = Path(submission), Path(course_dir)
    nb = _read_submission(submission)
    aid, name = _find_source(course_dir, submission, assignment)
    with tempfile.TemporaryDirectory() as tmp, _alembic_on_path(), warnings.catch_warnings():
        # nbgrader 0.9.6's gradebook triggers SQLAlchemy's "not in session" warnings on every autograde
        warnings.simplefilter("ignore", SAWarning)
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        api = _course_api(course_dir, root, [aid])
        _checked(api.generate_assignment(aid), f"nbgrader generate_assignment {aid}")
        target = root / "submitted" / student / aid / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(submission, target)
        restored, missing = _changed_locked_cells(
            nb, nbformat.read(root / "release" / aid / f"{name}.ipynb", as_version=4))
        _checked(api.autograde(aid, student), f"nbgrader autograde {aid} for {student}")
        errors = _cell_errors(root / "autograded" / student / aid / f"{name}.ipynb")
        with Gradebook(api.coursedir.db_url, api.course_id) as gb:
            order = [c.name for c in gb.find_notebook(name, aid).source_cells]
            grades = gb.find_submission_notebook(name, aid, student).grades
            cells = sorted(
                (CellGrade(g.name, float(g.score), float(g.max_score), errors.get(g.name)) for g in grades),
                key=lambda c: order.index(c.grade_id),
            )
    return Grade(aid, name, student, cells, restored, missing)


# =============================================================================== command line
def run(args: argparse.Namespace) -> int:
    """Carry out ``assignments release`` or ``assignments grade``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``action`` and that action's options).

    Returns
    -------
    int
        The exit code: 0 on success, 1 for out-of-date student copies or a grade below the pass mark (a
        result, not an error), 3 when nbgrader itself failed (no grade).
    """
    if args.action == "release":
        report = release(Path(args.course), check=args.check)
        print("\n".join(report))
        if args.check and any(line.startswith(("missing", "out of date")) for line in report):
            print("student copies are out of date: run `make release` and commit them")
            return 1
        return 0
    if not 0 <= args.pass_mark <= 1:
        raise UsageError(f"--pass-mark={args.pass_mark}: a share of the points, in [0, 1]; e.g. 0.6")
    if args.lang is None:
        lang = course_lang(Path(args.course))
    else:
        try:
            lang = i18n.check_lang(args.lang)
        except ValueError as error:  # keep check_lang's diagnosis, give the command line's fix
            problem = str(error).split("; ")[0]
            raise UsageError(f"{problem}; pass --lang en or --lang zh (make grade GRADE_LANG=en|zh), "
                             "or leave it out to follow the course") from error
    try:
        grade = autograde(Path(args.notebook), Path(args.course), student=args.student, assignment=args.assignment,
                          work_dir=Path(args.work_dir) if args.work_dir else None)
    except RuntimeError as error:  # nbgrader failed; an uncaught exception would exit 1, read as a fail
        print(f"{error}\n{i18n.text('grade.failed', lang)}", file=sys.stderr)
        return 3
    print("\n".join(grade.lines(args.pass_mark, lang)))
    if grade.passed(args.pass_mark):
        return 0
    # Exit code 1 lets scripts tell a fail from a pass; said here because make then prints "Error 1".
    print(i18n.text("grade.below_exit", lang))
    return 1


def register(subparsers) -> None:
    """Add the ``assignments`` subcommand (``release`` and ``grade``) to the CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The CLI's sub-parsers (see :func:`arcface_viz.cli.build_parser`).
    """
    parser = subparsers.add_parser(
        "assignments", help="nbgrader: regenerate the student copies, or autograde one notebook",
        description="The assignments are an nbgrader course (notebooks/assignments/): regenerate the student "
                    "copies (release) or autograde one student's notebook (grade).",
    )
    parser.add_argument("--course", default=str(COURSE_DIR), help=f"the course directory (default {COURSE_DIR})")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    release_parser = actions.add_parser(
        "release", help="nbgrader generate_assignment for every assignment into <course>/release/"
    )
    release_parser.add_argument("--check", action="store_true",
                                help="write nothing; exit 1 if a student copy is missing or out of date")
    grade_parser = actions.add_parser("grade", help="nbgrader autograde one notebook; print the points per check")
    grade_parser.add_argument("notebook", help="path of the student's notebook (.ipynb)")
    grade_parser.add_argument("--student", default="student", help="student id in the gradebook (default student)")
    grade_parser.add_argument("--assignment", help="assignment id (default: from the notebook's file name)")
    grade_parser.add_argument("--work-dir", help="keep the grading course and its gradebook.db here "
                                                 "(default: a temporary folder)")
    grade_parser.add_argument("--pass-mark", type=float, default=PASS_FRACTION,
                              help=f"share of the points needed to pass (default {PASS_FRACTION})")
    grade_parser.add_argument("--lang", help="language of the printed summary: en or zh (default: the course's; "
                                             "zh for a course id ending in -zh, such as notebooks/zh/assignments)")
    parser.set_defaults(func=run)
