"""How many threads torch may use here: the CPUs this process may really run on, less the busy ones.

On a server shared by a class, torch's default (one thread per core of the machine) makes every kernel
start as many threads as there are cores; with several kernels training at once the threads fight for
the cores and small training steps get many times slower than with one thread each. This module picks
the thread count from

1. ``ARCFACE_VIZ_THREADS`` when set (a positive integer): that many, always;
2. ``OMP_NUM_THREADS`` when set: torch already follows it, so nothing is changed;
3. otherwise the usable CPUs -- the process's CPU affinity (``os.sched_getaffinity``) and the cgroup v2
   CPU quota (``cpu.max`` of the process's cgroup and its parents) -- capped by the cores other processes
   leave idle at that moment (runnable tasks in ``/proc/loadavg``), at least 1.

The same count of free CPUs (:func:`free_cpus`) is ``compare --jobs``'s default number of worker processes,
each pinned to one thread (:func:`pin_threads`).

:func:`apply_thread_policy` runs when :mod:`arcface_viz.training` starts the first fit of a process (a kernel
usually imports the package long before it trains, when the machine may be quieter or busier), and decides
once: later fits keep that count, so seeded runs in one session repeat exactly.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch

ENV_THREADS = "ARCFACE_VIZ_THREADS"
_decided = False  # apply_thread_policy has chosen for this process


def cgroup_cpu_quota(proc_cgroup: Path = Path("/proc/self/cgroup"),
                     cgroup_root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by the cgroup v2 quota (``quota / period`` of ``cpu.max``), or None when unlimited.

    The smallest quota along the path from the process's cgroup up to the root applies.

    Parameters
    ----------
    proc_cgroup : Path, default /proc/self/cgroup
        The process's cgroup membership file.
    cgroup_root : Path, default /sys/fs/cgroup
        Where the cgroup v2 hierarchy is mounted.

    Returns
    -------
    float or None
        CPUs (may be fractional, e.g. 1.5); None when there is no cgroup v2 (``0::`` line) or no
        ``cpu.max`` limit anywhere on the path.
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    if path is None:
        return None
    folder = cgroup_root / path.strip().lstrip("/")
    quotas = []
    while True:
        try:
            quota, period = (folder / "cpu.max").read_text().split()[:2]
            if quota != "max" and float(period) > 0:
                quotas.append(float(quota) / float(period))
        except (OSError, ValueError):
            pass
        if folder == cgroup_root or cgroup_root not in folder.parents:
            break
        folder = folder.parent
    return min(quotas) if quotas else None


def usable_cpus(affinity: int | None = None, quota: float | None = None) -> int:
    """CPUs this process may run on: affinity and cgroup quota (each read from the system when None).

    Parameters
    ----------
    affinity : int, optional
        CPUs in the process's affinity mask (default ``len(os.sched_getaffinity(0))``).
    quota : float, optional
        CPUs allowed by the cgroup quota (default :func:`cgroup_cpu_quota`; None there means no limit).

    Returns
    -------
    int
        The smaller of the two, the quota rounded down, at least 1.
    """
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if quota is None:
        quota = cgroup_cpu_quota()
    cpus = affinity if quota is None else min(affinity, math.floor(quota))
    return max(1, cpus)


def other_runnable_tasks(loadavg: Path = Path("/proc/loadavg")) -> int:
    """Runnable tasks on the machine now, besides the caller (``/proc/loadavg``'s 4th field).

    Parameters
    ----------
    loadavg : Path, default /proc/loadavg
        The kernel's load file (``1-min 5-min 15-min running/total last-pid``).

    Returns
    -------
    int
        Runnable tasks minus one (the caller), at least 0; 0 when the file cannot be read.
    """
    try:
        running = loadavg.read_text().split()[3].split("/")[0]
        return max(0, int(running) - 1)
    except (OSError, IndexError, ValueError):
        return 0


def choose_threads(environ: dict | os._Environ | None = None, cpus: int | None = None,
                   machine_cores: int | None = None, others: int | None = None) -> int | None:
    """The thread count for torch, or None to leave torch as it is (``OMP_NUM_THREADS`` is set).

    Parameters
    ----------
    environ : mapping, optional
        Environment variables (default ``os.environ``).
    cpus : int, optional
        Usable CPUs (default :func:`usable_cpus`).
    machine_cores : int, optional
        Cores of the whole machine, which the other tasks share (default ``os.cpu_count()``).
    others : int, optional
        Runnable tasks besides this one (default :func:`other_runnable_tasks`).

    Returns
    -------
    int or None
        Threads, at least 1; None when ``OMP_NUM_THREADS`` is set (torch follows it).

    Raises
    ------
    ValueError
        When ``ARCFACE_VIZ_THREADS`` is not a positive integer.
    """
    environ = os.environ if environ is None else environ
    setting = environ.get(ENV_THREADS, "").strip()
    if setting:
        if not setting.isdigit() or int(setting) < 1:
            raise ValueError(f"{ENV_THREADS}={setting!r}: not a positive integer; set e.g. {ENV_THREADS}=1, "
                             "or unset it to let arcface_viz choose")
        return int(setting)
    if environ.get("OMP_NUM_THREADS", "").strip():
        return None
    return free_cpus(cpus, machine_cores, others)


def free_cpus(cpus: int | None = None, machine_cores: int | None = None, others: int | None = None) -> int:
    """CPUs this process may use that are free now: usable CPUs capped by the cores other tasks leave idle.

    The thread count of :func:`choose_threads` when nothing overrides it, and ``compare --jobs``'s default.

    Parameters
    ----------
    cpus : int, optional
        Usable CPUs (default :func:`usable_cpus`).
    machine_cores : int, optional
        Cores of the whole machine, which the other tasks share (default ``os.cpu_count()``).
    others : int, optional
        Runnable tasks besides this one (default :func:`other_runnable_tasks`).

    Returns
    -------
    int
        ``min(cpus, machine_cores - others)``, at least 1.

    Examples
    --------
    >>> free_cpus(cpus=2, machine_cores=2, others=0), free_cpus(cpus=2, machine_cores=2, others=1)
    (2, 1)
    >>> free_cpus(cpus=4, machine_cores=64, others=70)  # a busy host: still one
    1
    """
    cpus = usable_cpus() if cpus is None else cpus
    machine_cores = (os.cpu_count() or cpus) if machine_cores is None else machine_cores
    others = other_runnable_tasks() if others is None else others
    return max(1, min(cpus, machine_cores - others))


def pin_threads(threads: int) -> None:
    """Use exactly ``threads`` torch threads in this process from now on; the thread policy keeps them.

    For worker processes that train next to each other (``compare --jobs``): one thread each, so every run
    sums its floats in the same order as a one-thread run and its numbers are bit-identical to it.

    Parameters
    ----------
    threads : int
        Threads, >= 1.
    """
    global _decided
    _decided = True  # apply_thread_policy (called by every fit) changes nothing after this
    torch.set_num_threads(threads)


def apply_thread_policy() -> int:
    """Set torch's thread count from :func:`choose_threads`, once per process; return torch's count.

    The first call decides (``training.fit`` calls it when it starts); later calls change nothing, so every
    run in one session uses the same thread count and stays bit-for-bit repeatable (float sums split over
    another number of threads differ in the last digits), and a ``torch.set_num_threads`` of the user's own
    is kept. Nothing is changed when ``OMP_NUM_THREADS`` is set.

    Returns
    -------
    int
        ``torch.get_num_threads()`` after the call.
    """
    global _decided
    if not _decided:
        _decided = True
        threads = choose_threads()
        if threads is not None and threads != torch.get_num_threads():
            torch.set_num_threads(threads)
    return torch.get_num_threads()
