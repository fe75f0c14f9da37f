"""Each chapter refuses a bad parameter in its first code cell, with a message naming it and its range,
before any expensive work; papermill's own CLI path (`-p NAME VALUE`) is covered for misspelled names."""

from __future__ import annotations

import subprocess
import sys
import time

import nbformat
import pytest

from kit.book import ChapterFailed, execute_chapter
from tests.conftest import CHAPTERS

pytestmark = pytest.mark.notebook

BY_NAME = {c.stem[:2]: c for c in CHAPTERS}
CASES = [
    ("01", {"PAYOFF_STEP": 10}, r"unknown parameter PAYOFF_STEP.*Did you mean PAYOFF_STEPS"),
    ("01", {"quick": True}, r"unknown parameter quick.*Did you mean QUICK"),
    ("01", {"PAYOFF_LENGTH": 1}, r"PAYOFF_LENGTH = 1 is not allowed.*from 2 to 1000"),
    ("02", {"TARGET_SPARSITY": 1.5}, r"TARGET_SPARSITY = 1.5 is not allowed.*strictly between 0 and 1"),
    ("02", {"TARGET_SPARSITY": -0.1}, r"TARGET_SPARSITY = -0.1 is not allowed.*strictly between 0 and 1"),
    ("03", {"EVAL_TOKENS": -5}, r"EVAL_TOKENS = -5 is not allowed.*whole number >= 1000"),
    ("04", {"MAX_SEQ_LENGTH": 8}, r"MAX_SEQ_LENGTH = 8 is not allowed.*from 32 to 512"),
    ("05", {"CALIBRATION_BATCHES": 0}, r"CALIBRATION_BATCHES = 0 is not allowed.*from 1 to 100"),
    ("05", {"ENGINE": "qnnpack"}, r"ENGINE = 'qnnpack' is not allowed.*x86"),
    ("06", {"TEMPERATURE": 0}, r"TEMPERATURE = 0 is not allowed.*strictly between 0 and 100"),
    ("06", {"ALPHA": 1.5}, r"ALPHA = 1.5 is not allowed.*from 0 to 1"),
    ("06", {"LABELLED_FRACTION": 0.0}, r"LABELLED_FRACTION = 0.0 is not allowed.*strictly between 0 and 1"),
    ("06", {"OMITTED": "Cat"}, r"OMITTED = 'Cat' is not allowed.*'Sandal'.*the classes of fashion-embedded"),
    ("07", {"MAX_NORM": 0}, r"MAX_NORM = 0 is not allowed.*strictly between 0 and 100"),
    ("08", {"IMAGES": "cifar"}, r"IMAGES = 'cifar' is not allowed.*fashion-embedded"),
    ("08", {"SEED": -2}, r"SEED = -2 is not allowed"),
]


@pytest.mark.parametrize("chapter, parameters, message", CASES, ids=[f"{c}-{next(iter(p))}" for c, p, _ in CASES])
def test_bad_parameter_fails_in_the_first_code_cell_with_its_range(chapter, parameters, message, tmp_path):
    start = time.perf_counter()
    with pytest.raises(ChapterFailed, match=message) as failure:
        execute_chapter(BY_NAME[chapter], tmp_path, quick=True, parameters=parameters)
    assert "ParameterError" in str(failure.value) and "code cell 3 of" in str(failure.value)  # parameters, injected, imports
    executed = nbformat.read(tmp_path / BY_NAME[chapter].name, as_version=4)
    ran = [c for c in executed.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(ran) <= 3, "nothing after the check ran"
    assert time.perf_counter() - start < 120


def test_papermill_cli_with_a_misspelled_name_fails_instead_of_running_on_defaults(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "papermill", str(BY_NAME["01"]), str(tmp_path / "out.ipynb"),
         "-p", "QUICK", "True", "-p", "PAYOFF_STEP", "10", "--cwd", str(BY_NAME["01"].parent)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode != 0
    assert "unknown parameter PAYOFF_STEP" in run.stdout + run.stderr
