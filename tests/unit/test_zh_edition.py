"""The Chinese edition cannot drift from the English one (issue 15).

For every English lesson ``notebooks/NN_*.ipynb`` and every assignment's nbgrader source
``notebooks/assignments/source/A*/A*_*.ipynb`` there is a Chinese twin at the same path under ``notebooks/zh/``, and

- the sequence of cell types is the same (markdown cells correspond one to one);
- every code cell is the English cell, character for character, once a ``lang="zh"`` keyword argument is removed
  from a call; every widget call of the English cell gets that argument; code cell metadata (nbval tags) match;
- every Chinese markdown cell contains Chinese, and every number it writes (digits, decimals, 1e-3, 2019, in the
  prose and in the $...$ maths alike) is a number of the corresponding English cell: the translation cannot quote
  a number the lesson does not.

Who changes an English lesson changes its twin in the same commit; this test fails until both agree.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
ZH = NOTEBOOKS / "zh"
#: The package's widget factories that take lang= (arcface_viz.widgets, arcface_viz.threshold).
WIDGET_CALL = re.compile(r"\b(margin_explorer|training_lab|threshold_explorer|MarginExplorer|TrainingLab|"
                         r"ThresholdExplorer)\(")
#: ``lang="zh"`` as the last argument of a call (``f(a, lang="zh")``) or as its only one (``f(lang="zh")``).
LANG_LAST = re.compile(r',\s*lang="zh"(?=\s*\))')
LANG_ONLY = re.compile(r'(?<=\()\s*lang="zh"\s*(?=\))')
CJK = re.compile(r"[\u3400-\u9fff]")
#: Thousands separators between digits: "10,000", LaTeX "1{,}000", "85\,000", a thin or normal space "10 000".
THOUSANDS = re.compile(r"(?<=\d)(?:,|\{,\}|\\,|\u2009|\u202f)(?=\d{3}(?!\d))")
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][-+−]?\d+)?")


def english_lessons() -> list[Path]:
    """The English lessons and assignments that must have a Chinese twin."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted((NOTEBOOKS / "assignments" / "source").glob("A*/A*_*.ipynb"))


def twin(english: Path) -> Path:
    """Where the Chinese twin of an English notebook lives: notebooks/zh/<same relative path>."""
    return ZH / english.relative_to(NOTEBOOKS)


def strip_lang(source: str) -> str:
    """``source`` without the ``lang="zh"`` argument of its calls (nothing else changes)."""
    return LANG_ONLY.sub("", LANG_LAST.sub("", source))


def numbers(text: str) -> set[str]:
    """The numbers written in ``text``, with thousands separators removed and spacing normalised."""
    text = THOUSANDS.sub("", text).replace("−", "-")
    return {match.replace("−", "-") for match in NUMBER.findall(text)}


def code_problems(index: int, english: str, chinese: str) -> list[str]:
    """Why a Chinese code cell is not the English cell plus ``lang="zh"`` in its widget calls."""
    found = []
    if strip_lang(chinese) != english:
        found.append(f"cell {index}: code differs from the English cell beyond a lang=\"zh\" argument")
    calls, given = len(WIDGET_CALL.findall(english)), chinese.count('lang="zh"')
    if calls != given:
        found.append(f"cell {index}: {calls} widget call(s) in the English cell, {given} lang=\"zh\" in the Chinese one")
    return found


def markdown_problems(index: int, english: str, chinese: str) -> list[str]:
    """Why a Chinese markdown cell does not fit its English cell: no Chinese, or numbers the English lacks."""
    found = []
    if not CJK.search(chinese):
        found.append(f"cell {index}: markdown without Chinese characters")
    extra = numbers(chinese) - numbers(english)
    if extra:
        found.append(f"cell {index}: numbers not in the English cell: {sorted(extra)}")
    return found


def notebook_problems(english: nbformat.NotebookNode, chinese: nbformat.NotebookNode) -> list[str]:
    """Every difference between an English notebook and its Chinese twin that the edition rules forbid."""
    en_types = [cell.cell_type for cell in english.cells]
    zh_types = [cell.cell_type for cell in chinese.cells]
    if en_types != zh_types:
        return [f"cell types differ: English {en_types}, Chinese {zh_types}"]
    found = []
    for index, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        if en.cell_type == "code":
            found += code_problems(index, en.source, zh.source)
            if en.get("metadata", {}) != zh.get("metadata", {}):
                found.append(f"cell {index}: code cell metadata differ: {dict(en.metadata)} vs {dict(zh.metadata)}")
        elif en.cell_type == "markdown":
            found += markdown_problems(index, en.source, zh.source)
    return found


# ----------------------------------------------------------------------------- the two editions
@pytest.mark.parametrize("english", english_lessons(), ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_chinese_twin_matches_the_english_lesson(english: Path):
    chinese = twin(english)
    assert chinese.is_file(), f"{english.relative_to(ROOT)} has no Chinese twin {chinese.relative_to(ROOT)}"
    found = notebook_problems(nbformat.read(english, as_version=4), nbformat.read(chinese, as_version=4))
    assert not found, f"{chinese.relative_to(ROOT)} vs {english.relative_to(ROOT)}:\n" + "\n".join(found)


def test_every_chinese_lesson_has_an_english_original():
    english = {p.relative_to(NOTEBOOKS) for p in english_lessons()}
    orphans = sorted(str(p.relative_to(ZH)) for p in ZH.rglob("*.ipynb")
                     if ".ipynb_checkpoints" not in p.parts and "release" not in p.parts
                     and p.relative_to(ZH) not in english)
    assert not orphans, f"Chinese notebooks without an English lesson of the same name: {orphans}"


def test_the_chinese_readme_and_glossary_list_every_lesson():
    readme = (ZH / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in english_lessons() if p.name not in readme]
    assert not missing, f"notebooks/zh/README.md does not list {missing}"
    assert "术语表" in (ZH / "GLOSSARY.md").read_text(encoding="utf-8")


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def test_readme_zh_cn_keeps_the_english_commands_and_numbers():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in english and "(README.md)" in chinese, "the two READMEs link each other"
    # the same two set-up commands, and every command block the same
    assert _bash_blocks(chinese)[0] == _bash_blocks(english)[0]
    assert "make lab" in _bash_blocks(english)[0] and "make test" in _bash_blocks(english)[0]
    assert _bash_blocks(chinese) == _bash_blocks(english)
    assert "make test-zh" in english and "make test-zh" in chinese
    # the same measured numbers: the Chinese text quotes no number the English one does not
    extra = numbers(chinese) - numbers(english)
    assert not extra, f"README.zh-CN.md has numbers README.md does not: {sorted(extra)}"
    assert len(CJK.findall(chinese)) > 2000, "README.zh-CN.md is a translation, not a stub"


# ----------------------------------------------------------------------------- the rules themselves
def test_strip_lang_removes_only_the_argument():
    assert strip_lang('margin_explorer(loss="arcface", lang="zh")') == 'margin_explorer(loss="arcface")'
    assert strip_lang('widgets.training_lab(data, lang="zh")\nlab') == "widgets.training_lab(data)\nlab"
    assert strip_lang('margin_explorer(lang="zh")') == "margin_explorer()"
    assert strip_lang('f(a,\n  lang="zh"\n)') == "f(a\n)"
    # anywhere else it stays, so the comparison with the English cell fails
    assert strip_lang('f(lang="zh", a=1)') == 'f(lang="zh", a=1)'
    assert strip_lang('print("lang=\\"zh\\"")') == 'print("lang=\\"zh\\"")'


def test_code_rules_catch_a_changed_cell_and_a_missing_lang():
    english = 'w = margin_explorer(s=16.0)\nw'
    assert code_problems(0, english, 'w = margin_explorer(s=16.0, lang="zh")\nw') == []
    assert code_problems(0, english, 'w = margin_explorer(s=64.0, lang="zh")\nw')  # a changed number
    assert code_problems(0, english, english)  # the widget left in English
    assert code_problems(0, english, 'w = margin_explorer(s=16.0, lang="zh")\nw  # 注释')  # an added comment
    assert code_problems(0, "x = 1", "x = 1") == []


def test_markdown_rules_catch_missing_chinese_and_foreign_numbers():
    english = "With $s = 64$ and 8 identities, 10,000 to 85,000 ids; TAR@FAR $=10^{-3}$ and 1e-3; 0.987."
    good = "当 $s = 64$、8 个身份时，10000 到 85,000 个身份；TAR@FAR $=10^{-3}$，即 1e-3；0.987。"
    assert markdown_problems(0, english, good) == []
    assert markdown_problems(0, english, "With s = 64.") == ["cell 0: markdown without Chinese characters"]
    assert markdown_problems(0, english, "当 $s = 32$ 时") == ["cell 0: numbers not in the English cell: ['32']"]
    assert markdown_problems(0, english, "准确率 0.978") == ["cell 0: numbers not in the English cell: ['0.978']"]
    assert markdown_problems(0, english, "误识率 1e-4") == ["cell 0: numbers not in the English cell: ['1e-4']"]
    assert markdown_problems(0, "85\\,000 and 1{,}000", "85000 与 1000") == []


def test_notebook_rules_compare_cell_types_and_metadata():
    def notebook(*cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = list(cells)
        return nb

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    english = notebook(md("# Lesson 1"), code("x = 1", metadata={"tags": ["nbval-skip"]}))
    assert notebook_problems(english, notebook(md("# 第 1 课"), code("x = 1", metadata={"tags": ["nbval-skip"]}))) == []
    assert notebook_problems(english, notebook(md("# 第 1 课"), md("多一个"), code("x = 1")))[0].startswith(
        "cell types differ")
    assert notebook_problems(english, notebook(md("# 第 1 课"), code("x = 1"))) == [
        "cell 1: code cell metadata differ: {'tags': ['nbval-skip']} vs {}"]
