"""The compare subcommand: argument errors (exit 2), a tiny end-to-end run, and the toy-figure claim."""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from arcface_viz import cli, compare, experiment, faces
from arcface_viz.cli import UsageError
from arcface_viz.losses import DEFAULT_S, LOSSES
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
        (["--losses", "softmax,arcface", "--margin", "4"],
         r"--margin=4.0: applies to every margin loss chosen \(arcface\); outside the range of arcface: "
         r"must lie in \[0, π\); ArcFace's m is its m2 radians"),
        (["--losses", "softmax,cosface", "--margin", "-0.1"], r"--margin=-0.1: .*cosface: must lie in \[0, 2\]"),
        # the default losses: --margin is every margin loss's m, and 2.5 is legal for ArcFace (m2 < π), not CosFace
        (["--margin", "2.5"], r"--margin=2.5: applies to every margin loss chosen \(cosface, arcface\); outside the "
                              r"range of cosface: must lie in \[0, 2\]; CosFace's m is its m3 \(default 0.35\)\. "
                              r"Give a value every chosen margin loss accepts, or train them in separate runs"),
        (["--margin", "5"], r"outside the range of cosface: must lie in \[0, 2\].*; and of arcface: must lie in \[0, π\)"),
        (["--size", "48x"], r"--size='48x': applies to real faces only \(toy faces are 32x32\); drop --size, or "
                            r"pass real faces \(--data att\)"),
        (["--size", "48x40"], r"--size='48x40': applies to real faces only"),
        (["--scale", "1e5"], r"--scale=100000.0: must lie in \[0.001, 10000\]"),
        (["--scale", "nan"], r"--scale=nan: must be a finite number"),
        (["--data", "/no/such/folder"], "not toy, att, olivetti or an existing folder"),
        (["--data", "att", "--size", "big"], "--size 'big': give HxW"),
        (["--identities", "1"], "--identities=1: must be >= 2"),
        (["--data", "att", "--identities", "20"], r"--identities=20: applies to toy faces only \(real faces train on "
                                                  r"every identity not held out\); drop --identities, or set --test-identities"),
        # options no chosen loss uses were dropped without a word
        (["--losses", "softmax,combined", "--margin", "0.9"],
         r"--margin=0.9: no chosen loss \(softmax, combined\) has a single margin m; drop --margin, or add one of"),
        (["--losses", "normface", "--margin", "0.3"], "--margin=0.3: no chosen loss"),
        (["--losses", "softmax", "--scale", "32"], r"--scale=32.0: no chosen loss \(softmax\) has a scale s"),
    ],
)
def test_bad_arguments_raise_usage_error(tmp_path, argv, match):
    with pytest.raises(UsageError, match=match):
        compare.run(parse("--out", str(tmp_path / "out"), *argv))


def test_help_shows_no_rst_markup():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["compare"].format_help()
    assert "The compare subcommand: train the same CNN" in text
    assert "real faces only" in " ".join(text.split())  # --size says where it applies
    for name, subparser in sub.choices.items():
        assert "``" not in subparser.format_help(), name


def test_too_many_toy_identities_are_refused_before_any_face_is_drawn(tmp_path, monkeypatch):
    def draw(*args, **kwargs):
        raise AssertionError("drew toy faces before checking the identity counts")

    monkeypatch.setattr(faces, "make_toy_faces", draw)
    limit = compare.TOY_MAX_IDENTITIES
    with pytest.raises(UsageError, match=rf"--identities \+ --test-identities=508: .*at most {limit}.*; lower them"):
        compare.run(parse("--out", str(tmp_path / "out"), "--test-identities", "500"))
    with pytest.raises(UsageError, match=rf"={limit + 1}: "):
        compare.run(parse("--out", str(tmp_path / "out"), "--identities", str(limit - 3)))


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


def test_paired_difference_hand_computed():
    # differences 0.02, 0.01, 0.04: mean 0.07/3 = 0.023333; sample sd sqrt(((−1/300)² + (−4/300)² + (5/300)²)/2)
    # = sqrt(42/90000 / 2) = 0.0152753; sem = sd/√3 = 0.0088192; t(0.975, df=2) = 4.302653 (tables);
    # half width 4.302653 · 0.0088192 = 0.0379458
    got = compare.paired_difference([0.90, 0.92, 0.95], [0.88, 0.91, 0.91])
    assert got["n"] == 3 and got["differences"] == pytest.approx([0.02, 0.01, 0.04])
    assert got["mean"] == pytest.approx(0.0233333, abs=1e-7)
    assert got["ci95"] == pytest.approx([0.0233333 - 0.0379458, 0.0233333 + 0.0379458], abs=1e-6)
    assert compare.verdict(got) == "no clear difference (interval includes 0)"
    # a seed with n/a on either side is dropped; one seed left: a mean, no interval
    one = compare.paired_difference([0.9, None], [0.8, 0.7])
    assert one["n"] == 1 and one["mean"] == pytest.approx(0.1) and one["ci95"] is None
    assert compare.verdict(one) == "one seed: no interval"
    same = compare.paired_difference([0.5, 0.6], [0.4, 0.5])  # identical differences: a zero-width interval
    assert same["ci95"] == pytest.approx([0.1, 0.1])
    assert compare.verdict(same) == "higher (interval above 0)"
    assert compare.verdict(compare.paired_difference([0.4, 0.5, 0.6], [0.5, 0.61, 0.7])) == "lower (interval below 0)"


def test_paired_analysis_pairs_runs_by_seed():
    runs = [{"loss": loss, "seed": seed, "metrics": {"verification_accuracy": value, "tar_at_far_1e-2": None,
                                                      "rank1_unseen": 0.5}}
            for loss, values in (("softmax", (0.80, 0.85)), ("normface", (0.90, 0.91)), ("arcface", (0.92, 0.90)))
            for seed, value in zip((1, 0), values)]  # seeds out of order: pairing is by seed, not position
    entries = compare.paired_analysis(runs, ["softmax", "normface", "arcface"])
    labels = [(e["label"], e["metric"]) for e in entries]
    assert labels[:3] == [("NormFace − Softmax", "verification_accuracy"), ("NormFace − Softmax", "tar_at_far_1e-2"),
                          ("NormFace − Softmax", "rank1_unseen")]
    accuracy = {e["label"]: e for e in entries if e["metric"] == "verification_accuracy"}
    assert accuracy["NormFace − Softmax"]["differences"] == pytest.approx([0.06, 0.10])  # seed 0, seed 1
    assert accuracy["ArcFace − NormFace"]["differences"] == pytest.approx([-0.01, 0.02])
    tar = [e for e in entries if e["metric"] == "tar_at_far_1e-2"]
    assert all(e["n"] == 0 and e["mean"] is None for e in tar)  # n/a everywhere: nothing to pair


def test_scale_help_states_the_value_every_normalised_head_uses(tmp_path):
    parser = argparse.ArgumentParser()
    compare.register(parser.add_subparsers(dest="command"))
    sub = parser._subparsers._group_actions[0].choices["compare"]
    help_text = {a.dest: a.help for a in sub._actions}["scale"]
    assert f"(default {DEFAULT_S:g})" in help_text
    assert compare._settings(parse("--out", str(tmp_path)), ["arcface"])["s"] == DEFAULT_S
    assert compare._settings(parse("--out", str(tmp_path), "--scale", "10"), ["arcface"])["s"] == 10.0


@pytest.mark.parametrize("margins, match", [("0,x", "comma-separated numbers"), ("0.1,0.1", "distinct"),
                                            ("0,4", r"--margins=4.0: must lie in \[0, π\)")])
def test_bad_margin_lists(tmp_path, margins, match):
    with pytest.raises(UsageError, match=match):
        compare._settings(parse("--out", str(tmp_path), "--losses", "arcface", "--margins", margins), ["arcface"])
    with pytest.raises(UsageError, match="has a margin m"):
        compare._settings(parse("--out", str(tmp_path), "--margins", "0.1"), ["softmax", "normface"])


def test_tiny_end_to_end_run(tmp_path, capsys):
    out = tmp_path / "run"
    code = compare.run(parse("--data", "toy", "--identities", "3", "--test-identities", "2", "--dim", "3",
                             "--epochs", "1", "--seeds", "2", "--losses", "softmax,normface,cosface",
                             "--margins", "0,0.2", "--out", str(out), "--quiet"))
    assert code == 0
    document = json.loads((out / "report.json").read_text())
    assert document["args"]["epochs"] == 1 and document["settings"]["dim"] == 3
    assert {r["loss"] for r in document["runs"]} == {"softmax", "normface", "cosface"}
    # one s for every normalised head, recorded per run with the margins
    assert document["scale"]["s"] == DEFAULT_S
    for r in document["runs"]:
        assert r["s"] == (None if r["loss"] == "softmax" else DEFAULT_S)
    cosface = [r for r in document["runs"] if r["loss"] == "cosface"]
    assert [(r["m1"], r["m2"], r["m3"], r["m"]) for r in cosface] == [(1.0, 0.0, 0.35, 0.35)] * 2
    # the sweep: cosface at m = 0 and 0.2, two seeds each, with intervals
    assert [(row["loss"], row["m"], row["n"]) for row in document["sweep"]] == [("cosface", 0.0, 2), ("cosface", 0.2, 2)]
    assert {r["m3"] for r in document["sweep_runs"]} == {0.0, 0.2}
    assert (out / "margin_sweep.png").is_file()
    # paired differences by seed, with the method said
    labels = {e["label"] for e in document["paired"]}
    assert labels == {"NormFace − Softmax", "CosFace − NormFace"}
    entry = document["paired"][0]
    assert entry["n"] == 2 and len(entry["differences"]) == 2 and "scipy.stats.t" in entry["method"]
    run = document["runs"][0]
    for key in ("closed_set_accuracy", "verification_accuracy", "tar_at_far_1e-2", "eer", "rank1_unseen",
                "mean_angle_to_center_deg", "min_center_angle_deg", "margin_satisfied"):
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
    assert "What each column measures" in page and "Paired differences" in page and "scipy.stats.t" in page
    assert "training time (seconds)" in page and "train s<" not in page and f"s = {DEFAULT_S:g}" in page
    printed = capsys.readouterr().out
    assert "10-fold acc" in printed and "Softmax" in printed
    assert f"s = {DEFAULT_S:g}" in printed and "CosFace − NormFace" in printed and "95 % CI" in printed
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


def test_olivetti_offline_points_to_the_att_option(tmp_path, monkeypatch, capsys):
    import pathlib
    import urllib.error

    import sklearn.datasets

    def offline(data_home, **kwargs):
        pathlib.Path(data_home).mkdir(parents=True, exist_ok=True)  # as scikit-learn does before downloading
        raise urllib.error.URLError("no network in tests")

    (tmp_path / "data").mkdir()
    monkeypatch.setenv("ARCFACE_VIZ_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", offline)
    assert cli.main(["compare", "--data", "olivetti", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "could not reach the download server" in err and "use --data att" in err and "load_att_faces" not in err
    # nothing left behind by the failed run: no --out folder, no empty download folders
    assert not (tmp_path / "out").exists() and list((tmp_path / "data").iterdir()) == []


def test_no_out_folder_when_the_data_cannot_be_loaded(tmp_path):
    with pytest.raises(UsageError, match="not toy, att, olivetti"):
        compare.run(parse("--out", str(tmp_path / "out"), "--data", str(tmp_path / "missing")))
    assert not (tmp_path / "out").exists()


def test_force_help_says_old_files_stay(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare", "--help"])
    assert "does not rewrite stay there" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("per_identity, genuine", [(1, 0), (2, 4)])
def test_a_folder_with_too_few_images_per_unseen_identity_is_refused_before_training(tmp_path, per_identity, genuine):
    # before: 1 image each: ValueError n_pairs=0 traceback (exit 1); 2 each: 4 genuine pairs, a traceback from
    # metrics.verification after every model had trained -- both after --out had been created
    from PIL import Image
    root = tmp_path / "faces"
    for identity in range(12):
        (root / f"id{identity}").mkdir(parents=True)
        for k in range(per_identity):
            Image.fromarray(np.full((12, 10), 20 * identity + k, np.uint8)).save(root / f"id{identity}" / f"{k}.png")
    with pytest.raises(UsageError, match=rf"^--test-identities=4: the 4 unseen identities give {genuine} genuine pairs "
                                         r"\(two images of one identity\); the 10-fold verification needs at least 10: "
                                         r"raise --test-identities, or add images so that unseen identities have 2 or more"):
        compare.run(parse("--out", str(tmp_path / "out"), "--data", str(root), "--test-identities", "4",
                          "--epochs", "1", "--seeds", "1", "--quiet"))
    assert not (tmp_path / "out").exists()
