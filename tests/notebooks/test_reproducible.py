"""Layer 3: nbval re-executes the executed copies and compares the cells tagged nbval-check-output;
the same checked outputs are compared with the reviewed snapshots in tests/notebooks/snapshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_nbval_reexecution_matches(executed_chapters):
    """Running the executed copies again reproduces every checked output (nbval --nbval-lax)."""
    env = {**os.environ, "KIT_PROGRESS": "off"}
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
        "--nbval-sanitize-with", str(HERE / "sanitize.cfg"), "--nbval-cell-timeout", "600",
        "-o", "addopts=", "-o", "testpaths=", *map(str, executed_chapters.values()),
    ]
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=HERE.parent.parent)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout


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
