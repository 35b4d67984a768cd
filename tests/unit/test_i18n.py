"""The widgets in Chinese: one text table with both languages, the same numbers, a clear error for other languages."""
from __future__ import annotations

import html
import re

import numpy as np
import pytest

from arcface_viz import experiment, i18n, threshold, widgets
from arcface_viz.faces import make_toy_faces
from arcface_viz.heads import make_head

CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: zh entries that are symbols only (the same words in both languages, full-width brackets aside).
SYMBOLS_ONLY = {"explorer.m1"}


def numbers(line: str) -> list[str]:
    return NUMBER.findall(line)


# ----------------------------------------------------------------------------- the table
@pytest.mark.parametrize("key", sorted(i18n.TEXT))
def test_every_key_has_both_languages_with_the_same_fields(key):
    entry = i18n.TEXT[key]
    assert set(entry) == set(i18n.LANGS) == {"en", "zh"}
    assert all(isinstance(t, str) and t.strip() for t in entry.values()), entry
    assert i18n.fields(entry["en"]) == i18n.fields(entry["zh"]), key
    # the format specs too: a field shown as {x:.2f} in English is {x:.2f} in Chinese (same digits)
    specs = {lang: sorted(re.findall(r"\{[^{}]*\}", t)) for lang, t in entry.items()}
    assert specs["en"] == specs["zh"], key
    if key not in SYMBOLS_ONLY:
        assert CJK.search(entry["zh"]), f"{key}: zh text has no Chinese: {entry['zh']!r}"
        assert not CJK.search(entry["en"]), key


def test_fields_lists_the_format_fields():
    assert i18n.fields("epoch {epoch}/{epochs}: loss {loss:.3f}") == {"epoch", "epochs", "loss"}
    assert i18n.fields("no fields") == set()


def test_text_fills_in_and_refuses_unknown_keys():
    assert i18n.text("lab.epoch", "zh", epoch=3, epochs=15, loss=1.23449, accuracy=80.06) == (
        "第 3/15 轮：损失 1.234，准确率 80.1%（评估模式，训练集人脸）")
    assert i18n.text("lab.epoch", epoch=3, epochs=15, loss=1.23449, accuracy=80.06) == (
        "epoch 3/15: loss 1.234, accuracy 80.1% (eval mode, training faces)")
    with pytest.raises(KeyError, match="key='lab.nope': no such text"):
        i18n.text("lab.nope", "en")


@pytest.mark.parametrize("bad, error", [("fr", ValueError), ("ZH", ValueError), ("zh-CN", ValueError),
                                        ("", ValueError), (None, TypeError), (1, TypeError)])
def test_an_unknown_language_is_refused_naming_it(bad, error):
    with pytest.raises(error, match=r"^lang=.*: .*one of 'en', 'zh'; pass lang=\"en\""):
        i18n.check_lang(bad)


def test_the_message_reads_in_the_package_style():
    with pytest.raises(ValueError) as caught:
        i18n.check_lang("fr")
    assert str(caught.value) == ("lang='fr': must be one of 'en', 'zh'; "
                                 'pass lang="en" (English, the default) or lang="zh" (简体中文)')


@pytest.mark.parametrize("make", [
    lambda: widgets.margin_explorer(lang="fr"),
    lambda: widgets.MarginExplorer(lang="de"),
    lambda: widgets.training_lab(make_toy_faces(n_identities=2, images_per_identity=2, size=8, cache=False),
                                 lang="jp"),
    lambda: threshold.threshold_explorer([0.9, 0.8], [0.1, 0.2], lang="fr"),
    lambda: threshold.threshold_readout(threshold.operating_point([0.9], [0.1], 0.5), lang="fr"),
    lambda: widgets.explorer_readout("arcface", 16.0, 1.0, 0.5, 0.0, 60.0, 8, lang="fr"),
    lambda: widgets.training_summary("x", 0.5, {"target_angles": [0.1], "min_center_angle": 1.0}, lang="fr"),
    lambda: widgets.warmup_note(make_head("arcface", 2, 3), 0, 1, lang="fr"),
])
def test_every_widget_and_text_function_refuses_an_unknown_language(make):
    with pytest.raises(ValueError, match=r"^lang='\w+': must be one of 'en', 'zh'"):
        make()


# ----------------------------------------------------------------------------- margin explorer
def test_zh_explorer_shows_chinese_and_the_same_numbers_and_pictures():
    en, zh = widgets.margin_explorer(), widgets.margin_explorer(lang="zh")
    assert zh.readout.value == html.escape(
        "θ = 60.0°：目标 logit 0.38，目标类概率 0.172 | 不加间隔：logit 8.00，概率 0.998 | "
        "ArcFace (s=16, m=0.5)，C = 8，其余类中心都在 90°")
    assert zh.controls["s"].description == "尺度 s" and zh.controls["loss"].description == "损失函数"
    assert zh.controls["n_classes"].description == "类别数 C" and zh.controls["m2"].description == "m2（弧度）"
    assert dict(zh.controls["loss"].options)["自定义"] == "custom"
    assert dict(en.controls["loss"].options)["Custom"] == "custom"
    for name, value in (("theta", 75.0), ("s", 30.0), ("m2", 0.3), ("n_classes", 20), ("loss", "cosface")):
        en.controls[name].value = value
        zh.controls[name].value = value
        assert numbers(zh.readout.value) == numbers(en.readout.value), name
        assert zh.settings == en.settings
        assert all(zh.images[k].value == en.images[k].value for k in en.images), f"{name}: same figures"
    # both editions of lesson 4 (the same code) read θ, the target logit and its probability before the first "|"
    first = [part.split("|")[0] for part in (en.readout.value, zh.readout.value)]
    assert numbers(first[0]) == numbers(first[1]) and len(numbers(first[1])) == 3, first
    # no English word left in the Chinese line: only the loss's name and the symbols logit, s, m, C
    assert set(re.findall(r"[A-Za-z]+", zh.readout.value)) == {"CosFace", "logit", "s", "m", "C"}, zh.readout.value
    en.controls["m2"].value = zh.controls["m2"].value = 0.2
    assert "自定义 (s=30, m1=1, m2=0.2, m3=0.35)" in zh.readout.value
    assert set(re.findall(r"[A-Za-z]+", zh.readout.value)) == {"logit", "s", "m", "C"}, zh.readout.value
    assert "Custom (s=30, m1=1, m2=0.2, m3=0.35)" in en.readout.value


def test_zh_explorer_shows_invalid_settings_in_chinese():
    zh = widgets.margin_explorer(lang="zh")
    zh.controls["m1"].value = 0.8  # below 1 with m2 = 0.5: the margin would reward the target at large θ
    assert zh.readout.value.startswith("设置无效：m1=0.8: below 1 with m2=0.5")
    assert zh.error.startswith("m1=0.8") and "arcface-error" in zh.readout._dom_classes


# ----------------------------------------------------------------------------- training lab
@pytest.fixture(scope="module")
def tiny_faces():
    return make_toy_faces(n_identities=3, images_per_identity=24, size=32, cache=False)


def test_zh_training_lab_labels_and_the_same_run(tiny_faces):
    en = widgets.training_lab(tiny_faces, max_points_per_identity=5)
    zh = widgets.training_lab(tiny_faces, max_points_per_identity=5, lang="zh")
    assert zh.status.value == "就绪：选择损失函数，然后点击“开始训练”。"
    assert zh.controls["train"].description == "开始训练" and zh.controls["stop"].description == "停止"
    assert zh.controls["m"].description == "间隔 m" and zh.controls["warmup"].description == "间隔预热"
    assert [label for label, _ in zh.controls["dim"].options] == ["二维", "三维"]
    assert [v for _, v in zh.controls["loss"].options] == [v for _, v in en.controls["loss"].options]
    for lab in (en, zh):
        lab.controls["epochs"].value = 2
        lab.controls["warmup"].value = 4
        assert lab.start(block=True) and lab.error is None, lab.status.value
    assert zh.metrics.value.startswith("ArcFace (s=16, m=0.5) x0.50：准确率 ")  # x0.50: half the margin (warm-up)
    assert "满足间隔 m2=0.5 的样本占 " in zh.metrics.value and "类中心之间的最小夹角" in zh.metrics.value
    # same seed, same run: the same numbers in both languages
    assert numbers(zh.metrics.value) == numbers(en.metrics.value)
    assert zh.result.history["loss"] == en.result.history["loss"]
    assert zh.status.value.startswith("完成：2 轮，用时 ")
    factor = zh.result.head.margin_factor
    assert f"；间隔只达到设定值的 {100 * factor:.0f}%：预热（4 轮）比训练本身（2 轮）还长。" in zh.status.value


def test_zh_training_lab_reports_failures_in_chinese(tiny_faces, monkeypatch):
    def broken_fit(*args, **kwargs):
        raise ValueError("the loss became nan in epoch 1")

    monkeypatch.setattr(experiment, "fit", broken_fit)
    lab = widgets.training_lab(tiny_faces, lang="zh")
    assert lab.start(block=True)
    assert lab.status.value == "训练失败：ValueError: the loss became nan in epoch 1"


def test_zh_summary_and_warmup_note_hand_values():
    stats = {"target_angles": [0.1, 0.3], "min_center_angle": float("nan")}
    assert widgets.training_summary("NormFace (s=16)", 0.975, stats, lang="zh") == (
        "NormFace (s=16)：准确率 97.5%（评估模式，训练集人脸），样本到类中心的平均夹角 11.5°，类中心之间的最小夹角 无（只有一类）")
    head = make_head("arcface", 2, 3, s=16.0, m=0.5)
    head.margin_factor = 0.5
    assert widgets.warmup_note(head, 4, 2, lang="zh") == "；间隔只达到设定值的 50%：预热（4 轮）比训练本身（2 轮）还长。"
    assert widgets.warmup_note(head, 4, 2) == (
        " The margin reached only 50% of its value: the warm-up (4 epochs) is longer than the run (2 epochs).")


# ----------------------------------------------------------------------------- threshold explorer
def test_zh_threshold_readout_hand_values():
    p = threshold.operating_point([0.9, 0.8, 0.3], [0.1, 0.5, 0.85, 0.2], 0.5)
    assert threshold.threshold_readout(p, lang="zh") == (
        "阈值 0.50：通过率 TAR 66.7 %（接受了 2/3 个同人对），误识率 FAR 50.00 %（接受了 2/4 个异人对）")
    assert numbers(threshold.threshold_readout(p, lang="zh")) == numbers(threshold.threshold_readout(p))


def test_zh_threshold_explorer_same_point_chinese_text():
    rng = np.random.default_rng(1)
    genuine, impostor = rng.normal(0.6, 0.15, 200), rng.normal(0.1, 0.2, 1000)
    en = threshold.threshold_explorer(genuine, impostor, label="ArcFace")
    zh = threshold.threshold_explorer(genuine, impostor, label="ArcFace", lang="zh")
    assert zh.controls["threshold"].description == "阈值" and en.controls["threshold"].description == "threshold"
    for value in (0.3, 0.55):
        en.controls["threshold"].value = zh.controls["threshold"].value = value
        assert zh.point == en.point
        assert zh.readout.value == html.escape(threshold.threshold_readout(zh.point, lang="zh"))
        assert zh.readout.value.startswith(f"阈值 {value:.2f}：通过率 TAR ")
        assert numbers(zh.readout.value) == numbers(en.readout.value)
        assert all(zh.images[k].value == en.images[k].value for k in en.images), "figures stay English"


# ----------------------------------------------------------------------------- the Voilà apps: ?lang= in the address
@pytest.mark.parametrize("query, lang", [(None, "en"), ("", "en"), ("lang=zh", "zh"), ("lang=en", "en"),
                                         ("theme=dark&lang=zh", "zh"), ("lang=zh&lang=zh", "zh"),
                                         ("voila-template=lab", "en"), ("lang=%7A%68", "zh")])
def test_the_page_address_picks_the_language(query, lang):
    assert i18n.lang_from_query(query) == lang


@pytest.mark.parametrize("query, shown", [("lang=fr", "'fr'"), ("lang=ZH", "'ZH'"), ("lang=zh-CN", "'zh-CN'"),
                                          ("lang=", "''"), ("lang=zh&lang=en", "['zh', 'en']")])
def test_an_unknown_language_in_the_address_says_which_address_to_open(query, shown):
    with pytest.raises(ValueError) as caught:
        i18n.lang_from_query(query)
    assert str(caught.value).startswith(f"lang={shown}: ")
    assert str(caught.value).endswith("; open the page with ?lang=zh (简体中文) or ?lang=en (English, the default)")


def test_an_app_takes_its_language_from_the_address():
    zh = widgets.in_page_language(widgets.margin_explorer, "lang=zh", s=30.0)
    assert isinstance(zh, widgets.MarginExplorer)
    assert zh.controls["s"].description == "尺度 s" and zh.controls["s"].value == 30.0
    en = widgets.in_page_language(widgets.margin_explorer, None)
    assert en.controls["s"].description == "scale s"


def test_an_app_asked_for_an_unknown_language_shows_english_under_a_note():
    page = widgets.in_page_language(widgets.margin_explorer, "lang=fr")
    note, app = page.children
    assert "arcface-error" in note._dom_classes
    assert note.value == html.escape("lang='fr': must be one of 'en', 'zh'; open the page with ?lang=zh (简体中文) "
                                     "or ?lang=en (English, the default). Showing English.")
    assert isinstance(app, widgets.MarginExplorer) and app.controls["s"].description == "scale s"


def test_the_training_lab_app_passes_its_faces_on(tiny_faces):
    lab = widgets.in_page_language(widgets.training_lab, "lang=zh", tiny_faces)
    assert lab.controls["train"].description == "开始训练"
