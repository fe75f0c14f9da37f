"""Shared by the benchmarks: run one chapter in full and write its report next to the others."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
os.environ.setdefault("KIT_PROGRESS", "off")


def run_full(chapter: str) -> dict:
    """Execute notebooks/<chapter>.ipynb with QUICK=False and return what it recorded, plus its run time."""
    from kit.book import execute_chapter, prepare_for
    from kit.paths import notebooks_dir
    from kit.results import results_dir

    source = notebooks_dir() / f"{chapter}.ipynb"
    prepare_for(source, quick=False)  # training is not part of the chapter's run time
    start = time.perf_counter()
    execute_chapter(source, ROOT / "build" / "bench", quick=False)
    seconds = time.perf_counter() - start
    result = json.loads((results_dir() / f"{chapter}.json").read_text())
    result["chapter_seconds_full"] = round(seconds, 1)
    return result


def write_report(name: str, result: dict, lines: list[str]) -> None:
    """benchmarks/results/<name>.json (the figures) and <name>.md (the table), then print the table."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
