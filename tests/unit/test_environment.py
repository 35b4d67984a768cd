"""The two install routes (pip and conda) must ask for the same packages."""
import tomllib

from packaging.requirements import Requirement

from tests.conftest import ROOT


def _canonical(spec: str) -> tuple[str, str]:
    req = Requirement(spec)
    return req.name.lower().replace("_", "-"), str(req.specifier)


def _environment_conda_list() -> list[str]:
    """The conda packages: the ``- name`` items of ``dependencies`` before ``- pip:``."""
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "dependencies:")
    specs = []
    for line in lines[start + 1 :]:
        item = line.strip()
        if item == "- pip:":
            break
        if item.startswith("- "):
            specs.append(item[2:].strip())
    return specs


def _environment_pip_list() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    specs = []
    for line in lines[start + 1 :]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if not item.startswith("- "):
            break
        specs.append(item[2:].strip())
    return specs


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    conda_pip = [s for s in _environment_pip_list() if s != "-e ."]
    assert "-e ." in _environment_pip_list(), "environment.yml must install the project itself"
    # torch comes from conda-forge's CPU build, with the same range; everything else through pip.
    torch = next(s for s in declared if Requirement(s).name == "torch")
    declared = [s for s in declared if s != torch]
    assert sorted(map(_canonical, conda_pip)) == sorted(map(_canonical, declared))
    assert "pytorch-cpu" + str(Requirement(torch).specifier) in _environment_conda_list()


def test_environment_yml_installs_no_pip_torch():
    assert not any(Requirement(s).name == "torch" for s in _environment_pip_list() if s != "-e ."), (
        "a pip torch in environment.yml would pull the CUDA build on Linux; use conda-forge's pytorch-cpu")


def test_torch_is_a_range_an_installed_cpu_build_satisfies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_spec = next(Requirement(s) for s in project["dependencies"] if s.startswith("torch"))
    assert torch_spec.specifier.contains("2.13.0")
    assert "==" not in str(torch_spec.specifier), "a pinned torch may pull a CUDA build"
