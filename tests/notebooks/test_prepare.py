"""Acceptance, small: `python -m kit prepare --quick` trains every checkpoint offline (network blocked), doctor
reports them, and a second run loads them without training again.

It runs once per session, into the data dir the chapters then load from (the `prepared_quick` fixture), so the
quick checkpoints are trained once: on a fresh clone every one of them is trained here.
"""

from __future__ import annotations

import pytest

from kit.checkpoints import folder_for
from kit.recipes import RECIPES
from tests.conftest import run_kit

pytestmark = pytest.mark.notebook


def test_prepare_quick_then_reuse(prepared_quick):
    first = prepared_quick.run
    assert first.returncode == 0, first.stdout + first.stderr
    for name in RECIPES:
        done = "[ready]" if name in prepared_quick.stored_before else "[done]"
        assert f"{done} {name}" in first.stdout, f"{name}: expected {done}\n{first.stdout}"
        assert (folder_for(name, quick=True) / "manifest.json").is_file()
    second = run_kit("prepare", "--quick")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "[train]" not in second.stdout
    assert all(f"[ready] {name}" in second.stdout for name in RECIPES)
    doctor = run_kit("doctor")
    for name in RECIPES:
        line = next(line for line in doctor.stdout.splitlines() if f"{name} (quick)" in line)
        assert line.startswith("[     ok]"), line
