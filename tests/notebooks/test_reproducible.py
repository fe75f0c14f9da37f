"""Layer 3: the checked outputs (cells tagged nbval-check-output) equal the reviewed snapshots in
tests/notebooks/snapshots. The SEED 0 run is compared here; the other-SEED run, an independent second execution,
is compared with the same snapshot in test_other_seed.py, which makes it the reproducibility run: checked cells
must not depend on SEED and must print the same in every run."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tests.conftest import CHAPTER_IDS

pytestmark = pytest.mark.notebook

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "snapshots"
CHECK_TAG = "nbval-check-output"


def checked_outputs(path: Path) -> dict[str, str]:
    """Text of every checked cell's stream and plain-text outputs, keyed by cell id."""
    notebook = nbformat.read(path, as_version=4)
    result = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or CHECK_TAG not in cell.metadata.get("tags", []):
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.get("data", {}).get("text/plain", ""))
        result[cell.id] = "".join(parts)
    return result


@pytest.mark.parametrize("chapter", CHAPTER_IDS)
def test_checked_outputs_match_snapshot(chapter, executed_chapters, request):
    outputs = checked_outputs(executed_chapters[chapter])
    assert outputs, f"{chapter} has no cells tagged {CHECK_TAG}"
    snapshot = SNAPSHOTS / f"{chapter}.json"
    if request.config.getoption("--update-snapshots"):
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(json.dumps(outputs, indent=1, ensure_ascii=False) + "\n")
        pytest.skip(f"snapshot {snapshot.name} rewritten")
    assert snapshot.exists(), f"no snapshot for {chapter}: run pytest tests/notebooks --update-snapshots"
    expected = json.loads(snapshot.read_text())
    assert outputs.keys() == expected.keys(), "checked cells were added or removed: review and update snapshots"
    for cell_id, text in expected.items():
        assert outputs[cell_id] == text, f"checked output of cell {cell_id} changed"
