"""One validation layer: one message style, one exception type per kind of fault, one range per quantity."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from arcface_viz import _validation as v
from arcface_viz import cli, experiment, explorer, faces, heads, metrics, models, plots, widgets
from arcface_viz.losses import M2_RANGE, S_RANGE

D, C = 3, 4
STYLE = re.compile(r"^[\w\-\[\].]+=.+?: .+; .+$", re.S)  # name=value: what is wrong; what to do


# The same fault reaches every entry point: each callable gets one keyword set to the bad value.
ENTRY_POINTS = {
    "head": lambda **kw: heads.make_head("arcface", D, C, **{"m" if k == "m2" else k: x for k, x in kw.items()}),
    "combined head": lambda **kw: heads.CombinedMarginHead(D, C, **kw),
    "margin_logits": lambda **kw: heads.margin_logits(torch.zeros(2, C), torch.tensor([0, 1]), **{"s": 16.0, **kw}),
    "target_logit": lambda **kw: heads.target_logit(0.5, **kw),
    "explorer": lambda **kw: explorer.target_probability(0.5, **{"s": 16.0, **kw}),
    "figure": lambda **kw: plots.plot_probability_vs_angle(loss="custom", **{"s": 16.0, **kw}),
    "readout": lambda **kw: widgets.explorer_readout("custom", **{"s": 16.0, "m1": 1.0, "m2": 0.0, "m3": 0.0,
                                                                  "theta_deg": 60.0, "n_classes": 8, **kw}),
    "recipe": lambda **kw: experiment.head_kwargs("arcface", **{"m" if k == "m2" else k: x for k, x in kw.items()}),
}

FAULTS = [
    # (keyword, bad value, exception type, start of the message)
    ("s", "16", TypeError, "s='16': expected a real number"),
    ("s", True, TypeError, "s=True: expected a real number"),
    ("s", torch.tensor(16.0), TypeError, "s=tensor(16.): expected a real number"),
    ("s", float("nan"), ValueError, "s=nan: must be a finite number"),
    ("s", 1e5, ValueError, "s=100000.0: must lie in [0.001, 10000]"),
    ("s", 0.0, ValueError, "s=0.0: must lie in [0.001, 10000]"),
    ("m2", -0.1, ValueError, "=-0.1: must lie in [0, π)"),
    ("m2", math.pi, ValueError, "=3.141592653589793: must lie in [0, π)"),
    ("m2", "0.5", TypeError, "='0.5': expected a real number"),
    ("m2", float("inf"), ValueError, "=inf: must be a finite number"),
]


@pytest.mark.parametrize("where", ENTRY_POINTS)
@pytest.mark.parametrize("keyword, bad, error, start", FAULTS)
def test_same_fault_same_exception_and_message_everywhere(where, keyword, bad, error, start):
    with pytest.raises(Exception) as caught:
        ENTRY_POINTS[where](**{keyword: bad})
    assert type(caught.value) is error, f"{where}: {type(caught.value).__name__}: {caught.value}"
    text = str(caught.value)
    assert start in text, f"{where}: {text}"
    assert STYLE.match(text), f"{where}: not in the style name=value: problem; fix: {text}"


@pytest.mark.parametrize("m2", [0.0, 1.0, 3.0, math.pi - 1e-3])  # one legal range: [0, π)
def test_one_legal_range_for_the_angular_margin(m2):
    heads.make_head("combined", D, C, m1=1.0, m2=m2, m3=0.0)
    heads.target_logit(0.5, m2=m2)
    explorer.target_probability(0.5, s=16.0, m2=m2)
    plots.plot_decision_boundaries("custom", m2=m2, resolution=5)
    widgets.explorer_readout("custom", 16.0, 1.0, m2, 0.0, 60.0, 8)
    assert experiment.head_kwargs("arcface", m=m2)["m"] == m2
    assert M2_RANGE == (0.0, math.pi)


def test_the_command_line_uses_the_same_checks(tmp_path, capsys):
    assert cli.main(["compare", "--scale", "1e5", "--out", str(tmp_path / "a")]) == 2
    assert "--scale=100000.0: must lie in [0.001, 10000]" in capsys.readouterr().err
    assert cli.main(["compare", "--losses", "softmax,arcface", "--margin", "3.5", "--out", str(tmp_path / "b")]) == 2
    assert "--margin=3.5: applies to every margin loss chosen (arcface); outside the range of arcface: must lie in [0, π)" \
        in capsys.readouterr().err
    assert cli.main(["compare", "--losses", "sphereface", "--margin", "0.5", "--out", str(tmp_path / "s")]) == 2
    assert "outside the range of sphereface: must lie in [1, 10]; SphereFace's m is its m1" in capsys.readouterr().err
    assert cli.main(["compare", "--epochs", "0", "--out", str(tmp_path / "c")]) == 2
    assert "--epochs=0: must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("call, error", [
    (lambda: v.check_int("k", 2.0), TypeError),
    (lambda: v.check_int("k", np.float64(2)), TypeError),
    (lambda: v.check_int("k", True), TypeError),
    (lambda: v.check_int("k", 0, minimum=1), ValueError),
    (lambda: v.check_int("k", 7, minimum=1, maximum=5), ValueError),
    (lambda: v.check_real("x", None), TypeError),
    (lambda: v.check_real("x", 1.0, low=1.0, low_open=True), ValueError),
    (lambda: v.check_bool("flag", "False"), TypeError),
    (lambda: v.check_bool("flag", 1), TypeError),
    (lambda: v.check_choice("loss", 3, ("a",)), TypeError),
    (lambda: v.check_choice("loss", "b", ("a",)), ValueError),
    (lambda: v.check_loss("loss", "subcentre"), ValueError),
    (lambda: v.check_probability("p", 1.0), ValueError),
    (lambda: v.check_fraction("accuracy", 97.5), ValueError),
    (lambda: v.check_angles("theta", [0.0, 90.0]), ValueError),
    (lambda: v.check_angles("theta", object()), TypeError),
    (lambda: v.check_degrees("theta_deg", -1), ValueError),
    (lambda: v.check_size("size", (32, 0)), ValueError),
    (lambda: v.check_size("size", 32.0), TypeError),
    (lambda: v.check_margin("normface", 0.1), ValueError),
    (lambda: v.check_margin("cosface", -0.1), ValueError),
    (lambda: v.check_logit_range(1e4, 1e300), ValueError),
    (lambda: v.check_callable("callback", 3, "pass f(epoch, result)"), TypeError),
    (lambda: v.check_labels([0, 1], 2, 3, torch.device("cpu")), TypeError),
    (lambda: v.check_labels(torch.tensor([0.0, 1.0]), 2, 3, torch.device("cpu")), TypeError),
    (lambda: v.check_labels(torch.tensor([0, 3]), 2, 3, torch.device("cpu")), ValueError),
])
def test_primitives_wrong_type_is_type_error_wrong_value_is_value_error(call, error):
    with pytest.raises(Exception) as caught:
        call()
    assert type(caught.value) is error
    assert STYLE.match(str(caught.value)), str(caught.value)


def test_primitives_return_plain_python_values():
    assert v.check_int("n", np.int64(3)) == 3 and type(v.check_int("n", np.int64(3))) is int
    assert type(v.check_real("x", np.float32(0.5))) is float
    assert v.check_scale(np.int64(16)) == 16.0 and S_RANGE == (1e-3, 1e4)
    assert v.check_margins(1, 0, 0) == (1.0, 0.0, 0.0)
    assert v.check_margin("sphereface", 1.5) == 1.5
    assert v.check_size("size", 32) == (32, 32) and v.check_size("size", (48, 40)) == (48, 40)
    assert v.check_loss("loss", "ArcFace") == "arcface" and v.check_loss("loss", "custom", custom=True) == "custom"
    assert v.check_bool("flag", np.bool_(True)) is True
    np.testing.assert_array_equal(v.check_angles("theta", torch.tensor([0.0, 1.0])), [0.0, 1.0])


def test_no_module_keeps_its_own_copy_of_the_primitive_checks():
    import inspect

    import arcface_viz.faces.generate as generate
    import arcface_viz.faces.splits as splits
    import arcface_viz.training as training

    replaced = {"_real", "_finite", "_positive_int", "_in_range", "_check_scale", "_check_margins", "_check_range",
                "_check_int", "_check_flag", "_check_labels", "_loss_name", "_theta_array", "_check_size",
                "_check_count", "_check_seed", "_probe_deg_check"}
    for module in (heads, explorer, widgets, training, generate, splits, plots.margins, plots.colors):
        own = {n for n, f in vars(module).items() if inspect.isfunction(f) and f.__module__ == module.__name__}
        assert not own & replaced, f"{module.__name__} keeps {sorted(own & replaced)}: use arcface_viz._validation"


@pytest.mark.parametrize("call, error", [
    (lambda: metrics.angle_stats(np.eye(2), [0, 5], np.eye(2)), ValueError),
    (lambda: metrics.angle_stats(np.eye(2), [0.0, 1.0], np.eye(2)), TypeError),
    (lambda: metrics.verification(np.eye(3), [0, 0, 1], [[0, 0], [1, 2]]),
     ValueError),
    (lambda: metrics.rank1(np.eye(2), [0, 1], np.eye(2), [0, 7]), ValueError),
    (lambda: models.FaceCNN(2.0), TypeError),
    (lambda: faces.make_toy_faces(2, 2, size=4, cache=False), ValueError),
    (lambda: faces.make_toy_faces(2, 2, nuisance="high", cache=False), TypeError),
    (lambda: experiment.all_pairs([0, 1], limit=0), ValueError),
    (lambda: plots.plot_circle_embeddings(np.eye(2), [0, 1], margin=28.6), ValueError),
    (lambda: plots.identity_colors(2.5), TypeError),
    # review finding 6: these used their own wording
    (lambda: metrics.margin_satisfaction(np.eye(2), [0, 5], np.eye(2)), ValueError),
    (lambda: metrics.margin_satisfaction(np.eye(2), [0, 1], np.eye(3)), ValueError),
    (lambda: faces.load_image_folder("/nonexistent/faces"), FileNotFoundError),
    (lambda: widgets.training_lab(torch.zeros(2, 1, 8, 8)), TypeError),
    (lambda: heads.margin_logits(np.zeros((1, 2), np.float32), None, s=16.0), TypeError),
    (lambda: heads.margin_logits(torch.zeros(3), None, s=16.0), ValueError),
    (lambda: heads.make_head("arcface", 2, 3)(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), ValueError),
    (lambda: heads.make_head("arcface", 2, 3)(np.zeros((4, 2)), None), TypeError),
    (lambda: experiment.evaluate_open_set(models.FaceCNN(2), torch.zeros(4, 1, 32, 32)), TypeError),
    (lambda: experiment.train("arcface", (torch.full((4, 1, 16, 16), 0.5), torch.tensor([-1, 0, 1, 1])),
                              epochs=1, progress=False), ValueError),
])
def test_other_modules_use_the_same_style_and_exception_rule(call, error):
    with pytest.raises(Exception) as caught:
        call()
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert STYLE.match(str(caught.value)), str(caught.value)


def test_half_and_bfloat16_tensors_reach_numpy_as_float32():
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((40, 3))
    centers = rng.standard_normal((4, 3))
    labels = rng.integers(0, 4, 40)
    assert v.check_array("x", torch.tensor([0.5, 2.0], dtype=torch.bfloat16)).tolist() == [0.5, 2.0]
    half = metrics.margin_satisfaction(torch.tensor(emb, dtype=torch.float16), labels,
                                       torch.tensor(centers, dtype=torch.bfloat16), m2=0.5)
    rounded = metrics.margin_satisfaction(torch.tensor(emb, dtype=torch.float16).float(), labels,
                                          torch.tensor(centers, dtype=torch.bfloat16).float(), m2=0.5)
    np.testing.assert_array_equal(half.satisfied, rounded.satisfied)
    assert 0.0 < half.overall < 1.0


def test_messages_name_the_real_fault():
    with pytest.raises(ValueError, match=r"^label=-1: labels must be >= 0; relabel to 0..C-1"):
        experiment.train("arcface", (torch.full((4, 1, 16, 16), 0.5), torch.tensor([-1, 0, 1, 1])), epochs=1,
                         progress=False)
    with pytest.raises(TypeError, match=r"^test='Tensor': expected a FaceDataset"):
        experiment.evaluate_open_set(models.FaceCNN(2), torch.zeros(4, 1, 32, 32))
    with pytest.raises(TypeError, match=r"got a numpy.ndarray; pass torch.as_tensor\(cos"):
        heads.margin_logits(np.zeros((1, 2), np.float32), None, s=16.0)
    with pytest.raises(FileNotFoundError, match=r"^path='/nonexistent/faces': this face folder does not exist; check"):
        faces.load_image_folder("/nonexistent/faces")


def test_no_function_hard_codes_the_default_scale():
    # one source of truth: a default s is losses.DEFAULT_S (or a loss's default_s), never a literal 16.0
    import ast
    import pathlib

    import arcface_viz

    found = []
    for path in pathlib.Path(arcface_viz.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
                pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
                found += [f"{path.name}:{node.lineno} {node.name}" for a, d in pairs
                          if a.arg == "s" and isinstance(d, ast.Constant) and d.value == 16.0]
    assert not found, f"use losses.DEFAULT_S: {found}"


@pytest.mark.parametrize("call, pattern", [
    (lambda: heads.make_head("cosface", 2, 3, m=100), r"^m3=100: must lie in \[0, 2\]"),
    (lambda: heads.make_head("sphereface", 2, 3, m1=50), r"^m1=50: must lie in \(0, 10\]"),
    (lambda: heads.margin_logits(torch.zeros(1, 2), torch.tensor([0]), s=16.0, m1=1e308), r"^m1=1e\+308: must lie in"),
    (lambda: heads.margin_logits(torch.zeros(1, 2), torch.tensor([0]), s=16.0, m3=1e30), r"^m3=1e\+30: must lie in \[0, 2\]"),
    (lambda: experiment.head_kwargs("cosface", m=35.0), r"^m=35.0: must lie in \[0, 2\]"),
])
def test_margins_a_loss_cannot_use_are_refused(call, pattern):
    # m3 > 2: cos θ_y − m3 < −1 <= every other cos θ_j, the target can never win; m1 > 10 folds cos(m1·θ) over
    with pytest.raises(ValueError, match=pattern):
        call()
    assert v.check_margins(10.0, 0.0, 2.0) == (10.0, 0.0, 2.0)  # the ends are legal
