"""Chapter 4 runs on a local folder that already holds a fine-tuned pair classifier, by one parameter."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from kit.book import execute_chapter
from kit.checkpoints import folder_for
from tests.conftest import CHAPTERS

pytestmark = pytest.mark.notebook

CHAPTER = next(c for c in CHAPTERS if c.stem == "04_bert_dynamic_quantization")


def test_bert_chapter_runs_on_a_fine_tuned_folder(tmp_path, execution_cache):
    _, _, error = execution_cache.get(CHAPTER)  # trains the quick checkpoint when it is missing
    if error:
        pytest.fail(f"the chapter itself fails: {error}")
    classifier = tmp_path / "mrpc-classifier"
    shutil.copytree(folder_for("bert-pairs", quick=True), classifier)
    (classifier / "manifest.json").unlink()  # a plain Hugging Face folder, as fetched or fine-tuned elsewhere
    result = execute_chapter(CHAPTER, tmp_path / "out", quick=True, parameters={"MODEL": str(classifier)})
    notebook = nbformat.read(result.output, as_version=4)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "was fine-tuned elsewhere: no loss curve to show" in text
    assert "torch.export" in text and "reloaded with weights_only=True" in text
