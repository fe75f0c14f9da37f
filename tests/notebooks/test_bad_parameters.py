"""Each chapter refuses a bad parameter in its first code cell, with a message naming it and its range, before
any expensive work: one real papermill run per kind of failure (a value out of range; a misspelled name through
papermill's own CLI, `-p NAME VALUE`; a value only the loaded data can refuse, chapter 6's omitted class).
Every chapter's rules are checked in-process in tests/hygiene/test_chapter_parameters.py.
"""

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


def _assert_refused_in_the_first_code_cell(chapter, parameters, message, tmp_path):
    start = time.perf_counter()
    with pytest.raises(ChapterFailed, match=message) as failure:
        execute_chapter(BY_NAME[chapter], tmp_path, quick=True, parameters=parameters)
    # code cell 3: the parameters cell, papermill's injected cell, then the first cell of the chapter's own code
    assert "ParameterError" in str(failure.value) and "code cell 3 of" in str(failure.value)
    executed = nbformat.read(tmp_path / BY_NAME[chapter].name, as_version=4)
    ran = [c for c in executed.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(ran) <= 3, "nothing after the check ran"
    assert time.perf_counter() - start < 120


def test_a_value_out_of_range_stops_the_real_chapter_in_its_first_code_cell(tmp_path):
    _assert_refused_in_the_first_code_cell("06", {"TEMPERATURE": 0},
                                           r"TEMPERATURE = 0 is not allowed.*strictly between 0 and 100", tmp_path)


def test_a_value_only_the_data_can_refuse_stops_the_real_chapter_in_its_first_code_cell(tmp_path):
    _assert_refused_in_the_first_code_cell(
        "06", {"OMITTED": "Cat"}, r"OMITTED = 'Cat' is not allowed.*'Sandal'.*the classes of fashion-embedded",
        tmp_path)


def test_papermill_cli_with_a_misspelled_name_fails_instead_of_running_on_defaults(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "papermill", str(BY_NAME["01"]), str(tmp_path / "out.ipynb"),
         "-p", "QUICK", "True", "-p", "PAYOFF_STEP", "10", "--cwd", str(BY_NAME["01"].parent)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode != 0
    assert "unknown parameter PAYOFF_STEP" in run.stdout + run.stderr
