"""The compare subcommand: argument errors (exit 2), a tiny end-to-end run, and the toy-figure claim."""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from arcface_viz import cli, compare, experiment, faces
from arcface_viz.cli import UsageError
from arcface_viz.losses import LOSSES
from arcface_viz.metrics import angle_stats
from arcface_viz.training import accuracy, embed


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    compare.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["compare", *argv])


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--losses", "softmax,arcfase"], r"unknown \['arcfase'\].*arcface"),
        (["--losses", "arcface,arcface"], "twice"),
        (["--epochs", "0"], "--epochs=0: must be >= 1"),
        (["--seeds", "0"], "--seeds=0: must be >= 1"),
        (["--lr", "-1"], r"--lr=-1.0: must lie in \(0, inf\)"),
        (["--margin", "4"], r"--margin=4.0: must lie in \[0, π\); ArcFace's m is its m2 radians"),
        (["--losses", "softmax,cosface", "--margin", "-0.1"], r"--margin=-0.1: must lie in \[0, inf\)"),
        (["--scale", "1e5"], r"--scale=100000.0: must lie in \[0.001, 10000\]"),
        (["--scale", "nan"], r"--scale=nan: must be a finite number"),
        (["--data", "/no/such/folder"], "not toy, att, olivetti or an existing folder"),
        (["--data", "att", "--size", "big"], "--size 'big': give HxW"),
        (["--identities", "1"], "--identities=1: must be >= 2"),
    ],
)
def test_bad_arguments_raise_usage_error(tmp_path, argv, match):
    with pytest.raises(UsageError, match=match):
        compare.run(parse("--out", str(tmp_path / "out"), *argv))


def test_existing_output_needs_force_and_cli_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="--force"):
        compare.run(parse("--out", str(out)))
    assert cli.main(["compare", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        compare.run(parse("--out", str(tmp_path / "file")))


def test_cli_exits_2_with_the_validation_message_for_a_huge_scale(tmp_path, capsys):
    # --scale 1e5 used to pass the command-line check and end in a traceback from the head
    assert cli.main(["compare", "--scale", "1e5", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--scale=100000.0: must lie in [0.001, 10000]" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_all_pairs_and_balanced_pairs():
    labels = np.array([0, 0, 1, 1, 1])
    pairs = experiment.all_pairs(labels, seed=0)
    assert len(pairs) == 10 and np.all(pairs[:, 0] < pairs[:, 1])
    assert len(experiment.all_pairs(labels, seed=0, limit=4)) == 4
    data = faces.FaceDataset(np.zeros((5, 1, 8, 8), np.float32), labels, ["a", "b"])
    balanced = experiment.balanced_pairs(data, seed=0)
    same = labels[balanced[:, 0]] == labels[balanced[:, 1]]
    assert same.sum() == 4 and (~same).sum() == 4  # 1 + 3 genuine pairs exist


def test_head_kwargs_apply_scale_and_margin_only_where_they_exist():
    assert experiment.head_kwargs("softmax", 8.0, 0.2) == {}
    assert experiment.head_kwargs("arcface", 8.0, 0.2) == {"s": 8.0, "m": 0.2}
    assert experiment.head_kwargs("normface", None, 0.2) == {"s": LOSSES["normface"].default_s}
    assert experiment.head_kwargs("sphereface", 8.0, 1.5) == {"s": 8.0, "m1": 1.5}
    assert experiment.head_kwargs("combined", 8.0, 0.5) == {"s": 8.0, "m1": 1.0, "m2": 0.3, "m3": 0.2}
    assert experiment.head_kwargs("subcenter") == {"s": 16.0, "m": 0.5, "k": 3}


def test_tiny_end_to_end_run(tmp_path, capsys):
    out = tmp_path / "run"
    code = compare.run(parse("--data", "toy", "--identities", "3", "--test-identities", "2", "--dim", "3",
                             "--epochs", "1", "--losses", "softmax,cosface", "--out", str(out), "--quiet"))
    assert code == 0
    document = json.loads((out / "report.json").read_text())
    assert document["args"]["epochs"] == 1 and document["settings"]["dim"] == 3
    assert {r["loss"] for r in document["runs"]} == {"softmax", "cosface"}
    run = document["runs"][0]
    for key in ("closed_set_accuracy", "verification_accuracy", "tar_at_far_1e-2", "eer", "rank1_unseen",
                "mean_angle_to_center_deg", "min_center_angle_deg"):
        assert key in run["metrics"]
    assert 0 <= run["metrics"]["verification_accuracy"] <= 1
    assert document["versions"]["torch"] and document["seconds"] > 0
    assert document["data"]["test_identities"] and not set(document["data"]["test_identities"]) & set(
        document["data"]["train_identities"])  # identity-disjoint
    for name in ("embeddings_softmax.png", "embeddings_cosface.png", "embeddings_cosface.html", "angles.png",
                 "roc.png", "history.png", "index.html"):
        assert (out / name).is_file(), name
    page = (out / "index.html").read_text()
    assert "roc.png" in page and "CosFace" in page and "Toy faces" in page
    printed = capsys.readouterr().out
    assert "10-fold acc" in printed and "Softmax" in printed
    # a second run into the same folder needs --force
    with pytest.raises(UsageError):
        compare.run(parse("--out", str(out), "--epochs", "1"))


@pytest.mark.slow
def test_toy_faces_arcface_tighter_and_centres_further_apart_than_softmax():
    """The paper's toy figure (Deng et al., 2019, Fig. 1): 8 identities, 2-D features."""
    data = faces.make_toy_faces(8, 200, 32, seed=0)
    train, heldout = faces.split_images(data, 0.2, seed=0)
    stats = {}
    for name in ("softmax", "arcface"):
        result = compare.train_one(name, experiment.head_kwargs(name), compare.TOY, train, seed=0, progress=False)
        assert accuracy(result.model, result.head, heldout) >= 0.95, name
        stats[name] = angle_stats(embed(result.model, heldout), heldout.labels, result.head.centers)
    assert stats["arcface"].mean_target_angle < stats["softmax"].mean_target_angle
    assert stats["arcface"].min_center_angle > stats["softmax"].min_center_angle
    # every ArcFace centre pair is at least the margin apart (else two classes would share a sector)
    assert stats["arcface"].min_center_angle > LOSSES["arcface"].default_m
    assert math.isfinite(stats["softmax"].min_center_angle)
