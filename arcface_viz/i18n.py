"""Every piece of text the widgets show, in English and Simplified Chinese: one table, one lookup.

The widgets (:mod:`arcface_viz.widgets`, :mod:`arcface_viz.threshold`) take ``lang="en"`` (default) or
``lang="zh"`` and fetch each label, button caption, readout, status line and widget-shown error prefix
from :data:`TEXT` through :func:`text`; so does the grading summary of ``python -m arcface_viz assignments
grade`` (:mod:`arcface_viz.teaching.assignments`), in the language of the course. Nothing else is
translated: loss names (ArcFace, CosFace ...), symbols (s, m, θ, C, logit, TAR, FAR), the messages of
:mod:`arcface_viz._validation` and of the assignments' checks stay as they are, and figures keep English
labels (matplotlib and plotly need no CJK font then).

The Chinese follows the field's usual terms, as in ``notebooks/zh/GLOSSARY.md``: 尺度 s (scale), 间隔 m
(margin), 类中心 (class centre), 特征嵌入 (embedding), 误识率 FAR, 通过率 TAR, 同人对 / 异人对 (genuine /
impostor pairs).
"""
from __future__ import annotations

import string
from urllib.parse import parse_qs

from ._validation import message

__all__ = ["LANGS", "TEXT", "check_lang", "lang_from_query", "text", "fields"]

#: The languages every entry of :data:`TEXT` has: English (the default) and Simplified Chinese.
LANGS = ("en", "zh")

#: key -> {language: template}. Templates use :meth:`str.format` fields; both languages of a key take
#: the same fields (tests/unit/test_i18n.py checks it).
TEXT: dict[str, dict[str, str]] = {
    # --- margin explorer: controls
    "explorer.loss": {"en": "loss", "zh": "损失函数"},
    "explorer.custom": {"en": "Custom", "zh": "自定义"},
    "explorer.s": {"en": "scale s", "zh": "尺度 s"},
    "explorer.m1": {"en": "m1 (×θ)", "zh": "m1（×θ）"},
    "explorer.m2": {"en": "m2 (rad)", "zh": "m2（弧度）"},
    "explorer.m3": {"en": "m3 (cos)", "zh": "m3（余弦）"},
    "explorer.theta": {"en": "probe θ (°)", "zh": "探针角 θ（°）"},
    "explorer.n_classes": {"en": "classes C", "zh": "类别数 C"},
    # --- margin explorer: readout. Both languages give θ, the target logit and its probability, in this order,
    # before the first "|" (lesson 4 checks those three numbers, whatever the language).
    "explorer.readout": {
        "en": ("θ = {theta:.1f}°: target logit {logit:.2f}, probability {prob:.3f} | "
               "without margin: logit {plain:.2f}, probability {plain_prob:.3f} | "
               "{described}, C = {n_classes}, other classes at 90°"),
        "zh": ("θ = {theta:.1f}°：目标 logit {logit:.2f}，目标类概率 {prob:.3f} | "
               "不加间隔：logit {plain:.2f}，概率 {plain_prob:.3f} | "
               "{described}，C = {n_classes}，其余类中心都在 90°"),
    },
    "explorer.invalid": {"en": "Invalid settings: {error}", "zh": "设置无效：{error}"},
    # --- training lab: controls
    "lab.loss": {"en": "loss", "zh": "损失函数"},
    "lab.m": {"en": "margin m", "zh": "间隔 m"},
    "lab.s": {"en": "scale s", "zh": "尺度 s"},
    "lab.dim": {"en": "embedding", "zh": "嵌入维度"},
    "lab.dim2": {"en": "2-D", "zh": "二维"},
    "lab.dim3": {"en": "3-D", "zh": "三维"},
    "lab.epochs": {"en": "epochs", "zh": "训练轮数"},
    "lab.warmup": {"en": "margin warm-up", "zh": "间隔预热"},
    "lab.train": {"en": "Train", "zh": "开始训练"},
    "lab.stop": {"en": "Stop", "zh": "停止"},
    "lab.progress": {"en": "epochs", "zh": "轮次"},
    # --- training lab: status lines
    "lab.ready": {"en": "Ready: choose a loss and press Train.", "zh": "就绪：选择损失函数，然后点击“开始训练”。"},
    "lab.busy": {"en": "Already training: wait for this run to finish (or press Stop).",
                 "zh": "正在训练：请等本次训练结束（或点击“停止”）。"},
    "lab.starting": {"en": "Training {planned} for {epochs} epochs ...",
                     "zh": "正在训练 {planned}，共 {epochs} 轮……"},
    "lab.epoch": {"en": "epoch {epoch}/{epochs}: loss {loss:.3f}, accuracy {accuracy:.1f}% (eval mode, training faces)",
                  "zh": "第 {epoch}/{epochs} 轮：损失 {loss:.3f}，准确率 {accuracy:.1f}%（评估模式，训练集人脸）"},
    "lab.done": {"en": "Done: {epochs_done} epochs in {wall:.1f} s (training {fit:.1f} s)",
                 "zh": "完成：{epochs_done} 轮，用时 {wall:.1f} 秒（其中训练 {fit:.1f} 秒）"},
    "lab.stopped": {"en": " (stopped early)", "zh": "（提前停止）"},
    "lab.failed": {"en": "Training failed: {error}", "zh": "训练失败：{error}"},
    "lab.warmup_note": {
        "en": (" The margin reached only {percent:.0f}% of its value: the warm-up ({warmup} epochs) is longer than "
               "the run ({epochs_done} epochs)."),
        "zh": "；间隔只达到设定值的 {percent:.0f}%：预热（{warmup} 轮）比训练本身（{epochs_done} 轮）还长。",
    },
    # --- training lab: final metrics line (training_summary)
    "lab.summary": {
        "en": ("{description}: accuracy {accuracy:.1f}% (eval mode, training faces), {margin_text}"
               "mean angle to centre {mean_angle:.1f}°, min angle between centres {centre_text}"),
        "zh": ("{description}：准确率 {accuracy:.1f}%（评估模式，训练集人脸），{margin_text}"
               "样本到类中心的平均夹角 {mean_angle:.1f}°，类中心之间的最小夹角 {centre_text}"),
    },
    "lab.summary_margin": {"en": "margin {named} satisfied by {percent:.1f}%, ",
                           "zh": "满足间隔 {named} 的样本占 {percent:.1f}%，"},
    "lab.one_class": {"en": "n/a (one class)", "zh": "无（只有一类）"},
    # --- threshold explorer
    "threshold.slider": {"en": "threshold", "zh": "阈值"},
    "threshold.readout": {
        "en": ("threshold {threshold:.2f}: TAR {tar:.1f} % ({genuine_accepted}/{n_genuine} genuine pairs accepted), "
               "FAR {far:.2f} % ({impostor_accepted}/{n_impostor} impostor pairs accepted)"),
        "zh": ("阈值 {threshold:.2f}：通过率 TAR {tar:.1f} %（接受了 {genuine_accepted}/{n_genuine} 个同人对），"
               "误识率 FAR {far:.2f} %（接受了 {impostor_accepted}/{n_impostor} 个异人对）"),
    },
    # --- grading summary of `assignments grade` (teaching/assignments.py); the language follows the course.
    # The reasons themselves (the checks' messages) and nbgrader's log stay in English.
    "grade.header": {"en": "{assignment}/{notebook}.ipynb, student {student!r} (nbgrader autograde)",
                     "zh": "{assignment}/{notebook}.ipynb，学生 {student!r}（nbgrader 自动评分）"},
    "grade.reason": {"en": "{error}", "zh": "未通过：{error}"},
    "grade.total": {"en": "total", "zh": "总分"},
    "grade.pass": {"en": "pass", "zh": "通过"},
    "grade.fail": {"en": "below the pass mark", "zh": "未达及格线"},
    "grade.mark": {"en": "({verdict}: {needed:g} of {possible:g} points, {percent:g} %)",
                   "zh": "（{verdict}：及格线为满分 {possible:g} 分中的 {needed:g} 分，即 {percent:g} %）"},
    "grade.restored": {"en": "locked code cells the submission had edited, run as the teacher wrote them: {cells}",
                       "zh": "提交中被改动过的锁定代码单元格（已按老师的原版运行）：{cells}"},
    "grade.missing": {"en": "locked code cells the submission had deleted (a graded one scores 0): {cells}",
                      "zh": "提交中被删除的锁定代码单元格（其中的计分单元格记 0 分）：{cells}"},
    "grade.below_exit": {"en": ("below the pass mark (a result, not an error): exit code 1; "
                                "make reports it as 'Error 1'"),
                         "zh": "未达及格线（这是评分结果，不是出错）：退出码 1；make 会把它显示为 'Error 1'"},
    "grade.failed": {"en": "grading failed (exit code 3): no score; the log above says why",
                     "zh": "评分失败（退出码 3）：没有得分；原因见上面的日志"},
}


def check_lang(lang: object) -> str:
    """``lang`` if it is a language of :data:`LANGS`.

    Parameters
    ----------
    lang : object
        ``"en"`` or ``"zh"`` (exactly these strings).

    Returns
    -------
    str
        ``lang``.

    Raises
    ------
    TypeError
        ``lang`` is not a str.
    ValueError
        ``lang`` is another string; the message lists the languages.

    Examples
    --------
    >>> check_lang("zh")
    'zh'
    >>> check_lang("fr")
    Traceback (most recent call last):
    ...
    ValueError: lang='fr': must be one of 'en', 'zh'; pass lang="en" (English, the default) or lang="zh" (简体中文)
    """
    options = ", ".join(repr(code) for code in LANGS)
    fix = 'pass lang="en" (English, the default) or lang="zh" (简体中文)'
    if not isinstance(lang, str):
        raise TypeError(message("lang", lang, f"expected a str, one of {options}", fix))
    if lang not in LANGS:
        raise ValueError(message("lang", lang, f"must be one of {options}", fix))
    return lang


def lang_from_query(query_string: str | None) -> str:
    """The language a page address asks for with ``?lang=``: how the Voilà apps pick theirs.

    Voilà passes the query string of the request (the part after ``?``, not decoded) to the app's kernel
    as the environment variable ``QUERY_STRING``; ``apps/*.ipynb`` hand it to this function, so
    ``http://127.0.0.1:8866/voila/render/margin_explorer.ipynb?lang=zh`` shows the Chinese labels.

    Parameters
    ----------
    query_string : str or None
        A URL query string such as ``"lang=zh"`` or ``"lang=zh&x=1"`` (no leading ``?``); ``None`` or ``""``
        when the address has none (or the notebook runs outside Voilà).

    Returns
    -------
    str
        ``"en"`` or ``"zh"``; ``"en"`` (the default) when the query has no ``lang``.

    Raises
    ------
    ValueError
        ``lang`` is not ``en`` or ``zh`` (exactly these, lower case), is empty, or is given twice with
        different values; the message says which address to open instead.

    Examples
    --------
    >>> lang_from_query("lang=zh")
    'zh'
    >>> lang_from_query(None)
    'en'
    >>> lang_from_query("lang=fr")
    Traceback (most recent call last):
    ...
    ValueError: lang='fr': must be one of 'en', 'zh'; open the page with ?lang=zh (简体中文) or ?lang=en (English, the default)
    """
    values = parse_qs(query_string or "", keep_blank_values=True).get("lang", [])
    if not values:
        return "en"
    options = ", ".join(repr(code) for code in LANGS)
    fix = "open the page with ?lang=zh (简体中文) or ?lang=en (English, the default)"
    if len(set(values)) > 1:
        raise ValueError(message("lang", values, "given more than once with different values", fix))
    if values[0] not in LANGS:
        raise ValueError(message("lang", values[0], f"must be one of {options}", fix))
    return values[0]


def text(key: str, lang: str = "en", **fields: object) -> str:
    """The text ``key`` in ``lang``, with ``fields`` filled in.

    Parameters
    ----------
    key : str
        A key of :data:`TEXT`, e.g. ``"lab.train"``.
    lang : str, default "en"
        ``"en"`` or ``"zh"``.
    **fields : object
        Values of the template's format fields (numbers stay numbers: the template formats them).

    Returns
    -------
    str
        The filled-in text.

    Raises
    ------
    KeyError
        ``key`` is not in :data:`TEXT`.
    TypeError, ValueError
        ``lang`` is not ``"en"`` or ``"zh"`` (from :func:`check_lang`).

    Examples
    --------
    >>> text("lab.train", "zh")
    '开始训练'
    >>> text("explorer.invalid", "en", error="s=0: too small")
    'Invalid settings: s=0: too small'
    """
    lang = check_lang(lang)
    if key not in TEXT:
        raise KeyError(f"key={key!r}: no such text; use a key of arcface_viz.i18n.TEXT")
    return TEXT[key][lang].format(**fields)


def fields(template: str) -> set[str]:
    """The format fields a template uses (tests check both languages of a key use the same ones).

    Parameters
    ----------
    template : str
        A :meth:`str.format` template.

    Returns
    -------
    set of str
        The field names, e.g. ``{"epoch", "epochs"}``.
    """
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
