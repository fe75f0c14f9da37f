"""The first `make book`: where every minute goes — each checkpoint's training, split into the phases of its
training loops (from its manifest), and each chapter's run with its slowest cells (from the executed copy).

    python benchmarks/bench_book.py               # the parts, read from the data dir and build/executed/
    python benchmarks/bench_book.py --run         # first `python -m kit book` from an empty data dir (about an hour)
    python benchmarks/bench_book.py --run --quick # the same for `python -m kit book --quick`

Writes benchmarks/results/book.{json,md} (book-quick.* with --quick). Targets: a first full book within
35 minutes, a first QUICK book within 8. Without --run the wall time is not measured; the sum of the parts
(training plus chapters) is a lower bound of it, checked against the same target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, write_report  # noqa: E402

TARGET_SECONDS = {False: 35 * 60, True: 8 * 60}   # full book, QUICK book
SLOWEST_CELLS = 3


def checkpoint_rows(data: Path, quick: bool) -> list[dict]:
    """One row per default checkpoint of this mode in the data dir (no other random seed or data): training seconds
    and the loop phases."""
    from kit.recipes import RECIPES

    defaults = {f"{name}-quick" if quick else name for name in RECIPES}   # what a book with default parameters trains
    rows = []
    for manifest_path in sorted((data / "checkpoints").glob("*/manifest.json")):
        folder = manifest_path.parent.name
        if folder not in defaults:
            continue
        manifest = json.loads(manifest_path.read_text())
        phases = manifest.get("phase_seconds") or {}
        rows.append({"checkpoint": folder, "seconds": manifest["train_seconds"], "phases": phases,
                     "outside_loops": round(manifest["train_seconds"] - sum(phases.values()), 1) if phases else None})
    return rows


def chapter_rows(executed: Path, quick: bool) -> list[dict]:
    """One row per chapter executed in this mode: papermill's run time and its slowest cells (id, seconds, first
    line). Copies executed in the other mode are left out."""
    import nbformat

    rows = []
    for path in sorted(executed.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if bool(notebook.metadata.get("papermill", {}).get("parameters", {}).get("QUICK", False)) != quick:
            continue
        cells = [(c.get("id", "?"), c.metadata.get("papermill", {}).get("duration") or 0.0,
                  next((line for line in c.source.splitlines() if line.strip()), ""))
                 for c in notebook.cells if c.cell_type == "code"]
        slowest = sorted(cells, key=lambda cell: -cell[1])[:SLOWEST_CELLS]
        rows.append({"chapter": path.stem, "seconds": round(notebook.metadata.get("papermill", {}).get("duration") or
                                                              sum(c[1] for c in cells), 1),
                     "slowest": [{"cell": i, "seconds": round(s, 1), "starts": first[:60]} for i, s, first in slowest]})
    return rows


def run_book(quick: bool) -> tuple[float, Path]:
    """`python -m kit book` (QUICK with quick) from an empty data dir; its wall seconds and that data dir."""
    data = Path(tempfile.mkdtemp(prefix="bench-book-data-"))
    env = dict(os.environ, KIT_DATA_DIR=str(data))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kit", "book", *(["--quick"] if quick else [])], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - start, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the book from an empty data dir first")
    parser.add_argument("--quick", action="store_true", help="the QUICK book")
    args = parser.parse_args()
    from kit.book import executed_dir
    from kit.measure import cpu_description
    from kit.paths import data_dir

    wall, data = run_book(args.quick) if args.run else (None, data_dir())
    trained, chapters = checkpoint_rows(data, args.quick), chapter_rows(executed_dir(), args.quick)
    training = sum(r["seconds"] for r in trained)
    running = sum(r["seconds"] for r in chapters)
    result = {"quick": args.quick, "cpu": cpu_description(), "wall_seconds": wall, "training_seconds": training,
              "chapters_seconds": running, "checkpoints": trained, "chapters": chapters,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    measured = wall if wall is not None else training + running
    lines = [f"# The first {'QUICK ' if args.quick else ''}book — {result['cpu']}", "",
             (f"`python -m kit book{' --quick' if args.quick else ''}` from an empty data dir: **{wall / 60:.1f} min** "
              "wall." if wall is not None else "Not run from an empty data dir here (`--run`): the parts below, read "
              f"from {data} and {executed_dir()}, add up to {measured / 60:.1f} min, a lower bound of its wall time."),
             f"Training {training / 60:.1f} min, chapters {running / 60:.1f} min.", "",
             "| checkpoint | training | data | forward | backward | optimizer | step hook | checkpoint writes | "
             "bookkeeping | outside the loops |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(trained, key=lambda r: -r["seconds"]):
        p = row["phases"]
        cells = [f"{p[k]:.0f} s" if k in p else "–" for k in ("data", "forward", "backward", "optimizer",
                                                             "step hook", "checkpoint", "bookkeeping")]
        outside = f"{row['outside_loops']:.0f} s" if row["outside_loops"] is not None else "not recorded"
        lines.append(f"| `{row['checkpoint']}` | {row['seconds']:.0f} s | " + " | ".join(cells) + f" | {outside} |")
    lines += ["", "| chapter | run | slowest cells |", "|---|---|---|"]
    for row in chapters:
        slowest = "; ".join(f"`{c['cell']}` {c['seconds']:.0f} s" for c in row["slowest"])
        lines.append(f"| {row['chapter']} | {row['seconds']:.0f} s | {slowest} |")
    write_report("book" if not args.quick else "book-quick", result, lines)
    fail_if_missed("bench_book", over_target([("first book, minutes" + ("" if wall is not None else " (lower bound)"),
                                               measured / 60, TARGET_SECONDS[args.quick] / 60)]))


if __name__ == "__main__":
    main()
