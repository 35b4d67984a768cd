"""Build a static, offline site of the executed lessons: ``make site`` (or this script) writes ``site/``.

Readers without Python open ``site/index.html`` in a browser, with or without a network:

- every lesson is executed in a temporary copy of ``notebooks/`` (nbclient, the ``python3`` kernel) and
  exported with nbconvert's HTML exporter (``lab`` template), outputs included;
- plotly figures carry plotly.js inside the page (the lessons call
  ``arcface_viz.plots.use_offline_html_renderer()``);
- math is typeset by MathJax 2 served from ``site/mathjax/`` (the files of the ``jupyter-server-mathjax``
  package), not from a CDN (plotly's own MathJax tags, which point at a CDN, are dropped; plotly uses the
  page's MathJax); nbconvert's require.js tag, which would point at a CDN, is left out (the
  pages need no require.js: no widget state is stored, and plotly.js defines ``window.Plotly`` without it);
- ``site/ipynb/`` holds the executed notebooks, to download.

Sliders and buttons need a running kernel: the index page says to use ``make lab`` or ``make app``.

Usage: python scripts/build_site.py [--out site] [--lessons 01,03] [--timeout 600]
"""
from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_URL = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
NO_REQUIRE_JS = "__no_require_js__"
# plotly's "notebook" renderer adds <script src=".../mathjax/...">, a CDN, to every figure; the page's local
# MathJax serves plotly too (plotly configures it through MathJax.Hub, the MathJax 2 API).
CDN_MATHJAX = re.compile(r'<script src="https?://[^"]*mathjax[^"]*"></script>', re.IGNORECASE)


def lesson_paths(notebooks: Path, only: list[str] | None = None) -> list[Path]:
    """The lessons ``NN_*.ipynb`` directly under ``notebooks`` (not the assignments), optionally filtered
    by number prefix (``["01", "03"]``).

    Raises
    ------
    ValueError
        When a requested prefix matches no lesson.
    """
    lessons = sorted(p for p in notebooks.glob("[0-9][0-9]_*.ipynb"))
    if only is None:
        return lessons
    chosen = [p for p in lessons if p.name[:2] in only]
    missing = sorted(set(only) - {p.name[:2] for p in chosen})
    if missing:
        raise ValueError(f"lessons={','.join(missing)}: no such lesson under {notebooks}; "
                         f"choose from {','.join(p.name[:2] for p in lessons)}")
    return chosen


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first Markdown heading of the notebook, without the leading #'s."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def mathjax_folder() -> Path:
    """MathJax 2's files as shipped by the ``jupyter-server-mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise SystemExit("build_site: jupyter-server-mathjax is not installed; run `make site` "
                         "(or pip install -e '.[site]')") from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def export_html(nb: nbformat.NotebookNode) -> str:
    """One executed notebook as a standalone HTML page that loads nothing from the network."""
    exporter = HTMLExporter(template_name="lab", mathjax_url=MATHJAX_URL, require_js_url=NO_REQUIRE_JS)
    body, _ = exporter.from_notebook_node(nb)
    body = body.replace(f'<script src="{NO_REQUIRE_JS}"></script>', "")
    return CDN_MATHJAX.sub("", body)


def index_page(entries: list[tuple[str, str, float]]) -> str:
    items = "\n".join(f'  <li><a href="{html.escape(href)}">{html.escape(title)}</a> '
                      f'<small>(executed in {seconds:.0f} s; <a href="ipynb/{html.escape(href[:-5])}.ipynb">'
                      f"notebook</a>)</small></li>" for href, title, seconds in entries)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>arcface-viz lessons</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}</style></head>
<body>
<h1>arcface-viz: the lessons, executed</h1>
<p>Why the ArcFace loss (Deng et al., CVPR 2019) separates face identities better than softmax. These pages
show every lesson with its outputs and work offline. Sliders and buttons need a running Python kernel:
clone the project and run <code>make lab</code> (the lessons) or <code>make app</code> (the explorers as apps).</p>
<ol class="lessons">
{items}
</ol>
</body></html>
"""


def build(out: Path, only: list[str] | None = None, timeout: int = 600) -> list[Path]:
    """Execute the lessons and write the site to ``out``; returns the lesson pages written."""
    lessons = lesson_paths(ROOT / "notebooks", only)
    (out / "ipynb").mkdir(parents=True, exist_ok=True)
    shutil.copytree(mathjax_folder(), out / "mathjax", dirs_exist_ok=True)
    entries, pages = [], []
    with tempfile.TemporaryDirectory(prefix="arcface-site-") as tmp:
        work = Path(tmp) / "notebooks"
        shutil.copytree(ROOT / "notebooks", work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "release"))
        for lesson in lessons:
            print(f"site: executing {lesson.name} ...", flush=True)
            nb = nbformat.read(work / lesson.name, as_version=4)
            start = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                           resources={"metadata": {"path": str(work)}}).execute()
            seconds = time.perf_counter() - start
            nbformat.write(nb, out / "ipynb" / lesson.name)
            page = out / (lesson.stem + ".html")
            page.write_text(export_html(nb), encoding="utf-8")
            entries.append((page.name, title_of(nb, lesson.stem), seconds))
            pages.append(page)
    (out / "index.html").write_text(index_page(entries), encoding="utf-8")
    print(f"site: {len(pages)} lesson page(s) and index.html in {out}/")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the static, offline site of the executed lessons.")
    parser.add_argument("--out", type=Path, default=ROOT / "site")
    parser.add_argument("--lessons", help="comma-separated lesson numbers, e.g. 01,03 (default: all)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    only = [x.strip() for x in args.lessons.split(",")] if args.lessons else None
    try:
        build(args.out, only, args.timeout)
    except ValueError as error:
        print(f"build_site: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
