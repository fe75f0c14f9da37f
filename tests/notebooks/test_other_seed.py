"""Every sentence is computed from its run: each chapter also runs to the end with another SEED (QUICK mode),
so no assert or printed verdict depends on the outcome of seed 0.

This second execution doubles as the reproducibility run: the checked cells (tagged nbval-check-output) do not
depend on SEED, so an independent run must print exactly what the reviewed snapshot holds, as the SEED 0 run must
(tests/notebooks/test_reproducible.py). Chapter 4's other-SEED run also takes its MODEL parameter: a local folder
holding a pair classifier fine-tuned elsewhere (no manifest), the path a learner with their own model takes.
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from kit.checkpoints import folder_for
from tests.conftest import CHAPTER_IDS, CHAPTERS, OTHER_SEED, QUICK_BUDGET_S
from tests.notebooks.test_reproducible import SNAPSHOTS, checked_outputs

pytestmark = pytest.mark.notebook

BERT_CHAPTER = "04_bert_dynamic_quantization"


@pytest.fixture(scope="session")
def fine_tuned_elsewhere(prepared_quick, tmp_path_factory):
    """A plain Hugging Face folder holding a fine-tuned pair classifier, as fetched or fine-tuned elsewhere."""
    classifier = tmp_path_factory.mktemp("model") / "mrpc-classifier"
    shutil.copytree(folder_for("bert-pairs", quick=True), classifier)
    (classifier / "manifest.json").unlink()
    return classifier


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_chapter_runs_with_another_seed(source, execution_cache, request):
    extra = {"MODEL": str(request.getfixturevalue("fine_tuned_elsewhere"))} if source.stem == BERT_CHAPTER else {}
    output, seconds, error = execution_cache.get(source, OTHER_SEED, extra)
    assert error is None, f"{source.name} with SEED={OTHER_SEED}: {error}"
    assert seconds < QUICK_BUDGET_S, f"{source.name} took {seconds:.0f} s in QUICK mode with SEED={OTHER_SEED}"
    notebook = nbformat.read(output, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f"SEED = {OTHER_SEED}" in injected[0].source
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, f"{source.name} has error outputs with SEED={OTHER_SEED}: {[e.ename for e in errors]}"
    # The reproducibility check: a second, independent run prints the reviewed checked outputs exactly.
    snapshot = SNAPSHOTS / f"{source.stem}.json"
    if snapshot.exists() and not request.config.getoption("--update-snapshots"):
        expected = json.loads(snapshot.read_text())
        outputs = checked_outputs(output)
        assert outputs.keys() == expected.keys(), "checked cells were added or removed: review and update snapshots"
        for cell_id, text in expected.items():
            assert outputs[cell_id] == text, (
                f"checked output of cell {cell_id} differs in the SEED={OTHER_SEED} run: a checked cell must not "
                f"depend on SEED, and must print the same in every run")
    if extra:
        text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert "was fine-tuned elsewhere: no loss curve to show" in text
        assert "torch.export" in text and "reloaded with weights_only=True" in text
