"""Shared by the benchmarks: run one chapter in full and write its report next to the others."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
os.environ.setdefault("KIT_PROGRESS", "off")


def run_full(chapter: str, parameters: dict | None = None) -> dict:
    """Run notebooks/<chapter>.ipynb with QUICK=False (and `parameters`); return its record and run time."""
    from kit.book import execute_chapter, prepare_for
    from kit.paths import notebooks_dir
    from kit.results import results_dir

    source = notebooks_dir() / f"{chapter}.ipynb"
    prepare_for(source, quick=False)  # training is not part of the chapter's run time
    start = time.perf_counter()
    execute_chapter(source, ROOT / "build" / "bench", quick=False, parameters=parameters)
    seconds = time.perf_counter() - start
    result = json.loads((results_dir() / f"{chapter}.json").read_text())
    result["chapter_seconds_full"] = round(seconds, 1)
    return result


def over_target(checks: list[tuple[str, float, float]]) -> list[str]:
    """The (what, value, upper bound) checks whose value is above its bound, as readable lines."""
    return [f"{what}: {value:.3f} > {target}" for what, value, target in checks if value > target]


def fail_if_missed(name: str, missed: list[str]) -> None:
    """Exit non-zero, naming each target, when a benchmark missed any: `make bench` fails on a missed target."""
    if missed:
        print(f"\n{name}: {len(missed)} target(s) missed:\n" + "\n".join(f"  - {m}" for m in missed))
        raise SystemExit(1)
    print(f"\n{name}: every target met")


def write_report(name: str, result: dict, lines: list[str]) -> None:
    """benchmarks/results/<name>.json (the figures) and <name>.md (the table), then print the table."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def update_latency(updates: list, warmup: int = 2) -> dict:
    """Wall and CPU time of explorer updates (each a no-argument callable doing all one slider move does):
    median, 90th percentile and max milliseconds, median CPU milliseconds (all threads of this process)."""
    import statistics

    for update in updates[:warmup]:
        update()
    walls, cpus = [], []
    for update in updates:
        wall, cpu = time.perf_counter(), time.process_time()
        update()
        walls.append((time.perf_counter() - wall) * 1e3)
        cpus.append((time.process_time() - cpu) * 1e3)
    walls_sorted = sorted(walls)
    return {"median_ms": statistics.median(walls), "p90_ms": walls_sorted[int(0.9 * (len(walls) - 1))],
            "max_ms": walls_sorted[-1], "cpu_median_ms": statistics.median(cpus), "updates": len(walls)}
