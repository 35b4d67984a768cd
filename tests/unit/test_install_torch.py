"""scripts/install_torch.py: which index the set-up takes torch from on which machine."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("install_torch", ROOT / "scripts" / "install_torch.py")
install_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_torch)
CPU = install_torch.CPU_INDEX


def _never_called(url):
    raise AssertionError(f"probed {url} although the choice did not need it")


def test_linux_without_gpu_takes_the_cpu_index_when_it_answers():
    probed = []
    index, reason = install_torch.choose_index("auto", "Linux", False, lambda url: probed.append(url) or True)
    assert index == CPU and probed == [CPU]
    assert "CPU" in reason


def test_linux_without_gpu_falls_back_to_the_default_index_and_says_why():
    index, reason = install_torch.choose_index("auto", "Linux", False, lambda url: False)
    assert index is None
    assert "did not answer" in reason and "CUDA" in reason


def test_gpu_machines_and_other_systems_keep_the_default_index_without_probing():
    assert install_torch.choose_index("auto", "Linux", True, _never_called)[0] is None
    assert install_torch.choose_index("auto", "Darwin", False, _never_called)[0] is None
    assert install_torch.choose_index("auto", "Windows", False, _never_called)[0] is None


@pytest.mark.parametrize("setting, expected", [
    ("cpu", CPU), ("default", None),
    ("https://download.pytorch.org/whl/cu128", "https://download.pytorch.org/whl/cu128"),
])
def test_explicit_settings_win_over_detection(setting, expected):
    assert install_torch.choose_index(setting, "Linux", False, _never_called)[0] == expected


def test_an_unknown_setting_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"TORCH_INDEX='gpu'.*auto, cpu, default"):
        install_torch.choose_index("gpu", "Linux", False, _never_called)


def test_pip_command_pins_the_spec_and_passes_the_index():
    assert install_torch.pip_command("torch==2.13.0", CPU) == [
        sys.executable, "-m", "pip", "install", "torch==2.13.0", "--index-url", CPU]
    assert install_torch.pip_command("torch==2.13.0", None)[-1] == "torch==2.13.0"


def test_an_unreachable_index_is_reported_quickly_and_without_retries():
    # A closed local port: refused at once, like a host this machine cannot reach.
    assert install_torch.index_reachable("http://127.0.0.1:9/whl/cpu", timeout=2) is False
