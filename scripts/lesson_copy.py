"""Keep a student's working copy of the lessons beside the committed ones: ``make lab`` opens the copy.

JupyterLab autosaves outputs into whatever notebook is open. Opening a git-ignored copy keeps the
committed lessons clean (the hygiene test reads them), keeps a student's outputs and edits out of
``git status`` and ``git pull``, and never lets an update overwrite a student's work.

Usage: ``python scripts/lesson_copy.py [SOURCE] [COPY]`` (defaults: ``notebooks`` and ``my-lessons``).

- A lesson missing from the copy is copied.
- A lesson whose committed version changed since it was copied is written beside the student's file as
  ``NAME.updated.ipynb`` (the student's file is left as it is), and a line says so.
- Everything else is left alone. ``COPY/.lesson-sources.json`` records the hash of each committed file
  at the time it was copied.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

# A student's copy gets the lessons and the assignments' student copies (release/), never the solutions: the
# teacher notebooks (nbgrader's source/) and the teacher's guide stay in notebooks/ only.
SKIPPED_PARTS = {".ipynb_checkpoints", "source"}
SKIPPED_NAMES = {"TEACHING.md"}
MANIFEST = ".lesson-sources.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lesson_files(source: Path) -> list[Path]:
    """The notebooks and READMEs under ``source``, relative to it (no checkpoints, no solutions)."""
    found = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if (path.is_file() and path.suffix in {".ipynb", ".md"} and not SKIPPED_PARTS.intersection(rel.parts)
                and rel.name not in SKIPPED_NAMES):
            found.append(rel)
    return found


def sync(source: Path, copy: Path) -> list[str]:
    """Bring ``copy`` up to date with ``source`` without touching a file already there; returns what it did."""
    manifest_path = copy / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    done = []
    for rel in lesson_files(source):
        src, dst, digest = source / rel, copy / rel, _digest(source / rel)
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            done.append(f"copied {rel}")
        elif manifest.get(str(rel)) not in (None, digest):
            updated = dst.with_name(dst.stem + ".updated" + dst.suffix)
            shutil.copy2(src, updated)
            done.append(f"{rel} changed in {source.name}/; your copy is kept, the new version is "
                        f"{updated.relative_to(copy.parent)}")
        manifest[str(rel)] = digest
    copy.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return done


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else Path("notebooks")
    copy = Path(argv[2]) if len(argv) > 2 else Path("my-lessons")
    if not source.is_dir():
        print(f"lesson_copy: source={source}: no such folder; run from the project root", file=sys.stderr)
        return 2
    done = sync(source, copy)
    copied = sum(line.startswith("copied ") for line in done)
    for line in done:
        if not line.startswith("copied "):
            print(f"make: {line}")
    print(f"make: opening your working copy {copy}/ (git-ignored; {copied} lesson file(s) copied now)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
