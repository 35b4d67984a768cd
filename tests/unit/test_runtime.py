"""arcface_viz.runtime: torch's thread count from affinity, the cgroup v2 quota and the machine's load."""
from __future__ import annotations

import pytest
import torch

from arcface_viz import runtime


def _cgroup(tmp_path, path: str, limits: dict[str, str]):
    """A fake /proc/self/cgroup pointing at ``path`` and a fake /sys/fs/cgroup with ``cpu.max`` files."""
    root = tmp_path / "sys-fs-cgroup"
    (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for folder, text in limits.items():
        (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
        (root / folder.lstrip("/") / "cpu.max").write_text(text + "\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::{path}\n")
    return proc, root


def test_quota_is_quota_over_period(tmp_path):
    proc, root = _cgroup(tmp_path, "/user.slice/kernel-1", {"/user.slice/kernel-1": "150000 100000"})
    assert runtime.cgroup_cpu_quota(proc, root) == pytest.approx(1.5)


def test_the_smallest_quota_along_the_path_applies(tmp_path):
    proc, root = _cgroup(tmp_path, "/class/student-7", {
        "/": "max 100000", "/class": "100000 100000", "/class/student-7": "400000 100000"})
    assert runtime.cgroup_cpu_quota(proc, root) == pytest.approx(1.0)


def test_no_limit_and_no_cgroup_v2_mean_none(tmp_path):
    proc, root = _cgroup(tmp_path, "/", {"/": "max 100000"})
    assert runtime.cgroup_cpu_quota(proc, root) is None
    v1 = tmp_path / "v1"
    v1.write_text("4:cpu,cpuacct:/docker/abc\n")
    assert runtime.cgroup_cpu_quota(v1, root) is None
    assert runtime.cgroup_cpu_quota(tmp_path / "missing", root) is None


def test_usable_cpus_is_the_smaller_of_affinity_and_whole_quota():
    assert runtime.usable_cpus(affinity=8, quota=2.5) == 2
    assert runtime.usable_cpus(affinity=2, quota=None) == 2
    assert runtime.usable_cpus(affinity=4, quota=0.5) == 1  # a fraction of a CPU still gets one thread


def test_other_runnable_tasks_reads_loadavg(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.51 1.20 0.80 5/412 12345\n")
    assert runtime.other_runnable_tasks(loadavg) == 4
    loadavg.write_text("garbage\n")
    assert runtime.other_runnable_tasks(loadavg) == 0


@pytest.mark.parametrize("cpus, cores, others, expected", [
    (2, 2, 0, 2),   # alone on a 2-core machine: both cores
    (2, 2, 1, 1),   # one other task running: one core left
    (2, 2, 7, 1),   # 8 kernels on 2 cores: one thread each, never 0
    (2, 64, 30, 2),  # a 2-CPU quota on a big, half-busy host: the quota
    (8, 8, 3, 5),
])
def test_choose_threads_caps_usable_cpus_by_idle_cores(cpus, cores, others, expected):
    assert runtime.choose_threads({}, cpus=cpus, machine_cores=cores, others=others) == expected


def test_the_override_wins_and_omp_num_threads_is_left_to_torch():
    assert runtime.choose_threads({"ARCFACE_VIZ_THREADS": "3", "OMP_NUM_THREADS": "1"}, cpus=2, others=0) == 3
    assert runtime.choose_threads({"OMP_NUM_THREADS": "1"}, cpus=2, others=0) is None


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_a_bad_override_is_rejected_naming_the_variable(bad):
    with pytest.raises(ValueError, match=f"ARCFACE_VIZ_THREADS='{bad}': not a positive integer"):
        runtime.choose_threads({"ARCFACE_VIZ_THREADS": bad})


def test_apply_decides_once_per_process_and_keeps_the_users_choice(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "_decided", False)
    try:
        monkeypatch.setenv("ARCFACE_VIZ_THREADS", "1")
        assert runtime.apply_thread_policy() == 1
        monkeypatch.setenv("ARCFACE_VIZ_THREADS", "2")
        assert runtime.apply_thread_policy() == 1  # decided: later fits repeat the first one exactly
        torch.set_num_threads(2)  # the user's own choice ...
        assert runtime.apply_thread_policy() == 2  # ... is kept
    finally:
        torch.set_num_threads(before)


def test_omp_num_threads_leaves_torch_alone(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "_decided", False)
    monkeypatch.delenv("ARCFACE_VIZ_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    torch.set_num_threads(3)  # what torch does at start-up with OMP_NUM_THREADS=3, on any machine
    try:
        assert runtime.apply_thread_policy() == 3
    finally:
        torch.set_num_threads(before)
