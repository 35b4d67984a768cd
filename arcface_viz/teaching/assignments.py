"""``python -m arcface_viz assignments release|grade``: hand out the assignments and grade them.

The teacher's notebooks in ``notebooks/assignments/*.ipynb`` hold the solutions between the lines
``### BEGIN SOLUTION`` and ``### END SOLUTION``. ``release`` writes the student copies into the
``release/`` folder next to them: each solution block becomes ``raise NotImplementedError(...)`` at the
block's indentation (the function's ``def`` line and docstring sit outside the markers and stay),
outputs are removed and the file is a pure function of its source, so the committed copies can be
compared with freshly generated ones. It never writes anywhere but that ``release/`` folder.

``grade PATH`` executes a notebook top to bottom in a fresh ``python3`` kernel, with errors allowed so
that one broken cell does not hide the checks after it, and prints one line per check of
:data:`arcface_viz.teaching.checks.EXPECTED` plus one per cell that raised; it exits 1 when anything failed.
"""
from __future__ import annotations

import argparse
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from arcface_viz.teaching.checks import EXPECTED, LINE
from arcface_viz.cli import UsageError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = 'raise NotImplementedError("your solution here: replace this line (see the task above)")'
RELEASE_DIR = "release"
#: Where the teacher notebooks live, relative to the repository root (the default of ``release``).
DEFAULT_SOURCE = Path("notebooks") / "assignments"
KERNEL = "python3"


# =============================================================================== release
def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block by a NotImplementedError stub.

    Parameters
    ----------
    source : str
        Code of one notebook cell.
    where : str
        Names the cell in error messages.

    Returns
    -------
    str
        The code with each block (markers included) replaced by ``raise NotImplementedError(...)`` at
        the indentation of its BEGIN line.

    Raises
    ------
    ValueError
        On a BEGIN without END, an END without BEGIN, or nested blocks.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: {BEGIN!r} inside another solution block; close it first")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: {END!r} without a {BEGIN!r} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN!r} is never closed by {END!r}")
    return "\n".join(out)


def assignment_id(nb: nbformat.NotebookNode, path: Path | None = None) -> str | None:
    """The assignment ("A1", ...) a notebook belongs to: its metadata, else its file name's ``A<n>`` prefix.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook; ``metadata.arcface_viz.assignment`` is read first.
    path : Path, optional
        Its file, whose name may start with ``A<n>`` (case-insensitive).

    Returns
    -------
    str or None
        The assignment id, upper-case, or None when neither says.
    """
    meta = nb.get("metadata", {}).get("arcface_viz", {}).get("assignment")
    if isinstance(meta, str) and meta:
        return meta
    if path is not None:
        match = re.match(r"(A\d+)", path.name, flags=re.IGNORECASE)
        if match:
            return match.group(1).upper()
    return None


def release_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The student copy of a teacher notebook: solutions stubbed, outputs and run metadata removed.

    Parameters
    ----------
    nb : NotebookNode
        The teacher notebook (nbformat 4); not modified.
    name : str
        Names the notebook in error messages.

    Returns
    -------
    NotebookNode
        Same cells in the same order, with the same ids (``cell-<index>`` where a cell had none);
        metadata reduced to the kernelspec, the language and the assignment id.

    Raises
    ------
    ValueError
        If a marker appears outside a code cell, the markers are unbalanced, or the notebook has no
        solution block at all (nothing would be left for the student to do).
    """
    out = nbformat.v4.new_notebook()
    out.metadata = nbformat.from_dict({
        "kernelspec": {"name": KERNEL, "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    aid = assignment_id(nb)
    if aid:
        out.metadata["arcface_viz"] = {"assignment": aid, "release": True}
    n_blocks = 0
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        new = copy.deepcopy(cell)
        new["id"] = cell.get("id") or f"cell-{index}"
        new["metadata"] = nbformat.from_dict({k: v for k, v in cell.get("metadata", {}).items() if k == "tags"})
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "code":
            n_blocks += sum(line.strip() == BEGIN for line in source.split("\n"))
            new["source"] = strip_solutions(source, where)
            new["outputs"] = []
            new["execution_count"] = None
        else:
            if BEGIN in source or END in source:
                raise ValueError(f"{where}: solution markers are only supported in code cells")
        out.cells.append(new)
    if n_blocks == 0:
        raise ValueError(f"{name}: no {BEGIN!r} block, so the student copy would contain the answers")
    return out


def render_release(path: Path) -> str:
    """The text of the student copy of the teacher notebook at ``path``.

    Parameters
    ----------
    path : Path
        A teacher notebook (.ipynb).

    Returns
    -------
    str
        The notebook JSON of :func:`release_notebook`, deterministic and ending in a newline.
    """
    nb = nbformat.read(path, as_version=4)
    text = nbformat.writes(release_notebook(nb, name=path.name))
    return text if text.endswith("\n") else text + "\n"


def source_notebooks(source_dir: Path) -> list[Path]:
    """The teacher notebooks: ``*.ipynb`` directly in ``source_dir``, sorted by name.

    Parameters
    ----------
    source_dir : Path
        Folder of the teacher notebooks.

    Returns
    -------
    list of Path
        The notebook files (none from sub-folders).
    """
    return sorted(p for p in source_dir.glob("*.ipynb") if p.is_file())


def write_release(source_dir: Path, release_dir: Path | None = None, *, check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) the student copies of every teacher notebook.

    Parameters
    ----------
    source_dir : Path
        Folder of the teacher notebooks.
    release_dir : Path, optional
        Must be ``source_dir/release`` (the default); any other folder is refused, so that a student's
        work elsewhere is never overwritten.
    check : bool
        Write nothing; report which copies are missing or differ.

    Returns
    -------
    list of str
        One line per notebook: ``wrote``, ``unchanged``, or with ``check`` ``out of date``/``missing``.

    Raises
    ------
    UsageError
        No such folder, no notebook in it, or ``release_dir`` elsewhere than ``source_dir/release``.
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise UsageError(f"no folder {source_dir}: pass the folder of the teacher notebooks (default {DEFAULT_SOURCE})")
    expected = source_dir / RELEASE_DIR
    release_dir = expected if release_dir is None else Path(release_dir)
    if release_dir.resolve() != expected.resolve():
        raise UsageError(f"release writes only into {expected}, refusing to write into {release_dir}")
    sources = source_notebooks(source_dir)
    if not sources:
        raise UsageError(f"no *.ipynb in {source_dir}: nothing to release")
    report = []
    if not check:
        release_dir.mkdir(exist_ok=True)
    for path in sources:
        try:
            text = render_release(path)
        except ValueError as error:
            raise UsageError(str(error)) from error
        target = release_dir / path.name
        old = target.read_text(encoding="utf-8") if target.is_file() else None
        if old == text:
            report.append(f"unchanged   {target}")
        elif check:
            report.append(f"{'missing' if old is None else 'out of date':<11} {target}")
        else:
            target.write_text(text, encoding="utf-8")
            report.append(f"wrote       {target}")
    sources_names = {p.name for p in sources}
    for stale in sorted(release_dir.glob("*.ipynb")) if release_dir.is_dir() else []:
        if stale.name not in sources_names:
            report.append(f"stale       {stale} (no teacher notebook of that name; left in place)")
    return report


# =============================================================================== grade
@dataclass
class GradeReport:
    """What ``grade`` found in an executed notebook.

    The constructor arguments are also the attributes.

    Parameters
    ----------
    assignment : str or None
        "A1", ... or None when the notebook is not a known assignment.
    checks : dict
        Check id -> (passed, detail), in the order they were expected or printed.
    errors : list of str
        One line per cell that raised outside a check, or per problem running the notebook.
    """

    assignment: str | None
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when there was at least one check, every check passed and no cell raised."""
        return bool(self.checks) and all(ok for ok, _ in self.checks.values()) and not self.errors

    def lines(self) -> list[str]:
        """The report as printed: a line per check, a line per error, then a summary line.

        Returns
        -------
        list of str
            The lines, without newlines.
        """
        out = []
        for cid, (ok, detail) in self.checks.items():
            if ok:
                out.append(f"CHECK {cid}: PASS" + (f" ({detail})" if detail else ""))
            else:
                out.append(f"CHECK {cid}: FAIL: {detail}")
        out += [f"ERROR {error}" for error in self.errors]
        if not self.checks:
            out.append("ERROR no check printed a result: is this an assignment notebook?")
        n_ok = sum(ok for ok, _ in self.checks.values())
        verdict = "PASS" if self.passed else "FAIL"
        out.append(f"RESULT {verdict}: {n_ok}/{len(self.checks)} checks passed, {len(self.errors)} cell error(s)")
        return out


def _first_line(source: str) -> str:
    for line in source.split("\n"):
        if line.strip():
            return line.strip()[:60]
    return ""


def collect(nb: nbformat.NotebookNode, assignment: str | None) -> GradeReport:
    """Read the CHECK lines and the errors out of an executed notebook.

    Expected checks that printed nothing fail with "not run"; if a check printed more than once
    (a duplicated cell), any failure wins. A cell that raised :class:`~arcface_viz.teaching.checks.CheckFailed`
    is already reported by its CHECK line; any other exception is an error line of its own.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook, with outputs.
    assignment : str or None
        Its assignment id; its :data:`~arcface_viz.teaching.checks.EXPECTED` checks must appear.

    Returns
    -------
    GradeReport
        The checks and the errors found.
    """
    report = GradeReport(assignment)
    found: dict[str, tuple[bool, str]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = output.get("text", "")
                for line in (text if isinstance(text, str) else "".join(text)).splitlines():
                    match = LINE.match(line.strip())
                    if match:
                        ok, detail = match["status"] == "PASS", match["detail"].strip()
                        if ok and detail.startswith("(") and detail.endswith(")"):
                            detail = detail[1:-1]
                        if match["id"] not in found or found[match["id"]][0]:
                            found[match["id"]] = (ok, detail)
            elif output.get("output_type") == "error" and output.get("ename") != "CheckFailed":
                evalue = str(output.get("evalue", "")).split("\n")[0][:200]
                report.errors.append(
                    f"cell {index} ({_first_line(cell.source)}): {output.get('ename')}: {evalue}"
                )
    for cid in EXPECTED.get(assignment or "", ()):
        report.checks[cid] = found.pop(cid, (False, "not run (its cell was removed or an earlier error stopped it)"))
    report.checks.update(found)
    return report


def grade(path: Path, timeout: int = 600) -> GradeReport:
    """Execute the notebook at ``path`` in a fresh ``python3`` kernel and collect its checks.

    Parameters
    ----------
    path : Path
        A notebook (.ipynb). It is not modified; the kernel runs in its folder.
    timeout : int, default 600
        Seconds allowed per cell; a cell running longer is interrupted and counts as an error.

    Returns
    -------
    GradeReport
        The checks (expected ones that did not run count as failed) and the errors.

    Raises
    ------
    UsageError
        If ``path`` is not a readable notebook file.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file; check the path of the student's .ipynb file")
    if path.suffix != ".ipynb" or not path.is_file():
        raise UsageError(f"{path}: not a notebook file; pass the path of a .ipynb file")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # JSON or schema errors: the file is not a notebook we can run
        raise UsageError(f"{path}: cannot be read as a notebook ({type(error).__name__}: {error})") from error
    assignment = assignment_id(nb, path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=KERNEL, allow_errors=True, interrupt_on_timeout=True,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    problem = None
    try:
        client.execute()
    except DeadKernelError as error:
        problem = f"the kernel died ({error}); later cells did not run"
    report = collect(nb, assignment)
    if problem:
        report.errors.append(problem)
    return report


# =============================================================================== command line
def run(args: argparse.Namespace) -> int:
    """Dispatch ``assignments release`` / ``assignments grade``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (``action`` and that action's options).

    Returns
    -------
    int
        The exit code: 0 on success, 1 for out-of-date release copies or a failed grade.
    """
    if args.action == "release":
        report = write_release(Path(args.source), check=args.check)
        print("\n".join(report))
        if args.check and any(line.startswith(("missing", "out of date")) for line in report):
            print("release copies are out of date: run `python -m arcface_viz assignments release`")
            return 1
        return 0
    report = grade(Path(args.notebook), timeout=args.timeout)
    print(f"grading {args.notebook} ({report.assignment or 'unknown assignment'})")
    print("\n".join(report.lines()))
    return 0 if report.passed else 1


def register(subparsers) -> None:
    """Add the ``assignments`` subcommand (``release`` and ``grade``) to the CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The CLI's sub-parsers (see :func:`arcface_viz.cli.build_parser`).
    """
    parser = subparsers.add_parser(
        "assignments", help="release student copies of the assignments, or grade a notebook",
        description="Hand out the assignments (release) and grade a student's notebook (grade).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    release = actions.add_parser(
        "release", help="write the student copies into <source>/release/ (solutions replaced by stubs)"
    )
    release.add_argument("source", nargs="?", default=str(DEFAULT_SOURCE),
                         help=f"folder of the teacher notebooks (default {DEFAULT_SOURCE})")
    release.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 if a student copy is missing or out of date")
    grade_parser = actions.add_parser("grade", help="run a notebook and print a PASS/FAIL line per check")
    grade_parser.add_argument("notebook", help="path of the notebook (.ipynb) to grade")
    grade_parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.set_defaults(func=run)
