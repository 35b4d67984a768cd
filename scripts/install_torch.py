"""Install torch into the Python that runs this script, choosing the build for this machine.

`make` calls it only when ``import torch`` fails. The choice is printed in one line before pip runs.

- ``TORCH_INDEX=auto`` (the default): on Linux without an NVIDIA GPU, PyTorch's CPU wheel index when it
  answers within a few seconds (the public index's Linux torch is the multi-GB CUDA build); otherwise,
  and on macOS and Windows (whose public wheels are CPU or MPS builds), the default package index.
- ``TORCH_INDEX=cpu``: PyTorch's CPU wheel index, without probing it first.
- ``TORCH_INDEX=default``: the default package index only (GPU users on Linux: the CUDA build).
- ``TORCH_INDEX=<url>``: that index, e.g. one of PyTorch's CUDA indexes from pytorch.org.

``TORCH_SPEC`` (default ``torch==2.13.0``) names the release; keep it a pinned version, since an unpinned
torch from the public index may pull a newer CUDA build.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DEFAULT_SPEC = "torch==2.13.0"
# One request, no retries: where the index is unreachable (CI here: only PyPI answers) the probe fails in
# about 0.5 s, while `pip install --index-url <CPU index>` spent 10.6 s in retries before falling back to a
# local wheel (measured on this project's CI machine).
PROBE_TIMEOUT_S = 5.0


def has_nvidia_gpu() -> bool:
    """True when an NVIDIA driver is loaded or ``nvidia-smi`` is on PATH."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def index_reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when ``url`` answers an HTTP request within ``timeout`` seconds (one try, no retries)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/torch/", timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def choose_index(setting: str, system: str, gpu: bool, reachable) -> tuple[str | None, str]:
    """The ``--index-url`` for pip (None: the default index) and a one-line reason.

    Parameters
    ----------
    setting : str
        ``TORCH_INDEX``: ``auto``, ``cpu``, ``default`` or an index URL.
    system : str
        ``platform.system()``: ``Linux``, ``Darwin``, ``Windows``.
    gpu : bool
        Whether an NVIDIA GPU was found.
    reachable : callable
        ``reachable(url) -> bool``; called only in ``auto`` mode on Linux without a GPU.

    Raises
    ------
    ValueError
        When ``setting`` is none of the above.
    """
    setting = setting.strip()
    if setting == "cpu":
        return CPU_INDEX, "TORCH_INDEX=cpu: PyTorch's CPU wheel index"
    if setting == "default":
        return None, "TORCH_INDEX=default: the default package index"
    if setting.startswith(("http://", "https://", "file:")):
        return setting, f"TORCH_INDEX={setting}"
    if setting != "auto":
        raise ValueError(f"TORCH_INDEX={setting!r}: unknown; use auto, cpu, default or an index URL")
    if system != "Linux":
        return None, f"{system}: the default index's torch is a CPU/MPS build"
    if gpu:
        return None, ("NVIDIA GPU found: the default index's CUDA build "
                      "(TORCH_INDEX=cpu for a CPU build, or a CUDA index URL from pytorch.org)")
    if reachable(CPU_INDEX):
        return CPU_INDEX, "Linux without an NVIDIA GPU: PyTorch's CPU wheel index"
    return None, (f"Linux without an NVIDIA GPU, but {CPU_INDEX} did not answer "
                  "(a CPU build only where that index or a local wheel has one; else the CUDA build)")


def pip_command(spec: str, index: str | None) -> list[str]:
    """The pip command line that installs ``spec`` from ``index`` (None: the default index)."""
    command = [sys.executable, "-m", "pip", "install", spec]
    return command + (["--index-url", index] if index else [])


def main() -> int:
    spec = os.environ.get("TORCH_SPEC", "").strip() or DEFAULT_SPEC
    try:
        index, reason = choose_index(os.environ.get("TORCH_INDEX", "auto") or "auto", platform.system(),
                                     has_nvidia_gpu(), index_reachable)
    except ValueError as error:
        print(f"install_torch: {error}", file=sys.stderr)
        return 2
    print(f"make: installing {spec} from {index or 'the default package index'} ({reason})")
    return subprocess.call(pip_command(spec, index))


if __name__ == "__main__":
    sys.exit(main())
