"""compare --jobs: runs in worker processes equal one-thread runs in this process; bad values and errors."""
from __future__ import annotations

import argparse
import json
import re

import pytest
import torch

from arcface_viz import cli, compare, runtime
from arcface_viz.cli import UsageError

TINY = ("--data", "toy", "--identities", "3", "--test-identities", "2", "--dim", "3", "--epochs", "1", "--seeds", "2")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    compare.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["compare", *argv])


@pytest.fixture
def one_thread(monkeypatch):
    """This process trains with one torch thread, as every --jobs worker does (sums in the same order)."""
    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "_decided", True)  # the thread policy keeps the count set here
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _without_timing(run: dict) -> dict:
    run = {k: v for k, v in run.items() if k != "seconds"}
    run["history"] = {k: v for k, v in run["history"].items() if k != "seconds"}
    return run


def test_two_jobs_give_exactly_the_runs_of_one_job(tmp_path, one_thread, capsys):
    reports = {}
    for jobs in ("1", "2"):
        assert compare.run(parse(*TINY, "--losses", "softmax,cosface", "--margins", "0.2", "--jobs", jobs,
                                 "--out", str(tmp_path / jobs))) == 0
        reports[jobs] = json.loads((tmp_path / jobs / "report.json").read_text())
    one, two = reports["1"], reports["2"]
    assert (one["settings"]["jobs"], one["settings"]["threads_per_job"]) == (1, 1)
    assert (two["settings"]["jobs"], two["settings"]["threads_per_job"]) == (2, 1)
    # the same runs in the same order (losses × seeds, then the sweep), every metric and history value equal
    assert [(r["loss"], r["seed"]) for r in two["runs"]] == [("softmax", 0), ("softmax", 1), ("cosface", 0),
                                                             ("cosface", 1)]
    assert [(r["loss"], r["m"], r["seed"]) for r in two["sweep_runs"]] == [("cosface", 0.2, 0), ("cosface", 0.2, 1)]
    for key in ("runs", "sweep_runs"):
        assert [_without_timing(r) for r in two[key]] == [_without_timing(r) for r in one[key]]
    assert two["paired"] == one["paired"] and two["sweep"] == one["sweep"]
    # the figures draw the seed-0 models the workers trained: the same pixels
    for name in ("embeddings_softmax.png", "embeddings_cosface.png", "roc.png", "angles.png", "margin_sweep.png"):
        assert (tmp_path / "2" / name).read_bytes() == (tmp_path / "1" / name).read_bytes(), name
    printed = capsys.readouterr()
    # several workers: one line per finished run, no progress bars; the table as with one job
    assert len(re.findall(r"^CosFace \(s=16, m=0\.2\) seed [01]: ", printed.out, re.M)) == 4  # both jobs' lines
    assert "trained 6 runs, 2 at once in worker processes of one torch thread each" in printed.out


def test_a_failing_run_in_a_worker_raises_its_own_error(tmp_path, one_thread):
    argv = (*TINY, "--losses", "softmax", "--lr", "1e30")  # the weights overflow: the run stops with a message
    with pytest.raises(ValueError) as in_process:
        compare.run(parse(*argv, "--jobs", "1", "--out", str(tmp_path / "1")))
    with pytest.raises(ValueError) as in_worker:
        compare.run(parse(*argv, "--jobs", "2", "--out", str(tmp_path / "2")))
    assert str(in_worker.value) == str(in_process.value) and "NaN" in str(in_worker.value)
    assert "a compare --jobs worker process" in in_worker.value.__notes__[0]


def test_the_help_states_the_default_and_the_default_follows_it(monkeypatch):
    parser = argparse.ArgumentParser()
    compare.register(parser.add_subparsers(dest="command"))
    sub = parser._subparsers._group_actions[0].choices["compare"]
    help_text = " ".join({a.dest: a.help for a in sub._actions}["jobs"].split())
    assert ("Default: the CPUs this process may use that are free now (CPU affinity and cgroup quota, less the "
            "cores other tasks keep busy: arcface_viz.runtime.free_cpus), at most one per run; 1 under torchrun "
            "and with --sweep.") in help_text
    assert runtime.free_cpus(cpus=2, machine_cores=2, others=1) == 1  # the rule: usable CPUs less busy cores
    monkeypatch.setattr(runtime, "free_cpus", lambda: 3)
    assert compare._jobs(None, 20, world=1, sweep=False) == 3
    assert compare._jobs(None, 2, world=1, sweep=False) == 2  # at most one per run
    assert compare._jobs(5, 4, world=1, sweep=False) == 4
    assert compare._jobs(None, 20, world=2, sweep=False) == 1 and compare._jobs(None, 20, world=1, sweep=True) == 1


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_job_counts_are_refused_by_argparse(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["compare", "--out", "x", f"--jobs={bad}"])
    assert exit_.value.code == 2
    assert f"argument --jobs: '{bad}' is not a whole number >= 1; give how many runs train at once, e.g. --jobs 2" \
        in capsys.readouterr().err


def test_more_jobs_are_refused_under_torchrun_and_with_the_sweep(tmp_path):
    with pytest.raises(UsageError, match=r"--jobs=2: under torchrun \(2 processes\).*drop --jobs \(or pass --jobs 1\)"):
        compare._jobs(2, 20, world=2, sweep=False)
    assert compare._jobs(1, 20, world=2, sweep=False) == 1
    with pytest.raises(UsageError, match=r"--jobs=2: the --sweep robustness study .* drop --jobs"):
        compare.run(parse("--sweep", "blur", "--jobs", "2", "--out", str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()  # refused before anything was trained or written
