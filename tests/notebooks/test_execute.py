"""Layer 2: papermill runs every chapter top to bottom with QUICK=True."""

from __future__ import annotations

import nbformat
import pytest

from tests.conftest import CHAPTER_IDS, CHAPTERS, QUICK_BUDGET_S

pytestmark = pytest.mark.notebook


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_chapter_runs_quick(source, execution_cache):
    output, seconds, error = execution_cache.get(source)
    assert error is None, error
    assert seconds < QUICK_BUDGET_S, f"{source.name} took {seconds:.0f} s in QUICK mode"
    notebook = nbformat.read(output, as_version=4)
    errors = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors, f"{source.name} has error outputs: {[e.ename for e in errors]}"
    parameters = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert parameters and "QUICK = True" in parameters[0].source, "papermill did not inject QUICK = True"
