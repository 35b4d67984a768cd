"""The compare report's tables, printed and on the page: units, one decimal, width, definitions."""
from __future__ import annotations

import math
import re

import pytest

from arcface_viz import compare, report
from arcface_viz.report import Cell

#: Per loss: (head description, per metric its per-seed values: fractions, degrees, seconds).
#: The 4 default losses on real faces (no closed-set column), values of the AT&T job's size.
REAL = {
    "softmax": ("Softmax", {"verification_accuracy": [0.90, 0.92, 0.95], "tar_at_far_1e-2": [0.60, 0.62, 0.63],
                            "tar_at_far_1e-3": [0.20, 0.25, 0.26], "eer": [0.08, 0.07, 0.077],
                            "rank1_unseen": [0.90, 0.95, 0.95], "margin_satisfied": [0.94, 0.97, 0.91],
                            "mean_angle_to_center_deg": [50.1, 51.0, 51.6], "min_center_angle_deg": [50.0, 48.2, 51.9]}),
    "normface": ("NormFace (s=16)", {"verification_accuracy": [0.93, 0.96, 0.93], "tar_at_far_1e-2": [0.76, 0.77, 0.59],
                                     "tar_at_far_1e-3": [0.56, 0.48, 0.40], "eer": [0.058, 0.04, 0.065],
                                     "rank1_unseen": [0.944, 0.978, 0.867], "margin_satisfied": [1.0, 1.0, 1.0],
                                     "mean_angle_to_center_deg": [34.4, 34.0, 35.1],
                                     "min_center_angle_deg": [58.8, 58.1, 59.5]}),
    "cosface": ("CosFace (s=16, m=0.35)", {"verification_accuracy": [0.94, 0.972, 0.968],
                                           "tar_at_far_1e-2": [0.858, 0.884, 0.822], "tar_at_far_1e-3": [0.6, 0.54, 0.6],
                                           "eer": [0.061, 0.029, 0.035], "rank1_unseen": [0.944, 0.989, 0.967],
                                           "margin_satisfied": [1.0, 0.997, 1.0],
                                           "mean_angle_to_center_deg": [21.7, 21.0, 22.3],
                                           "min_center_angle_deg": [70.9, 69.9, 71.9]}),
    "arcface": ("ArcFace (s=16, m=0.5)", {"verification_accuracy": [0.933, 0.972, 0.94],
                                          "tar_at_far_1e-2": [0.718, 0.847, 0.649], "tar_at_far_1e-3": [0.356, 0.436, 0.367],
                                          "eer": [0.059, 0.03, 0.053], "rank1_unseen": [0.911, 0.989, 0.911],
                                          "margin_satisfied": [0.99, 0.997, 1.0],
                                          "mean_angle_to_center_deg": [16.8, 16.5, 17.0],
                                          "min_center_angle_deg": [61.7, 60.0, 63.5]}),
}
SECONDS = [17.0, 17.3, 19.8]


def _runs(per_loss: dict, extra: dict | None = None) -> list[dict]:
    return [{"loss": name, "seed": seed, "head": head, "seconds": SECONDS[seed],
             "metrics": {key: values[seed] for key, values in {**metrics, **(extra or {})}.items()}}
            for name, (head, metrics) in per_loss.items() for seed in range(3)]


def test_format_value_one_decimal_and_n_a():
    assert report.format_value((93.333, 1.449)) == "93.3 ± 1.4"
    assert report.format_value(Cell(100.0, 0.0, "%", "g")) == "100.0 ± 0.0"
    assert report.format_value((7.55, None)) == "7.5"  # 7.55 is 7.5499... in binary: rounds down
    assert report.format_value((None, None)) == report.format_value((math.nan, 1.0)) == report.format_value(None) == "n/a"


def test_rows_are_percent_and_degrees_of_the_summary():
    rows = compare.table_rows(compare.summarise(_runs(REAL), list(REAL)))
    softmax = rows[0]
    assert softmax["loss"] == "Softmax" and "closed-set acc" not in softmax  # real faces: no closed-set column
    # hand-computed: mean(0.90, 0.92, 0.95) = 0.92333, population std = sqrt(0.0012667 / 3) = 0.020548
    assert softmax["10-fold acc"].mean == pytest.approx(92.333, abs=1e-3)
    assert softmax["10-fold acc"].std == pytest.approx(2.0548, abs=1e-4)
    assert softmax["10-fold acc"][2:] == ("%", compare.UNSEEN)
    # angles stay in degrees: mean(50.1, 51.0, 51.6) = 50.9
    assert softmax["mean θ_y"] == pytest.approx(Cell(50.9, 0.61644, "°", compare.TRAINING), abs=1e-4)
    assert softmax["training time"].unit == "seconds" and softmax["training time"].mean == pytest.approx(18.0333, abs=1e-4)


def test_printed_table_exact_rows_and_width_for_the_four_real_face_losses():
    rows = compare.table_rows(compare.summarise(_runs(REAL), list(REAL)))
    text = compare.format_table(rows)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 110  # a normal terminal; before: about 250 columns
    assert lines[:4] == [
        "Unseen identities: verification and identification",
        "loss                    10-fold acc  TAR@FAR=1e-2  TAR@FAR=1e-3        EER  rank-1 unseen",
        "                                  %             %             %          %              %",
        "----------------------  -----------  ------------  ------------  ---------  -------------",
    ]
    # hand-computed from REAL: softmax 92.3 ± 2.1, 61.7 ± 1.2, 23.7 ± 2.6, 7.6 ± 0.4, 93.3 ± 2.4
    assert lines[4] == "Softmax                  92.3 ± 2.1    61.7 ± 1.2    23.7 ± 2.6  7.6 ± 0.4     93.3 ± 2.4"
    training = lines[lines.index("Training identities, and time per run"):]
    assert training[1] == "loss                    margin satisfied    mean θ_y  min centre angle  training time"
    assert training[2].split() == ["%", "°", "°", "seconds"]
    # NormFace satisfies every margin: 100.0 ± 0.0; angles mean(34.4, 34.0, 35.1) = 34.5, std 0.4546
    assert training[5] == "NormFace (s=16)              100.0 ± 0.0  34.5 ± 0.5        58.8 ± 0.6     18.0 ± 1.3"
    assert text.endswith(compare.TABLE_LEGEND) and "report.json keeps fractions" in compare.TABLE_LEGEND
    assert "fraction" not in "\n".join(lines[:-2])  # no unit mixing in the table itself


def test_toy_table_adds_closed_set_accuracy_and_still_fits():
    closed = {"closed_set_accuracy": [0.98, 0.99, 1.0]}
    rows = compare.table_rows(compare.summarise(_runs(REAL, closed), list(REAL)))
    text = compare.format_table(rows)
    assert max(len(line) for line in text.splitlines()) <= 110
    assert "closed-set acc" in text and " 99.0 ± 0.8 " in text  # 0.99 ± 0.008165


def test_every_registered_loss_on_toy_faces_fits_120_columns():
    from arcface_viz import experiment
    from arcface_viz.losses import LOSS_NAMES

    metrics = {**REAL["softmax"][1], "closed_set_accuracy": [0.98, 0.99, 1.0]}
    per_loss = {name: (experiment.build(name, 2, 8)[1].describe(), metrics) for name in LOSS_NAMES}
    assert max(len(head) for head, _ in per_loss.values()) == 37  # "Combined (s=16, m1=1, m2=0.3, m3=0.2)"
    text = compare.format_table(compare.table_rows(compare.summarise(_runs(per_loss), list(per_loss))))
    assert max(len(line) for line in text.splitlines()) <= 120


def test_paired_lines_fit_and_name_metrics_by_the_table_heads():
    runs = _runs(REAL)
    text = compare.format_paired(compare.paired_analysis(runs, list(REAL)))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 110
    assert "percentage points" in lines[0] and "95 % CI" in lines[0]
    # ArcFace − NormFace, 10-fold: differences 0.003, 0.012, 0.010; mean 0.00833 = +0.8 points;
    # 95 % CI = mean ± t(0.975, 2)·sem = 0.00833 ± 4.3027·0.0027285 = [-0.3, +2.0] points
    arcface = lines.index("  ArcFace − NormFace  10-fold acc    +0.8 [-0.3, +2.0]        3  "
                          "no clear difference (interval includes 0)")
    assert lines[arcface + 1].startswith("                      TAR@FAR=1e-2 ")  # the pair's label once
    assert lines[arcface + 2].startswith("                      rank-1 unseen ")


def test_every_column_is_defined_and_the_units_say_report_json_keeps_fractions():
    defined = dict(compare.DEFINITIONS)
    assert {column.head for column in compare.SUMMARY_COLUMNS} <= set(defined)
    assert "fractions" in defined["units"] and "percent" in defined["units"] and "percentage points" in defined["units"]
    for column in compare.SUMMARY_COLUMNS:
        assert column.unit in ("%", "°", "seconds")
        assert column.factor == (100.0 if column.unit == "%" else 1.0)
        assert (column.unit == "°") == column.key.endswith("_deg")


def test_sweep_line_in_percent():
    assert compare._fmt({"mean": 0.94, "ci95_half_width": 0.0204}) == "94.0 % (95 % CI ± 2.0)"
    assert compare._fmt({"mean": 0.689, "ci95_half_width": None}) == "68.9 %"
    assert compare._fmt({"mean": None, "ci95_half_width": None}) == "n/a"


def test_page_shows_the_printed_numbers_with_units_in_the_heads(tmp_path):
    rows = compare.table_rows(compare.summarise(_runs(REAL), list(REAL)))
    document = {"command": "python -m arcface_viz compare --data att --out x", "data": {"description": "AT&T"},
                "settings": {"seeds": 3}, "scale": {"s": 16.0}, "seconds": 61.0, "figures_seed": 0,
                "versions": {"torch": "2"}}
    paired = compare.paired_analysis(_runs(REAL), list(REAL))
    figures = [("ROC", "roc.png"), ("history", "history.png")]
    page = report.write_html(tmp_path, document, figures, rows, "credit", definitions=compare.DEFINITIONS,
                             paired=paired).read_text()
    heads = re.findall(r"<th>(.*?)</th>", page.split("<h2>Paired")[0])
    assert heads == ["loss", "10-fold acc (%)", "TAR@FAR=1e-2 (%)", "TAR@FAR=1e-3 (%)", "EER (%)", "rank-1 unseen (%)",
                     "loss", "margin satisfied (%)", "mean θ_y (°)", "min centre angle (°)",
                     "training time (seconds)"]
    assert "<h3>Unseen identities: verification and identification</h3>" in page
    # the same cells as the terminal's: the printed softmax row, cell by cell
    printed = compare.format_table(rows).splitlines()[4]
    assert "<tr><td>Softmax</td><td>92.3 ± 2.1</td><td>61.7 ± 1.2</td><td>23.7 ± 2.6</td><td>7.6 ± 0.4</td>" \
           "<td>93.3 ± 2.4</td></tr>" in page
    assert printed.split("  ")[0] == "Softmax"
    for name, text in compare.DEFINITIONS:
        assert f"<li><b>{name}</b>: " in page and text.split(";")[0].replace("'", "&#x27;") in page
    assert "fraction)" not in page and "61 seconds" in page
    # the two-panel history figure at full width, the one-panel ROC at half
    assert '<figure class="half"><img src="roc.png"' in page and '<figure class="wide"><img src="history.png"' in page
    # paired table: the same points as printed (ArcFace − NormFace, 10-fold: +0.8 [-0.3, +2.0])
    assert "<td>+0.8</td><td>[-0.3, +2.0]</td><td>3</td>" in page
