"""The robustness study: one nuisance factor at a time on toy faces, t-intervals over seeds, the feature
norm against quality, its figures and the ``compare --sweep`` option."""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
from scipy.stats import rankdata

from arcface_viz import compare, faces, plots, robustness
from arcface_viz.cli import UsageError
from arcface_viz.faces import NUISANCE_FACTORS

#: A budget that trains in seconds: the numbers mean nothing, the bookkeeping is what is tested.
TINY = {"identities": 3, "images_per_identity": 12, "test_identities": 3, "test_images_per_identity": 8,
        "dim": 4, "epochs": 1, "size": 16}


@pytest.fixture(scope="module")
def tiny_models():
    return robustness.train_models(("softmax", "arcface", "adaface"), seeds=(0, 1), **TINY)


# --------------------------------------------------------------------------- controlled toy faces
@pytest.mark.parametrize("factor", list(NUISANCE_FACTORS))
def test_a_factor_s_level_changes_that_factor_only(factor):
    base = faces.make_toy_faces(3, 20, 16, nuisance=0.5, seed=4, cache=False)
    same = faces.make_toy_faces(3, 20, 16, nuisance=0.5, seed=4, cache=False, levels={factor: 0.5})
    np.testing.assert_array_equal(same.images.numpy(), base.images.numpy())
    strong = faces.make_toy_faces(3, 20, 16, nuisance=0.5, seed=4, cache=False, levels={factor: 1.0})
    changed = {key for key in base.meta[0] if any(a[key] != b[key] for a, b in zip(base.meta, strong.meta))}
    meta_keys = {"light", "exposure", "background", "yaw", "roll", "expression", "occluder", "blur", "noise"}
    # the per-image parameters the factor drives, as meta records them (e.g. lighting: light, exposure, background)
    assert changed and changed <= meta_keys
    others = meta_keys - changed
    assert all(a[k] == b[k] for a, b in zip(base.meta, strong.meta) for k in others | {"scale", "shift", "gaze"})
    none = faces.make_toy_faces(3, 20, 16, nuisance=0.5, seed=4, cache=False, levels={factor: 0.0})
    if factor == "pose":
        assert all(row["yaw"] == 0 and row["roll"] == 0 for row in none.meta)
    if factor == "occlusion":
        assert all(row["occluder"] == "none" for row in none.meta)
    if factor == "blur":
        assert all(row["blur"] == 0 for row in none.meta)
    if factor == "expression":
        assert all(row["expression"] == "neutral" for row in none.meta)


def test_levels_are_checked_and_an_empty_mapping_changes_nothing():
    base = faces.make_toy_faces(2, 4, 16, seed=1, cache=False)
    np.testing.assert_array_equal(faces.make_toy_faces(2, 4, 16, seed=1, cache=False, levels={}).images.numpy(),
                                  base.images.numpy())
    with pytest.raises(ValueError, match="levels key='hat': unknown; use one of lighting"):
        faces.make_toy_faces(2, 4, 16, levels={"hat": 1.0})
    with pytest.raises(ValueError, match=r"levels\['blur'\]=1.5: must lie in \[0, 1\]"):
        faces.make_toy_faces(2, 4, 16, levels={"blur": 1.5})
    with pytest.raises(TypeError, match="levels=.*expected a dict"):
        faces.make_toy_faces(2, 4, 16, levels=[("blur", 1.0)])


# --------------------------------------------------------------------------- statistics
def test_interval_is_the_student_t_interval_of_the_mean():
    values = [0.8, 0.9, 0.7]
    mean, low, high = robustness.interval(values)
    half = 4.302652729911275 * np.std(values, ddof=1) / math.sqrt(3)  # t_{0.975, 2} from a table
    assert (mean, low, high) == pytest.approx((0.8, 0.8 - half, 0.8 + half))
    assert robustness.interval([0.5]) == (0.5, None, None)
    assert robustness.interval([0.5, 0.5]) == (0.5, 0.5, 0.5)


def test_drop_difference_is_paired_by_seed():
    sweep = {"losses": ["arcface", "normface"], "drop": {
        "arcface": {"verification_accuracy": {"values": [0.10, 0.20, 0.30]}},
        "normface": {"verification_accuracy": {"values": [0.15, 0.20, 0.40]}}}}
    result = robustness.drop_difference(sweep)
    assert result["values"] == pytest.approx([-0.05, 0.0, -0.10]) and result["mean"] == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="baseline='softmax': unknown"):
        robustness.drop_difference(sweep, baseline="softmax")


# --------------------------------------------------------------------------- the studies
def test_sweep_bookkeeping(tiny_models):
    sweep = robustness.nuisance_sweep(tiny_models, "lighting", levels=(0.0, 1.0))
    assert sweep["levels"] == [0.0, 1.0] and sweep["losses"] == ["softmax", "arcface", "adaface"]
    assert sweep["n_test_images"] == 24 and sweep["train_level"] == 0.5
    for loss in sweep["losses"]:
        accuracy = sweep["metrics"][loss]["verification_accuracy"]
        assert len(accuracy["values"]) == 2 and all(len(v) == 2 for v in accuracy["values"])
        assert accuracy["mean"] == pytest.approx([np.mean(v) for v in accuracy["values"]])
        assert all(0 <= v <= 1 for level in accuracy["values"] for v in level)
        drop = sweep["drop"][loss]["verification_accuracy"]["values"]
        assert drop == pytest.approx([a - b for a, b in zip(*accuracy["values"])])
    with pytest.raises(ValueError, match="factor='glare': unknown"):
        robustness.nuisance_sweep(tiny_models, "glare")


def test_norm_vs_quality_is_spearman_of_the_raw_norm(tiny_models):
    result = robustness.norm_vs_quality(tiny_models)
    test = robustness.test_faces(tiny_models.setup, {f: 1.0 for f in robustness.QUALITY_FACTORS})
    occluded = [row["occluder"] != "none" for row in test.meta]
    assert result["quality"]["occlusion"] == [float(o) for o in occluded]
    assert result["quality"]["blur"] == [row["blur"] for row in test.meta]
    model = tiny_models.runs["arcface"][0].model
    raw = model.eval()(test.images).detach().norm(dim=1).numpy()
    np.testing.assert_allclose(result["norms"]["arcface"], raw, rtol=1e-5)
    # Spearman's ρ: Pearson's correlation of the ranks (ties share their mean rank)
    rho = np.corrcoef(rankdata(raw), rankdata(result["quality"]["noise"]))[0, 1]
    assert result["spearman"]["arcface"]["noise"]["rho"][0] == pytest.approx(rho)
    assert all(0 <= p <= 1 for p in result["spearman"]["arcface"]["noise"]["p"])


def test_figures_draw_every_loss_and_factor(tiny_models):
    sweeps = [robustness.nuisance_sweep(tiny_models, f, levels=(0.0, 0.5, 1.0)) for f in ("pose", "blur")]
    fig = plots.plot_nuisance_sweep(sweeps)
    assert len(fig.axes) == 4
    gids = {line.get_gid() for ax in fig.axes for line in ax.get_lines()}
    assert "sweep:blur:tar_at_far_1e-2:adaface" in gids and "sweep:pose:verification_accuracy:softmax" in gids
    fig = plots.plot_norm_vs_quality(robustness.norm_vs_quality(tiny_models))
    assert len(fig.axes) == 9 and "ρ =" in fig.axes[0].get_title()


# --------------------------------------------------------------------------- compare --sweep
def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    compare.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["compare", *argv])


def test_compare_sweep_writes_the_report_and_figures(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = compare.run(parse("--sweep", "pose,occlusion", "--losses", "softmax,arcface", "--identities", "3",
                             "--test-identities", "3", "--epochs", "1", "--dim", "4", "--seeds", "2", "--out",
                             str(out), "--quiet"))
    assert code == 0
    document = json.loads((out / "report.json").read_text())
    assert [s["factor"] for s in document["sweeps"]] == ["pose", "occlusion"]
    assert document["setup"]["dim"] == 4 and document["setup"]["identities"] == 3 and document["seeds"] == [0, 1]
    assert "--sweep pose,occlusion" in document["command"] and document["scale"]["arcface"] == 16.0
    assert set(document["norm_vs_quality"]["spearman"]) == {"softmax", "arcface"}
    assert (out / "sweep.png").is_file() and (out / "norm_quality.png").is_file()
    assert "TAR@FAR=1e-2" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (("--sweep", "glare"), "--sweep='glare': unknown"),
    (("--sweep", "pose", "--data", "att"), "only toy faces carry their nuisances"),
])
def test_compare_sweep_bad_arguments(tmp_path, argv, match):
    with pytest.raises(UsageError, match=match):
        compare.run(parse(*argv, "--out", str(tmp_path / "x")))
    assert not (tmp_path / "x").exists()


def test_compare_sweep_without_identities_trains_the_default_identities(tmp_path, monkeypatch):
    # `compare --sweep blur` alone (no --identities) crashed with TypeError: identities=None
    seen = {}

    def stop(losses, seeds, **setup):
        seen.update(setup)
        raise KeyboardInterrupt  # stop before any training: the setup is what is tested

    monkeypatch.setattr(robustness, "train_models", stop)
    with pytest.raises(KeyboardInterrupt):
        compare.run(parse("--sweep", "blur", "--out", str(tmp_path / "sweep"), "--quiet"))
    assert seen["identities"] == robustness.STUDY["identities"] == 8


@pytest.mark.parametrize("argv, match", [
    # before: trained every loss at its default margin and wrote the option into report.json's command
    (["--margin", "0.3"], r"^--margin=0\.3: the robustness study \(--sweep\) trains each loss at its default "
                          r"margin; drop --margin, or compare margins without --sweep"),
    (["--margins", "0.1,0.2"], r"^--margins='0\.1,0\.2': the robustness study \(--sweep\) trains each loss at its "
                               r"default margin; drop --margins, or compare margins without --sweep"),
    (["--split-seed", "3"], r"^--split-seed=3: the robustness study \(--sweep\) draws its own people \(training "
                            r"seed 0, test seed 1\); drop --split-seed"),
])
def test_compare_sweep_refuses_options_it_would_ignore(tmp_path, monkeypatch, argv, match):
    monkeypatch.setattr(robustness, "train_models", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(UsageError, match=match):
        compare.run(parse("--sweep", "blur", "--out", str(tmp_path / "sweep"), "--quiet", *argv))
    assert not (tmp_path / "sweep").exists()
