"""Layer 6: chapter notebooks are committed clean and follow the chapter conventions."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from tests.conftest import CHAPTER_IDS, CHAPTERS

ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info", "kit"}  # kit: the chapter's declared needs
ALLOWED_CELL_METADATA = {"tags"}


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_committed_without_outputs(source):
    notebook = json.loads(source.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"cell {index} has outputs: clear them before committing"
            assert cell.get("execution_count") is None, f"cell {index} has an execution count"
        assert set(cell.get("metadata", {})) <= ALLOWED_CELL_METADATA, f"cell {index} has extra metadata"
    assert set(notebook["metadata"]) <= ALLOWED_NOTEBOOK_METADATA, "notebook metadata is not clean"


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_valid_notebook(source):
    nbformat.validate(nbformat.read(source, as_version=4))


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_chapter_structure(source):
    cells = nbformat.read(source, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), "start with a title"
    parameters = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1, "exactly one cell tagged `parameters` (papermill)"
    names = set(re.findall(r"^(\w+)\s*=", cells[parameters[0]].source, flags=re.MULTILINE))
    assert {"QUICK", "SEED", "THREADS"} <= names
    assert "QUICK = False" in cells[parameters[0]].source, "learners get QUICK = False by default"
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert "setup_notebook(" in code
    assert "check(" in code, "a chapter ends with self-checked exercises"
    assert "assert " in code, "a chapter asserts its claims"
    assert any("## Exercises" in c.source for c in cells if c.cell_type == "markdown")
    assert any(c.metadata.get("tags") and "nbval-check-output" in c.metadata["tags"] for c in cells)


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_chapter_references_point_to_chapters_that_exist(source):
    """'see chapter 5' must stay true: a chapter may only send learners to a chapter that is in notebooks/."""
    existing = {int(c.stem[:2]) for c in CHAPTERS}
    text = "\n".join(c.source for c in nbformat.read(source, as_version=4).cells)
    cited = {int(n) for n in re.findall(r"\bchapters? (\d+)\b", text, flags=re.IGNORECASE)}
    assert cited <= existing, f"{source.name} refers to chapter(s) {sorted(cited - existing)}, which do not exist yet"


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_no_printed_targets(source):
    """Targets live in benchmarks/, which exit non-zero when one is missed; a chapter prints what it measured."""
    code = "\n".join(c.source for c in nbformat.read(source, as_version=4).cells if c.cell_type == "code")
    assert not re.search(r"target[^\n]*(MISSED|met)", code), "a chapter must not print targets and verdicts on them"
