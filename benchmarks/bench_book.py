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
PROGRESS_AS_GIVEN = os.environ.get("KIT_PROGRESS")   # chapter_figures turns bars off for its own runs, not the book's

from benchmarks.chapter_figures import fail_if_missed, over_target, write_report  # noqa: E402

TARGET_SECONDS = {False: 35 * 60, True: 8 * 60}   # full book, QUICK book
SLOWEST_CELLS = 3


def _mean(metrics: dict[str, float], prefix: str, suffix: str) -> float:
    values = [v for k, v in metrics.items() if k.startswith(prefix) and k.endswith(suffix)]
    return sum(values) / len(values)


# The quality guard of the full checkpoints: what each reached before issue 27 made the first book faster, and how
# much worse it may now be (points of accuracy or F1; per cent of perplexity). README's checkpoint table states the
# same figures (a unit test compares them).
QUALITY = {
    "lenet-fashion": ("test accuracy", "%", lambda m: m["test_accuracy"], 86.75, 1.0),
    "cnn-fashion": ("test accuracy", "%", lambda m: m["test_accuracy"], 90.85, 1.0),
    "cnn-few-labels": ("test accuracy", "%", lambda m: m["test_accuracy"], 84.8, 1.5),
    "lstm-lm": ("validation perplexity", "", lambda m: m["valid_perplexity"], 131.3, 3.0),
    "decoder-lm": ("validation perplexity", "", lambda m: m["valid_perplexity"], 129.2, 3.0),
    "bert-pairs": ("dev F1", "", lambda m: m["dev_f1"], 0.904, 0.01),
    "bert-student": ("mean dev F1 of the distilled students", "", lambda m: _mean(m, "distilled_", "/dev_f1"), 0.892,
                     0.01),
    "cnn-grid": ("mean validation accuracy of the grid's models", "%",
                 lambda m: _mean(m, "", "/valid_accuracy"), 89.4, 1.0),
}


def _limit(name: str) -> float:
    label, _, _, reference, tolerance = QUALITY[name]
    return reference * (1 + tolerance / 100) if "perplexity" in label else reference - tolerance


def limit_words(name: str) -> str:
    """How README's checkpoint table states the guard of `name`, e.g. 'at most 135.2' or 'at least 89.85 %'."""
    label, unit, _, _, _ = QUALITY[name]
    value = _limit(name)
    if "perplexity" in label:
        return f"at most {value:.1f}"
    return f"at least {value:.2f} %" if unit == "%" else f"at least {value:.3f}"


def quality_rows(trained: list[dict]) -> list[dict]:
    """Each guarded checkpoint's reached figure against its reference and tolerance (perplexity: per cent, lower
    is better; accuracy and F1: points, higher is better)."""
    rows = []
    for row in trained:
        if row["checkpoint"] not in QUALITY:
            continue
        label, unit, read, reference, tolerance = QUALITY[row["checkpoint"]]
        reached = read(row["metrics"]) * (100 if unit == "%" else 1)
        limit = _limit(row["checkpoint"])
        ok = reached <= limit if "perplexity" in label else reached >= limit
        rows.append({"checkpoint": row["checkpoint"], "figure": label, "reached": reached, "reference": reference,
                     "limit": limit, "unit": unit, "met": ok})
    return rows


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
        processes = int(manifest.get("phase_processes", 1))   # > 1: the phases are worker-seconds
        rows.append({"checkpoint": folder, "seconds": manifest["train_seconds"], "phases": phases,
                     "processes": processes, "precision": manifest.get("train_precision", "fp32 (not recorded)"),
                     "metrics": manifest["metrics"],
                     "outside_loops": (round(manifest["train_seconds"] - sum(phases.values()), 1)
                                       if phases and processes == 1 else None)})
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
    env = {k: v for k, v in os.environ.items() if k != "KIT_PROGRESS"} | {"KIT_DATA_DIR": str(data)}
    if PROGRESS_AS_GIVEN is not None:
        env["KIT_PROGRESS"] = PROGRESS_AS_GIVEN   # the book shows its bars as `make book` would
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kit", "book", *(["--quick"] if quick else [])], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - start, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the book from an empty data dir first")
    parser.add_argument("--quick", action="store_true", help="the QUICK book")
    parser.add_argument("--executed", type=Path, help="where the executed chapters are (default: the book's folder)")
    args = parser.parse_args()
    from kit.book import executed_dir
    from kit.measure import cpu_description
    from kit.paths import data_dir

    wall, data = run_book(args.quick) if args.run else (None, data_dir())
    executed = args.executed or executed_dir()
    trained, chapters = checkpoint_rows(data, args.quick), chapter_rows(executed, args.quick)
    training = sum(r["seconds"] for r in trained)
    running = sum(r["seconds"] for r in chapters)
    result = {"quick": args.quick, "cpu": cpu_description(), "wall_seconds": wall, "training_seconds": training,
              "chapters_seconds": running, "checkpoints": trained, "chapters": chapters,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    measured = wall if wall is not None else training + running
    lines = [f"# The first {'QUICK ' if args.quick else ''}book — {result['cpu']}", "",
             (f"`python -m kit book{' --quick' if args.quick else ''}` from an empty data dir: **{wall / 60:.1f} min** "
              "wall." if wall is not None else "Not run from an empty data dir here (`--run`): the parts below, read "
              f"from {data} and {executed}, add up to {measured / 60:.1f} min, a lower bound of its wall time."),
             f"Training {training / 60:.1f} min, chapters {running / 60:.1f} min.", "",
             "| checkpoint | training | precision | data | forward | backward | optimizer | step hook | checkpoint "
             "writes | bookkeeping | outside the loops |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(trained, key=lambda r: -r["seconds"]):
        p = row["phases"]
        cells = [f"{p[k]:.0f} s" if k in p else "–" for k in ("data", "forward", "backward", "optimizer",
                                                             "step hook", "checkpoint", "bookkeeping")]
        if row.get("processes", 1) > 1:
            outside = f"– (phases: worker-seconds of {row['processes']} processes at once)"
        else:
            outside = f"{row['outside_loops']:.0f} s" if row["outside_loops"] is not None else "not recorded"
        lines.append(f"| `{row['checkpoint']}` | {row['seconds']:.0f} s | {row['precision']} | " + " | ".join(cells)
                     + f" | {outside} |")
    quality = quality_rows(trained) if not args.quick else []
    result["quality"] = quality
    if quality:
        lines += ["", "| checkpoint | figure | reached | before issue 27 | may not be worse than | met |",
                  "|---|---|---|---|---|---|"]
        for q in quality:
            fmt = (lambda v: f"{v:.2f} %") if q["unit"] == "%" else (lambda v: f"{v:.4g}")
            lines.append(f"| `{q['checkpoint']}` | {q['figure']} | {fmt(q['reached'])} | {fmt(q['reference'])} | "
                         f"{fmt(q['limit'])} | {'yes' if q['met'] else '**no**'} |")
    lines += ["", "| chapter | run | slowest cells |", "|---|---|---|"]
    for row in chapters:
        slowest = "; ".join(f"`{c['cell']}` {c['seconds']:.0f} s" for c in row["slowest"])
        lines.append(f"| {row['chapter']} | {row['seconds']:.0f} s | {slowest} |")
    write_report("book" if not args.quick else "book-quick", result, lines)
    missed = over_target([("first book, minutes" + ("" if wall is not None else " (lower bound)"), measured / 60,
                           TARGET_SECONDS[args.quick] / 60)])
    missed += [f"{q['checkpoint']}: {q['figure']} {q['reached']:.4g} is worse than {q['limit']:.4g}"
               for q in quality if not q["met"]]
    fail_if_missed("bench_book", missed)


if __name__ == "__main__":
    main()
