"""Capacity: each chapter's kernel peak memory and CPU time, QUICK and full, and learners per server.

    python benchmarks/bench_capacity.py                      # every chapter, QUICK and full
    python benchmarks/bench_capacity.py --modes quick 01 08  # some chapters, one mode

Writes benchmarks/results/capacity.{json,md}. Each chapter runs as `python -m kit book` runs it, from
prepared checkpoints (training is not counted), with one cell added at its end that reads the kernel's
own `getrusage`: peak resident memory (ru_maxrss) and CPU seconds (user + system, every thread).

Learners per server are what memory and CPU allow together, under two stated assumptions: a learner runs
the whole chapter once in a session of SESSION_MINUTES, and MEMORY_SHARE of the server's memory is left
for kernels (the rest for the hub, the system and the learners' browsers' traffic).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import write_report  # noqa: E402

SESSION_MINUTES = 45
MEMORY_SHARE = 0.8
SERVERS = ((4, 16), (8, 32), (16, 64), (32, 128))   # (cores, GiB)
MARKER = "KIT_CAPACITY "
PROBE = (
    "import json, resource\n"
    "_usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    f"print({MARKER!r} + json.dumps({{'peak_rss_kib': _usage.ru_maxrss, "
    "'cpu_seconds': _usage.ru_utime + _usage.ru_stime}))"
)


def learners_per_server(peak_bytes: float, cpu_seconds: float, cores: int, memory_gib: float, *,
                        session_minutes: float = SESSION_MINUTES, memory_share: float = MEMORY_SHARE) -> dict:
    """How many learners running this chapter at once a server holds: the smaller of what memory allows
    (every kernel at its peak) and what CPU allows (each learner's CPU seconds spread over the session)."""
    if peak_bytes <= 0 or cpu_seconds <= 0:
        raise ValueError("peak memory and CPU time must be positive measurements")
    by_memory = math.floor(memory_share * memory_gib * 2**30 / peak_bytes)
    by_cpu = math.floor(cores * session_minutes * 60 / cpu_seconds)
    return {"learners": min(by_memory, by_cpu), "by_memory": by_memory, "by_cpu": by_cpu,
            "limited_by": "memory" if by_memory <= by_cpu else "CPU"}


def measure_chapter(source: Path, quick: bool) -> dict:
    """Run a copy of the chapter with the probe cell appended; its peak memory, CPU and wall seconds."""
    import nbformat

    from kit.book import execute_chapter, prepare_for
    from kit.paths import build_dir

    prepare_for(source, quick=quick)
    build_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="capacity-", dir=build_dir()) as folder:
        copy = Path(folder) / source.name
        notebook = nbformat.read(source, as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
        nbformat.write(notebook, copy)
        start = time.perf_counter()
        executed = execute_chapter(copy, Path(folder) / "out", quick=quick)
        wall = time.perf_counter() - start
        result = nbformat.read(executed.output, as_version=4)
    text = "".join(o.get("text", "") for o in result.cells[-1].get("outputs", []) if o.output_type == "stream")
    line = next(line for line in text.splitlines() if line.startswith(MARKER))
    usage = json.loads(line[len(MARKER):])
    return {"peak_bytes": usage["peak_rss_kib"] * 1024, "cpu_seconds": usage["cpu_seconds"], "wall_seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter prefixes (default: all)")
    parser.add_argument("--modes", nargs="+", choices=("quick", "full"), default=["quick", "full"])
    args = parser.parse_args()
    from kit.book import select
    from kit.measure import cpu_description

    rows = []
    for source in select(args.chapters or None):
        for mode in args.modes:
            print(f"== {source.stem} ({mode})", flush=True)
            figures = measure_chapter(source, quick=mode == "quick")
            servers = {f"{c} cores / {g} GiB": learners_per_server(figures["peak_bytes"], figures["cpu_seconds"], c, g)
                       for c, g in SERVERS}
            rows.append({"chapter": source.stem, "mode": mode, **figures, "servers": servers})
    result = {"cpu": cpu_description(), "session_minutes": SESSION_MINUTES, "memory_share": MEMORY_SHARE,
              "rows": rows}
    names = list(rows[0]["servers"]) if rows else []
    lines = [f"# Capacity: learners per server — {result['cpu']}", "",
             f"Each chapter's kernel, run once from prepared checkpoints: peak resident memory and CPU seconds "
             f"(all threads). Learners per server = the smaller of {MEMORY_SHARE:.0%} of the memory divided by "
             f"the peak, and the cores times a {SESSION_MINUTES}-minute session divided by the CPU seconds "
             "(every learner running the whole chapter once in the session).", "",
             "| chapter | mode | peak memory | CPU | wall | " + " | ".join(names) + " |",
             "|---|---|---|---|---|" + "---|" * len(names)]
    for row in rows:
        cells = [f"{s['learners']} ({s['limited_by']})" for s in row["servers"].values()]
        lines.append(f"| {row['chapter']} | {row['mode']} | {row['peak_bytes'] / 2**30:.2f} GiB | "
                     f"{row['cpu_seconds']:.0f} s | {row['wall_seconds']:.0f} s | " + " | ".join(cells) + " |")
    write_report("capacity", result, lines)


if __name__ == "__main__":
    main()
