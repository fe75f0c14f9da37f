"""Acceptance, small: `python -m kit prepare --quick` trains every checkpoint offline, doctor reports
them, and a second run loads them without training again."""

import os
import subprocess
import sys

import pytest

from kit.recipes import RECIPES


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("prepared")


def run_kit(*args, data_dir):
    env = {**os.environ, "KIT_DATA_DIR": str(data_dir), "KIT_PROGRESS": "off", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "*", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY":
           "http://127.0.0.1:9"}  # any attempt to reach the network fails at once
    return subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True, env=env, timeout=1200)


def test_prepare_quick_then_reuse(data_dir):
    first = run_kit("prepare", "--quick", data_dir=data_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    for name in RECIPES:
        assert f"[done] {name}" in first.stdout
        assert (data_dir / "checkpoints" / f"{name}-quick" / "manifest.json").is_file()
    second = run_kit("prepare", "--quick", data_dir=data_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "[train]" not in second.stdout
    assert all(f"[ready] {name}" in second.stdout for name in RECIPES)
    doctor = run_kit("doctor", data_dir=data_dir)
    for name in RECIPES:
        line = next(line for line in doctor.stdout.splitlines() if f"{name} (quick)" in line)
        assert line.startswith("[     ok]"), line
