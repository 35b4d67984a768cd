"""The environment check (python -m arcface_viz doctor): pure facts from fake sources, the widget
pair warning behind blank widgets in public reports, the formatted report and the exit code."""
from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

import arcface_viz.faces.real as real
from arcface_viz import cli, doctor


def fake_versions(**versions: str | None):
    """importlib.metadata.version stand-in: the given versions, others '1.0', None = not installed."""
    def version(name: str) -> str:
        value = versions.get(name, "1.0")
        if value is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return value
    return version


def fake_report(**versions: str | None) -> doctor.EnvironmentReport:
    return doctor.check_environment(version=fake_versions(**versions), which=lambda name: None,
                                    extension_folders=[], find_faces=lambda: (None, None))


def test_package_versions_marks_missing_packages_none():
    found = doctor.package_versions(["torch", "plotly"], fake_versions(torch="2.13.0+cpu", plotly=None))
    assert found == {"torch": "2.13.0+cpu", "plotly": None}


@pytest.mark.parametrize("kernel, server", [("8.1.9", "3.0.17"), ("8.0.0", "3.0.0"), ("7.8.5", "1.1.11")])
def test_matching_widget_majors_give_no_warning(kernel, server):
    assert doctor.widget_warnings(kernel, server) == []
    report = fake_report(ipywidgets=kernel, jupyterlab_widgets=server)
    assert report.warnings == ()
    assert f"OK: ipywidgets {kernel.split('.')[0]} and jupyterlab_widgets {server.split('.')[0]} match" in str(report)


@pytest.mark.parametrize("kernel, server, needed", [("8.1.5", "1.1.7", 3), ("7.7.2", "3.0.13", 1), ("8.1.9", "2.0.0", 3)])
def test_mismatched_widget_majors_warn_with_the_fix(kernel, server, needed):
    (warning,) = doctor.widget_warnings(kernel, server)
    assert f"ipywidgets {kernel}" in warning and f"jupyterlab_widgets {server}" in warning
    assert f"needs jupyterlab_widgets {needed}.x" in warning and "blank" in warning
    assert f"'jupyterlab_widgets>={needed},<{needed + 1}'" in warning and "restart JupyterLab" in warning
    report = fake_report(ipywidgets=kernel, jupyterlab_widgets=server)
    assert report.warnings == (warning,) and f"WARNING: {warning}" in str(report)


def test_missing_or_unknown_widget_packages_warn():
    assert "ipywidgets is not installed" in doctor.widget_warnings(None, "3.0.1")[0]
    assert "jupyterlab_widgets is not installed" in doctor.widget_warnings("8.1.0", None)[0]
    assert "'jupyterlab_widgets>=3,<4'" in doctor.widget_warnings("8.1.0", None)[0]
    assert "tested with ipywidgets 8" in doctor.widget_warnings("9.0.0", "4.0.0")[0]
    assert "tested with ipywidgets 8" in doctor.widget_warnings("dev", "3.0.0")[0]


def test_missing_torch_plotly_or_jupyterlab_warns():
    report = fake_report(ipywidgets="8.1.0", jupyterlab_widgets="3.0.0", torch=None, jupyterlab=None)
    assert len(report.warnings) == 2
    assert report.warnings[0].startswith("torch is not installed") and "jupyterlab is not installed" in report.warnings[1]
    assert "torch               not installed" in str(report)


def test_find_chromium_prefers_debians_path_then_the_path():
    seen = []

    def which(name):
        seen.append(name)
        return {"chromium-browser": "/opt/bin/chromium-browser"}.get(name)

    assert doctor.find_chromium(which=which) == "/opt/bin/chromium-browser"
    assert seen == ["/usr/bin/chromium", "chromium", "chromium-browser"]
    assert doctor.find_chromium(which=lambda name: None) is None


def test_widget_extension_reads_the_first_labextension_found(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    (second / doctor.WIDGET_EXTENSION).mkdir(parents=True)
    (second / doctor.WIDGET_EXTENSION / "package.json").write_text(json.dumps({"version": "5.0.16"}))
    (first / doctor.WIDGET_EXTENSION).mkdir(parents=True)
    (first / doctor.WIDGET_EXTENSION / "package.json").write_text("{broken")
    assert doctor.widget_extension([tmp_path / "none", first, second]) == ("5.0.16", str(second))
    assert doctor.widget_extension([tmp_path / "none"]) is None


def test_report_lists_every_fact(tmp_path):
    report = doctor.check_environment(
        version=fake_versions(torch="2.13.0+cpu", ipywidgets="8.1.9", jupyterlab_widgets="3.0.17",
                              plotly="7.1.0", jupyterlab="4.6.6"),
        which={"/usr/bin/chromium": "/usr/bin/chromium"}.get,
        extension_folders=[tmp_path],
        find_faces=lambda: (tmp_path / "att_faces", None),
    )
    text = str(report)
    for expected in ("torch               2.13.0+cpu", "ipywidgets          8.1.9", "jupyterlab_widgets  3.0.17",
                     "plotly              7.1.0", "jupyterlab          4.6.6", "Chromium            /usr/bin/chromium",
                     f"AT&T faces          {tmp_path / 'att_faces'}", "widgets extension   not found",
                     "Olivetti faces      not found (`python -m arcface_viz compare --data olivetti` downloads"):
        assert expected in text, expected
    bare = str(fake_report(ipywidgets="8.1.9", jupyterlab_widgets="3.0.1"))
    assert "Chromium            not found (only the browser tests need it" in bare
    assert "AT&T faces          not found (lessons use toy faces instead; see data/README.md)" in bare


def test_faces_are_found_as_the_lessons_and_compare_find_them(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCFACE_VIZ_DATA", raising=False)
    monkeypatch.setattr(real, "PROJECT_ROOT", tmp_path / "project")
    assert doctor._find_faces() == (None, None)
    (tmp_path / "project" / "data" / "att_faces").mkdir(parents=True)
    home = tmp_path / "shared" / "data" / "olivetti" / "sklearn_data_home"
    home.mkdir(parents=True)
    (home / "olivetti_py3.pkz").write_bytes(b"")
    assert doctor._find_faces() == (tmp_path / "project" / "data" / "att_faces", home)


def test_cli_doctor_prints_the_report_and_exits_1_on_a_warning(monkeypatch, capsys):
    mismatched, matched = (fake_report(ipywidgets="8.1.5", jupyterlab_widgets=v) for v in ("1.1.7", "3.0.1"))
    monkeypatch.setattr(doctor, "check_environment", lambda: mismatched)
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("arcface-viz environment check") and "WARNING: ipywidgets 8.1.5" in out
    monkeypatch.setattr(doctor, "check_environment", lambda: matched)
    assert cli.main(["doctor"]) == 0
    assert "OK: ipywidgets 8 and jupyterlab_widgets 3 match" in capsys.readouterr().out


def test_doctor_runs_on_this_machine():
    # the real sources: whatever is installed, the report is complete text and the pair is judged
    report = doctor.check_environment()
    assert set(report.versions) == set(doctor.PACKAGES)
    text = str(report)
    assert all(name in text for name in doctor.PACKAGES) and ("OK:" in text or "WARNING:" in text)
    assert Path(report.python.split("(")[1].rstrip(")")).name.startswith("python")
